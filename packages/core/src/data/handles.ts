// Lazy handles of files, directories and structured datasets: what a task receives for `t.file()`,
// `t.directory()` and `t.structuredDataset()` inputs. Nothing moves until a method is called; bytes stream
// through the BlobStore (constant memory), downloads land in the task's work directory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../ports/blob-store.js';
import type { OperationOptions } from '../ports/common.js';
import {
  currentDataScope,
  DataAccessError,
  type DataAccess,
  type DatasetColumn,
  type DatasetRow,
  type DatasetTable,
} from './access.js';

/** A file (Flyte blob, single part), by reference; its bytes are fetched on demand. */
export interface FlyteFile {
  /** Where the file lives: `s3://bucket/key`, `file:///path`, `mem://...`. */
  readonly uri: string;
  /** Format of the file (`csv`, `parquet`, ...); empty when unspecified. */
  readonly format: string;
  /** Downloads the file into the task's work directory (once) and resolves to its local path. */
  download(options?: OperationOptions): Promise<string>;
  /** The file's bytes as a stream of chunks (constant memory). */
  stream(options?: OperationOptions): Promise<AsyncIterable<Uint8Array>>;
  /** The whole file. */
  bytes(options?: OperationOptions): Promise<Uint8Array>;
  /** The whole file as UTF-8 text. */
  text(options?: OperationOptions): Promise<string>;
}

/** A directory (Flyte blob, multipart): a URI prefix under which the files live. */
export interface FlyteDirectory {
  /** The directory's URI prefix. */
  readonly uri: string;
  /** Format of the files in the directory; empty when unspecified. */
  readonly format: string;
  /** Every file under the directory, at any depth, in URI order. */
  list(options?: OperationOptions): Promise<FlyteFile[]>;
  /** A file of the directory by its relative path (`a/b.txt`); nothing is fetched. */
  file(path: string): FlyteFile;
  /** Downloads the whole directory into the task's work directory (once) and resolves to its local path. */
  download(options?: OperationOptions): Promise<string>;
}

/** A structured dataset (a table stored as files: Parquet, CSV), by reference; rows are read on demand. */
export interface StructuredDataset {
  /** Where the dataset lives (a prefix of part files). */
  readonly uri: string;
  /** Storage format (`parquet`, `csv`, ...); empty when unspecified. */
  readonly format: string;
  /** The declared columns the dataset is read with; undefined reads every column of the files. */
  readonly columns: readonly DatasetColumn[] | undefined;
  /** Reads the whole table (the declared columns only, checked against the files). */
  read(options?: OperationOptions): Promise<DatasetTable>;
  /** Reads the rows one at a time, file by file. */
  rows(options?: OperationOptions): AsyncIterable<DatasetRow>;
}

/**
 * Where a handle's data operations go: the active scope's data access (an engine's blob store); without one, only
 * `file://` URIs can be read, straight from the local filesystem.
 */
function accessFor(): DataAccess | undefined {
  return currentDataScope()?.access;
}

function requireBlob(access: DataAccess | undefined, uri: string): BlobStore {
  if (access === undefined) {
    throw new DataAccessError(
      `${uri} can only be read inside an engine (or with TaskRunContext.data): no blob store is at hand`,
      uri,
    );
  }
  return access.blob;
}

function signalOf(access: DataAccess | undefined, options: OperationOptions | undefined): AbortSignal | undefined {
  const signals = [options?.signal, access?.signal].filter((s): s is AbortSignal => s !== undefined);
  if (signals.length <= 1) return signals[0];
  // Either one aborts the operation (the caller's, or the attempt's).
  return AbortSignal.any(signals);
}

const workDirs = new WeakMap<DataAccess, Promise<string>>();
const LOCAL_ACCESS: DataAccess = Object.freeze({ blob: undefined as unknown as BlobStore });

