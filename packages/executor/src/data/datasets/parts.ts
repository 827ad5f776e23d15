// Layout of a dataset in a BlobStore: part files `${uri}/00000`, `${uri}/00001`, ... (the layout flytekit writes
// for Parquet datasets), listed in key order when read.
import { InvalidArgumentError, NotFoundError, type BlobStore } from '@flyte-ts/core';

/** Digits of a part file name. */
const PART_DIGITS = 5;
/** Part files a dataset may have: names must keep sorting in write order. */
export const MAX_PARTS = 10 ** PART_DIGITS;

/** Formats a dataset may be stored in. */
export type DatasetFormat = 'parquet' | 'csv';

/**
 * Checks a format given at run time.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for anything but `parquet` or `csv`.
 */
export function checkFormat(format: unknown): asserts format is DatasetFormat {
  if (format !== 'parquet' && format !== 'csv') {
    throw new InvalidArgumentError(`dataset format must be 'parquet' or 'csv', got ${JSON.stringify(format)}`);
  }
}

/**
 * The dataset URI without trailing slashes.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an empty URI.
 */
export function datasetBase(uri: unknown): string {
  if (typeof uri !== 'string') throw new InvalidArgumentError('a dataset URI must be a string');
  const base = uri.replace(/\/+$/, '');
  if (base === '' || base.endsWith(':')) {
    throw new InvalidArgumentError(`dataset URI ${JSON.stringify(uri)} names no location`, { id: uri });
  }
  return base;
}

/** URI of part file `index` of the dataset at `base`. */
export function partUri(base: string, index: number): string {
  return `${base}/${String(index).padStart(PART_DIGITS, '0')}`;
}

/** Throws the signal's reason when it is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason;
}

/**
 * Whether a key below the dataset prefix is a data file. Names starting with `_` or `.` in any segment are
 * hidden, as Hadoop, Spark and pyarrow treat them (`_SUCCESS`, `_metadata`, `.part-0.crc`); keys ending with
 * `/` are directory markers.
 */
function isDataKey(relative: string): boolean {
  if (relative === '' || relative.endsWith('/')) return false;
  return relative.split('/').every((segment) => !segment.startsWith('_') && !segment.startsWith('.'));
}

/** Every object whose URI starts with `prefix`, in key order. */
export async function listAll(blob: BlobStore, prefix: string, signal: AbortSignal | undefined): Promise<string[]> {
  const uris: string[] = [];
  let token: string | undefined;
  do {
    const page = await blob.list(prefix, { token, signal });
    for (const item of page.items) uris.push(item.uri);
    token = page.nextToken;
  } while (token !== undefined);
  // Listings promise lexicographic order already; sorting by code unit costs little and guards against an
  // adapter that pages differently.
  return uris.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The data files of the dataset at `base`: the objects under `${base}/` (recursively, hidden names skipped), in
 * key order; when there are none, the object at `base` itself.
 * @throws {NotFoundError} `NOT_FOUND` when neither exists.
 */
export async function datasetFiles(blob: BlobStore, base: string, signal: AbortSignal | undefined): Promise<string[]> {
  const prefix = `${base}/`;
  const files = (await listAll(blob, prefix, signal)).filter((uri) => isDataKey(uri.slice(prefix.length)));
  if (files.length > 0) return files;
  if ((await blob.head(base, { signal })) !== undefined) return [base];
  throw new NotFoundError(`no dataset at ${base}: no object there and no data file under ${prefix}`, { id: base });
}
