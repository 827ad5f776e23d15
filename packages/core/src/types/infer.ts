// The LiteralType of a Literal, inferred the way Flyte does (flytepropeller validators/utils.go
// LiteralTypeForLiteral): used to check constant bindings and execution inputs against declared types.
import { create, type JsonValue } from '@bufbuild/protobuf';
import {
  LiteralTypeSchema,
  SimpleType,
  type Literal,
  type LiteralType,
  type Primitive,
  type Scalar,
} from '../gen/flyteidl/core/index.js';
import { checkLiteralNesting, checkLiteralTypeNesting } from '../nesting/checks.js';
import { schemaColumnTypeName } from './describe.js';

/** flytekit's tag of a Binary that holds MessagePack (dataclasses, dicts): such a binary is a STRUCT. */
export const MESSAGEPACK_TAG = 'msgpack';

/**
 * The LiteralType of a literal, or undefined when it cannot be told (an empty literal, a blob without
 * metadata). Collections of mixed element types infer a union of the element types, in Flyte's order.
 */
export function literalTypeForLiteral(literal: Literal): LiteralType | undefined {
  // Before the recursive inference: a literal given to a check may nest thousands of levels.
  checkLiteralNesting(literal, 'literal');
  return typeOfLiteral(literal);
}

function typeOfLiteral(literal: Literal): LiteralType | undefined {
  const v = literal.value;
  switch (v.case) {
    case 'scalar':
      return literalTypeForScalar(v.value);
    case 'collection':
      return create(LiteralTypeSchema, {
        type: { case: 'collectionType', value: literalTypeForLiterals(v.value.literals) },
      });
    case 'map':
      return create(LiteralTypeSchema, {
        type: { case: 'mapValueType', value: literalTypeForLiterals(Object.values(v.value.literals)) },
      });
    case 'offloadedMetadata':
      return v.value.inferredType;
    case undefined:
      return undefined;
  }
}

/** The LiteralType of a scalar (Flyte's literalTypeForScalar), or undefined when it cannot be told. */
export function literalTypeForScalar(scalar: Scalar): LiteralType | undefined {
  const s = scalar.value;
  switch (s.case) {
    case 'primitive':
      return literalTypeForPrimitive(s.value);
    case 'blob':
      return s.value.metadata?.type === undefined
        ? undefined
        : create(LiteralTypeSchema, { type: { case: 'blob', value: s.value.metadata.type } });
    case 'binary':
      return simple(s.value.tag === MESSAGEPACK_TAG ? SimpleType.STRUCT : SimpleType.BINARY);
    case 'schema':
      return create(LiteralTypeSchema, { type: { case: 'schema', value: s.value.type ?? {} } });
    case 'structuredDataset':
      return create(LiteralTypeSchema, {
        type: { case: 'structuredDatasetType', value: s.value.metadata?.structuredDatasetType ?? {} },
      });
    case 'noneType':
      return simple(SimpleType.NONE);
    case 'error':
      return simple(SimpleType.ERROR);
    case 'generic':
      return simple(SimpleType.STRUCT);
    case 'union':
      return create(LiteralTypeSchema, {
        type: { case: 'unionType', value: { variants: s.value.type === undefined ? [] : [s.value.type] } },
      });
    case undefined:
      return undefined;
  }
}

/** The LiteralType of a primitive. */
export function literalTypeForPrimitive(primitive: Primitive): LiteralType {
  switch (primitive.value.case) {
    case 'integer':
      return simple(SimpleType.INTEGER);
    case 'floatValue':
      return simple(SimpleType.FLOAT);
    case 'stringValue':
      return simple(SimpleType.STRING);
    case 'boolean':
      return simple(SimpleType.BOOLEAN);
    case 'datetime':
      return simple(SimpleType.DATETIME);
    case 'duration':
      return simple(SimpleType.DURATION);
    case undefined:
      return simple(SimpleType.NONE);
  }
}

function simple(value: SimpleType): LiteralType {
  return create(LiteralTypeSchema, { type: { case: 'simple', value } });
}

