// Human-readable descriptions of Flyte types, literals and TypeScript values, for error messages.
// One description per LiteralType: builders, the castability checker and the compiler all print these.
import {
  BlobType_BlobDimensionality,
  SchemaType_SchemaColumn_SchemaColumnType,
  SimpleType,
  type Literal,
  type LiteralType,
} from '../gen/flyteidl/core/index.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';

const SIMPLE_NAMES: Record<SimpleType, string> = {
  [SimpleType.NONE]: 'none',
  [SimpleType.INTEGER]: 'integer',
  [SimpleType.FLOAT]: 'float',
  [SimpleType.STRING]: 'string',
  [SimpleType.BOOLEAN]: 'boolean',
  [SimpleType.DATETIME]: 'datetime',
  [SimpleType.DURATION]: 'duration',
  [SimpleType.BINARY]: 'binary',
  [SimpleType.ERROR]: 'error',
  [SimpleType.STRUCT]: 'struct',
};

const SCHEMA_COLUMN_NAMES: Record<SchemaType_SchemaColumn_SchemaColumnType, string> = {
  [SchemaType_SchemaColumn_SchemaColumnType.INTEGER]: 'integer',
  [SchemaType_SchemaColumn_SchemaColumnType.FLOAT]: 'float',
  [SchemaType_SchemaColumn_SchemaColumnType.STRING]: 'string',
  [SchemaType_SchemaColumn_SchemaColumnType.BOOLEAN]: 'boolean',
  [SchemaType_SchemaColumn_SchemaColumnType.DATETIME]: 'datetime',
  [SchemaType_SchemaColumn_SchemaColumnType.DURATION]: 'duration',
};

/** Name of a simple type as printed in descriptions (`integer`, `float`, ...). */
export function simpleTypeName(simple: SimpleType): string {
  return SIMPLE_NAMES[simple] ?? `simple(${String(simple)})`;
}

/** Name of a legacy schema column type (`integer`, `float`, ...). */
export function schemaColumnTypeName(type: SchemaType_SchemaColumn_SchemaColumnType): string {
  return SCHEMA_COLUMN_NAMES[type] ?? `column(${String(type)})`;
}

/**
 * Describes a LiteralType in one line: `integer`, `list<float>`, `map<string, integer>`,
 * `union<string | none>`, `enum<red | green>`, `file<csv>`, `directory`, `structured-dataset<parquet>{a: integer}`.
 * Types nested deeper than `levels` are cut short with `…` (a hostile type may nest thousands of levels).
 */
export function describeLiteralType(type: LiteralType | undefined, levels = MAX_NESTING_DEPTH + 1): string {
  if (type === undefined) return 'unknown';
  if (levels <= 0) return '…';
  const inner = (t: LiteralType | undefined) => describeLiteralType(t, levels - 1);
  const t = type.type;
  switch (t.case) {
    case 'simple':
      return simpleTypeName(t.value);
    case 'collectionType':
      return `list<${inner(t.value)}>`;
    case 'mapValueType':
      return `map<string, ${inner(t.value)}>`;
    case 'unionType':
      return `union<${t.value.variants.map(inner).join(' | ')}>`;
    case 'enumType':
      return `enum<${t.value.values.join(' | ')}>`;
    case 'blob': {
      const base = t.value.dimensionality === BlobType_BlobDimensionality.MULTIPART ? 'directory' : 'file';
      return t.value.format === '' ? base : `${base}<${t.value.format}>`;
    }
    case 'structuredDatasetType': {
      const format = t.value.format === '' ? '' : `<${t.value.format}>`;
      const columns = t.value.columns.map((c) => `${c.name}: ${inner(c.literalType)}`).join(', ');
      return `structured-dataset${format}${columns === '' ? '' : `{${columns}}`}`;
    }
    case 'schema': {
      const columns = t.value.columns.map((c) => `${c.name}: ${schemaColumnTypeName(c.type)}`).join(', ');
      return `schema${columns === '' ? '' : `{${columns}}`}`;
    }
    case undefined:
      return 'unknown';
  }
}

/** Describes a TypeScript value's type for error messages: `string`, `number`, `null`, `array`, `Date`, ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'invalid Date' : 'Date';
  if (value instanceof Uint8Array) return 'Uint8Array';
  const type = typeof value;
  if (type === 'number') {
    const n = value as number;
    if (Number.isNaN(n)) return 'NaN';
    if (!Number.isFinite(n)) return 'Infinity';
    return Number.isInteger(n) ? `number ${String(n)}` : 'number';
  }
  if (type === 'bigint') return `bigint ${String(value)}`;
  if (type === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
      if (ctor !== undefined && typeof ctor.name === 'string' && ctor.name !== '') return ctor.name;
    }
    return 'object';
  }
  return type;
}

/** Describes what a Literal holds, for error messages: `integer`, `collection`, `none`, `blob`, ... */
export function describeLiteral(literal: Literal | undefined): string {
  if (literal === undefined) return 'nothing';
  const v = literal.value;
  switch (v.case) {
    case 'collection':
      return 'collection';
    case 'map':
      return 'map';
    case 'offloadedMetadata':
      return 'offloaded literal';
    case undefined:
      return 'empty literal';
    case 'scalar': {
      const s = v.value.value;
      switch (s.case) {
        case 'primitive':
          switch (s.value.value.case) {
            case 'integer':
              return 'integer';
            case 'floatValue':
              return 'float';
            case 'stringValue':
              return 'string';
            case 'boolean':
              return 'boolean';
            case 'datetime':
              return 'datetime';
            case 'duration':
              return 'duration';
            case undefined:
              return 'empty primitive';
          }
          break;
        case 'blob':
          return 'blob';
        case 'binary':
          return 'binary';
        case 'schema':
          return 'schema';
        case 'noneType':
          return 'none';
        case 'error':
          return 'error';
        case 'generic':
          return 'struct';
        case 'structuredDataset':
          return 'structured dataset';
        case 'union':
          return `union value (${describeLiteralType(s.value.type)})`;
        case undefined:
          return 'empty scalar';
      }
    }
  }
  return 'unknown literal';
}
