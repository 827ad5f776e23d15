// encodeLiteralMap against protobuf-es: byte for byte what toBinary(LiteralMapSchema, map) gives, on thousands of
// random maps (nested, edge values, fallback kinds) and on messages carrying unknown fields.
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { DurationSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { DataStore, encodeLiteralMap, idl, type BlobStore } from '@flyte-ts/core';

type Literal = idl.core.Literal;
type LiteralMap = idl.core.LiteralMap;
type PrimitiveValue = MessageInitShape<typeof idl.core.PrimitiveSchema>['value'];
const { LiteralMapSchema, LiteralSchema } = idl.core;

/** mulberry32: a small seeded PRNG, so that a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const EDGE_INTS = [
  0n,
  1n,
  -1n,
  127n,
  128n,
  -128n,
  2n ** 31n - 1n,
  -(2n ** 31n),
  2n ** 32n,
  2n ** 53n,
  -(2n ** 53n) - 1n,
];
const EDGE_FLOATS = [0, -0, 1, -1, 0.1, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53 + 2];
const EDGE_STRINGS = [
  '',
  'a',
  'hello world',
  'héllo',
  '日本語',
  '😀',
  'x😀y',
  '\u0000',
  '\ud800', // lone high surrogate
  'a\udc00b', // lone low surrogate
  '\udc00\ud800', // reversed pair
  '\ud83d', // high surrogate at the end
  'ß'.repeat(42), // 84 bytes: short path
  'é'.repeat(64), // 128 bytes: two-byte length
  '€'.repeat(43), // long path, 129 bytes
  'a😀'.repeat(40),
  'z'.repeat(300),
  '\ud800x'.repeat(50), // long path with lone surrogates
];
const EDGE_KEYS = ['', 'x', '0', '1', '10', '2', '-1', '01', '4294967295', '4294967294', 'key😀', '\ud800', 'é'];

function generator(seed: number) {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => rand() < p;

  function randomString(): string {
    if (chance(0.5)) return pick(EDGE_STRINGS);
    const length = chance(0.9) ? int(12) : int(200);
    let s = '';
    for (let i = 0; i < length; i++) {
      const r = rand();
      if (r < 0.6) s += String.fromCharCode(0x20 + int(0x5f));
      else if (r < 0.75) s += String.fromCharCode(0x80 + int(0x780));
      else if (r < 0.85) s += String.fromCharCode(0x800 + int(0xd000));
      else if (r < 0.95) s += String.fromCodePoint(0x10000 + int(0x100000));
      else s += String.fromCharCode(0xd800 + int(0x800)); // any surrogate, often lone
    }
    return s;
  }

  function randomInt64(): bigint {
    const r = rand();
    if (r < 0.3) return pick(EDGE_INTS);
    if (r < 0.4) return pick([INT64_MIN, INT64_MAX, INT64_MIN + 1n, INT64_MAX - 1n]);
    if (r < 0.7) return BigInt(int(2000) - 1000);
    const hi = BigInt(int(2 ** 32));
    const lo = BigInt(int(2 ** 32));
    return BigInt.asIntN(64, (hi << 32n) | lo) >> BigInt(int(64));
  }

  function randomFloat(): number {
    if (chance(0.4)) return pick(EDGE_FLOATS);
    return (rand() - 0.5) * 10 ** (int(40) - 20);
  }

  function secondsNanos(negative: boolean): { seconds: bigint; nanos: number } {
    const r = rand();
    if (r < 0.15) return { seconds: 0n, nanos: 0 };
    const seconds =
      r < 0.3 ? 0n : r < 0.4 ? pick([INT64_MIN, INT64_MAX, -1n]) : BigInt(int(4e9) - (negative ? 2e9 : 0));
    let nanos = chance(0.3) ? 0 : int(1e9);
    if (negative && (seconds < 0n || (seconds === 0n && chance(0.5)))) nanos = -nanos;
    if (chance(0.05)) nanos = pick([-1, -(2 ** 31), 2 ** 31 - 1]);
    return { seconds, nanos };
  }

  function primitiveValue(): PrimitiveValue {
    switch (int(6)) {
      case 0:
        return { case: 'integer', value: randomInt64() };
      case 1:
        return { case: 'floatValue', value: randomFloat() };
      case 2:
        return { case: 'stringValue', value: randomString() };
      case 3:
        return { case: 'boolean', value: chance(0.5) };
      case 4: {
        const t = secondsNanos(false);
        // Both a created message and a literal one (what the engine builds, see timestampFromMs).
        const value = chance(0.5)
          ? create(TimestampSchema, t)
          : { $typeName: 'google.protobuf.Timestamp' as const, ...t };
        return { case: 'datetime', value };
      }
      default:
        return { case: 'duration', value: create(DurationSchema, secondsNanos(true)) };
    }
  }

  /** A literal of a kind encodeLiteralMap leaves to toBinary. */
  function fallbackLiteral(depth: number): Literal {
    switch (int(8)) {
      case 0:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: {
              value: {
                case: 'blob',
                value: {
                  uri: 's3://bucket/' + randomString(),
                  metadata: { type: { format: 'csv', dimensionality: int(2) } },
                },
              },
            },
          },
        });
      case 1:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: {
              value: {
                case: 'union',
                value: {
                  value: literal(depth + 1),
                  type: { type: { case: 'simple', value: idl.core.SimpleType.INTEGER }, structure: { tag: 'int' } },
                },
              },
            },
          },
        });
      case 2:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: { value: { case: 'generic', value: { a: 1, b: [true, null, 'x'], c: { d: randomString() } } } },
          },
        });
      case 3:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: { value: { case: 'binary', value: { value: new Uint8Array([1, 2, 3]), tag: 'msgpack' } } },
          },
          hash: chance(0.5) ? 'h' : '',
        });
      case 4:
        return create(LiteralSchema, {
          value: { case: 'scalar', value: { value: { case: 'schema', value: { uri: 'file:///s', type: {} } } } },
        });
      case 5:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: { value: { case: 'structuredDataset', value: { uri: 's3://sd', metadata: {} } } },
          },
        });
      case 6:
        return create(LiteralSchema, {
          value: {
            case: 'scalar',
            value: { value: { case: 'error', value: { failedNodeId: 'n0', message: 'boom' } } },
          },
        });
      default:
        return create(LiteralSchema, {
          value: {
            case: 'offloadedMetadata',
            value: { uri: 's3://off', sizeBytes: BigInt(int(1e6)), inferredType: {} },
          },
          metadata: { k: 'v' },
        });
    }
  }

  function literal(depth: number): Literal {
    const r = rand();
    let lit: Literal;
    if (r < 0.05) {
      lit = fallbackLiteral(depth);
    } else if (r < 0.12) {
      lit = create(LiteralSchema, { value: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } } });
    } else if (r < 0.22 && depth < 3) {
      const n = chance(0.1) ? int(60) : int(5);
      lit = create(LiteralSchema, { value: { case: 'collection', value: {} } });
      if (lit.value.case === 'collection')
        lit.value.value.literals = Array.from({ length: n }, () => literal(depth + 1));
    } else if (r < 0.32 && depth < 3) {
      lit = create(LiteralSchema, { value: { case: 'map', value: {} } });
      if (lit.value.case === 'map') lit.value.value.literals = literals(depth + 1);
    } else {
      lit = create(LiteralSchema, {
        value: { case: 'scalar', value: { value: { case: 'primitive', value: { value: primitiveValue() } } } },
      });
    }
    if (chance(0.1)) lit.hash = randomString();
    if (chance(0.1)) {
      for (let i = int(4); i >= 0; i--) lit.metadata[chance(0.3) ? pick(EDGE_KEYS) : randomString()] = randomString();
    }
    return lit;
  }

  function literals(depth: number): { [key: string]: Literal } {
    const entries: { [key: string]: Literal } = {};
    const n = chance(0.05) ? int(40) : int(10);
    for (let i = 0; i < n; i++) entries[chance(0.3) ? pick(EDGE_KEYS) : randomString()] = literal(depth);
    return entries;
  }

  return (): LiteralMap => {
    const map = create(LiteralMapSchema);
    map.literals = literals(0);
    return map;
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Asserts encodeLiteralMap(map) is toBinary's encoding, that it decodes, and that the decoded map encodes the same
 * way with both. Returns whether decoding was lossless (the decoded map encodes to the same bytes): protobuf-es
 * itself loses map keys that collide once lone surrogates become U+FFFD, and `__proto__` keys.
 */
function expectExact(map: LiteralMap, label: string): { lossless: boolean; size: number } {
  const expected = toBinary(LiteralMapSchema, map);
  const actual = encodeLiteralMap(map);
  if (!Buffer.from(actual).equals(expected)) {
    expect(hex(actual), label).toBe(hex(expected));
  }
  const decoded = fromBinary(LiteralMapSchema, actual);
  const again = encodeLiteralMap(decoded);
  const reference = toBinary(LiteralMapSchema, decoded);
  if (!Buffer.from(again).equals(reference)) {
    expect(hex(again), `${label} (decoded)`).toBe(hex(reference));
  }
  return { lossless: Buffer.from(again).equals(actual), size: actual.length };
}

const intLiteral = (value: bigint): Literal =>
  create(LiteralSchema, {
    value: { case: 'scalar', value: { value: { case: 'primitive', value: { value: { case: 'integer', value } } } } },
  });

describe('encodeLiteralMap', () => {
  it('matches toBinary byte for byte on 4000 random literal maps', { timeout: 60_000 }, () => {
    const next = generator(20240611);
    let bytes = 0;
    let lossless = 0;
    for (let i = 0; i < 4000; i++) {
      const result = expectExact(next(), `map #${i}`);
      if (result.lossless) lossless++;
      bytes += result.size;
    }
    expect(bytes).toBeGreaterThan(100_000); // the maps are not trivially small
    expect(lossless).toBeGreaterThan(3600); // most round trip exactly
  });

  it('matches toBinary on other seeds', { timeout: 60_000 }, () => {
    for (const seed of [1, 2, 3, 0xdeadbeef]) {
      const next = generator(seed);
      for (let i = 0; i < 500; i++) expectExact(next(), `seed ${seed} map #${i}`);
    }
  });

  it('encodes the small shapes the engine writes', () => {
    expect(hex(encodeLiteralMap(create(LiteralMapSchema)))).toBe('');
    const x = create(LiteralMapSchema, { literals: { x: intLiteral(0n) } });
    expect(hex(encodeLiteralMap(x))).toBe('0a0b0a017812060a040a020800');
    expectExact(x, '{x: 0}');
    for (const v of [-1n, INT64_MIN, INT64_MAX, 300n]) {
      expectExact(create(LiteralMapSchema, { literals: { x: intLiteral(v) } }), `{x: ${v}}`);
    }
  });

  it('encodes lengths of several bytes (large strings, collections and maps)', { timeout: 60_000 }, () => {
    for (const size of [127, 128, 16_383, 16_384, 100_000]) {
      const s = 'é'.repeat(size);
      const str = create(LiteralSchema, {
        value: {
          case: 'scalar',
          value: { value: { case: 'primitive', value: { value: { case: 'stringValue', value: s } } } },
        },
      });
      expectExact(create(LiteralMapSchema, { literals: { s: str } }), `string of ${size}`);
      const many = Array.from({ length: Math.ceil(size / 8) }, (_, i) => intLiteral(BigInt(i)));
      const coll = create(LiteralSchema, { value: { case: 'collection', value: { literals: many } } });
      const nested = create(LiteralSchema, {
        value: { case: 'map', value: { literals: { inner: coll, s: str } } },
      });
      expectExact(create(LiteralMapSchema, { literals: { coll, nested } }), `collection of ${many.length}`);
    }
  });

  it('keeps protobuf-es entry order (integer-like keys first) and own __proto__ keys', () => {
    const literals = Object.fromEntries([
      ['b', intLiteral(1n)],
      ['10', intLiteral(2n)],
      ['__proto__', intLiteral(3n)],
      ['2', intLiteral(4n)],
      ['a', intLiteral(5n)],
    ]) as { [key: string]: Literal };
    const map = create(LiteralMapSchema);
    map.literals = literals;
    expectExact(map, 'ordered keys');
    const bytes = encodeLiteralMap(map);
    const keyAt = (key: string) =>
      hex(bytes).indexOf(hex(new TextEncoder().encode(`\x0a${String.fromCharCode(key.length)}${key}`)));
    const order = ['2', '10', 'b', '__proto__', 'a'].map(keyAt);
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
  });

  it('matches toBinary for messages carrying unknown fields', () => {
    const unknown = [
      { no: 100, wireType: 0, data: new Uint8Array([0x96, 0x01]) },
      { no: 101, wireType: 2, data: new Uint8Array([0x02, 0x68, 0x69]) },
    ];
    const base = () =>
      create(LiteralMapSchema, {
        literals: {
          a: intLiteral(7n),
          b: create(LiteralSchema, { value: { case: 'collection', value: { literals: [intLiteral(1n)] } } }),
          c: create(LiteralSchema, { value: { case: 'map', value: { literals: { d: intLiteral(2n) } } } }),
        },
      });
    const cases: [string, (m: LiteralMap) => void][] = [
      ['top-level map', (m) => (m.$unknown = unknown)],
      ['literal', (m) => ((m.literals.a as Literal).$unknown = unknown)],
      [
        'scalar',
        (m) => {
          const v = (m.literals.a as Literal).value;
          if (v.case === 'scalar') v.value.$unknown = unknown;
        },
      ],
      [
        'primitive',
        (m) => {
          const v = (m.literals.a as Literal).value;
          if (v.case === 'scalar' && v.value.value.case === 'primitive') v.value.value.value.$unknown = unknown;
        },
      ],
      [
        'collection',
        (m) => {
          const v = (m.literals.b as Literal).value;
          if (v.case === 'collection') v.value.$unknown = unknown;
        },
      ],
      [
        'literal inside a collection',
        (m) => {
          const v = (m.literals.b as Literal).value;
          if (v.case === 'collection') (v.value.literals[0] as Literal).$unknown = unknown;
        },
      ],
      [
        'nested map',
        (m) => {
          const v = (m.literals.c as Literal).value;
          if (v.case === 'map') v.value.$unknown = unknown;
        },
      ],
    ];
    for (const [label, mutate] of cases) {
      const map = base();
      mutate(map);
      const expected = toBinary(LiteralMapSchema, map);
      expect(hex(encodeLiteralMap(map)), label).toBe(hex(expected));
      expect(expected.length, label).toBeGreaterThan(toBinary(LiteralMapSchema, base()).length);
    }
    // Unknown fields as fromBinary reads them, in a timestamp and a void.
    const ts = create(LiteralSchema, {
      value: {
        case: 'scalar',
        value: {
          value: { case: 'primitive', value: { value: { case: 'datetime', value: { seconds: 5n, nanos: 1 } } } },
        },
      },
    });
    const none = create(LiteralSchema, {
      value: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } },
    });
    const map = create(LiteralMapSchema, { literals: { ts, none } });
    const bytes = toBinary(LiteralMapSchema, map);
    // Append field 9 (varint 1) to the timestamp (ts, scalar, primitive, timestamp lengths grow by 2).
    const read = fromBinary(LiteralMapSchema, bytes);
    const tsValue = (read.literals.ts as Literal).value;
    if (tsValue.case === 'scalar' && tsValue.value.value.case === 'primitive') {
      const p = tsValue.value.value.value.value;
      if (p.case === 'datetime') p.value.$unknown = [{ no: 9, wireType: 0, data: new Uint8Array([1]) }];
    }
    const noneValue = (read.literals.none as Literal).value;
    if (noneValue.case === 'scalar' && noneValue.value.value.case === 'noneType') {
      noneValue.value.value.value.$unknown = [{ no: 3, wireType: 0, data: new Uint8Array([0]) }];
    }
    const withUnknown = toBinary(LiteralMapSchema, read);
    expect(withUnknown.length).toBe(bytes.length + 4);
    expectExact(fromBinary(LiteralMapSchema, withUnknown), 'unknown fields read by fromBinary');
  });

  it('leaves malformed values to toBinary (same bytes, or the same failure)', () => {
    const big = create(LiteralMapSchema, { literals: { x: intLiteral(INT64_MAX + 1n) } });
    expect(() => toBinary(LiteralMapSchema, big)).toThrow();
    expect(() => encodeLiteralMap(big)).toThrow();
    // int64 given as a number or a string, a Timestamp with number seconds: toBinary accepts them.
    const loose = create(LiteralMapSchema, { literals: { x: intLiteral(0n), y: intLiteral(0n), t: intLiteral(0n) } });
    const set = (key: string, value: PrimitiveValue) => {
      const v = (loose.literals[key] as Literal).value;
      if (v.case === 'scalar' && v.value.value.case === 'primitive') {
        Object.assign(v.value.value.value, { value });
      }
    };
    set('x', { case: 'integer', value: 5 as unknown as bigint });
    set('y', { case: 'integer', value: '-7' as unknown as bigint });
    set('t', {
      case: 'datetime',
      value: { $typeName: 'google.protobuf.Timestamp', seconds: 3 as unknown as bigint, nanos: 0 },
    });
    expectExact(loose, 'loose int64s');
    // A missing literal value (undefined in the map) is an empty Literal for toBinary.
    const holes = create(LiteralMapSchema);
    holes.literals = { a: undefined as unknown as Literal, b: create(LiteralSchema) };
    expectExact(holes, 'empty literals');
  });
});

describe('DataStore.writeLiteralMap', () => {
  it('writes the toBinary encoding', async () => {
    const written = new Map<string, Uint8Array>();
    const blob = {
      scheme: 'mem',
      put: async (uri: string, bytes: Uint8Array) => void written.set(uri, bytes),
    } as unknown as BlobStore;
    const store = new DataStore(blob, { metadataPrefix: 'mem://m', rawOutputPrefix: 'mem://r' });
    const map = generator(7)();
    await store.writeLiteralMap('mem://m/inputs.pb', map);
    expect(written.get('mem://m/inputs.pb')).toEqual(toBinary(LiteralMapSchema, map));
  });
});
