// A direct binary encoder of LiteralMaps, for the engine's hot path (every node writes its inputs as
// `inputs.pb`): byte for byte what `toBinary(LiteralMapSchema, map)` gives, without protobuf-es reflection.
//
// Shapes encoded here: literals holding a primitive or none scalar, collections and maps of literals (nested),
// and a literal's hash and metadata. Every other literal (blob, schema, union, struct, binary, error, offloaded,
// a message with unknown fields, a malformed one) is encoded by `toBinary(LiteralSchema, literal)` and embedded
// as it is: a message's encoding does not depend on where it is embedded, so the result stays exact.
//
// What toBinary does, and what is mirrored here (flyteidl/core/literals.proto, proto3):
// - fields in field-number order, then unknown fields;
// - a oneof member is written whenever it is the selected case, even holding its default value (`integer: 0`,
//   `floatValue: -0`, `stringValue: ''`, `boolean: false`, an empty message);
// - other scalars are written only when not their default (`hash: ''`, a Timestamp's `seconds: 0n`, `nanos: 0`);
// - map entries in `Object.keys` order, key (field 1) and value (field 2) both always written;
// - int64 and negative int32 as two's complement varints (10 bytes when negative), doubles as little-endian
//   IEEE 754 (DataView, as protobuf-es), strings as UTF-8 with lone surrogates replaced by U+FFFD (TextEncoder).
import { toBinary } from '@bufbuild/protobuf';
import {
  LiteralMapSchema,
  LiteralSchema,
  type Literal,
  type LiteralMap,
  type Primitive,
} from '../gen/flyteidl/core/index.js';
import { NestingTooDeepError } from '../errors.js';
import { checkLiteralMapNesting } from '../nesting/checks.js';
import { NestingWalk } from '../nesting/levels.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';

// Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_1_VARINT = 0x08; // Primitive.integer, Timestamp/Duration.seconds
const TAG_2_VARINT = 0x10; // Timestamp/Duration.nanos
const TAG_2_FIXED64 = 0x11; // Primitive.float_value
const TAG_4_VARINT = 0x20; // Primitive.boolean
const TAG_1_LEN = 0x0a; // LiteralMap.literals, LiteralCollection.literals, Literal.scalar, Scalar.primitive, map keys
const TAG_2_LEN = 0x12; // Literal.collection, map values
const TAG_3_LEN = 0x1a; // Literal.map, Primitive.string_value
const TAG_4_LEN = 0x22; // Literal.hash
const TAG_5_LEN = 0x2a; // Literal.metadata, Scalar.none_type, Primitive.datetime
const TAG_6_LEN = 0x32; // Primitive.duration

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const TWO_32 = 0x1_0000_0000;

// Strings up to this many UTF-16 units take at most 3 bytes each: their length fits one varint byte.
const SHORT_STRING = 42;
const INITIAL_SIZE = 4096;
// A buffer grown past this by a large map is not kept for the next call.
const RETAINED_SIZE = 1 << 20;

// One scratch buffer for all calls (encoding is synchronous and never re-entered); each result is a copy.
let buf = new Uint8Array(INITIAL_SIZE);
let view = new DataView(buf.buffer);
let pos = 0;
const utf8 = new TextEncoder();

function grow(needed: number): void {
  let size = buf.length * 2;
  while (size < needed) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(next.buffer);
}

/** Makes room for `n` more bytes. */
function ensure(n: number): void {
  if (pos + n > buf.length) grow(pos + n);
}

/** Writes a tag and reserves one byte for the length of what follows; returns the length's position. */
function open(tag: number): number {
  ensure(2);
  buf[pos++] = tag;
  return pos++;
}

