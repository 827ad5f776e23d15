import { create, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  fromLiteralMap,
  idl,
  INT64_MAX,
  INT64_MIN,
  LiteralTypeError,
  t,
  toLiteralMap,
  typeFromLiteralType,
  type AnyFlyteType,
} from '@flyte-ts/core';

/** Writes a value and reads it back through the protobuf wire format, as an execution would. */
function roundTrip(type: AnyFlyteType, value: unknown): unknown {
  const bytes = toBinary(idl.core.LiteralSchema, type.toLiteral(value as never));
  return type.fromLiteral(fromBinary(idl.core.LiteralSchema, bytes));
}

function thrown(fn: () => unknown): LiteralTypeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LiteralTypeError);
    return error as LiteralTypeError;
  }
  throw new Error('expected a LiteralTypeError');
}

describe('round trip of every type (value → Literal → value)', () => {
  const file = { uri: 's3://bucket/a.csv', format: 'csv' };
  const cases: [string, AnyFlyteType, unknown, unknown?][] = [
    ['int', t.int(), 42],
    ['int negative', t.int(), -7],
    ['int from bigint', t.int(), 12n, 12],
    ['int64', t.int64(), 9007199254740993n],
    ['int64 max', t.int64(), INT64_MAX],
    ['int64 min', t.int64(), INT64_MIN],
    ['float', t.float(), 3.25],
    ['float whole', t.float(), 2],
    ['float NaN', t.float(), Number.NaN],
    ['float -Infinity', t.float(), -Infinity],
    ['string', t.string(), 'héllo ✓'],
    ['empty string', t.string(), ''],
    ['boolean', t.boolean(), false],
    ['datetime', t.datetime(), new Date('2024-02-29T12:34:56.789Z')],
    ['datetime before epoch', t.datetime(), new Date('1969-07-20T20:17:40.123Z')],
    ['duration', t.duration(), 90_061_001],
    ['duration fractional ms', t.duration(), 1.5],
    ['duration negative', t.duration(), -2500],
    ['none', t.none(), null],
    ['binary', t.binary(), new Uint8Array([0, 1, 254, 255])],
    ['struct', t.struct(), { a: 1, b: [true, null, 'x'], c: { d: 2.5 } }],
    ['enum', t.enum(['red', 'green']), 'green'],
    ['file', t.file({ format: 'csv' }), file],
    ['file from uri', t.file(), 's3://bucket/x', { uri: 's3://bucket/x', format: '' }],
    ['directory', t.directory(), { uri: 'file:///tmp/d', format: '' }],
    [
      'structured dataset',
      t.structuredDataset({ format: 'parquet', columns: { a: t.int() } }),
      { uri: 's3://b/d', format: 'parquet' },
      { uri: 's3://b/d', format: 'parquet', columns: [{ name: 'a', kind: 'int', nullable: false }] },
    ],
    ['schema', t.schema({ a: 'integer', b: 'string' }), { uri: 's3://b/s' }],
    ['list', t.list(t.float()), [1.5, 2, -3]],
    ['empty list', t.list(t.string()), []],
    ['nested list', t.list(t.list(t.int())), [[1, 2], [], [3]]],
    ['map', t.map(t.int()), { a: 1, 'odd key': 2 }],
    ['map of lists', t.map(t.list(t.string())), { a: ['x'], b: [] }],
    ['optional present', t.optional(t.int()), 5],
    ['optional absent', t.optional(t.int()), null],
    ['optional undefined reads as null', t.optional(t.string()), undefined, null],
    ['union string', t.union(t.int(), t.string()), 'x'],
    ['union int', t.union(t.int(), t.string()), 3],
    ['union picks integer for whole numbers', t.union(t.int(), t.float()), 3],
    ['union picks float for fractions', t.union(t.int(), t.float()), 3.5],
    ['union of list and map', t.union(t.list(t.int()), t.map(t.int())), { k: 1 }],
    ['list of optionals', t.list(t.optional(t.float())), [1.5, null, 2]],
    ['map of unions', t.map(t.union(t.boolean(), t.string())), { a: true, b: 's' }],
  ];

  it.each(cases)('%s', (_name, type, value, expected) => {
    const want = expected === undefined ? value : expected;
    expect(type.fromLiteral(type.toLiteral(value as never))).toEqual(want);
    // Through the protobuf wire format too: what is stored is what is read.
    expect(roundTrip(type, value)).toEqual(want);
  });

  it('keeps nested unions of int64, datetime and none exact through the wire format', () => {
    const type = t.map(t.list(t.union(t.int64(), t.datetime(), t.none())));
    const value = { a: [2n ** 62n, new Date(0), null], b: [] };
    expect(roundTrip(type, value)).toEqual(value);
  });

  it('records the chosen union variant, tagged as flytekit tags it', () => {
    const literal = t.optional(t.int()).toLiteral(4);
    expect(toJson(idl.core.LiteralSchema, literal)).toEqual({
      scalar: {
        union: {
          value: { scalar: { primitive: { integer: '4' } } },
          type: { simple: 'INTEGER', structure: { tag: 'int' } },
        },
      },
    });
  });

  it('writes whole numbers as the integer variant and fractions as the float variant', () => {
    const type = t.union(t.int(), t.float());
    const variantOf = (v: number) => {
      const scalar = type.toLiteral(v).value;
      return scalar.case === 'scalar' && scalar.value.value.case === 'union'
        ? scalar.value.value.value.type?.structure?.tag
        : undefined;
    };
    expect(variantOf(3)).toBe('int');
    expect(variantOf(3.5)).toBe('float');
  });

  it('writes strings to the string variant of a union with an enum', () => {
    const type = t.union(t.string(), t.enum(['red']));
    const literal = type.toLiteral('red');
    expect(
      literal.value.case === 'scalar' &&
        literal.value.value.value.case === 'union' &&
        literal.value.value.value.value.type?.structure?.tag,
    ).toBe('str');
    expect(t.union(t.int(), t.enum(['red'])).fromLiteral(t.union(t.int(), t.enum(['red'])).toLiteral('red'))).toBe(
      'red',
    );
  });

  it('reads a plain literal given to an optional', () => {
    expect(t.optional(t.int()).fromLiteral(t.int().toLiteral(9))).toBe(9);
  });

  it('reads a union literal given to a non-union type', () => {
    expect(t.int().fromLiteral(t.optional(t.int()).toLiteral(9))).toBe(9);
  });
});

