// The `t` namespace: builders for every Flyte LiteralType, and the reverse (a FlyteType from a LiteralType).
import type { LiteralType } from '../gen/flyteidl/core/index.js';
import {
  BlobType_BlobDimensionality,
  SchemaType_SchemaColumn_SchemaColumnType as ColumnType,
  SimpleType,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { checkLiteralTypeNesting, literalTypeNesting } from '../nesting/checks.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { literalTypesEqual } from './castability.js';
import { list, map, optional, union } from './containers.js';
import { directory, file, schema, structuredDataset, type SchemaColumnType } from './data.js';
import { describeLiteralType } from './describe.js';
import type { AnyFlyteType } from './flyte-type.js';
import { binary, boolean, datetime, duration, enumOf, float, int, int64, none, string, struct } from './primitives.js';

/**
 * Builders of Flyte types, nestable: `t.list(t.optional(t.float()))`, `t.map(t.file({ format: 'csv' }))`.
 *
 * | builder | Flyte type | TypeScript value |
 * |---|---|---|
 * | `t.int()` | integer (int64) | `number` (throws rather than lose precision beyond 2^53) |
 * | `t.int64()` | integer (int64) | `bigint` |
 * | `t.float()` | float | `number` |
 * | `t.string()`, `t.boolean()` | string, boolean | `string`, `boolean` |
 * | `t.datetime()` | datetime | `Date` (millisecond precision) |
 * | `t.duration()` | duration | `number` of milliseconds |
 * | `t.none()` | none | `null` |
 * | `t.binary()` | binary | `Uint8Array` |
 * | `t.struct<T>()` | struct (JSON) | `T extends JsonObject` |
 * | `t.enum(['a', 'b'])` | enum | `'a' \| 'b'` |
 * | `t.file()`, `t.directory()` | blob single / multipart | {@link FlyteFile}, {@link FlyteDirectory} |
 * | `t.structuredDataset()` | structured dataset | `StructuredDataset` |
 * | `t.schema()` | schema (legacy) | `FlyteSchema` |
 * | `t.list(T)`, `t.map(T)` | collection, map | `T[]`, `{ [key: string]: T }` |
 * | `t.union(A, B)`, `t.optional(T)` | union, union with none | `A \| B`, `T \| null` |
 */
export const t = {
  int,
  int64,
  float,
  string,
  boolean,
  datetime,
  duration,
  none,
  binary,
  struct,
  enum: enumOf,
  file,
  directory,
  structuredDataset,
  schema,
  list,
  map,
  union,
  optional,
} as const;

/** Options of {@link typeFromLiteralType}. */
export interface TypeFromLiteralTypeOptions {
  /** How Flyte integers are read: `bigint` (the default: lossless) or `number` (throws beyond 2^53). */
  readonly integers?: 'bigint' | 'number';
}

const COLUMN_NAMES: Record<ColumnType, SchemaColumnType> = {
  [ColumnType.INTEGER]: 'integer',
  [ColumnType.FLOAT]: 'float',
  [ColumnType.STRING]: 'string',
  [ColumnType.BOOLEAN]: 'boolean',
  [ColumnType.DATETIME]: 'datetime',
  [ColumnType.DURATION]: 'duration',
};

/**
 * A FlyteType for any LiteralType (e.g. read from a registered TaskTemplate), so values can be converted
 * without a typed declaration. The result's `literalType` is exactly the one given (tags and metadata kept).
 * @throws {DefinitionError} `INVALID_TYPE` for types that have no value representation (ERROR, unset).
 */
export function typeFromLiteralType(type: LiteralType, options: TypeFromLiteralTypeOptions = {}): AnyFlyteType {
  // Before the recursive build: a type read from a registration or a literal may nest thousands of levels.
  if (literalTypeNesting(type) > MAX_NESTING_DEPTH) checkLiteralTypeNesting(type, describeLiteralType(type, 3));
  return fromType(type, options);
}

function fromType(type: LiteralType, options: TypeFromLiteralTypeOptions): AnyFlyteType {
  const base = build(type, options);
  if (literalTypesEqual(base.literalType, type)) return base;
  return Object.freeze({ ...base, literalType: type, description: describeLiteralType(type) });
}

function build(type: LiteralType, options: TypeFromLiteralTypeOptions): AnyFlyteType {
  const ty = type.type;
  switch (ty.case) {
    case 'simple':
      switch (ty.value) {
        case SimpleType.NONE:
          return none();
        case SimpleType.INTEGER:
          return options.integers === 'number' ? int() : int64();
        case SimpleType.FLOAT:
          return float();
        case SimpleType.STRING:
          return string();
        case SimpleType.BOOLEAN:
          return boolean();
        case SimpleType.DATETIME:
          return datetime();
        case SimpleType.DURATION:
          return duration();
        case SimpleType.BINARY:
          return binary();
        case SimpleType.STRUCT:
          return struct(type.metadata === undefined ? {} : { schema: type.metadata });
        case SimpleType.ERROR:
          break;
      }
      break;
    case 'enumType': {
      const [first, ...rest] = ty.value.values;
      if (first === undefined) break;
      return enumOf([first, ...rest]);
    }
    case 'collectionType':
      return list(fromType(ty.value, options));
    case 'mapValueType':
      return map(fromType(ty.value, options));
    case 'unionType': {
      const [first, ...rest] = ty.value.variants.map((v) => fromType(v, options));
      if (first === undefined) break;
      return union(first, ...rest);
    }
    case 'blob':
      return ty.value.dimensionality === BlobType_BlobDimensionality.MULTIPART
        ? directory({ format: ty.value.format })
        : file({ format: ty.value.format });
    case 'structuredDatasetType': {
      const columns: Record<string, AnyFlyteType> = {};
      for (const c of ty.value.columns) {
        if (c.literalType !== undefined) columns[c.name] = fromType(c.literalType, options);
      }
      return structuredDataset({ format: ty.value.format, columns });
    }
    case 'schema': {
      const columns: Record<string, SchemaColumnType> = {};
      for (const c of ty.value.columns) columns[c.name] = COLUMN_NAMES[c.type];
      return schema(columns);
    }
    case undefined:
      break;
  }
  throw new DefinitionError('INVALID_TYPE', `no value representation for Flyte type ${describeLiteralType(type)}`);
}
