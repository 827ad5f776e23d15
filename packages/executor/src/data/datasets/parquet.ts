// Parquet codec on hyparquet (reading) and hyparquet-writer (writing), both pure JavaScript.
//
// Column kinds ↔ Parquet:
//   int, int64 → INT64 (no annotation, as pyarrow writes int64)
//   float      → DOUBLE
//   string     → BYTE_ARRAY, STRING logical type (UTF8 converted type)
//   boolean    → BOOLEAN
//   datetime   → INT64 TIMESTAMP(MICROS, isAdjustedToUTC) (+ TIMESTAMP_MICROS converted type, as pyarrow)
//   duration   → INT64 nanoseconds, no annotation: Parquet has no duration logical type (its INTERVAL is a
//                12-byte months/days/millis value nobody reads back as a duration); pyarrow stores its
//                duration[ns] (pandas' timedelta64[ns]) exactly so, restoring the type from its own metadata.
// Nullable columns are OPTIONAL, the others REQUIRED. The key-value metadata `flyte-ts.columns` records the
// kinds, so that int vs int64 and durations read back as written; files without it (pyarrow, Spark, ...) get
// kinds inferred from their Parquet types. Pages are SNAPPY-compressed (hyparquet-writer's default, which
// hyparquet and every mainstream reader decode).
import * as zlib from 'node:zlib';
import { FlyteError, LiteralTypeError, isFlyteError } from '@flyte-ts/core';
import {
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type Compressors,
  type FileMetaData,
  type SchemaElement,
  type SchemaTree,
} from 'hyparquet';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import {
  cellPath,
  COLUMN_KINDS,
  dateAt,
  floorDiv,
  integerAs,
  KIND_DESCRIPTIONS,
  msFromNs,
  setCell,
  type ColumnarChunk,
  type DatasetColumnKind,
  type DatasetRow,
  type NormalizedValue,
  type ResolvedColumn,
} from './columns.js';

/** Content type of Parquet part files (registered with IANA in 2024). */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Key-value metadata key holding the columns' kinds. */
const KINDS_KEY = 'flyte-ts.columns';
const CREATED_BY = 'flyte-ts (hyparquet-writer)';

function schemaElement(column: ResolvedColumn): SchemaElement {
  const base = { name: column.name, repetition_type: column.nullable ? 'OPTIONAL' : 'REQUIRED' } as const;
  switch (column.kind) {
    case 'int':
    case 'int64':
    case 'duration':
      return { ...base, type: 'INT64' };
    case 'float':
      return { ...base, type: 'DOUBLE' };
    case 'string':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'boolean':
      return { ...base, type: 'BOOLEAN' };
    case 'datetime':
      return {
        ...base,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      };
  }
}

function columnData(column: ResolvedColumn, values: readonly NormalizedValue[]): ColumnSource['data'] {
  switch (column.kind) {
    case 'int':
    case 'int64':
    case 'duration':
      return column.nullable ? (values as (bigint | null)[]) : BigInt64Array.from(values as bigint[]);
    case 'datetime': {
      const micros = (ms: number) => BigInt(ms) * 1000n;
      if (!column.nullable) return BigInt64Array.from(values as number[], micros);
      return (values as (number | null)[]).map((ms) => (ms === null ? null : micros(ms)));
    }
    case 'float':
      return column.nullable ? (values as (number | null)[]) : Float64Array.from(values as number[]);
    case 'string':
    case 'boolean':
      return values as (string | boolean | null)[];
  }
}

/** The bytes of a Parquet part file holding `chunk`. */
export function encodeParquet(chunk: ColumnarChunk): Uint8Array {
  const { columns } = chunk;
  const schema: SchemaElement[] = [{ name: 'schema', num_children: columns.length }, ...columns.map(schemaElement)];
  const buffer = parquetWriteBuffer({
    schema,
    columnData: columns.map((column, c) => ({ name: column.name, data: columnData(column, chunk.values[c]!) })),
    kvMetadata: [
      {
        key: KINDS_KEY,
        value: JSON.stringify({ version: 1, columns: columns.map(({ name, kind }) => ({ name, kind })) }),
      },
    ],
    createdBy: CREATED_BY,
  });
  return new Uint8Array(buffer);
}

