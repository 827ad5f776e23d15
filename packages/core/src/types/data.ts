// Builders of Flyte's offloaded data types: blobs (files and multipart directories), structured datasets
// and the legacy schema type. Literals hold references (a URI plus format); tasks receive lazy handles that move
// bytes through the engine's BlobStore, and may return local files, content or rows, which the engine uploads.
import { clone, create } from '@bufbuild/protobuf';
import {
  BlobType_BlobDimensionality,
  LiteralTypeSchema,
  SchemaType_SchemaColumn_SchemaColumnType as ColumnType,
  SimpleType,
} from '../gen/flyteidl/core/index.js';
import type { DatasetColumn, DatasetColumnKind } from '../data/access.js';
import {
  datasetHandle,
  directoryHandle,
  fileHandle,
  type FlyteDirectory,
  type FlyteFile,
  type StructuredDataset,
} from '../data/handles.js';
import {
  classifyData,
  placeDataset,
  placeDirectory,
  placeFile,
  type DatasetInput,
  type DirectoryInput,
  type FileInput,
} from '../data/sources.js';
import { isNoneType, isOptionalType } from './castability.js';
import { DefinitionError } from '../errors.js';
import { primitiveLiteral, scalarLiteral } from '../literals/make.js';
import { define, isPlainObject, literalMismatch, valueMismatch } from './define.js';
import type { AnyFlyteType, FlyteType } from './flyte-type.js';

/** What may be written where a legacy schema is expected: a URI, or a reference. */
export type BlobInput = string | { readonly uri: string; readonly format?: string | undefined };

/** A reference to a legacy Flyte schema (a Parquet table). */
export interface FlyteSchema {
  /** Where the schema's data lives. */
  readonly uri: string;
}

/** Options of {@link file} and {@link directory}. */
export interface BlobOptions {
  /** Format of the data (`csv`, `parquet`, `jpeg`, ...); empty (the default) means any format. */
  readonly format?: string;
}

function readBlobInput(value: unknown): { uri: string; format: string | undefined } | undefined {
  if (typeof value === 'string') return value === '' ? undefined : { uri: value, format: undefined };
  if (!isPlainObject(value) && !(typeof value === 'object' && value !== null && 'uri' in value)) return undefined;
  const record = value as { uri?: unknown; format?: unknown };
  if (typeof record.uri !== 'string' || record.uri === '') return undefined;
  if (record.format !== undefined && typeof record.format !== 'string') return undefined;
  return { uri: record.uri, format: record.format };
}

function blob<V, I>(format: string, dimensionality: BlobType_BlobDimensionality): FlyteType<V, I, string> {
  if (typeof format !== 'string') throw new DefinitionError('INVALID_TYPE', 'a blob format must be a string');
  const literalType = create(LiteralTypeSchema, { type: { case: 'blob', value: { format, dimensionality } } });
  const formatFits = (actual: string) => format === '' || actual === '' || actual === format;
  const multipart = dimensionality === BlobType_BlobDimensionality.MULTIPART;
  const allowed = multipart ? 'directory' : 'file';
  return define<V, I, string>({
    literalType,
    toLiteral: (value, path) => {
      const source = classifyData(value, allowed);
      if (source === undefined || !formatFits(source.format ?? '')) return valueMismatch(path, literalType, value);
      const uri = multipart ? placeDirectory(source, path) : placeFile(source, path);
      const actual = format !== '' ? format : (source.format ?? '');
      return scalarLiteral({
        case: 'blob',
        value: { uri, metadata: { type: { format: actual, dimensionality } } },
      });
    },
    fromLiteral: (literal, path) => {
      const s = literal.value.case === 'scalar' ? literal.value.value.value : undefined;
      if (s?.case !== 'blob') return literalMismatch(path, literalType, literal);
      const type = s.value.metadata?.type;
      const actual = type?.format ?? '';
      // Like Flyte, dimensionality is not checked: only the format must fit.
      if (!formatFits(actual)) {
        return literalMismatch(
          path,
          literalType,
          literal,
          `blob ${actual === '' ? '' : `<${actual}> `}at ${s.value.uri}`,
        );
      }
      const fmt = actual !== '' ? actual : format;
      return (multipart ? directoryHandle(s.value.uri, fmt) : fileHandle(s.value.uri, fmt)) as V;
    },
    accepts: (value) => {
      const source = classifyData(value, allowed);
      return source !== undefined && formatFits(source.format ?? '');
    },
  });
}