/** The element type of a list of literals: one type, or a union of the distinct types (Flyte's order). */
function literalTypeForLiterals(literals: readonly Literal[]): LiteralType {
  const distinct: LiteralType[] = [];
  const seen = new Set<string>();
  let emptyList: LiteralType | undefined;
  for (const literal of literals) {
    const type = typeOfLiteral(literal);
    if (literal.value.case === 'collection' && literal.value.value.literals.length === 0) {
      // An empty nested list says nothing about the element type, unless nothing else does.
      emptyList = type;
      continue;
    }
    const key = type === undefined ? '<nil>' : typeText(type);
    if (!seen.has(key) && type !== undefined) {
      seen.add(key);
      distinct.push(type);
    }
  }
  if (distinct.length === 0 && emptyList !== undefined) distinct.push(emptyList);
  if (distinct.length === 0) return simple(SimpleType.NONE);
  if (distinct.length === 1) return distinct[0]!;
  distinct.sort((a, b) => compareText(typeText(a), typeText(b)));
  // Lists of union-typed lists are flattened into one list of a union (Flyte's buildMultipleTypeUnion).
  const variants: LiteralType[] = [];
  let nested = false;
  for (const type of distinct) {
    const inner = type.type.case === 'collectionType' ? type.type.value : undefined;
    if (inner?.type.case === 'unionType') {
      nested = true;
      variants.push(...inner.type.value.variants);
    } else {
      variants.push(type);
    }
  }
  const union = create(LiteralTypeSchema, { type: { case: 'unionType', value: { variants } } });
  return nested ? create(LiteralTypeSchema, { type: { case: 'collectionType', value: union } }) : union;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SIMPLE_NAMES = [
  'NONE',
  'INTEGER',
  'FLOAT',
  'STRING',
  'BOOLEAN',
  'DATETIME',
  'DURATION',
  'BINARY',
  'ERROR',
  'STRUCT',
];

/**
 * A canonical text of a LiteralType in the shape of protobuf text format (snake_case field names in field
 * number order), used to de-duplicate and order inferred union variants as Flyte does.
 */
export function literalTypeText(type: LiteralType): string {
  checkLiteralTypeNesting(type, 'type');
  return typeText(type);
}

function typeText(type: LiteralType): string {
  const parts: string[] = [];
  const ty = type.type;
  switch (ty.case) {
    case 'simple':
      parts.push(`simple:${SIMPLE_NAMES[ty.value] ?? String(ty.value)}`);
      break;
    case 'schema':
      parts.push(
        `schema:{${ty.value.columns.map((c) => `columns:{name:${JSON.stringify(c.name)} type:${schemaColumnTypeName(c.type).toUpperCase()}}`).join(' ')}}`,
      );
      break;
    case 'collectionType':
      parts.push(`collection_type:{${typeText(ty.value)}}`);
      break;
    case 'mapValueType':
      parts.push(`map_value_type:{${typeText(ty.value)}}`);
      break;
    case 'blob':
      parts.push(
        `blob:{${[
          ty.value.format === '' ? '' : `format:${JSON.stringify(ty.value.format)}`,
          ty.value.dimensionality === 0 ? '' : 'dimensionality:MULTIPART',
        ]
          .filter((x) => x !== '')
          .join(' ')}}`,
      );
      break;
    default:
      break;
  }
  if (type.metadata !== undefined) parts.push(`metadata:{${jsonText(type.metadata)}}`);
  switch (ty.case) {
    case 'enumType':
      parts.push(`enum_type:{${ty.value.values.map((v) => `values:${JSON.stringify(v)}`).join(' ')}}`);
      break;
    case 'structuredDatasetType':
      parts.push(
        `structured_dataset_type:{${[
          ...ty.value.columns.map(
            (c) =>
              `columns:{name:${JSON.stringify(c.name)}${c.literalType === undefined ? '' : ` literal_type:{${typeText(c.literalType)}}`}}`,
          ),
          ty.value.format === '' ? '' : `format:${JSON.stringify(ty.value.format)}`,
        ]
          .filter((x) => x !== '')
          .join(' ')}}`,
      );
      break;
    default:
      break;
  }
  if (type.annotation?.annotations !== undefined) parts.push(`annotation:{${jsonText(type.annotation.annotations)}}`);
  if (ty.case === 'unionType') {
    parts.push(`union_type:{${ty.value.variants.map((v) => `variants:{${typeText(v)}}`).join(' ')}}`);
  }
  if (type.structure !== undefined) {
    const tag = type.structure.tag === '' ? '' : `tag:${JSON.stringify(type.structure.tag)}`;
    const fields = Object.keys(type.structure.dataclassType)
      .sort()
      .map((k) => `dataclass_type:{key:${JSON.stringify(k)} value:{${typeText(type.structure!.dataclassType[k]!)}}}`);
    parts.push(`structure:{${[tag, ...fields].filter((x) => x !== '').join(' ')}}`);
  }
  return parts.join(' ');
}

/** JSON with object keys sorted at every level: equal values give equal text. */
function jsonText(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${jsonText(value[k]!)}`)
    .join(',')}}`;
}