/** Writes the length of what was written since `open`, moving the content when it needs more than one byte. */
function close(at: number): void {
  let len = pos - at - 1;
  if (len < 0x80) {
    buf[at] = len;
    return;
  }
  const size = len < 0x4000 ? 2 : len < 0x20_0000 ? 3 : len < 0x1000_0000 ? 4 : 5;
  ensure(size - 1);
  buf.copyWithin(at + size, at + 1, pos);
  pos += size - 1;
  while (len > 0x7f) {
    buf[at++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  buf[at] = len;
}

/** A varint of a 64-bit two's complement value given as its low and high 32 bits. Room must be ensured. */
function varint64(lo: number, hi: number): void {
  lo >>>= 0;
  hi >>>= 0;
  while (hi !== 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
}

/** A varint of a non-negative safe integer. Room must be ensured. */
function varintNumber(n: number): void {
  if (n < 0x8000_0000) {
    while (n > 0x7f) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    return;
  }
  while (n > 0x7f) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
}

/** An int64 varint; false for a value left to toBinary (a number or string it converts, one out of range it rejects). */
function int64(value: unknown): boolean {
  if (typeof value !== 'bigint') return false;
  ensure(10);
  const n = Number(value);
  if (Number.isSafeInteger(n)) {
    if (n >= 0) {
      varintNumber(n);
    } else {
      const hi = Math.floor(n / TWO_32);
      varint64(n - hi * TWO_32, hi);
    }
    return true;
  }
  if (value < INT64_MIN || value > INT64_MAX) return false;
  varint64(Number(BigInt.asUintN(32, value)), Number(BigInt.asIntN(32, value >> 32n)));
  return true;
}

/** An int32 varint (negatives sign-extended to 10 bytes). Room must be ensured. */
function int32(n: number): void {
  if (n >= 0) varintNumber(n);
  else varint64(n, -1);
}

/** A string field: UTF-8 (lone surrogates as U+FFFD, like TextEncoder) with its byte length. */
function string(tag: number, s: string): void {
  const n = s.length;
  if (n > SHORT_STRING) {
    const at = open(tag);
    ensure(n * 3);
    pos += utf8.encodeInto(s, buf.subarray(pos)).written;
    close(at);
    return;
  }
  ensure(2 + n * 3);
  const b = buf;
  let p = pos;
  b[p++] = tag;
  const at = p++;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      p = nonAscii(b, p, s, i);
      break;
    }
    b[p++] = c;
  }
  b[at] = p - at - 1;
  pos = p;
}

/** UTF-8 of `s` from index `i` on, at `p` in `b` (with room); returns the position after it. */
function nonAscii(b: Uint8Array, p: number, s: string, i: number): number {
  const n = s.length;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xf800) !== 0xd800) {
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        b[p++] = 0xf0 | (c >> 18);
        b[p++] = 0x80 | ((c >> 12) & 0x3f);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        // A lone surrogate: U+FFFD.
        b[p++] = 0xef;
        b[p++] = 0xbf;
        b[p++] = 0xbd;
      }
    }
  }
  return p;
}

// Messages are encoded here only when they are what they claim (`$typeName`, checked where each is read, so that
// every check sees one kind of message) and carry no unknown fields (`$unknown`): else toBinary encodes them.

/** A Timestamp or Duration field (at most 22 bytes: its length is one byte); room for 24 bytes must be ensured. */
function secondsNanos(tag: number, seconds: unknown, nanos: unknown): boolean {
  if (typeof nanos !== 'number' || (nanos | 0) !== nanos) return false;
  buf[pos++] = tag;
  const at = pos++;
  if (seconds !== 0n) {
    buf[pos++] = TAG_1_VARINT;
    if (!int64(seconds)) return false;
  }
  if (nanos !== 0) {
    buf[pos++] = TAG_2_VARINT;
    int32(nanos);
  }
  buf[at] = pos - at - 1;
  return true;
}

