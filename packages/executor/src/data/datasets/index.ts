// Structured datasets (Flyte's StructuredDataset) as tables of rows, read and written through a BlobStore in
// Parquet or CSV.
//
// Layout: a dataset at `uri` is a directory of part files `${uri}/00000`, `${uri}/00001`, ... (the layout flytekit
// writes), each holding up to `rowsPerFile` rows with the same columns; a `uri` that is itself one object is read
// as a single-file dataset. Readers take every object under `${uri}/` in key order, skipping hidden names
// (`_SUCCESS`, `.crc`, any path segment starting with `_` or `.`).
//
// Columns: declared columns are checked on write (wrong type, unknown column, null in a non-nullable column:
// TYPE_MISMATCH naming the dataset, row and column) and are Flyte's column subsetting on read (declared columns
// must exist with a compatible type, other file columns are dropped). See parquet.ts and csv.ts for how each kind
// is stored.
import {
  AlreadyExistsError,
  InvalidArgumentError,
  LiteralTypeError,
  FlyteError,
  describeValue,
  type BlobStore,
} from '@flyte-ts/core';
import {
  ChunkBuilder,
  columnPath,
  inferColumns,
  KIND_DESCRIPTIONS,
  resolveColumns,
  type ColumnarChunk,
  type DatasetColumn,
  type DatasetRow,
  type ResolvedColumn,
} from './columns.js';
import { CSV_CONTENT_TYPE, csvRecords, csvRow, encodeCsv, type CsvSelection } from './csv.js';
import { encodeParquet, openParquet, PARQUET_CONTENT_TYPE, type ParquetFileColumn } from './parquet.js';
import {
  checkFormat,
  datasetBase,
  datasetFiles,
  listAll,
  MAX_PARTS,
  partUri,
  throwIfAborted,
  type DatasetFormat,
} from './parts.js';

export type { DatasetColumn, DatasetColumnKind, DatasetRow } from './columns.js';
export type { DatasetFormat } from './parts.js';

/** Rows per part file when {@link WriteDatasetOptions.rowsPerFile} is not given. */
export const DEFAULT_ROWS_PER_FILE = 100_000;

/** Options of {@link writeDataset}. */
export interface WriteDatasetOptions {
  /** Aborts the write (checked between part files and every 1,024 rows); part files written so far are deleted. */
  signal?: AbortSignal;
  /** Most rows in one part file (default {@link DEFAULT_ROWS_PER_FILE}); a dataset has at most 100,000 parts. */
  rowsPerFile?: number;
  /**
   * Replace a dataset already at `uri`: every object under `${uri}/` is deleted before writing. Without it
   * (the default), objects under `${uri}/` make the write fail with `ALREADY_EXISTS`, so that parts of an older
   * dataset never mix with new ones.
   */
  overwrite?: boolean;
}

/** What {@link writeDataset} wrote. */
export interface WriteDatasetResult {
  /** URIs of the part files, in order. */
  readonly files: readonly string[];
  /** Number of rows written. */
  readonly rows: number;
  /** The dataset's columns (declared, or inferred), with `nullable` explicit. */
  readonly columns: readonly DatasetColumn[];
}

/** Options of {@link readDataset} and {@link readDatasetRows}. */
export interface ReadDatasetOptions {
  /** Aborts the read (checked between files and between chunks of a file). */
  signal?: AbortSignal;
}

/** What {@link readDataset} read. */
export interface ReadDatasetResult {
  /** The columns of the rows: the declared ones, or those of the dataset's first file. */
  readonly columns: readonly DatasetColumn[];
  /** Every row, in file order. */
  readonly rows: DatasetRow[];
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value;
}

/** The rows in arrays of `size` (the last may be shorter); always at least one array, empty for no rows. */
async function* chunksOf(
  rows: Iterable<unknown> | AsyncIterable<unknown>,
  size: number,
): AsyncGenerator<unknown[], void, undefined> {
  let chunk: unknown[] = [];
  let yielded = false;
  if (isAsyncIterable(rows)) {
    for await (const row of rows) {
      chunk.push(row);
      if (chunk.length === size) {
        yield chunk;
        yielded = true;
        chunk = [];
      }
    }
  } else {
    for (const row of rows) {
      chunk.push(row);
      if (chunk.length === size) {
        yield chunk;
        yielded = true;
        chunk = [];
      }
    }
  }
  if (chunk.length > 0 || !yielded) yield chunk;
}

