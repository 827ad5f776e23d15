// Data access of a running task: the blob store its files, directories and datasets live in, where it may write
// raw data, and where downloads go. Conversions between values and literals are synchronous; the handles they
// create and the uploads they plan capture the access that is active while they run (`withDataScope`), and the
// planned uploads run afterwards (`DataScope.flush`).
import { FlyteError } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';

/** Kinds of dataset columns: how a column's cells read and write. */
export type DatasetColumnKind = 'int' | 'int64' | 'float' | 'string' | 'boolean' | 'datetime' | 'duration';

/** A column of a structured dataset. */
export interface DatasetColumn {
  /** Column name. */
  readonly name: string;
  /** Cell type: `int` reads as a safe `number`, `int64` as a `bigint`, `datetime` as a `Date`, `duration` as ms. */
  readonly kind: DatasetColumnKind;
  /** Whether cells may be null. */
  readonly nullable?: boolean | undefined;
}

/** One row of a dataset: column name to cell value. */
export type DatasetRow = { readonly [column: string]: unknown };

/** A table read from a dataset. */
export interface DatasetTable {
  /** The columns read (the declared ones, or every column of the files). */
  readonly columns: readonly DatasetColumn[];
  /** The rows. */
  readonly rows: DatasetRow[];
}

/** Reads and writes structured datasets (CSV, Parquet) on a BlobStore. The engine supplies one. */
export interface DatasetCodec {
  /** Writes rows as part files under the dataset URI `uri`. */
  write(
    blob: BlobStore,
    uri: string,
    format: string,
    columns: readonly DatasetColumn[] | undefined,
    rows: Iterable<DatasetRow> | AsyncIterable<DatasetRow>,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<unknown>;
  /** Reads a whole dataset; declared `columns` select and check the columns read. */
  read(
    blob: BlobStore,
    uri: string,
    format: string,
    columns: readonly DatasetColumn[] | undefined,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<DatasetTable>;
  /** Reads a dataset row by row, file by file. */
  readRows(
    blob: BlobStore,
    uri: string,
    format: string,
    columns: readonly DatasetColumn[] | undefined,
    options?: { readonly signal?: AbortSignal | undefined },
  ): AsyncIterable<DatasetRow>;
}

/** What a task's file, directory and dataset values use to move data. */
export interface DataAccess {
  /** The store the data lives in. */
  readonly blob: BlobStore;
  /** Prefix under which the task's returned local files, streams and rows are uploaded (the raw-output prefix). */
  readonly rawOutputPrefix?: string | undefined;
  /** Local directory downloads go to (created on demand; default: a new directory under the OS temp dir). */
  readonly workDir?: string | undefined;
  /** Dataset formats (CSV, Parquet); without one, datasets can only be passed by reference. */
  readonly datasets?: DatasetCodec | undefined;
  /** Aborts downloads and uploads (the attempt's signal). */
  readonly signal?: AbortSignal | undefined;
}

/** Error code of a data operation that has no data access (a handle used outside an engine on a remote URI). */
export const NO_DATA_ACCESS = 'NO_DATA_ACCESS';

/** A data operation that cannot run: no blob store, no raw-output prefix or no dataset codec. */
export class DataAccessError extends FlyteError<typeof NO_DATA_ACCESS> {
  /**
   * @param message what is missing and how to provide it
   * @param id the URI or value path concerned
   */
  constructor(message: string, id: string) {
    super(NO_DATA_ACCESS, message, { id });
  }
}

/** An upload planned while a value was converted to a literal; run by {@link DataScope.flush}. */
export type PlannedUpload = (access: DataAccess) => Promise<void>;

/** The data access of one conversion, and the uploads it planned. */
export class DataScope {
  /** The access handles and uploads use; undefined outside an engine. */
  readonly access: DataAccess | undefined;
  /** Prefix of value paths that names upload locations (`my.task.outputs`); stripped from them. */
  readonly pathPrefix: string;
  readonly #uploads: PlannedUpload[] = [];
  #destinations: Set<string> | undefined;

  /**
   * @param access what data operations use
   * @param pathPrefix the prefix of value paths, stripped from upload locations
   */
  constructor(access: DataAccess | undefined, pathPrefix = '') {
    this.access = access;
    this.pathPrefix = pathPrefix;
  }

  /** Plans an upload. */
  plan(upload: PlannedUpload): void {
    this.#uploads.push(upload);
  }

  /** Whether uploads are planned and not yet run. */
  get pending(): boolean {
    return this.#uploads.length > 0;
  }

  /** Runs the planned uploads (a few at a time) and forgets them. */
  async flush(): Promise<void> {
    const uploads = this.#uploads.splice(0);
    if (uploads.length === 0) return;
    const access = this.access;
    if (access === undefined) throw new DataAccessError('uploads need a data access', this.pathPrefix);
    let next = 0;
    const worker = async () => {
      while (next < uploads.length) {
        const upload = uploads[next++]!;
        await upload(access);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, uploads.length) }, worker));
  }

  /** Where the value at `path` is uploaded: the raw-output prefix plus the path's segments. */
  destination(path: string, what: string): string {
    const prefix = this.access?.rawOutputPrefix;
    if (this.access === undefined || prefix === undefined || prefix === '') {
      throw new DataAccessError(
        `${path}: ${what} must be uploaded, which needs an engine (or TaskRunContext.data with a rawOutputPrefix)`,
        path,
      );
    }
    let rest = path;
    if (this.pathPrefix !== '' && rest.startsWith(this.pathPrefix)) rest = rest.slice(this.pathPrefix.length);
    const segments = rest
      .replace(/\[(\d+)\]/g, '/$1')
      .replace(/\[("(?:[^"\\]|\\.)*")\]/g, (_, key: string) => `/${(JSON.parse(key) as string).replace(/[./]/g, '_')}`)
      .split(/[./]/)
      .map((s) => s.replace(/[^A-Za-z0-9_-]/g, '_'))
      .filter((s) => s !== '' && s !== '_');
    const base = [prefix.replace(/\/+$/, ''), ...(segments.length === 0 ? ['value'] : segments)].join('/');
    // Two values whose paths read alike once sanitized (map keys `a b` and `a_b`) never share a location: later
    // ones get a suffix, in conversion order, so the same values always land in the same places.
    let destination = base;
    const taken = (this.#destinations ??= new Set());
    for (let n = 2; taken.has(destination); n++) destination = `${base}-${n}`;
    taken.add(destination);
    return destination;
  }
}

let active: DataScope | undefined;

/**
 * Runs the synchronous `fn` with `scope` active: the file, directory and dataset values it creates use the scope's
 * access, and the uploads it plans go to the scope.
 */
export function withDataScope<T>(scope: DataScope | undefined, fn: () => T): T {
  const previous = active;
  active = scope;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** The scope active now (see {@link withDataScope}). */
export function currentDataScope(): DataScope | undefined {
  return active;
}

/**
 * Converts values with data access: runs the synchronous `convert` (e.g. `toLiteralMap`) so that the local files,
 * content and rows among the values are planned for upload under `access.rawOutputPrefix` (value paths starting
 * with `pathPrefix` lose it), then runs the uploads, and resolves to what `convert` returned.
 * @param access the blob store and raw-output prefix uploads use
 * @param pathPrefix the common prefix of the value paths `convert` uses (`inputs`), left out of upload locations
 * @param convert the conversion
 */
export async function withDataAccess<T>(access: DataAccess, pathPrefix: string, convert: () => T): Promise<T> {
  const scope = new DataScope(access, pathPrefix);
  const result = withDataScope(scope, convert);
  if (scope.pending) await scope.flush();
  return result;
}