/** The fields of a Primitive; false for a shape left to toBinary. */
function primitive(p: Primitive): boolean {
  if (typeof p !== 'object' || p === null || p.$typeName !== 'flyteidl.core.Primitive' || p.$unknown !== undefined) {
    return false;
  }
  const v = p.value;
  if (typeof v !== 'object' || v === null) return false;
  ensure(24);
  switch (v.case) {
    case 'integer':
      buf[pos++] = TAG_1_VARINT;
      return int64(v.value);
    case 'floatValue':
      if (typeof v.value !== 'number') return false;
      buf[pos++] = TAG_2_FIXED64;
      view.setFloat64(pos, v.value, true);
      pos += 8;
      return true;
    case 'stringValue':
      if (typeof v.value !== 'string') return false;
      string(TAG_3_LEN, v.value);
      return true;
    case 'boolean':
      if (typeof v.value !== 'boolean') return false;
      buf[pos++] = TAG_4_VARINT;
      buf[pos++] = v.value ? 1 : 0;
      return true;
    case 'datetime': {
      const t = v.value;
      if (
        typeof t !== 'object' ||
        t === null ||
        t.$typeName !== 'google.protobuf.Timestamp' ||
        t.$unknown !== undefined
      ) {
        return false;
      }
      return secondsNanos(TAG_5_LEN, t.seconds, t.nanos);
    }
    case 'duration': {
      const d = v.value;
      if (
        typeof d !== 'object' ||
        d === null ||
        d.$typeName !== 'google.protobuf.Duration' ||
        d.$unknown !== undefined
      ) {
        return false;
      }
      return secondsNanos(TAG_6_LEN, d.seconds, d.nanos);
    }
    default:
      return false;
  }
}

/** The top-level variable being encoded, for a nesting error. */
let variable = '';

/** The entries of a `map<string, Literal>` field (number 1), holding literals at `level` levels of nesting. */
function literalEntries(literals: { [key: string]: Literal }, level: number): void {
  const keys = Object.keys(literals);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (level === 0) variable = key;
    const entry = open(TAG_1_LEN);
    string(TAG_1_LEN, key);
    const value = open(TAG_2_LEN);
    literal(literals[key], level);
    close(value);
    close(entry);
  }
}

/** Refuses a literal nested deeper than every protobuf reader accepts, before recursing into it. */
function tooDeep(): NestingTooDeepError {
  return new NestingTooDeepError(
    `${variable}: the value nests more than ${MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH), more than every protobuf reader can read back`,
    MAX_NESTING_DEPTH,
    { id: variable },
  );
}

/** The fields of a Literal at `level` levels of nesting, encoded here when its shape allows, else by toBinary. */
function literal(lit: Literal | undefined, level: number): void {
  const start = pos;
  if (!fastLiteral(lit, level)) {
    pos = start;
    // toBinary recurses: the literal is measured first (without recursion).
    if (
      typeof lit === 'object' &&
      lit !== null &&
      new NestingWalk(MAX_NESTING_DEPTH).literal(lit, level).run().depth > MAX_NESTING_DEPTH
    ) {
      throw tooDeep();
    }
    const bytes = toBinary(LiteralSchema, lit as Literal);
    ensure(bytes.length);
    buf.set(bytes, pos);
    pos += bytes.length;
  }
}

