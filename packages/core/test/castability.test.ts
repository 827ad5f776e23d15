// Castability with Flyte's rules. Rows 1–61 reproduce flytepropeller's typing_test.go cases; the rows after
// them are derived from the same rules (typing.go) for corners its tests do not cover.
import { clone, create, type JsonObject } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { areTypesCastable, describeLiteralType, idl, isOptionalType, literalTypesEqual, t } from '@flyte-ts/core';

type LT = idl.core.LiteralType;
const { SimpleType } = idl.core;

const simple = (value: idl.core.SimpleType, extra: { tag?: string; metadata?: JsonObject } = {}): LT =>
  create(idl.core.LiteralTypeSchema, {
    type: { case: 'simple', value },
    ...(extra.tag === undefined ? {} : { structure: { tag: extra.tag } }),
    ...(extra.metadata === undefined ? {} : { metadata: extra.metadata }),
  });
const INT = simple(SimpleType.INTEGER);
const FLOAT = simple(SimpleType.FLOAT);
const STR = simple(SimpleType.STRING);
const NONE = simple(SimpleType.NONE);
const BINARY = simple(SimpleType.BINARY);
const STRUCT = simple(SimpleType.STRUCT);
const tagged = (type: LT, tag: string): LT => {
  const copy = clone(idl.core.LiteralTypeSchema, type);
  copy.structure = create(idl.core.TypeStructureSchema, { tag });
  return copy;
};
const list = (inner: LT): LT => create(idl.core.LiteralTypeSchema, { type: { case: 'collectionType', value: inner } });
const map = (inner: LT): LT => create(idl.core.LiteralTypeSchema, { type: { case: 'mapValueType', value: inner } });
const union = (...variants: LT[]): LT =>
  create(idl.core.LiteralTypeSchema, { type: { case: 'unionType', value: { variants } } });
const enumOf = (...values: string[]): LT =>
  create(idl.core.LiteralTypeSchema, { type: { case: 'enumType', value: { values } } });
const blob = (format: string, multipart = false): LT =>
  create(idl.core.LiteralTypeSchema, {
    type: {
      case: 'blob',
      value: {
        format,
        dimensionality: multipart
          ? idl.core.BlobType_BlobDimensionality.MULTIPART
          : idl.core.BlobType_BlobDimensionality.SINGLE,
      },
    },
  });
const Col = idl.core.SchemaType_SchemaColumn_SchemaColumnType;
const schema = (columns: Record<string, idl.core.SchemaType_SchemaColumn_SchemaColumnType> = {}): LT =>
  create(idl.core.LiteralTypeSchema, {
    type: { case: 'schema', value: { columns: Object.entries(columns).map(([name, type]) => ({ name, type })) } },
  });
const sd = (columns: Record<string, LT>, format: string): LT =>
  create(idl.core.LiteralTypeSchema, {
    type: {
      case: 'structuredDatasetType',
      value: { format, columns: Object.entries(columns).map(([name, literalType]) => ({ name, literalType })) },
    },
  });
const struct = (metadata: JsonObject) => simple(SimpleType.STRUCT, { metadata });

// JSON schemas of dataclasses, as flytekit writes them in the type metadata (typing_test.go fixtures).
const A1: JsonObject = {
  required: ['a'],
  title: 'A',
  properties: { a: { type: 'integer' } },
  type: 'object',
  AdditionalProperties: false,
};
const B2: JsonObject = {
  required: ['b'],
  title: 'B',
  properties: { b: A1 },
  type: 'object',
  AdditionalProperties: false,
};
const D2: JsonObject = {
  required: ['d'],
  title: 'D',
  properties: {
    d: {
      required: ['c'],
      title: 'C',
      properties: { c: { type: 'string' } },
      type: 'object',
      AdditionalProperties: false,
    },
  },
  type: 'object',
  AdditionalProperties: false,
};
const PA: JsonObject = { required: ['a'], title: 'A', properties: { a: { type: 'integer' } }, type: 'object' };
const CHILD: JsonObject = {
  required: ['a', 'b'],
  title: 'B',
  properties: { a: { type: 'integer' }, b: { default: null, anyOf: [{ type: 'string' }, { type: 'null' }] } },
  type: 'object',
  AdditionalProperties: false,
};