describe('wrong values are coded errors naming the path', () => {
  it('names the element of a list', () => {
    const error = thrown(() =>
      toLiteralMap({ xs: t.list(t.float()) }, { xs: [1, 2, 3, 'x' as never] }, { path: 'inputs' }),
    );
    expect(error.code).toBe('TYPE_MISMATCH');
    expect(error.message).toBe('inputs.xs[3]: expected float, got string');
    expect(error.path).toBe('inputs.xs[3]');
  });

  it('names a map key, quoting keys that are not identifiers', () => {
    const error = thrown(() => t.map(t.int()).toLiteral({ 'a b': 'x' as never }, 'outputs.m'));
    expect(error.message).toBe('outputs.m["a b"]: expected integer, got string');
  });

  it('rejects floats and unsafe numbers for integers without losing precision', () => {
    expect(thrown(() => t.int().toLiteral(1.5)).code).toBe('TYPE_MISMATCH');
    const unsafe = thrown(() => t.int().toLiteral(2 ** 53 + 2, 'x'));
    expect(unsafe.code).toBe('INTEGER_OUT_OF_RANGE');
    expect(thrown(() => t.int64().toLiteral(2n ** 63n)).code).toBe('INTEGER_OUT_OF_RANGE');
  });

  it('refuses to read an int64 beyond 2^53 as a number, and reads it exactly as a bigint', () => {
    const literal = t.int64().toLiteral(9007199254740993n);
    const error = thrown(() => t.int().fromLiteral(literal, 'inputs.n'));
    expect(error.code).toBe('INTEGER_OUT_OF_RANGE');
    expect(error.message).toContain('t.int64()');
    expect(t.int64().fromLiteral(literal)).toBe(9007199254740993n);
  });

  it('rejects values that are not JSON in a struct', () => {
    const error = thrown(() => t.struct().toLiteral({ a: { b: [1, undefined] } } as never, 'v'));
    expect(error.path).toBe('v.a.b[1]');
    expect(thrown(() => t.struct().toLiteral({ n: Number.NaN })).code).toBe('TYPE_MISMATCH');
    expect(thrown(() => t.struct().toLiteral(new Date() as never)).message).toContain('got Date');
  });

  it('rejects enum values outside the enum, writing and reading', () => {
    const colors = t.enum(['red', 'green']);
    expect(thrown(() => colors.toLiteral('blue' as never)).message).toBe(
      'value: expected enum<red | green>, got string',
    );
    expect(thrown(() => colors.fromLiteral(t.string().toLiteral('blue'))).code).toBe('TYPE_MISMATCH');
  });

  it('reports an ambiguous union value', () => {
    const error = thrown(() => t.union(t.float(), t.duration()).toLiteral(1.5, 'x'));
    expect(error.code).toBe('AMBIGUOUS_UNION_VALUE');
    expect(error.message).toContain('matches float and duration');
  });

  it('reports the failing element inside a union of lists', () => {
    const error = thrown(() => t.optional(t.list(t.int())).toLiteral([1, 'two' as never], 'inputs.xs'));
    expect(error.message).toBe('inputs.xs[1]: expected integer, got string');
  });

  it('reports literals of the wrong kind when reading', () => {
    const error = thrown(() => t.list(t.int()).fromLiteral(t.int().toLiteral(1), 'outputs.o0'));
    expect(error.message).toBe('outputs.o0: expected list<integer>, got integer');
  });

  it('rejects files of another format', () => {
    expect(thrown(() => t.file({ format: 'csv' }).toLiteral({ uri: 's3://b/x', format: 'parquet' })).code).toBe(
      'TYPE_MISMATCH',
    );
  });

  it('names missing, undeclared and invalid variables of a literal map', () => {
    const types = { a: t.int(), b: t.optional(t.string()) };
    expect(thrown(() => toLiteralMap(types, {} as never, { path: 'inputs' })).message).toBe(
      'inputs.a: expected integer, got undefined',
    );
    expect(thrown(() => toLiteralMap(types, { a: 1, c: 2 } as never, { path: 'inputs' })).message).toContain(
      'inputs.c: expected one of the declared variables (a, b)',
    );
    expect(thrown(() => fromLiteralMap(types, create(idl.core.LiteralMapSchema), { path: 'outputs' })).message).toBe(
      'outputs.a: expected integer, got nothing (missing variable)',
    );
  });
});