/**
 * A single file (Flyte blob, SINGLE). A task receives a lazy {@link FlyteFile} handle (`download()`, `stream()`,
 * `text()`); it may return a URI, a local path or `{ body }` content, which the engine uploads under the attempt's
 * raw-output prefix.
 */
export function file(options: BlobOptions = {}): FlyteType<FlyteFile, FileInput, 'file'> {
  return blob(options.format ?? '', BlobType_BlobDimensionality.SINGLE) as FlyteType<FlyteFile, FileInput, 'file'>;
}

/**
 * A directory (Flyte blob, MULTIPART). A task receives a lazy {@link FlyteDirectory} handle (`list()`,
 * `download()`); it may return a URI or a local directory, which the engine uploads file by file.
 */
export function directory(options: BlobOptions = {}): FlyteType<FlyteDirectory, DirectoryInput, 'directory'> {
  return blob(options.format ?? '', BlobType_BlobDimensionality.MULTIPART) as FlyteType<
    FlyteDirectory,
    DirectoryInput,
    'directory'
  >;
}

/** Options of {@link structuredDataset}. */
export interface StructuredDatasetOptions {
  /** Storage format (`parquet`, `csv`); empty (the default) means any format, and rows are written as Parquet. */
  readonly format?: string;
  /**
   * Column names and types; none (the default) means any columns. Rows read and written by the engine support
   * `t.int()`, `t.int64()`, `t.float()`, `t.string()`, `t.boolean()`, `t.datetime()`, `t.duration()` and their
   * `t.optional(...)` (nullable) forms.
   */
  readonly columns?: { readonly [name: string]: AnyFlyteType };
}

const COLUMN_KINDS: Partial<Record<SimpleType, DatasetColumnKind>> = {
  [SimpleType.INTEGER]: 'int',
  [SimpleType.FLOAT]: 'float',
  [SimpleType.STRING]: 'string',
  [SimpleType.BOOLEAN]: 'boolean',
  [SimpleType.DATETIME]: 'datetime',
  [SimpleType.DURATION]: 'duration',
};

/** The codec column of a declared column type, or a reason why rows of that type cannot be read or written. */
function datasetColumn(name: string, type: AnyFlyteType): DatasetColumn | string {
  let literalType = type.literalType;
  let nullable = false;
  if (isOptionalType(literalType) && literalType.type.case === 'unionType') {
    const others = literalType.type.value.variants.filter((v) => !isNoneType(v));
    if (others.length !== 1) return `column ${name} is a union of several types`;
    literalType = others[0]!;
    nullable = true;
  }
  const kind = literalType.type.case === 'simple' ? COLUMN_KINDS[literalType.type.value] : undefined;
  if (kind === undefined) return `column ${name} has type ${type.description}, which datasets do not store`;
  if (kind === 'int') {
    // t.int64() reads integers as bigints; t.int() as numbers.
    const sample = type.fromLiteral(primitiveLiteral({ case: 'integer', value: 0n }));
    if (typeof sample === 'bigint') return { name, kind: 'int64', nullable };
  }
  return { name, kind, nullable };
}

/**
 * A structured dataset (a table by reference). A task receives a lazy {@link StructuredDataset} handle
 * (`read()`, `rows()`), read with the declared columns; it may return a URI, a dataset it received, or `{ rows }`,
 * which the engine writes in the declared format (Parquet when none) under the attempt's raw-output prefix.
 * @throws {DefinitionError} `INVALID_TYPE` for a format that is not a string.
 */