/** The work directory of an access (created on first use). */
function workDirOf(access: DataAccess | undefined): Promise<string> {
  const key = access ?? LOCAL_ACCESS;
  let dir = workDirs.get(key);
  if (dir === undefined) {
    const given = access?.workDir;
    dir =
      given === undefined
        ? mkdtemp(join(tmpdir(), 'flyte-ts-data-'))
        : mkdir(given, { recursive: true }).then(() => given);
    workDirs.set(key, dir);
  }
  return dir;
}

/** A short stable name for a URI's downloads (two URIs never share a download directory). */
function slot(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 16);
}

/** The last path segment of a URI (`report.csv`), or `file` when it has none. */
function leafName(uri: string): string {
  const last = uri.replace(/\/+$/, '').split('/').pop() ?? '';
  const decoded = last.replace(/[^A-Za-z0-9._-]/g, '_');
  return decoded === '' || decoded === '.' || decoded === '..' ? 'file' : decoded;
}

/** Streams `source` into `path` atomically (a temporary file renamed into place). */
async function writeLocal(path: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await pipeline(Readable.from(source), createWriteStream(temp), signal === undefined ? {} : { signal });
  await rename(temp, path);
}

/**
 * The local path of a `file://` URI that no blob store serves here (no access, or a store of another scheme):
 * such files are read straight from this machine's filesystem.
 */
function localFor(access: DataAccess | undefined, uri: string): string | undefined {
  if (access !== undefined && access.blob.scheme === 'file') return undefined;
  return localPath(uri);
}

function localPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

class FileHandle implements FlyteFile {
  readonly uri: string;
  readonly format: string;
  readonly #access: DataAccess | undefined;
  #download: Promise<string> | undefined;

  constructor(uri: string, format: string, access: DataAccess | undefined) {
    this.uri = uri;
    this.format = format;
    this.#access = access;
  }