const table: [name: string, upstream: LT, downstream: LT, castable: boolean][] = [
  // typing_test.go
  ['BaseCase_Integer', INT, INT, true],
  ['IntegerToFloat', INT, FLOAT, false],
  ['FloatToInteger', FLOAT, INT, false],
  ['VoidToInteger', NONE, INT, false],
  ['IgnoreMetadata', simple(SimpleType.INTEGER, { metadata: { a: null } }), INT, true],
  ['EnumToString', enumOf('x', 'y'), STR, true],
  ['EnumToEnum identical', enumOf('x', 'y'), enumOf('x', 'y'), true],
  ['EnumToEnum different', enumOf('x', 'y'), enumOf('m', 'n'), false],
  ['StringToEnum', STR, enumOf('x', 'y'), true],
  ['StringToUnionUnambiguously', STR, union(tagged(INT, 'int'), tagged(STR, 'str')), true],
  ['StringToUnionAmbiguously', STR, union(tagged(STR, 'str1'), tagged(STR, 'str2')), false],
  [
    'UnionToUnionSuperset',
    union(tagged(STR, 'str1'), tagged(STR, 'str2')),
    union(tagged(STR, 'str1'), tagged(INT, 'int1'), tagged(STR, 'str2')),
    true,
  ],
  [
    'UnionToUnionTagMismatch',
    union(tagged(STR, 'str1'), tagged(STR, 'str2')),
    union(tagged(INT, 'str2'), tagged(STR, 'str3')),
    false,
  ],
  ['UnionToUnionTypeMismatch', union(tagged(STR, 'test')), union(tagged(INT, 'test')), false],
  ['SingularUnionToUnderlyingType', union(tagged(STR, 'string')), tagged(STR, 'string'), true],
  ['BaseCase_SingleIntegerCollection', list(INT), list(INT), true],
  ['Empty collection', list(NONE), list(INT), true],
  ['SingleIntegerCollectionToSingleFloatCollection', list(INT), list(FLOAT), false],
  ['MismatchedNestLevels_Scalar', list(INT), INT, false],
  ['MismatchedNestLevels_Collections', list(INT), list(list(INT)), false],
  ['Nullable_Collections', NONE, list(list(INT)), false],
  ['BaseCase_SingleIntegerMap', map(INT), map(INT), true],
  ['ScalarIntegerMapToScalarFloatMap', map(INT), map(FLOAT), false],
  ['ScalarNoneMapToScalarFloatMap', map(NONE), map(FLOAT), true],
  ['ScalarStructToStruct', STRUCT, STRUCT, true],
  ['SameDataclassOneLevel', struct(A1), struct(A1), true],
  ['SameDataclassTwoLevel', struct(B2), struct(B2), true],
  ['DiffDataclassTwoLevel', struct(B2), struct(D2), false],
  ['SameBaseModelOneLevel', struct(PA), struct(PA), true],
  ['BigToSmallAndChildToParent', struct(CHILD), struct(A1), true],
  ['SmallToBigAndParentToChild', struct(A1), struct(CHILD), false],
  ['MismatchedMapNestLevels_Scalar', map(INT), INT, false],
  ['MismatchedMapNestLevels_Maps', map(INT), map(map(INT)), false],
  ['BaseCase_GenericSchema', schema(), schema(), true],
  ['GenericSchemaToNonGeneric', schema(), schema({ a: Col.INTEGER }), true],
  ['NonGenericSchemaToGeneric', schema({ a: Col.INTEGER }), schema(), true],
  ['SupersetToSubsetTypedSchema', schema({ a: Col.INTEGER, b: Col.FLOAT }), schema({ a: Col.INTEGER }), true],
  ['GenericToSubsetTypedSchema', sd({}, ''), schema({ a: Col.INTEGER }), true],
  ['SubsetTypedSchemaToGeneric', schema({ a: Col.INTEGER }), sd({}, ''), true],
  ['SupersetStructuredToSubsetTypedSchema', sd({ a: INT, b: FLOAT }, 'parquet'), schema({ a: Col.INTEGER }), true],
  ['SubsetToSupersetSchema', schema({ a: Col.INTEGER }), schema({ a: Col.INTEGER, b: Col.FLOAT }), false],
  ['MismatchedColumns', schema({ a: Col.INTEGER }), schema({ a: Col.FLOAT }), false],
  ['MismatchedColumnsFlipped', schema({ a: Col.FLOAT }), schema({ a: Col.INTEGER }), false],
  ['SchemasAreNullable', NONE, schema({ a: Col.INTEGER }), false],
  ['BaseCase_GenericStructuredDataset', sd({}, 'parquet'), sd({}, 'parquet'), true],
  ['GenericStructuredDatasetToNonGeneric', sd({}, 'parquet'), sd({ a: INT, b: list(INT) }, 'parquet'), true],
  ['NonGenericStructuredDatasetToGeneric', sd({ a: INT, b: list(INT) }, 'parquet'), sd({}, 'parquet'), true],
  [
    'SupersetToSubsetTypedStructuredDataset',
    sd({ a: INT, b: list(INT), c: map(INT) }, 'parquet'),
    sd({ a: INT, b: list(INT) }, 'parquet'),
    true,
  ],
  [
    'SubsetToSupersetStructuredDataset',
    sd({ a: INT, b: list(INT) }, 'parquet'),
    sd({ a: INT, b: list(INT), c: map(INT) }, 'parquet'),
    false,
  ],
  ['SchemaToStructuredDataset', schema({ a: Col.INTEGER }), sd({ a: INT }, 'parquet'), true],
  ['MismatchedSchemaColumns', schema({ a: Col.INTEGER }), sd({ a: FLOAT }, ''), false],
  ['MismatchedColumns SD', sd({ a: INT, b: list(INT) }, 'parquet'), sd({ a: FLOAT }, ''), false],
  ['MismatchedColumnsFlipped SD', sd({ a: FLOAT }, ''), sd({ a: INT, b: list(INT) }, 'parquet'), false],
  ['GenericToEmptyFormat SD', sd({}, 'parquet'), sd({}, ''), true],
  ['StructuredDatasetsAreNullable', NONE, sd({ a: INT, b: list(INT) }, 'parquet'), true],
  ['BaseCase_GenericBlob', blob('csv'), blob('csv'), true],
  ['GenericToEmptyFormat Blob', blob('csv'), blob(''), true],
  ['MismatchedFormat', blob('csv'), blob('pdf'), false],
  ['BlobsAreNullable', NONE, blob('csv'), false],
  // bindings_test.go, as castability pairs
  ['Int to unambiguous union', INT, union(tagged(STR, 'str'), tagged(INT, 'int')), true],
  ['Int to ambiguous union', INT, union(tagged(INT, 'int1'), tagged(INT, 'int2')), false],
  ['Int to incompatible union', INT, union(tagged(STR, 'str')), false],
  [
    'Union literal type to union',
    union(tagged(INT, 'int')),
    union(tagged(INT, 'int1'), tagged(STR, 'str'), tagged(INT, 'int')),
    true,
  ],
  ['Union literal type to incompatible union', union(tagged(INT, 'int')), union(tagged(INT, 'int_other')), false],
  ['Int to list of incompatible unions', list(INT), list(union(tagged(STR, 'str'), tagged(STR, 'str1'))), false],
  ['Int to list of unions', list(INT), list(union(tagged(STR, 'str'), tagged(INT, 'int'))), true],
  // Derived from typing.go
  ['empty SD format matches', sd({}, ''), sd({}, 'parquet'), true],
  ['SD formats differ', sd({}, 'csv'), sd({}, 'parquet'), false],
  ['SD format case-insensitive', sd({}, 'PARQUET'), sd({}, 'parquet'), true],
  ['csv dataset is not a schema', sd({}, 'csv'), schema({ a: Col.INTEGER }), false],
  ['schema is no csv dataset', schema({ a: Col.INTEGER }), sd({ a: INT }, 'csv'), false],
  ['empty blob format matches', blob(''), blob('csv'), true],
  ['blob format case-sensitive', blob('CSV'), blob('csv'), false],
  ['file to directory (dimensionality not compared)', blob('csv'), blob('csv', true), true],
  ['tagged upstream needs the same tag', tagged(INT, 'int'), INT, false],
  ['untagged upstream ignores tags', INT, tagged(INT, 'int1'), true],
  ['string to enum precedes tags', tagged(STR, 'anything'), enumOf('x'), true],
  ['enum order matters', enumOf('x', 'y'), enumOf('y', 'x'), false],
  ['enum to union of string and enum is ambiguous', enumOf('x', 'y'), union(STR, enumOf('x', 'y')), false],
  ['none to optional', NONE, union(INT, NONE), true],
  ['none to optional dataset is ambiguous', NONE, union(sd({}, ''), NONE), false],
  ['singular union unwraps', union(INT), INT, true],
  ['no unwrap inside collections', list(union(INT)), list(INT), false],
  ['singular union to ambiguous union', union(INT), union(tagged(INT, 'int1'), tagged(INT, 'int2')), true],
  ['union to its member', union(INT, STR), INT, false],
  ['union to a superset union', union(INT, STR), union(STR, INT, FLOAT), true],
  ['empty list to nested lists', list(NONE), list(list(INT)), true],
  ['maps are not nullable', NONE, map(INT), false],
  ['dataclass to plain struct', struct(A1), STRUCT, true],
  [
    'metadata ignored on non-structs',
    simple(SimpleType.INTEGER, { metadata: { x: 1 } }),
    simple(SimpleType.INTEGER, { metadata: { y: 2 } }),
    true,
  ],
  ['float to union of int and string', FLOAT, union(INT, STR), false],
  ['binary to struct', BINARY, STRUCT, false],
  ['map to list', map(INT), list(INT), false],
  ['none to none', NONE, NONE, true],
  ['optional to none', union(INT, NONE), NONE, false],
  ['column to a singular-union column', sd({ a: INT }, ''), sd({ a: union(INT) }, ''), true],
  ['no unwrap in columns', sd({ a: union(INT) }, ''), sd({ a: INT }, ''), false],
];

