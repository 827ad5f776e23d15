// Builders of Flyte's simple types and enums: integer, float, string, boolean, datetime, duration, none,
// binary and struct.
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import { LiteralTypeSchema, SimpleType, type Literal } from '../gen/flyteidl/core/index.js';
import { DefinitionError, LiteralTypeError } from '../errors.js';
import { checkJsonNesting, jsonNesting } from '../nesting/checks.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { noneLiteral, primitiveLiteral, scalarLiteral, simpleType, structLiteral } from '../literals/make.js';
import { durationFromMs, msFromDuration, msFromTimestamp, timestampFromMs } from '../literals/time.js';
import { define, isPlainObject, literalMismatch, primitiveOf, valueMismatch } from './define.js';
import { describeLiteralType, describeValue } from './describe.js';
import type { FlyteType } from './flyte-type.js';
import { indexPath, keyPath } from './paths.js';

/** Smallest int64. */
export const INT64_MIN = -(2n ** 63n);
/** Largest int64. */
export const INT64_MAX = 2n ** 63n - 1n;

/** For error messages only (never handed out: each integer type has its own LiteralType). */
const INTEGER = simpleType(SimpleType.INTEGER);

function toInt64(value: unknown, path: string, description: string): bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new LiteralTypeError('INTEGER_OUT_OF_RANGE', path, description, describeValue(value), 'outside int64');
    }
    return value;
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) {
      throw new LiteralTypeError(
        'INTEGER_OUT_OF_RANGE',
        path,
        description,
        describeValue(value),
        'not a safe integer: it may already have lost precision; pass a bigint',
      );
    }
    return BigInt(value);
  }
  return valueMismatch(path, INTEGER, value);
}

function readInt64(literal: Literal, path: string): bigint {
  const p = primitiveOf(literal);
  if (p?.case !== 'integer') return literalMismatch(path, INTEGER, literal);
  return p.value;
}

function isInt64(value: unknown): boolean {
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX;
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * A Flyte integer (int64) read as a JS `number`. Writing accepts a safe integer or a bigint within int64;
 * reading an int64 outside ±(2^53 − 1) throws `INTEGER_OUT_OF_RANGE` rather than losing precision
 * (use {@link int64} for such values).
 */
export function int(): FlyteType<number, number | bigint, 'integer'> {
  return define({
    literalType: simpleType(SimpleType.INTEGER),
    toLiteral: (value, path) => primitiveLiteral({ case: 'integer', value: toInt64(value, path, 'integer') }),
    fromLiteral: (literal, path) => {
      const value = readInt64(literal, path);
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new LiteralTypeError(
          'INTEGER_OUT_OF_RANGE',
          path,
          'integer within ±(2^53 − 1)',
          `integer ${String(value)}`,
          'declare the variable with t.int64() to read it as a bigint',
        );
      }
      return Number(value);
    },
    accepts: isInt64,
  });
}

/** A Flyte integer (int64) read as a `bigint`: every int64 round-trips exactly. */
export function int64(): FlyteType<bigint, bigint | number, 'integer'> {
  return define({
    literalType: simpleType(SimpleType.INTEGER),
    toLiteral: (value, path) => primitiveLiteral({ case: 'integer', value: toInt64(value, path, 'integer') }),
    fromLiteral: readInt64,
    accepts: isInt64,
  });
}

/** A Flyte float (IEEE double). A whole number is accepted, but a union prefers an integer variant for it. */
export function float(): FlyteType<number, number, 'float'> {
  const literalType = simpleType(SimpleType.FLOAT);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (typeof value !== 'number') return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'floatValue', value });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'floatValue') return literalMismatch(path, literalType, literal);
      return p.value;
    },
    accepts: (value, exact) => typeof value === 'number' && !(exact && Number.isInteger(value)),
  });
}

/** A Flyte string. */
export function string(): FlyteType<string, string, 'string'> {
  const literalType = simpleType(SimpleType.STRING);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (typeof value !== 'string') return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'stringValue', value });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'stringValue') return literalMismatch(path, literalType, literal);
      return p.value;
    },
    accepts: (value) => typeof value === 'string',
  });
}

/** A Flyte boolean. */
export function boolean(): FlyteType<boolean, boolean, 'boolean'> {
  const literalType = simpleType(SimpleType.BOOLEAN);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (typeof value !== 'boolean') return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'boolean', value });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'boolean') return literalMismatch(path, literalType, literal);
      return p.value;
    },
    accepts: (value) => typeof value === 'boolean',
  });
}

/**
 * A Flyte datetime (protobuf Timestamp) as a JS `Date`. Dates have millisecond precision: a timestamp
 * with sub-millisecond nanoseconds (e.g. written by Python) is read truncated to the millisecond.
 */
export function datetime(): FlyteType<Date, Date, 'datetime'> {
  const literalType = simpleType(SimpleType.DATETIME);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'datetime', value: timestampFromMs(value.getTime()) });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'datetime') return literalMismatch(path, literalType, literal);
      const date = new Date(msFromTimestamp(p.value));
      if (Number.isNaN(date.getTime())) {
        throw new LiteralTypeError('INVALID_LITERAL', path, 'datetime', `timestamp ${String(p.value.seconds)}s`);
      }
      return date;
    },
    accepts: (value) => value instanceof Date && !Number.isNaN(value.getTime()),
  });
}

/**
 * A Flyte duration (protobuf Duration) as a number of milliseconds, possibly fractional (nanosecond
 * resolution is kept for durations up to about 104 days, beyond which a double cannot hold every nanosecond).
 */