  download(options?: OperationOptions): Promise<string> {
    this.#download ??= this.#fetch(options).catch((error: unknown) => {
      this.#download = undefined;
      throw error;
    });
    return this.#download;
  }

  async #fetch(options?: OperationOptions): Promise<string> {
    const local = localFor(this.#access, this.uri);
    if (local !== undefined) return local;
    const signal = signalOf(this.#access, options);
    const target = join(await workDirOf(this.#access), slot(this.uri), leafName(this.uri));
    await writeLocal(target, await this.stream(signal === undefined ? {} : { signal }), signal);
    return target;
  }

  async stream(options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    const signal = signalOf(this.#access, options);
    const local = localFor(this.#access, this.uri);
    if (local !== undefined) {
      await stat(local);
      return createReadStream(local, signal === undefined ? {} : { signal });
    }
    return requireBlob(this.#access, this.uri).getStream(this.uri, signal === undefined ? {} : { signal });
  }

  async bytes(options?: OperationOptions): Promise<Uint8Array> {
    const local = localFor(this.#access, this.uri);
    if (local !== undefined) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of await this.stream(options)) chunks.push(chunk);
      return Buffer.concat(chunks);
    }
    const signal = signalOf(this.#access, options);
    return requireBlob(this.#access, this.uri).get(this.uri, signal === undefined ? {} : { signal });
  }

  async text(options?: OperationOptions): Promise<string> {
    return new TextDecoder().decode(await this.bytes(options));
  }

  toJSON(): { uri: string; format: string } {
    return { uri: this.uri, format: this.format };
  }
}

class DirectoryHandle implements FlyteDirectory {
  readonly uri: string;
  readonly format: string;
  readonly #access: DataAccess | undefined;
  #download: Promise<string> | undefined;

  constructor(uri: string, format: string, access: DataAccess | undefined) {
    this.uri = uri.replace(/\/+$/, '');
    this.format = format;
    this.#access = access;
  }

  file(path: string): FlyteFile {
    const segments = path.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw new DataAccessError(`${path} is not a relative path inside ${this.uri}`, path);
    }
    return new FileHandle(`${this.uri}/${path}`, this.format, this.#access);
  }

  async list(options?: OperationOptions): Promise<FlyteFile[]> {
    const local = localFor(this.#access, this.uri);
    if (local !== undefined) {
      const files = await listLocalFiles(local);
      return files.map((rel) => new FileHandle(`${this.uri}/${rel}`, this.format, this.#access));
    }
    const blob = requireBlob(this.#access, this.uri);
    const signal = signalOf(this.#access, options);
    const out: FlyteFile[] = [];
    let token: string | undefined;
    do {
      const page = await blob.list(`${this.uri}/`, {
        limit: 1000,
        ...(token === undefined ? {} : { token }),
        ...(signal === undefined ? {} : { signal }),
      });
      for (const item of page.items) out.push(new FileHandle(item.uri, this.format, this.#access));
      token = page.nextToken;
    } while (token !== undefined);
    return out;
  }

  download(options?: OperationOptions): Promise<string> {
    this.#download ??= this.#fetch(options).catch((error: unknown) => {
      this.#download = undefined;
      throw error;
    });
    return this.#download;
  }

  async #fetch(options?: OperationOptions): Promise<string> {
    const local = localFor(this.#access, this.uri);
    if (local !== undefined) return local;
    const root = join(await workDirOf(this.#access), slot(this.uri), leafName(this.uri));
    await mkdir(root, { recursive: true });
    const signal = signalOf(this.#access, options);
    for (const file of await this.list(options)) {
      const rel = file.uri.slice(this.uri.length + 1);
      const target = join(root, ...rel.split('/'));
      // Keys such as `a/../b` cannot escape the download directory.
      if (!target.startsWith(root + sep)) throw new DataAccessError(`${file.uri} escapes ${this.uri}`, file.uri);
      await writeLocal(target, await file.stream(signal === undefined ? {} : { signal }), signal);
    }
    return root;
  }

  toJSON(): { uri: string; format: string } {
    return { uri: this.uri, format: this.format };
  }
}

class DatasetHandle implements StructuredDataset {
  readonly uri: string;
  readonly format: string;
  readonly columns: readonly DatasetColumn[] | undefined;
  readonly #access: DataAccess | undefined;

  constructor(uri: string, format: string, columns: readonly DatasetColumn[] | undefined, access?: DataAccess) {
    this.uri = uri;
    this.format = format;
    this.columns = columns;
    this.#access = access;
  }

  #codec(): { blob: BlobStore; codec: NonNullable<DataAccess['datasets']> } {
    const blob = requireBlob(this.#access, this.uri);
    const codec = this.#access?.datasets;
    if (codec === undefined) {
      throw new DataAccessError(`${this.uri}: this engine reads no dataset formats (no dataset codec)`, this.uri);
    }
    return { blob, codec };
  }

  read(options?: OperationOptions): Promise<DatasetTable> {
    const { blob, codec } = this.#codec();
    const signal = signalOf(this.#access, options);
    return codec.read(blob, this.uri, this.format || 'parquet', this.columns, { signal });
  }

  rows(options?: OperationOptions): AsyncIterable<DatasetRow> {
    const { blob, codec } = this.#codec();
    const signal = signalOf(this.#access, options);
    return codec.readRows(blob, this.uri, this.format || 'parquet', this.columns, { signal });
  }

  toJSON(): { uri: string; format: string } {
    return { uri: this.uri, format: this.format };
  }
}

/** Files of a local directory at any depth, as relative paths with `/` separators, sorted. */
export async function listLocalFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/** A file handle on the active data scope's access. */
export function fileHandle(uri: string, format: string): FlyteFile {
  return new FileHandle(uri, format, accessFor());
}

/** A directory handle on the active data scope's access. */
export function directoryHandle(uri: string, format: string): FlyteDirectory {
  return new DirectoryHandle(uri, format, accessFor());
}

/** A dataset handle on the active data scope's access. */
export function datasetHandle(
  uri: string,
  format: string,
  columns: readonly DatasetColumn[] | undefined,
): StructuredDataset {
  return new DatasetHandle(uri, format, columns, accessFor());
}

/** Whether a value is a handle made here (passed through as a reference, never re-uploaded). */
export function isHandle(value: unknown): value is FlyteFile | FlyteDirectory | StructuredDataset {
  return value instanceof FileHandle || value instanceof DirectoryHandle || value instanceof DatasetHandle;
}