describe('areTypesCastable (Flyte castability)', () => {
  it('has a table of at least 40 cases', () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
  });

  it.each(table)('%s', (_name, upstream, downstream, castable) => {
    expect(
      areTypesCastable(upstream, downstream),
      `${describeLiteralType(upstream)} → ${describeLiteralType(downstream)}`,
    ).toBe(castable);
  });

  it('lets the builders of this package interoperate with flytekit-tagged unions', () => {
    // flytekit's Optional[int] variant tags are "int" and "none"; ours are the same.
    const pythonOptionalInt = union(tagged(INT, 'int'), tagged(NONE, 'none'));
    expect(areTypesCastable(t.optional(t.int()).literalType, pythonOptionalInt)).toBe(true);
    expect(areTypesCastable(pythonOptionalInt, t.optional(t.int()).literalType)).toBe(true);
    expect(areTypesCastable(t.int().literalType, t.optional(t.int()).literalType)).toBe(true);
    expect(areTypesCastable(t.optional(t.int()).literalType, t.int().literalType)).toBe(false);
  });
});

describe('type helpers', () => {
  it('tells optional types', () => {
    expect(isOptionalType(t.optional(t.string()).literalType)).toBe(true);
    expect(isOptionalType(t.union(t.string(), t.int()).literalType)).toBe(false);
    expect(isOptionalType(t.string().literalType)).toBe(false);
  });

  it('compares types exactly', () => {
    expect(literalTypesEqual(t.list(t.int()).literalType, list(INT))).toBe(true);
    expect(literalTypesEqual(tagged(INT, 'x'), INT)).toBe(false);
  });
});