/** Decompressors beyond hyparquet's built-in SNAPPY: GZIP and BROTLI from node:zlib, ZSTD where Node has it. */
const COMPRESSORS: Compressors = (() => {
  const compressors: Compressors = {
    GZIP: (input) => zlib.gunzipSync(input),
    BROTLI: (input) => zlib.brotliDecompressSync(input),
  };
  // node:zlib decompresses zstd from Node 22.15 on; ZSTD and LZ4 files are refused (INVALID_FORMAT) before.
  const zstd: unknown = Reflect.get(zlib, 'zstdDecompressSync');
  if (typeof zstd === 'function') compressors.ZSTD = (input) => (zstd as (bytes: Uint8Array) => Uint8Array)(input);
  return compressors;
})();

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Milliseconds (floored) of a count of `per`ths of a millisecond. */
function msOf(value: bigint, per: bigint): number {
  return Number(floorDiv(value, per));
}

// Timestamps decode to milliseconds (a number), turned into a Date (with a range check) when the cell is read.
const PARSERS = {
  timestampFromMilliseconds: (ms: bigint) => Number(ms),
  timestampFromMicroseconds: (us: bigint) => msOf(us, 1000n),
  timestampFromNanoseconds: (ns: bigint) => msOf(ns, 1_000_000n),
  dateFromDays: (days: number) => days * 86_400_000,
  stringFromBytes: (bytes: Uint8Array | undefined) => (bytes === undefined ? bytes : utf8.decode(bytes)),
};

/** How a file column's values come out of hyparquet, which decides how each kind reads them. */
type Source = 'int32' | 'int64' | 'uint64' | 'float' | 'string' | 'bytes' | 'boolean' | 'ms' | 'ns';

/** A top-level column of a Parquet file. */
export interface ParquetFileColumn {
  /** Field name. */
  readonly name: string;
  /** Parquet type as printed in errors: `INT64`, `INT64 TIMESTAMP(MICROS)`, `BYTE_ARRAY STRING`, ... */
  readonly typeText: string;
  /** Kinds the column may be read as (empty when unsupported), the inferred one first. */
  readonly kinds: readonly DatasetColumnKind[];
  /** False for a REQUIRED column. */
  readonly nullable: boolean;
  /** How hyparquet decodes it; undefined for unsupported columns. */
  readonly source: Source | undefined;
}

function typeText(node: SchemaTree): string {
  const { element } = node;
  if (node.children.length > 0) return `group${element.logical_type ? ` ${element.logical_type.type}` : ''}`;
  const parts: string[] = [element.type ?? 'unknown'];
  const lt = element.logical_type;
  if (lt !== undefined) {
    if (lt.type === 'TIMESTAMP' || lt.type === 'TIME') {
      parts.push(`${lt.type}(${lt.unit}${lt.isAdjustedToUTC ? ', UTC' : ''})`);
    } else if (lt.type === 'INTEGER') {
      parts.push(`INTEGER(${lt.bitWidth}, ${lt.isSigned ? 'signed' : 'unsigned'})`);
    } else {
      parts.push(lt.type);
    }
  } else if (element.converted_type !== undefined) {
    parts.push(element.converted_type);
  }
  if (element.repetition_type === 'REPEATED') parts.unshift('repeated');
  return parts.join(' ');
}