function encode(format: DatasetFormat, chunk: ColumnarChunk): Uint8Array {
  return format === 'parquet' ? encodeParquet(chunk) : new TextEncoder().encode(encodeCsv(chunk));
}

/**
 * Writes rows as a dataset: part files `${uri}/00000`, `${uri}/00001`, ... of up to `rowsPerFile` rows each (one
 * file, holding only the schema or header, when there are no rows).
 *
 * With `columns`, each value is checked against its column: `int` and `int64` take a safe integer number or a
 * bigint within int64, `float` a number, `string` a string, `boolean` a boolean, `datetime` a valid Date,
 * `duration` a finite number of milliseconds (stored to the nanosecond); `null` and `undefined` are nulls.
 * Without `columns`, they are inferred from the rows of the first part (up to `rowsPerFile` rows): columns in
 * order of first appearance, every one nullable, the kind from the first non-null value — bigint → int64, number
 * → float (declare `int` to store whole numbers as integers), string, boolean, Date → datetime; a column with
 * only nulls is a string column. No rows and no columns make a dataset with no columns.
 *
 * Parts are written one at a time, each atomically; when the write fails or is aborted, the parts it wrote are
 * deleted (best effort).
 * @throws {LiteralTypeError} `TYPE_MISMATCH` naming the row and column (`mem://b/ds rows[3].price`) for a value of
 *   the wrong type, a null in a non-nullable column, a column not in `columns`, a row that is not an object;
 *   `INTEGER_OUT_OF_RANGE` for an integer outside int64 or an unsafe integer number, a duration beyond ±2^63 ns.
 * @throws {AlreadyExistsError} `ALREADY_EXISTS` when objects exist under `${uri}/` and `overwrite` is not set.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a bad format, URI, column list or `rowsPerFile`.
 */
export async function writeDataset(
  blob: BlobStore,
  uri: string,
  format: DatasetFormat,
  columns: readonly DatasetColumn[] | undefined,
  rows: Iterable<DatasetRow> | AsyncIterable<DatasetRow>,
  options: WriteDatasetOptions = {},
): Promise<WriteDatasetResult> {
  checkFormat(format);
  const base = datasetBase(uri);
  const { signal, rowsPerFile = DEFAULT_ROWS_PER_FILE, overwrite = false } = options;
  if (!Number.isSafeInteger(rowsPerFile) || rowsPerFile < 1) {
    throw new InvalidArgumentError(`rowsPerFile must be a positive integer, got ${describeValue(rowsPerFile)}`);
  }
  if (!isAsyncIterable(rows) && !isIterable(rows)) {
    throw new InvalidArgumentError(`rows must be an iterable or async iterable, got ${describeValue(rows)}`);
  }
  let resolved = columns === undefined ? undefined : resolveColumns(columns);
  throwIfAborted(signal);

  const prefix = `${base}/`;
  const existing = await blob.list(prefix, { limit: 1, signal });
  if (existing.items.length > 0) {
    if (!overwrite) {
      throw new AlreadyExistsError(
        `objects exist under ${prefix} already (e.g. ${existing.items[0]!.uri}): write elsewhere, or pass ` +
          `overwrite: true to replace them`,
        { id: base },
      );
    }
    await blob.delete(await listAll(blob, prefix, signal), { signal });
  }

  const contentType = format === 'parquet' ? PARQUET_CONTENT_TYPE : CSV_CONTENT_TYPE;
  const files: string[] = [];
  let total = 0;
  let builder: ChunkBuilder | undefined;
  try {
    for await (const chunkRows of chunksOf(rows, rowsPerFile)) {
      throwIfAborted(signal);
      resolved ??= inferColumns(chunkRows, base, total);
      builder ??= new ChunkBuilder(resolved, base);
      const chunk = builder.start();
      for (let i = 0; i < chunkRows.length; i++) {
        if ((i & 1023) === 1023) throwIfAborted(signal);
        builder.add(chunk, chunkRows[i], total + i);
      }
      if (files.length === MAX_PARTS) {
        throw new InvalidArgumentError(
          `a dataset has at most ${MAX_PARTS} part files: raise rowsPerFile (now ${rowsPerFile})`,
          { id: base },
        );
      }
      const body = encode(format, chunk);
      throwIfAborted(signal);
      const file = partUri(base, files.length);
      files.push(file);
      await blob.put(file, body, { signal, contentType });
      total += chunk.rows;
    }
  } catch (error) {
    // Best effort: the error that stopped the write matters more than one of the cleanup.
    if (files.length > 0) await blob.delete(files).catch(() => undefined);
    throw error;
  }
  return { files, rows: total, columns: resolved! };
}

