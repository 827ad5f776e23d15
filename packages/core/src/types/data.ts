// Builders of Flyte's offloaded data types: blobs (files and multipart directories), structured datasets
// and the legacy schema type. Values are references (a URI plus format); moving the bytes is the job of
// the BlobStore and of the engine, not of the type.
import { clone, create } from '@bufbuild/protobuf';
import {
  BlobType_BlobDimensionality,
  LiteralTypeSchema,
  SchemaType_SchemaColumn_SchemaColumnType as ColumnType,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { scalarLiteral } from '../literals/make.js';
import { define, isPlainObject, literalMismatch, valueMismatch } from './define.js';
import type { AnyFlyteType, FlyteType } from './flyte-type.js';

/** A reference to a file (Flyte blob, single part). */
export interface FlyteFile {
  /** Where the file lives: `s3://bucket/key`, `file:///path`, `mem://...`. */
  readonly uri: string;
  /** Format of the file (`csv`, `parquet`, ...); empty when unspecified. */
  readonly format: string;
}

/** A reference to a directory (Flyte blob, multipart): a URI prefix under which the files live. */
export interface FlyteDirectory {
  /** The directory's URI prefix. */
  readonly uri: string;
  /** Format of the files in the directory; empty when unspecified. */
  readonly format: string;
}

/** What may be written where a file or directory is expected: a URI, or a reference. */
export type BlobInput = string | { readonly uri: string; readonly format?: string | undefined };

/** A reference to a structured dataset (a table stored as files: Parquet, CSV, ...). */
export interface StructuredDataset {
  /** Where the dataset lives. */
  readonly uri: string;
  /** Storage format (`parquet`, `csv`, ...); empty when unspecified. */
  readonly format: string;
}

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

function blob(format: string, dimensionality: BlobType_BlobDimensionality): FlyteType<FlyteFile, BlobInput, string> {
  if (typeof format !== 'string') throw new DefinitionError('INVALID_TYPE', 'a blob format must be a string');
  const literalType = create(LiteralTypeSchema, { type: { case: 'blob', value: { format, dimensionality } } });
  const formatFits = (actual: string) => format === '' || actual === '' || actual === format;
  return define({
    literalType,
    toLiteral: (value, path) => {
      const input = readBlobInput(value);
      if (input === undefined || !formatFits(input.format ?? '')) return valueMismatch(path, literalType, value);
      const actual = format !== '' ? format : (input.format ?? '');
      return scalarLiteral({
        case: 'blob',
        value: { uri: input.uri, metadata: { type: { format: actual, dimensionality } } },
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
      return { uri: s.value.uri, format: actual !== '' ? actual : format };
    },
    accepts: (value) => {
      const input = readBlobInput(value);
      return input !== undefined && formatFits(input.format ?? '');
    },
  });
}

/** A single file (Flyte blob, SINGLE). The value is a {@link FlyteFile}; write a URI or a reference. */
export function file(options: BlobOptions = {}): FlyteType<FlyteFile, BlobInput, 'file'> {
  return blob(options.format ?? '', BlobType_BlobDimensionality.SINGLE) as FlyteType<FlyteFile, BlobInput, 'file'>;
}

/** A directory (Flyte blob, MULTIPART). The value is a {@link FlyteDirectory}; write a URI or a reference. */
export function directory(options: BlobOptions = {}): FlyteType<FlyteDirectory, BlobInput, 'directory'> {
  return blob(options.format ?? '', BlobType_BlobDimensionality.MULTIPART) as FlyteType<
    FlyteDirectory,
    BlobInput,
    'directory'
  >;
}

/** Options of {@link structuredDataset}. */
export interface StructuredDatasetOptions {
  /** Storage format; empty (the default) means any format. */
  readonly format?: string;
  /** Column names and types; none (the default) means any columns. */
  readonly columns?: { readonly [name: string]: AnyFlyteType };
}

/** A structured dataset (a table by reference). The value is a {@link StructuredDataset}. */
export function structuredDataset(
  options: StructuredDatasetOptions = {},
): FlyteType<StructuredDataset, BlobInput, 'structured-dataset'> {
  const format = options.format ?? '';
  const columns = Object.entries(options.columns ?? {}).map(([name, type]) => ({
    name,
    literalType: clone(LiteralTypeSchema, type.literalType),
  }));
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'structuredDatasetType', value: { format, columns } },
  });
  const formatFits = (actual: string) =>
    format === '' || actual === '' || actual.toLowerCase() === format.toLowerCase();
  return define({
    literalType,
    toLiteral: (value, path) => {
      const input = readBlobInput(value);
      if (input === undefined || !formatFits(input.format ?? '')) return valueMismatch(path, literalType, value);
      const actual = format !== '' ? format : (input.format ?? '');
      return scalarLiteral({
        case: 'structuredDataset',
        value: { uri: input.uri, metadata: { structuredDatasetType: { format: actual, columns } } },
      });
    },
    fromLiteral: (literal, path) => {
      const s = literal.value.case === 'scalar' ? literal.value.value.value : undefined;
      if (s?.case !== 'structuredDataset') return literalMismatch(path, literalType, literal);
      const actual = s.value.metadata?.structuredDatasetType?.format ?? '';
      if (!formatFits(actual)) return literalMismatch(path, literalType, literal, `format ${actual}`);
      return { uri: s.value.uri, format: actual !== '' ? actual : format };
    },
    accepts: (value) => {
      const input = readBlobInput(value);
      return input !== undefined && formatFits(input.format ?? '');
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
