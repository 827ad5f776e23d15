// Flyte's type castability and equality, with the semantics of flytepropeller's
// pkg/compiler/validators/typing.go: whether an output of type `upstream` may be bound to an input of type
// `downstream`. Dispatch is on the downstream kind; castability is not symmetric.
import { create, equals, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import {
  LiteralTypeSchema,
  SchemaType_SchemaColumn_SchemaColumnType as ColumnType,
  SimpleType,
  type LiteralType,
  type SchemaType,
  type StructuredDatasetType,
} from '../gen/flyteidl/core/index.js';
import { checkLiteralTypeNesting } from '../nesting/checks.js';

/**
 * Whether a value of type `upstream` may flow into a variable of type `downstream` (Flyte's
 * `AreTypesCastable`). Highlights: no numeric widening (integer → float is false); enum ↔ string are
 * castable; a non-union value is castable to a union when exactly one variant accepts it (more is
 * ambiguous); union → union needs every upstream variant castable to some downstream variant; collections,
 * maps, blobs and schemas are not nullable, structured datasets are; an empty format matches any format;
 * an upstream `structure.tag` must equal the downstream tag.
 */
export function areTypesCastable(upstream: LiteralType, downstream: LiteralType): boolean {
  // Before the recursive comparison: a type given to a check may nest thousands of levels.
  checkLiteralTypeNesting(upstream, 'upstream type');
  checkLiteralTypeNesting(downstream, 'downstream type');
  return castable(upstream, downstream);
}

function castable(upstream: LiteralType, downstream: LiteralType): boolean {
  // A single-variant union is first read as its variant (only here, not inside collections or columns).
  if (upstream.type.case === 'unionType' && upstream.type.value.variants.length === 1) {
    const only = upstream.type.value.variants[0];
    if (only !== undefined && castsFrom(downstream, only)) return true;
  }
  return castsFrom(downstream, upstream);
}

/**
 * Structural equality of two literal types, including metadata, annotations and structure (the compiler's
 * exact-match rule for branch outputs and comparison operands).
 */
export function literalTypesEqual(a: LiteralType, b: LiteralType): boolean {
  checkLiteralTypeNesting(a, 'type');
  checkLiteralTypeNesting(b, 'type');
  return equals(LiteralTypeSchema, a, b);
}

/** True for the simple type NONE. */
export function isNoneType(type: LiteralType | undefined): boolean {
  return type?.type.case === 'simple' && type.type.value === SimpleType.NONE;
}

/** True for a union with a NONE variant: such an input may be left unbound. */
export function isOptionalType(type: LiteralType | undefined): boolean {
  return type?.type.case === 'unionType' && type.type.value.variants.some(isNoneType);
}

function tagOf(type: LiteralType): string {
  return type.structure?.tag ?? '';
}

/** Whether `target` (downstream) accepts `up` (upstream): the per-kind checkers of typing.go. */
function castsFrom(target: LiteralType, up: LiteralType): boolean {
  const t = target.type;
  switch (t.case) {
    case 'collectionType': {
      if (up.type.case !== 'collectionType') return false;
      // A collection of none is the type of an empty list: it fits every collection.
      if (isNoneType(up.type.value)) return true;
      return castsFrom(t.value, up.type.value);
    }
    case 'mapValueType': {
      if (up.type.case !== 'mapValueType') return false;
      if (isNoneType(up.type.value)) return true;
      return castsFrom(t.value, up.type.value);
    }
    case 'blob': {
      if (up.type.case !== 'blob') return false;
      const from = up.type.value.format;
      const to = t.value.format;
      // Dimensionality is not compared (Flyte does not), formats are case-sensitive, '' is generic.
      return from === '' || to === '' || from === to;
    }
    case 'schema':
      if (up.type.case === 'schema') return schemaFromSchema(up.type.value, t.value);
      if (up.type.case === 'structuredDatasetType') {
        const format = up.type.value.format;
        if (format !== '' && format.toLowerCase() !== 'parquet') return false;
        return schemaFromDataset(up.type.value, t.value);
      }
      return false;
    case 'structuredDatasetType':
      if (isNoneType(up)) return true;
      if (up.type.case === 'schema') {
        const format = t.value.format;
        if (format !== '' && format.toLowerCase() !== 'parquet') return false;
        return datasetFromSchema(up.type.value, t.value);
      }
      if (up.type.case === 'structuredDatasetType') return datasetFromDataset(up.type.value, t.value);
      return false;
    case 'unionType': {
      const variants = t.value.variants;
      if (up.type.case === 'unionType') {
        return up.type.value.variants.every((u) => variants.some((d) => castable(u, d)));
      }
      let matches = 0;
      for (const d of variants) if (castable(up, d)) matches++;
      return matches === 1;
    }
    case 'simple':
      if (t.value === SimpleType.NONE) return isNoneType(up);
      return trivialCastsFrom(target, up);
    case 'enumType':
    case undefined:
      return trivialCastsFrom(target, up);
  }
}

/** Simple types, enums and unset types: equality of the type itself, with Flyte's exceptions. */
function trivialCastsFrom(target: LiteralType, up: LiteralType): boolean {
  const t = target.type;
  const u = up.type;
  if (u.case === 'enumType' && t.case === 'simple' && t.value === SimpleType.STRING) return true;
  if (t.case === 'enumType' && u.case === 'simple' && u.value === SimpleType.STRING) return true;
  const upTag = tagOf(up);
  if (upTag !== '' && tagOf(target) !== upTag) return false;
  if (u.case === 'simple' && u.value === SimpleType.STRUCT && t.case === 'simple' && t.value === SimpleType.STRUCT) {
    // Dataclasses carry their JSON schema in metadata; a missing schema on either side is generic.
    if (up.metadata === undefined || target.metadata === undefined) return true;
    return jsonEqual(up.metadata, target.metadata) || jsonSchemaCovers(up.metadata, target.metadata);
  }
  // Everything else: the type itself must be identical, ignoring metadata, annotation and structure.
  if (u.case === 'simple' || t.case === 'simple') return u.case === t.case && u.value === t.value;
  return equals(LiteralTypeSchema, create(LiteralTypeSchema, { type: u }), create(LiteralTypeSchema, { type: t }));
}

function schemaFromSchema(up: SchemaType, down: SchemaType): boolean {
  if (up.columns.length === 0 || down.columns.length === 0) return true;
  const byName = new Map(up.columns.map((c) => [c.name, c.type]));
  return down.columns.every((c) => byName.has(c.name) && byName.get(c.name) === c.type);
}

function schemaFromDataset(up: StructuredDatasetType, down: SchemaType): boolean {
  if (up.columns.length === 0 || down.columns.length === 0) return true;
  const byName = new Map(up.columns.map((c) => [c.name, c.literalType]));
  return down.columns.every((c) => byName.has(c.name) && columnMatchesSimple(c.type, byName.get(c.name)));
}

function datasetFromSchema(up: SchemaType, down: StructuredDatasetType): boolean {
  if (up.columns.length === 0 || down.columns.length === 0) return true;
  const byName = new Map(up.columns.map((c) => [c.name, c.type]));
  return down.columns.every((c) => {
    const column = byName.get(c.name);
    return column !== undefined && columnMatchesSimple(column, c.literalType);
  });
}

function datasetFromDataset(up: StructuredDatasetType, down: StructuredDatasetType): boolean {
  if (up.format !== '' && down.format !== '' && up.format.toLowerCase() !== down.format.toLowerCase()) return false;
  if (up.columns.length === 0 || down.columns.length === 0) return true;
  const byName = new Map(up.columns.map((c) => [c.name, c.literalType]));
  return down.columns.every((c) => {
    const from = byName.get(c.name);
    if (from === undefined || c.literalType === undefined) return from === c.literalType && byName.has(c.name);
    return castsFrom(c.literalType, from);
  });
}

const COLUMN_SIMPLE: ReadonlyMap<ColumnType, SimpleType> = new Map([
  [ColumnType.INTEGER, SimpleType.INTEGER],
  [ColumnType.FLOAT, SimpleType.FLOAT],
  [ColumnType.STRING, SimpleType.STRING],
  [ColumnType.BOOLEAN, SimpleType.BOOLEAN],
  [ColumnType.DATETIME, SimpleType.DATETIME],
  [ColumnType.DURATION, SimpleType.DURATION],
]);

function columnMatchesSimple(column: ColumnType, type: LiteralType | undefined): boolean {
  return type?.type.case === 'simple' && COLUMN_SIMPLE.get(column) === type.type.value;
}

function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/**
 * Whether JSON schema `source` describes at least what `target` does: every property of the target exists in
 * the source with a compatible type, recursively (a child dataclass is castable to its parent, not the reverse).
 * Flyte delegates this to a JSON-schema comparison library; this is the property-subset rule it applies.
 */
function jsonSchemaCovers(source: JsonObject, target: JsonObject): boolean {
  if (target['type'] !== undefined && source['type'] !== undefined && !jsonEqual(source['type'], target['type'])) {
    return false;
  }
  const targetProps = asObject(target['properties']);
  if (targetProps === undefined) return true;
  const sourceProps = asObject(source['properties']) ?? {};
  return Object.entries(targetProps).every(([name, schema]) => {
    const from = asObject(sourceProps[name]);
    const to = asObject(schema);
    if (from === undefined) return false;
    return to === undefined || jsonSchemaCovers(from, to);
  });
}