/** Kinds and decoded form of a leaf column (empty kinds: unsupported). */
function readableAs(element: SchemaElement): { kinds: DatasetColumnKind[]; source?: Source } {
  const { type, converted_type: ct, logical_type: lt } = element;
  if (element.repetition_type === 'REPEATED') return { kinds: [] };
  const integer = lt?.type === 'INTEGER' || (ct !== undefined && /^U?INT_(8|16|32|64)$/.test(ct));
  const unannotated = lt === undefined && ct === undefined;
  switch (type) {
    case 'BOOLEAN':
      return unannotated ? { kinds: ['boolean'], source: 'boolean' } : { kinds: [] };
    case 'INT32':
      if (ct === 'DATE' || lt?.type === 'DATE') return { kinds: ['datetime'], source: 'ms' };
      return unannotated || integer ? { kinds: ['int', 'int64'], source: 'int32' } : { kinds: [] };
    case 'INT64':
      if (lt?.type === 'TIMESTAMP' || ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS') {
        return { kinds: ['datetime'], source: 'ms' };
      }
      if ((lt?.type === 'INTEGER' && !lt.isSigned) || ct === 'UINT_64') {
        return { kinds: ['int64', 'int'], source: 'uint64' };
      }
      return unannotated || integer ? { kinds: ['int64', 'int', 'duration'], source: 'int64' } : { kinds: [] };
    case 'INT96':
      return { kinds: ['datetime'], source: 'ms' };
    case 'FLOAT':
    case 'DOUBLE':
      return unannotated ? { kinds: ['float'], source: 'float' } : { kinds: [] };
    case 'FIXED_LEN_BYTE_ARRAY':
      return lt?.type === 'FLOAT16' ? { kinds: ['float'], source: 'float' } : { kinds: [] };
    case 'BYTE_ARRAY':
      if (ct === 'UTF8' || lt?.type === 'STRING' || lt?.type === 'ENUM' || ct === 'ENUM') {
        return { kinds: ['string'], source: 'string' };
      }
      // Old writers (Hive, parquet-mr before 1.5) stored strings unannotated: decoded as strict UTF-8.
      return unannotated ? { kinds: ['string'], source: 'bytes' } : { kinds: [] };
    default:
      return { kinds: [] };
  }
}

/** Kinds recorded by flyte-ts in the file's metadata, by column name (none when absent or malformed). */
function recordedKinds(metadata: FileMetaData): Map<string, DatasetColumnKind> {
  const kinds = new Map<string, DatasetColumnKind>();
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === KINDS_KEY);
  if (entry?.value === undefined) return kinds;
  try {
    const parsed: unknown = JSON.parse(entry.value);
    const columns = (parsed as { columns?: unknown }).columns;
    if (!Array.isArray(columns)) return kinds;
    for (const c of columns as { name?: unknown; kind?: unknown }[]) {
      if (typeof c.name === 'string' && COLUMN_KINDS.includes(c.kind as DatasetColumnKind)) {
        kinds.set(c.name, c.kind as DatasetColumnKind);
      }
    }
  } catch {
    // Not ours after all: kinds come from the Parquet types.
  }
  return kinds;
}

/** The top-level columns of a file. */
function fileColumns(metadata: FileMetaData): ParquetFileColumn[] {
  const recorded = recordedKinds(metadata);
  return parquetSchema(metadata).children.map((node): ParquetFileColumn => {
    const { element } = node;
    const nullable = element.repetition_type !== 'REQUIRED';
    const base = { name: element.name, typeText: typeText(node), nullable };
    if (node.children.length > 0) return { ...base, kinds: [], source: undefined };
    const { kinds, source } = readableAs(element);
    const mine = recorded.get(element.name);
    if (mine !== undefined && kinds.includes(mine)) {
      // int64 written as a duration reads only as one; integers written by us never as durations.
      const narrowed = mine === 'duration' ? ['duration' as const] : kinds.filter((k) => k !== 'duration');
      return { ...base, kinds: [mine, ...narrowed.filter((k) => k !== mine)], source };
    }
    return { ...base, kinds, source };
  });
}

function invalidFile(uri: string, error: unknown): FlyteError {
  const detail = error instanceof Error ? error.message : String(error);
  return new FlyteError('INVALID_FORMAT', `${uri} is not a Parquet file flyte-ts can read: ${detail}`, {
    id: uri,
    cause: error,
  });
}

/** An AsyncBuffer over bytes in memory. */
function bufferOf(bytes: Uint8Array): AsyncBuffer {
  // A copy of exactly the range: stores may return a Node Buffer, whose `slice` is a view into a shared pool.
  return {
    byteLength: bytes.byteLength,
    slice: (start, end) => Uint8Array.prototype.slice.call(bytes, start, end).buffer,
  };
}