/** Output columns of a read, and whether later files must have exactly these columns (undeclared reads). */
interface ReadPlan {
  columns: ResolvedColumn[] | undefined;
  readonly declared: boolean;
}

function missingColumn(file: string, column: ResolvedColumn, names: readonly string[]): LiteralTypeError {
  return new LiteralTypeError(
    'TYPE_MISMATCH',
    columnPath(file, column.name),
    `a column ${JSON.stringify(column.name)} of kind ${column.kind}`,
    'no such column',
    `the file has ${names.length === 0 ? 'no columns' : names.map((n) => JSON.stringify(n)).join(', ')}`,
  );
}

function extraColumn(file: string, name: string, first: readonly ResolvedColumn[]): LiteralTypeError {
  return new LiteralTypeError(
    'TYPE_MISMATCH',
    columnPath(file, name),
    `only the columns of the dataset's first file (${first.map((c) => JSON.stringify(c.name)).join(', ')})`,
    'a column more',
    'declare the columns to read a subset',
  );
}

function duplicateColumn(file: string, name: string): FlyteError {
  return new FlyteError('INVALID_FORMAT', `${file} has several columns named ${JSON.stringify(name)}`, {
    id: columnPath(file, name),
  });
}

/** Index of each name among `names`; -1 for names that appear more than once. */
function indexByName(names: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  names.forEach((name, i) => map.set(name, map.has(name) ? -1 : i));
  return map;
}

/** Matches output columns to the file's columns, checking for missing and (undeclared reads) extra ones. */
function match(plan: ReadPlan, file: string, names: readonly string[]): number[] {
  const columns = plan.columns!;
  const index = indexByName(names);
  if (!plan.declared) {
    const expected = new Set(columns.map((c) => c.name));
    for (const name of names) if (!expected.has(name)) throw extraColumn(file, name, columns);
  }
  return columns.map((column) => {
    const i = index.get(column.name);
    if (i === undefined) throw missingColumn(file, column, names);
    if (i === -1) throw duplicateColumn(file, column.name);
    return i;
  });
}

function parquetSelection(plan: ReadPlan, file: string, fileColumns: readonly ParquetFileColumn[]) {
  if (plan.columns === undefined) {
    const names = fileColumns.map((c) => c.name);
    for (const [name, i] of indexByName(names)) if (i === -1) throw duplicateColumn(file, name);
    plan.columns = fileColumns.map((c) => {
      const kind = c.kinds[0];
      if (kind === undefined) {
        throw new LiteralTypeError(
          'TYPE_MISMATCH',
          columnPath(file, c.name),
          `a column of a supported kind (${Object.keys(KIND_DESCRIPTIONS).join(', ')})`,
          `Parquet ${c.typeText}`,
          'declare the columns to read the others without it',
        );
      }
      return { name: c.name, kind, nullable: c.nullable };
    });
  }
  const indexes = match(
    plan,
    file,
    fileColumns.map((c) => c.name),
  );
  return plan.columns.map((column, j) => {
    const source = fileColumns[indexes[j]!]!;
    if (!source.kinds.includes(column.kind)) {
      throw new LiteralTypeError(
        'TYPE_MISMATCH',
        columnPath(file, column.name),
        `a column readable as ${column.kind}`,
        `Parquet ${source.typeText}`,
        source.kinds.length === 0 ? 'a type flyte-ts does not read' : `readable as ${source.kinds.join(' or ')}`,
      );
    }
    return { column, file: source };
  });
}

function csvSelection(plan: ReadPlan, file: string, header: readonly string[]): CsvSelection[] {
  if (plan.columns === undefined) {
    for (const [name, i] of indexByName(header)) if (i === -1) throw duplicateColumn(file, name);
    plan.columns = header.map((name) => ({ name, kind: 'string', nullable: true }));
  }
  const indexes = match(plan, file, header);
  return plan.columns.map((column, j) => ({ column, field: indexes[j]! }));
}