export function duration(): FlyteType<number, number, 'duration'> {
  const literalType = simpleType(SimpleType.DURATION);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'duration', value: durationFromMs(value) });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'duration') return literalMismatch(path, literalType, literal);
      return msFromDuration(p.value);
    },
    accepts: (value) => typeof value === 'number' && Number.isFinite(value),
  });
}

/** Flyte's none type: the value `null` (`undefined` is accepted when writing). */
export function none(): FlyteType<null, null | undefined, 'none'> {
  const literalType = simpleType(SimpleType.NONE);
  return define({
    literalType,
    toLiteral: (value, path) => (value == null ? noneLiteral() : valueMismatch(path, literalType, value)),
    fromLiteral: (literal, path) => {
      if (literal.value.case === 'scalar' && literal.value.value.value.case === 'noneType') return null;
      return literalMismatch(path, literalType, literal);
    },
    accepts: (value) => value == null,
  });
}

/** Flyte binary: raw bytes as a `Uint8Array` (a Binary scalar with an empty tag). */
export function binary(): FlyteType<Uint8Array, Uint8Array, 'binary'> {
  const literalType = simpleType(SimpleType.BINARY);
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (!(value instanceof Uint8Array)) return valueMismatch(path, literalType, value);
      return scalarLiteral({ case: 'binary', value: { value, tag: '' } });
    },
    fromLiteral: (literal, path) => {
      if (literal.value.case === 'scalar' && literal.value.value.value.case === 'binary') {
        return literal.value.value.value.value.value;
      }
      return literalMismatch(path, literalType, literal);
    },
    accepts: (value) => value instanceof Uint8Array,
  });
}

/** Options of {@link struct}. */
export interface StructOptions {
  /** JSON schema of the object, stored in the type's metadata (as flytekit does for dataclasses). */
  readonly schema?: JsonObject;
}

/**
 * A Flyte struct (google.protobuf.Struct): a JSON object. The type parameter narrows the TypeScript type;
 * values are checked to be JSON (no `undefined`, functions, class instances, NaN or Infinity).
 */
export function struct(options?: StructOptions): FlyteType<JsonObject, JsonObject, 'struct'>;
/** A struct whose TypeScript type is narrowed to `T` (values are still checked to be JSON objects). */
export function struct<T extends JsonObject>(options?: StructOptions): FlyteType<T, T, 'struct'>;
export function struct<T extends JsonObject>(options: StructOptions = {}): FlyteType<T, T, 'struct'> {
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'simple', value: SimpleType.STRUCT },
    ...(options.schema === undefined ? {} : { metadata: options.schema }),
  });
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (!isPlainObject(value)) return valueMismatch(path, literalType, value);
      // Before the recursive check and copy: a hostile object may nest 10,000 deep.
      checkJsonNesting(value, path === '' ? 'value' : path);
      checkJson(value, path);
      // A copy: the literal must not change when the caller's object does.
      return structLiteral(structuredClone(value));
    },
    fromLiteral: (literal, path) => {
      if (literal.value.case === 'scalar' && literal.value.value.value.case === 'generic') {
        const json = literal.value.value.value.value;
        checkJsonNesting(json, path === '' ? 'value' : path);
        return structuredClone(json) as T;
      }
      return literalMismatch(path, literalType, literal);
    },
    // A struct nesting too deep is accepted here so that converting it reports NESTING_TOO_DEEP, not a mismatch.
    accepts: (value) => isPlainObject(value) && (jsonNesting(value) > MAX_NESTING_DEPTH || isJson(value)),
  });
}

function checkJson(value: unknown, path: string): asserts value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LiteralTypeError('TYPE_MISMATCH', path, 'JSON value', describeValue(value));
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, indexPath(path, i)));
    return;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) checkJson(v, keyPath(path, k));
    return;
  }
  throw new LiteralTypeError('TYPE_MISMATCH', path, 'JSON value', describeValue(value));
}

function isJson(value: unknown): boolean {
  try {
    checkJson(value, '');
    return true;
  } catch {
    return false;
  }
}

/**
 * A Flyte enum: one of the given strings (stored as a string literal, as Flyte does).
 * `t.enum(['red', 'green'])` has the TypeScript type `'red' | 'green'`.
 */
export function enumOf<const V extends readonly [string, ...string[]]>(
  values: V,
): FlyteType<V[number], V[number], 'enum'> {
  if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string')) {
    throw new DefinitionError('INVALID_TYPE', 't.enum needs a non-empty array of strings');
  }
  if (new Set(values).size !== values.length) {
    throw new DefinitionError('INVALID_TYPE', `t.enum values must be unique: ${values.join(', ')}`);
  }
  const allowed = new Set<string>(values);
  const literalType = create(LiteralTypeSchema, { type: { case: 'enumType', value: { values: [...values] } } });
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (typeof value !== 'string' || !allowed.has(value)) return valueMismatch(path, literalType, value);
      return primitiveLiteral({ case: 'stringValue', value });
    },
    fromLiteral: (literal, path) => {
      const p = primitiveOf(literal);
      if (p?.case !== 'stringValue') return literalMismatch(path, literalType, literal);
      if (!allowed.has(p.value)) {
        throw new LiteralTypeError(
          'TYPE_MISMATCH',
          path,
          describeLiteralType(literalType),
          `string ${JSON.stringify(p.value)}`,
        );
      }
      return p.value as V[number];
    },
    // A string is exactly a string: in a union with t.string(), strings go to the string variant (as flytekit,
    // where only enum members, not plain strings, pick an enum variant).
    accepts: (value, exact) => !exact && typeof value === 'string' && allowed.has(value),
  });
}