/** A Parquet part file opened for reading. */
export interface ParquetFile {
  readonly columns: readonly ParquetFileColumn[];
  /** Rows of the selected columns, one batch per row group. */
  batches(selection: readonly ParquetSelection[], signal: AbortSignal | undefined): AsyncGenerator<DatasetRow[]>;
}

/** How one output column is read: as `column.kind`, from file column `file`. */
export interface ParquetSelection {
  /** The output column. */
  readonly column: ResolvedColumn;
  /** The file column it is read from. */
  readonly file: ParquetFileColumn;
}

/**
 * Opens a Parquet file held in memory. The BlobStore port has no ranged read, so the whole object is fetched
 * first (`blob.get`); hyparquet then reads only the footer and the selected column chunks from it.
 * @throws {FlyteError} `INVALID_FORMAT` when the bytes are not a Parquet file.
 */
export async function openParquet(uri: string, bytes: Uint8Array): Promise<ParquetFile> {
  const file = bufferOf(bytes);
  let metadata: FileMetaData;
  let columns: ParquetFileColumn[];
  try {
    metadata = await parquetMetadataAsync(file);
    columns = fileColumns(metadata);
  } catch (error) {
    throw invalidFile(uri, error);
  }
  return {
    columns,
    async *batches(selection, signal) {
      let groupStart = 0;
      for (const group of metadata.row_groups) {
        if (signal?.aborted === true) throw signal.reason;
        const groupRows = Number(group.num_rows);
        const rowStart = groupStart;
        groupStart += groupRows;
        if (groupRows === 0) continue;
        if (selection.length === 0) {
          yield Array.from({ length: groupRows }, () => ({}));
          continue;
        }
        let rows: unknown[][] = [];
        try {
          await parquetRead({
            file,
            metadata,
            columns: selection.map((s) => s.file.name),
            rowStart,
            rowEnd: rowStart + groupRows,
            rowFormat: 'array',
            utf8: false,
            parsers: PARSERS,
            compressors: COMPRESSORS,
            onComplete: (result: unknown[][]) => {
              rows = result;
            },
          });
        } catch (error) {
          if (isFlyteError(error)) throw error;
          throw invalidFile(uri, error);
        }
        yield rows.map((values, i) => parquetRow(values, selection, uri, rowStart + i));
      }
    },
  };
}

function parquetRow(values: unknown[], selection: readonly ParquetSelection[], uri: string, index: number): DatasetRow {
  const row: Record<string, unknown> = {};
  for (let c = 0; c < selection.length; c++) {
    const { column, file } = selection[c]!;
    setCell(row, column.name, parquetCell(column, file.source!, values[c], uri, index));
  }
  return row;
}

function parquetCell(column: ResolvedColumn, source: Source, value: unknown, uri: string, row: number): unknown {
  if (value == null) {
    if (column.nullable) return null;
    throw new LiteralTypeError(
      'TYPE_MISMATCH',
      cellPath(uri, row, column.name),
      KIND_DESCRIPTIONS[column.kind],
      'null',
      'the column is not nullable',
    );
  }
  switch (column.kind) {
    case 'int':
      if (source === 'int32') return value;
      return integerAs('int', value as bigint, uri, row, column.name);
    case 'int64':
      if (source === 'int32') return BigInt(value as number);
      return integerAs('int64', value as bigint, uri, row, column.name);
    case 'duration':
      return msFromNs(value as bigint);
    case 'datetime':
      return dateAt(value as number, uri, row, column.name);
    case 'string':
      if (source === 'bytes') {
        try {
          return utf8.decode(value as Uint8Array);
        } catch {
          throw new LiteralTypeError(
            'TYPE_MISMATCH',
            cellPath(uri, row, column.name),
            'string (UTF-8 text)',
            'bytes that are not UTF-8',
          );
        }
      }
      return value;
    case 'float':
    case 'boolean':
      return value;
  }
}