async function* csvFileRows(
  blob: BlobStore,
  file: string,
  plan: ReadPlan,
  signal: AbortSignal | undefined,
): AsyncGenerator<DatasetRow[]> {
  const stream = await blob.getStream(file, { signal });
  let header: string[] | undefined;
  let selection: CsvSelection[] = [];
  let index = 0;
  for await (const records of csvRecords(stream, file, signal)) {
    const rows: DatasetRow[] = [];
    for (const record of records) {
      if (header === undefined) {
        header = record.fields.map((name) => name ?? '');
        selection = csvSelection(plan, file, header);
        continue;
      }
      if (record.fields.length !== header.length) {
        // A blank line in a file of several columns is no record (a one-column file reads it as an empty cell).
        if (record.fields.length === 1 && record.fields[0] === null) continue;
        throw new FlyteError(
          'INVALID_FORMAT',
          `${file} line ${record.line}: ${record.fields.length} fields where the header has ${header.length}`,
          { id: file },
        );
      }
      rows.push(csvRow(record, selection, file, index++));
    }
    if (rows.length > 0) yield rows;
  }
  // An empty file: no header, no columns.
  if (header === undefined) csvSelection(plan, file, []);
}

async function* readBatches(
  blob: BlobStore,
  base: string,
  format: DatasetFormat,
  plan: ReadPlan,
  signal: AbortSignal | undefined,
): AsyncGenerator<DatasetRow[]> {
  throwIfAborted(signal);
  const files = await datasetFiles(blob, base, signal);
  for (const file of files) {
    throwIfAborted(signal);
    if (format === 'csv') {
      yield* csvFileRows(blob, file, plan, signal);
    } else {
      const parquet = await openParquet(file, await blob.get(file, { signal }));
      yield* parquet.batches(parquetSelection(plan, file, parquet.columns), signal);
    }
  }
}

/** Checks the arguments of a read; `plan()` makes the plan of one pass over the dataset. */
function startRead(
  uri: string,
  format: DatasetFormat,
  columns: readonly DatasetColumn[] | undefined,
): { base: string; plan: () => ReadPlan } {
  checkFormat(format);
  const base = datasetBase(uri);
  const declared = columns === undefined ? undefined : resolveColumns(columns);
  return { base, plan: () => ({ columns: declared, declared: declared !== undefined }) };
}

/**
 * Reads a whole dataset: every part file under `uri` in key order (or the single object at `uri`).
 *
 * With `columns` (Flyte's column subsetting), each declared column must exist in every file with a type readable
 * as its kind; the rows hold exactly the declared columns, in their order, and other file columns are dropped.
 * Without `columns`, the rows hold every column of the first file, with kinds inferred from the file (Parquet: the
 * kinds flyte-ts wrote, else from the Parquet types; CSV: every column a nullable string column), and every
 * other file must have the same columns.
 *
 * Values: `int` → number (an integer beyond ±(2^53 − 1) throws `INTEGER_OUT_OF_RANGE` naming file, row and
 * column: declare `int64`), `int64` → bigint, `float` → number, `string`, `boolean`, `datetime` → Date (truncated
 * to the millisecond), `duration` → number of milliseconds (fractional below the millisecond), null for a missing
 * value in a nullable column.
 * @throws {NotFoundError} `NOT_FOUND` when there is no object at `uri` and none under it.
 * @throws {LiteralTypeError} `TYPE_MISMATCH` for a declared column missing from a file or of an incompatible type
 *   (naming file and column), for a cell not of its column's kind or a null in a non-nullable column (naming file,
 *   row and column); `INTEGER_OUT_OF_RANGE` as above.
 * @throws {FlyteError} `INVALID_FORMAT` for a file that is not valid CSV or Parquet (naming file, and line for CSV).
 */
export async function readDataset(
  blob: BlobStore,
  uri: string,
  format: DatasetFormat,
  columns: readonly DatasetColumn[] | undefined,
  options: ReadDatasetOptions = {},
): Promise<ReadDatasetResult> {
  const { base, plan: makePlan } = startRead(uri, format, columns);
  const plan = makePlan();
  const rows: DatasetRow[] = [];
  for await (const batch of readBatches(blob, base, format, plan, options.signal)) {
    for (const row of batch) rows.push(row);
  }
  return { columns: plan.columns ?? [], rows };
}

/**
 * Iterates over a dataset's rows file by file (a Parquet file one row group at a time, a CSV file as it streams),
 * so that a large dataset never sits in memory whole. Same arguments, checks and values as {@link readDataset};
 * errors surface while iterating.
 */
export function readDatasetRows(
  blob: BlobStore,
  uri: string,
  format: DatasetFormat,
  columns: readonly DatasetColumn[] | undefined,
  options: ReadDatasetOptions = {},
): AsyncIterable<DatasetRow> {
  const { base, plan } = startRead(uri, format, columns);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of readBatches(blob, base, format, plan(), options.signal)) yield* batch;
    },
  };
}