export function structuredDataset(
  options: StructuredDatasetOptions = {},
): FlyteType<StructuredDataset, DatasetInput, 'structured-dataset'> {
  const format = options.format ?? '';
  if (typeof format !== 'string') throw new DefinitionError('INVALID_TYPE', 'a dataset format must be a string');
  const declared = Object.entries(options.columns ?? {});
  const columns = declared.map(([name, type]) => ({
    name,
    literalType: clone(LiteralTypeSchema, type.literalType),
  }));
  const codecColumns = declared.map(([name, type]) => datasetColumn(name, type));
  const unsupported = codecColumns.find((c): c is string => typeof c === 'string');
  const rowColumns = declared.length === 0 ? undefined : (codecColumns as DatasetColumn[]);
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'structuredDatasetType', value: { format, columns } },
  });
  const formatFits = (actual: string) =>
    format === '' || actual === '' || actual.toLowerCase() === format.toLowerCase();
  return define({
    literalType,
    toLiteral: (value, path) => {
      const source = classifyData(value, 'dataset');
      if (source === undefined || !formatFits(source.format ?? '')) return valueMismatch(path, literalType, value);
      const actual = format !== '' ? format : (source.format ?? (source.kind === 'rows' ? 'parquet' : ''));
      if (source.kind === 'rows' && unsupported !== undefined) {
        return valueMismatch(path, literalType, value, `rows cannot be written: ${unsupported}`);
      }
      const uri = placeDataset(source, path, actual, rowColumns);
      return scalarLiteral({
        case: 'structuredDataset',
        value: { uri, metadata: { structuredDatasetType: { format: actual, columns } } },
      });
    },
    fromLiteral: (literal, path) => {
      const s = literal.value.case === 'scalar' ? literal.value.value.value : undefined;
      if (s?.case !== 'structuredDataset') return literalMismatch(path, literalType, literal);
      const actual = s.value.metadata?.structuredDatasetType?.format ?? '';
      if (!formatFits(actual)) return literalMismatch(path, literalType, literal, `format ${actual}`);
      return datasetHandle(
        s.value.uri,
        actual !== '' ? actual : format,
        unsupported === undefined ? rowColumns : undefined,
      );
    },
    accepts: (value) => {
      const source = classifyData(value, 'dataset');
      return source !== undefined && formatFits(source.format ?? '');
    },
  });
}

/** Column types of the legacy schema type. */
export type SchemaColumnType = 'integer' | 'float' | 'string' | 'boolean' | 'datetime' | 'duration';

const COLUMN_TYPES: Record<SchemaColumnType, ColumnType> = {
  integer: ColumnType.INTEGER,
  float: ColumnType.FLOAT,
  string: ColumnType.STRING,
  boolean: ColumnType.BOOLEAN,
  datetime: ColumnType.DATETIME,
  duration: ColumnType.DURATION,
};

/** Flyte's legacy schema type (superseded by structured datasets). The value is a {@link FlyteSchema}. */
export function schema(
  columns: { readonly [name: string]: SchemaColumnType } = {},
): FlyteType<FlyteSchema, string | FlyteSchema, 'schema'> {
  const schemaType = {
    columns: Object.entries(columns).map(([name, type]) => {
      const columnType = COLUMN_TYPES[type];
      if (columnType === undefined) {
        throw new DefinitionError('INVALID_TYPE', `t.schema column ${name} has unknown type ${String(type)}`);
      }
      return { name, type: columnType };
    }),
  };
  const literalType = create(LiteralTypeSchema, { type: { case: 'schema', value: schemaType } });
  return define({
    literalType,
    toLiteral: (value, path) => {
      const input = readBlobInput(value);
      if (input === undefined) return valueMismatch(path, literalType, value);
      return scalarLiteral({ case: 'schema', value: { uri: input.uri, type: schemaType } });
    },
    fromLiteral: (literal, path) => {
      const s = literal.value.case === 'scalar' ? literal.value.value.value : undefined;
      if (s?.case !== 'schema') return literalMismatch(path, literalType, literal);
      return { uri: s.value.uri };
    },
    accepts: (value) => readBlobInput(value) !== undefined,
  });
}
