// LocalFsBlobStore: the BlobStore port on a local directory, for `file://` URIs inside one root. Writes go to a
// temporary file renamed into place (atomic), reads stream from disk, and no URI can reach outside the root.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  InvalidArgumentError,
  NotFoundError,
  type BlobBody,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type ListBlobsOptions,
  type OperationOptions,
  type PutOptions,
} from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';
import { bodyChunks } from './blob-body.js';
import { pageOfUris, sortUris } from './blob-pages.js';

/** Options of {@link LocalFsBlobStore}. */
export interface LocalFsBlobStoreOptions {
  /** The directory objects live in (a path or a `file:` URL); created on first use. */
  readonly root: string | URL;
}

/** Names of in-flight writes: hidden from listings, removed when a write fails. */
const TEMP_FILE = /^\.flyte-tmp-[0-9a-f]{16}$/;
const STREAM_CHUNK = 64 * 1024;

/**
 * The BlobStore port on the local filesystem: serves `file://` URIs inside `root` and refuses every other URI
 * (another scheme, a host, `.` or `..` segments, raw or percent-encoded, empty segments, encoded slashes, and
 * symbolic links that resolve outside the root). A put writes a temporary file in the target directory and
 * renames it over the object, so readers see the old object or the whole new one. Content types are not
 * stored; listings skip symbolic links. Use {@link LocalFsBlobStore.rootUri} as the base of the URIs you build.
 */
export class LocalFsBlobStore implements BlobStore {
  /** URI scheme this store serves. */
  readonly scheme = 'file';
  /** Absolute path of the root directory. */
  readonly root: string;
  /** The root as a `file://` URI (no trailing slash): the prefix of every URI this store serves. */
  readonly rootUri: string;
  readonly #rootPrefix: string;
  #realRoot: Promise<string> | undefined;

  /**
   * @param options the root directory
   */
  constructor(options: LocalFsBlobStoreOptions) {
    const given = options.root;
    const path = given instanceof URL || given.startsWith('file:') ? fileURLToPath(given) : resolve(given);
    this.root = path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
    this.#rootPrefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.rootUri = pathToFileURL(this.root).href.replace(/\/$/, '');
  }

  async get(uri: string, options?: OperationOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    const path = await this.#objectPath(uri);
    try {
      return await readFile(path, { signal: options?.signal });
    } catch (error) {
      throw mapReadError(error, uri, options?.signal);
    }
  }