describe('literal maps', () => {
  it('fills omitted optionals with none and reads them back as null', () => {
    const types = { a: t.int(), b: t.optional(t.string()) };
    const map = toLiteralMap(types, { a: 1 }, { path: 'inputs' });
    expect(fromLiteralMap(types, map)).toEqual({ a: 1, b: null });
  });
});

describe('typeFromLiteralType', () => {
  it('converts values of any declared type without a typed declaration', () => {
    const declared = t.map(t.list(t.optional(t.enum(['a', 'b']))));
    const dynamic = typeFromLiteralType(declared.literalType);
    expect(dynamic.literalType).toEqual(declared.literalType);
    const value: { k: ('a' | 'b' | null)[] } = { k: ['a', null, 'b'] };
    expect(dynamic.fromLiteral(declared.toLiteral(value))).toEqual(value);
  });

  it('reads integers as bigints by default, as numbers on request', () => {
    const lt = t.int().literalType;
    expect(typeFromLiteralType(lt).fromLiteral(t.int().toLiteral(3))).toBe(3n);
    expect(typeFromLiteralType(lt, { integers: 'number' }).fromLiteral(t.int().toLiteral(3))).toBe(3);
  });

  it('rejects types without values', () => {
    expect(() => typeFromLiteralType(create(idl.core.LiteralTypeSchema))).toThrow(/no value representation/);
  });
});

describe('type builders', () => {
  it('describe themselves for messages', () => {
    expect(t.map(t.list(t.optional(t.float()))).description).toBe('map<string, list<union<float | none>>>');
    expect(t.file({ format: 'csv' }).description).toBe('file<csv>');
    expect(t.structuredDataset({ format: 'parquet', columns: { a: t.int() } }).description).toBe(
      'structured-dataset<parquet>{a: integer}',
    );
  });

  it('flatten nested unions and drop duplicate variants', () => {
    const type = t.optional(t.optional(t.int()));
    const lt = type.literalType;
    expect(lt.type.case === 'unionType' && lt.type.value.variants.length).toBe(2);
  });

  it('reject malformed definitions', () => {
    expect(() => t.enum([] as never)).toThrow(/non-empty/);
    expect(() => t.enum(['a', 'a'])).toThrow(/unique/);
    expect(() => t.list({} as never)).toThrow(/expects a Flyte type/);
  });
});