/** Writes the fields of a Literal; false (with a partial write to discard) for a shape left to toBinary. */
function fastLiteral(lit: Literal | undefined, level: number): boolean {
  if (
    typeof lit !== 'object' ||
    lit === null ||
    lit.$typeName !== 'flyteidl.core.Literal' ||
    lit.$unknown !== undefined
  ) {
    return false;
  }
  const { value: v, hash, metadata } = lit;
  if (typeof hash !== 'string' || typeof metadata !== 'object' || metadata === null) return false;
  if (typeof v !== 'object' || v === null) return false;
  switch (v.case) {
    case 'scalar': {
      const s = v.value;
      if (typeof s !== 'object' || s === null || s.$typeName !== 'flyteidl.core.Scalar' || s.$unknown !== undefined) {
        return false;
      }
      const sv = s.value;
      if (typeof sv !== 'object' || sv === null) return false;
      if (sv.case === 'primitive') {
        const at = open(TAG_1_LEN);
        const p = open(TAG_1_LEN);
        if (!primitive(sv.value)) return false;
        close(p);
        close(at);
      } else if (sv.case === 'noneType') {
        const none = sv.value;
        if (
          typeof none !== 'object' ||
          none === null ||
          none.$typeName !== 'flyteidl.core.Void' ||
          none.$unknown !== undefined
        ) {
          return false;
        }
        ensure(4);
        buf[pos++] = TAG_1_LEN;
        buf[pos++] = 2;
        buf[pos++] = TAG_5_LEN;
        buf[pos++] = 0;
      } else {
        return false;
      }
      break;
    }
    case 'collection': {
      const c = v.value;
      if (
        typeof c !== 'object' ||
        c === null ||
        c.$typeName !== 'flyteidl.core.LiteralCollection' ||
        c.$unknown !== undefined ||
        !Array.isArray(c.literals)
      ) {
        return false;
      }
      if (level >= MAX_NESTING_DEPTH) throw tooDeep();
      const at = open(TAG_2_LEN);
      const items = c.literals;
      for (let i = 0; i < items.length; i++) {
        const item = open(TAG_1_LEN);
        literal(items[i], level + 1);
        close(item);
      }
      close(at);
      break;
    }
    case 'map': {
      const m = v.value;
      if (
        typeof m !== 'object' ||
        m === null ||
        m.$typeName !== 'flyteidl.core.LiteralMap' ||
        m.$unknown !== undefined ||
        typeof m.literals !== 'object' ||
        m.literals === null
      ) {
        return false;
      }
      if (level >= MAX_NESTING_DEPTH) throw tooDeep();
      const at = open(TAG_3_LEN);
      literalEntries(m.literals, level + 1);
      close(at);
      break;
    }
    default:
      return false;
  }
  if (hash !== '') string(TAG_4_LEN, hash);
  // Most literals have no metadata: for-in over an empty object does not allocate the keys array.
  for (const _ in metadata) return writeMetadata(metadata);
  return true;
}

/** The entries of Literal.metadata (`map<string, string>`, field 5); false for a value that is not a string. */
function writeMetadata(metadata: { [key: string]: string }): boolean {
  const keys = Object.keys(metadata);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = metadata[key];
    if (typeof value !== 'string') return false;
    const entry = open(TAG_5_LEN);
    string(TAG_1_LEN, key);
    string(TAG_2_LEN, value);
    close(entry);
  }
  return true;
}

/**
 * Binary encoding of a LiteralMap; byte-for-byte what toBinary(LiteralMapSchema, map) gives.
 *
 * Literals of primitives, none, collections and maps (with their hash and metadata) are encoded directly,
 * several times faster than toBinary; every other literal is encoded by toBinary and embedded as it is.
 */
export function encodeLiteralMap(map: LiteralMap): Uint8Array {
  if (
    typeof map !== 'object' ||
    map === null ||
    map.$typeName !== 'flyteidl.core.LiteralMap' ||
    map.$unknown !== undefined ||
    typeof map.literals !== 'object' ||
    map.literals === null
  ) {
    // toBinary recurses: the literals are measured first (without recursion).
    if (typeof map === 'object' && map !== null) checkLiteralMapNesting(map, '');
    return toBinary(LiteralMapSchema, map);
  }
  pos = 0;
  literalEntries(map.literals, 0);
  // A copy in Node's Buffer pool when small (no ArrayBuffer of its own), as a plain Uint8Array view.
  const pooled = Buffer.from(buf.subarray(0, pos));
  const bytes = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
  if (buf.length > RETAINED_SIZE) {
    buf = new Uint8Array(INITIAL_SIZE);
    view = new DataView(buf.buffer);
  }
  return bytes;
}