  async getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    throwIfAborted(options?.signal);
    const path = await this.#objectPath(uri);
    const stats = await stat(path).catch((error: unknown) => {
      throw mapReadError(error, uri, options?.signal);
    });
    if (!stats.isFile()) throw missing(uri);
    const signal = options?.signal;
    // The file is opened on the first read, and closed when iteration ends or stops early.
    return (async function* () {
      const stream = createReadStream(path, { highWaterMark: STREAM_CHUNK, signal });
      try {
        for await (const chunk of stream) yield chunk as Uint8Array;
      } catch (error) {
        throw mapReadError(error, uri, signal);
      }
    })();
  }

  async put(uri: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo> {
    const signal = options?.signal;
    throwIfAborted(signal);
    const path = await this.#objectPath(uri);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw mapWriteError(error, uri);
    });
    await this.#checkInside(dir, uri);
    const temp = join(dir, `.flyte-tmp-${randomBytes(8).toString('hex')}`);
    let size = 0;
    try {
      const handle = await open(temp, 'wx');
      try {
        for await (const chunk of bodyChunks(body, signal)) {
          for (let offset = 0; offset < chunk.byteLength;) {
            const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
            offset += bytesWritten;
          }
          size += chunk.byteLength;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      throwIfAborted(signal);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw mapWriteError(error, uri);
    }
    const stats = await stat(path);
    return { uri: this.#uriOf(path), size, lastModified: stats.mtime };
  }

  async head(uri: string, options?: OperationOptions): Promise<BlobInfo | undefined> {
    throwIfAborted(options?.signal);
    const path = await this.#objectPath(uri);
    const stats = await stat(path).catch((error: unknown) => {
      if (isMissing(error)) return undefined;
      throw error;
    });
    if (stats === undefined || !stats.isFile()) return undefined;
    return { uri: this.#uriOf(path), size: stats.size, lastModified: stats.mtime };
  }

  async list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage> {
    throwIfAborted(options?.signal);
    const prefixPath = this.#pathOf(prefix, true);
    const start = prefixPath === this.root || prefixPath.endsWith(sep) ? prefixPath : dirname(prefixPath);
    const files: string[] = [];
    if (await this.#isDirectoryInside(start)) await this.#walk(start, prefixPath, files, options?.signal);
    const byUri = new Map(files.map((file) => [this.#uriOf(file), file]));
    const page = pageOfUris(sortUris([...byUri.keys()]), this.#uriOf(prefixPath), options);
    const items: BlobInfo[] = [];
    for (const uri of page.uris) {
      const stats = await stat(byUri.get(uri)!).catch(() => undefined);
      if (stats?.isFile() === true) items.push({ uri, size: stats.size, lastModified: stats.mtime });
    }
    return { items, nextToken: page.nextToken };
  }

  async delete(uris: string | readonly string[], options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const all = typeof uris === 'string' ? [uris] : uris;
    // Check every URI before deleting any.
    const paths = all.map((uri) => [uri, this.#pathOf(uri, false)] as const);
    for (const [uri, path] of paths) {
      throwIfAborted(options?.signal);
      await this.#checkInside(path, uri);
      const stats = await lstat(path).catch(() => undefined);
      if (stats === undefined || stats.isDirectory()) continue;
      await unlink(path).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
    }
  }

  async copy(from: string, to: string, options?: OperationOptions): Promise<BlobInfo> {
    const signal = options?.signal;
    throwIfAborted(signal);
    const source = await this.#objectPath(from);
    const target = await this.#objectPath(to);
    const stats = await stat(source).catch((error: unknown) => {
      throw mapReadError(error, from, signal);
    });
    if (!stats.isFile()) throw missing(from);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw mapWriteError(error, to);
    });
    await this.#checkInside(dir, to);
    const temp = join(dir, `.flyte-tmp-${randomBytes(8).toString('hex')}`);
    try {
      await copyFile(source, temp);
      throwIfAborted(signal);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      if (
        isMissing(error) &&
        !(await stat(source).then(
          () => true,
          () => false,
        ))
      )
        throw missing(from);
      throw mapWriteError(error, to);
    }
    const written = await stat(target);
    return { uri: this.#uriOf(target), size: written.size, lastModified: written.mtime };
  }

  /** The path of an object URI, after checking that it and the links on its way stay inside the root. */
  async #objectPath(uri: string): Promise<string> {
    const path = this.#pathOf(uri, false);
    await this.#checkInside(path, uri);
    return path;
  }

  /**
   * The path a URI names, refusing anything but a `file://` URI (no host) inside the root. `.` and `..`
   * segments (raw or percent-encoded), empty segments (except a prefix's trailing slash), encoded slashes,
   * NULs, queries and fragments are refused rather than normalized, so no two URIs name the same object.
   */
  #pathOf(uri: string, isPrefix: boolean): string {
    const refuse = (why: string) =>
      new InvalidArgumentError(`${uri} is refused: ${why}. This store serves file:// URIs under ${this.rootUri}/`, {
        id: uri,
      });
    if (!uri.startsWith('file:///')) throw refuse('not a file:// URI with an empty host');
    const rest = uri.slice('file://'.length);
    if (/[?#]/.test(rest)) throw refuse('a query or fragment');
    const segments = rest.split('/').slice(1);
    segments.forEach((segment, i) => {
      if (segment === '') {
        if (isPrefix && i === segments.length - 1) return;
        throw refuse('an empty path segment');
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw refuse('a malformed percent-encoding');
      }
      if (decoded === '.' || decoded === '..') throw refuse('a "." or ".." segment');
      if (/[/\\\0]/.test(decoded)) throw refuse('an encoded slash, backslash or NUL');
    });
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (error) {
      throw refuse(error instanceof Error ? error.message : 'not a file path');
    }
    const inside = path.startsWith(this.#rootPrefix) || (isPrefix && path === this.root);
    if (!inside || (!isPrefix && path.endsWith(sep))) throw refuse('outside the root');
    return path;
  }

  /** Refuses a path whose nearest existing ancestor resolves (through symbolic links) outside the root. */
  async #checkInside(path: string, uri: string): Promise<void> {
    const realRoot = await this.#realRootPath();
    let probe = path;
    for (;;) {
      let real: string;
      try {
        real = await realpath(probe);
      } catch (error) {
        const parent = dirname(probe);
        if (isMissing(error) && parent !== probe) {
          probe = parent;
          continue;
        }
        throw error;
      }
      if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
        throw new InvalidArgumentError(`${uri} resolves through a symbolic link to ${real}, outside ${this.root}`, {
          id: uri,
        });
      }
      return;
    }
  }

  #realRootPath(): Promise<string> {
    this.#realRoot ??= mkdir(this.root, { recursive: true }).then(() => realpath(this.root));
    return this.#realRoot;
  }

  async #isDirectoryInside(path: string): Promise<boolean> {
    const stats = await stat(path).catch(() => undefined);
    if (stats?.isDirectory() !== true) return false;
    await this.#checkInside(path, this.#uriOf(path));
    return true;
  }

  /** Collects the files under `dir` whose path starts with `prefix`, not following symbolic links. */
  async #walk(dir: string, prefix: string, out: string[], signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      if (isMissing(error)) return [];
      throw error;
    });
    for (const entry of entries) {
      if (TEMP_FILE.test(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const asDir = path + sep;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await this.#walk(path, prefix, out, signal);
      } else if (entry.isFile() && path.startsWith(prefix)) {
        out.push(path);
      }
    }
  }

  #uriOf(path: string): string {
    return pathToFileURL(path).href;
  }
}

function missing(uri: string): NotFoundError {
  return new NotFoundError(`no object at ${uri}`, { id: uri });
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function mapReadError(error: unknown, uri: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  if (isMissing(error) || errorCode(error) === 'EISDIR') return missing(uri);
  return error;
}

function mapWriteError(error: unknown, uri: string): unknown {
  const code = errorCode(error);
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new InvalidArgumentError(`${uri} cannot be written: a directory or an object is in the way of its path`, {
      id: uri,
      cause: error,
    });
  }
  return error;
}
