// LocalFsBlobStore: the BlobStore port on a local directory, for `file://` URIs inside one root. Writes go to a
// temporary file renamed into place (atomic), reads stream from disk, and nothing reaches outside the root.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  InvalidArgumentError,
  isFlyteError,
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
import {
  errorCode,
  guardRoot,
  isLocalFsConfinement,
  isMissing,
  type ConfinedDir,
  type LocalFsConfinement,
  type RootGuard,
  untilKept,
} from './root-guard.js';

/** Options of {@link LocalFsBlobStore}. */
export interface LocalFsBlobStoreOptions {
  /** The directory objects live in (a path or a `file:` URL); created on first use. */
  readonly root: string | URL;
  /**
   * How operations are kept inside the root (default `auto`): `descriptor` refuses to work where the platform
   * cannot hold off concurrent symbolic-link swaps (it needs Linux's `/proc/self/fd`), `path` uses the weaker
   * path checks everywhere. See {@link LocalFsBlobStore}.
   */
  readonly confinement?: LocalFsConfinement | undefined;
}

/** Names of in-flight writes: hidden from listings, removed when a write fails. */
const TEMP_FILE = /^\.flyte-tmp-[0-9a-f]{16}$/;
const STREAM_CHUNK = 64 * 1024;

/**
 * The BlobStore port on the local filesystem: serves `file://` URIs inside `root` and refuses every other URI
 * (another scheme, a host, `.` or `..` segments, raw or percent-encoded, empty segments, encoded slashes, and
 * symbolic links that resolve outside the root) with `INVALID_ARGUMENT` naming the URI. A put writes a temporary
 * file in the target directory and renames it over the object, so readers see the old object or the whole new
 * one. Content types are not stored; listings skip symbolic links. Use {@link LocalFsBlobStore.rootUri} as the
 * base of the URIs you build.
 *
 * Symbolic links inside the root are followed as long as they lead to a place inside it; deleting a link removes
 * the link. FIFOs, devices and directories are no objects (`NOT_FOUND`), and are never opened in a blocking way.
 * Other processes may change the tree while the store works in it; what holds then depends on the confinement
 * in force (option `confinement`):
 * - **Linux (`/proc` mounted; the default there): race-safe.** Every operation opens its file or directory
 *   first and then reads where the opened descriptor really is (`/proc/self/fd/N`); what is outside is closed
 *   unread and refused. Entries are then created, renamed, listed and removed through
 *   `/proc/self/fd/<dir>/<name>`, which the kernel resolves in the directory already checked, never along the
 *   path again, so a directory swapped for a symbolic link after the check redirects nothing: no object,
 *   temporary file or directory is written, read, described, listed or deleted outside the root; the escape is
 *   an `INVALID_ARGUMENT` error naming the URI. Missing directories are created one level at a time inside
 *   parents already checked. A put checks its directory again after the rename and takes the object back out
 *   (and fails) if the directory itself was moved out of the root meanwhile. A write whose directory another
 *   process keeps removing gives up after 5 attempts with `CONFLICT`. Not covered: hard links (a file linked
 *   into the root is inside it), mounts made inside the root, and a directory moved out of the root after an
 *   operation returned (its objects go with it).
 * - **Elsewhere (macOS, Windows, BSDs): path checks.** Each path is resolved and checked before it is used; a
 *   link that is there is refused, but a link swapped in between the check and the use is followed. Use it
 *   only on trees no other process rewrites, or set `confinement: 'descriptor'` to refuse to run there.
 */
export class LocalFsBlobStore implements BlobStore {
  /** URI scheme this store serves. */
  readonly scheme = 'file';
  /** Absolute path of the root directory. */
  readonly root: string;
  /** The root as a `file://` URI (no trailing slash): the prefix of every URI this store serves. */
  readonly rootUri: string;
  readonly #rootPrefix: string;
  readonly #confinement: LocalFsConfinement;
  #guard: Promise<RootGuard> | undefined;

  /**
   * @param options the root directory and confinement
   * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an unknown confinement.
   */
  constructor(options: LocalFsBlobStoreOptions) {
    const given = options.root;
    const path = given instanceof URL || given.startsWith('file:') ? fileURLToPath(given) : resolve(given);
    this.root = path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
    this.#rootPrefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.rootUri = pathToFileURL(this.root).href.replace(/\/$/, '');
    const confinement: unknown = options.confinement ?? 'auto';
    if (!isLocalFsConfinement(confinement)) {
      throw new InvalidArgumentError(
        `confinement must be 'auto', 'descriptor' or 'path', got ${JSON.stringify(confinement)}`,
        { id: this.root },
      );
    }
    this.#confinement = confinement;
  }

  async get(uri: string, options?: OperationOptions): Promise<Uint8Array> {
    const signal = options?.signal;
    throwIfAborted(signal);
    const { handle } = await this.#openObject(uri, signal);
    try {
      return await handle.readFile({ signal });
    } catch (error) {
      throw mapReadError(error, uri, signal);
    } finally {
      await handle.close();
    }
  }

  async getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    const signal = options?.signal;
    throwIfAborted(signal);
    await (await this.#openObject(uri, signal)).handle.close();
    // Opened again (and checked again) on the first read, so that a stream never iterated holds no descriptor.
    const reopen = () => this.#openObject(uri, signal);
    return (async function* () {
      const { handle } = await reopen();
      try {
        yield* fileChunks(handle, signal);
      } catch (error) {
        throw mapReadError(error, uri, signal);
      } finally {
        await handle.close();
      }
    })();
  }

  async put(uri: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo> {
    throwIfAborted(options?.signal);
    return this.#place(uri, bodyChunks(body, options?.signal), options?.signal);
  }

  async head(uri: string, options?: OperationOptions): Promise<BlobInfo | undefined> {
    throwIfAborted(options?.signal);
    let opened: { handle: FileHandle; stats: Stats };
    try {
      opened = await this.#openObject(uri, options?.signal);
    } catch (error) {
      if (isFlyteError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
    await opened.handle.close();
    return { uri: this.#uriOf(this.#pathOf(uri, false)), size: opened.stats.size, lastModified: opened.stats.mtime };
  }

  async list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage> {
    const signal = options?.signal;
    throwIfAborted(signal);
    const prefixPath = this.#pathOf(prefix, true);
    // The directory to walk, without a trailing separator (so that its parent is the parent of the directory).
    const start =
      prefixPath === this.root ? prefixPath : prefixPath.endsWith(sep) ? prefixPath.slice(0, -1) : dirname(prefixPath);
    const guard = await this.#rootGuard();
    const files = new Map<string, string>();
    const startDir = await guard.dir(start, prefix, false);
    if (startDir !== undefined) {
      try {
        await this.#walk(startDir, start, prefixPath, files, signal);
      } finally {
        await startDir.close();
      }
    }
    const page = pageOfUris(sortUris([...files.keys()]), this.#uriOf(prefixPath), options);
    // Described through their directories, opened and checked again: the tree may have changed since the walk.
    const byDir = new Map<string, string[]>();
    for (const uri of page.uris) {
      const dir = dirname(files.get(uri)!);
      const group = byDir.get(dir);
      if (group === undefined) byDir.set(dir, [uri]);
      else group.push(uri);
    }
    const found = new Map<string, BlobInfo>();
    for (const [path, uris] of byDir) {
      throwIfAborted(signal);
      const dir = await guard.dir(path, prefix, false);
      if (dir === undefined) continue;
      try {
        for (const uri of uris) {
          const stats = await lstat(dir.entry(basename(files.get(uri)!))).catch(() => undefined);
          if (stats?.isFile() === true) found.set(uri, { uri, size: stats.size, lastModified: stats.mtime });
        }
      } finally {
        await dir.close();
      }
    }
    return { items: page.uris.flatMap((uri) => found.get(uri) ?? []), nextToken: page.nextToken };
  }

  async delete(uris: string | readonly string[], options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const all = typeof uris === 'string' ? [uris] : uris;
    // Check every URI before deleting any.
    const paths = all.map((uri) => [uri, this.#pathOf(uri, false)] as const);
    const guard = await this.#rootGuard();
    for (const [uri, path] of paths) {
      throwIfAborted(options?.signal);
      const dir = await guard.dir(dirname(path), uri, false);
      if (dir === undefined) continue;
      try {
        // A final link is removed itself, never followed: it is the object's name inside the root.
        const entry = dir.entry(basename(path));
        const stats = await lstat(entry).catch(() => undefined);
        if (stats === undefined || stats.isDirectory()) continue;
        await unlink(entry).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      } finally {
        await dir.close();
      }
    }
  }

  async copy(from: string, to: string, options?: OperationOptions): Promise<BlobInfo> {
    const signal = options?.signal;
    throwIfAborted(signal);
    this.#pathOf(to, false); // a bad target is refused before anything is read
    const { handle } = await this.#openObject(from, signal);
    try {
      return await this.#place(to, fileChunks(handle, signal), signal);
    } finally {
      await handle.close();
    }
  }

  /** The object at `uri` open for reading, checked inside the root and a regular file (else `NOT_FOUND`). */
  async #openObject(uri: string, signal: AbortSignal | undefined): Promise<{ handle: FileHandle; stats: Stats }> {
    const path = this.#pathOf(uri, false);
    const guard = await this.#rootGuard();
    const handle = await guard.file(path, uri).catch((error: unknown) => {
      throw mapReadError(error, uri, signal);
    });
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw missing(uri);
      return { handle, stats };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Writes `chunks` to a temporary file in the object's directory (opened and checked inside the root, with its
   * missing parents created the same way) and renames it over the object in that same directory.
   */
  async #place(uri: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<BlobInfo> {
    const path = this.#pathOf(uri, false);
    const guard = await this.#rootGuard();
    const name = `.flyte-tmp-${randomBytes(8).toString('hex')}`;
    // Nothing is read from `chunks` before the temporary file exists: its directory may have to be found again.
    const { dir, handle } = await untilKept(dirname(path), uri, async () => {
      const dir = (await guard.dir(dirname(path), uri, true))!;
      // `wx` (O_CREAT | O_EXCL) refuses anything already there, a symbolic link included.
      return open(dir.entry(name), 'wx').then(
        (handle) => ({ dir, handle }),
        async (error: unknown) => {
          await dir.close();
          throw error;
        },
      );
    }).catch((error: unknown) => {
      throw mapWriteError(error, uri);
    });
    const temp = dir.entry(name);
    const target = dir.entry(basename(path));
    try {
      let stats: Stats;
      try {
        try {
          await writeAll(handle, chunks);
          await handle.sync();
          stats = await handle.stat();
        } finally {
          await handle.close();
        }
        throwIfAborted(signal);
        await rename(temp, target);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw mapWriteError(error, uri);
      }
      await dir.recheck(uri).catch(async (error: unknown) => {
        // The directory was moved out of the root while the object went in: take the object back out.
        const placed = await lstat(target).catch(() => undefined);
        if (placed?.ino === stats.ino && placed.dev === stats.dev) await unlink(target).catch(() => undefined);
        throw error;
      });
      return { uri: this.#uriOf(path), size: stats.size, lastModified: stats.mtime };
    } finally {
      await dir.close();
    }
  }

  #rootGuard(): Promise<RootGuard> {
    // A failure (the root could not be created) is not kept: the next operation tries again.
    this.#guard ??= guardRoot(this.root, this.#confinement).catch((error: unknown) => {
      this.#guard = undefined;
      throw error;
    });
    return this.#guard;
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

  /** Collects the files under `dir` (at `path`) whose path starts with `prefix`, not following symbolic links. */
  async #walk(
    dir: ConfinedDir,
    path: string,
    prefix: string,
    out: Map<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    throwIfAborted(signal);
    const entries = await readdir(dir.path, { withFileTypes: true }).catch((error: unknown) => {
      if (isMissing(error)) return [];
      throw error;
    });
    for (const entry of entries) {
      if (TEMP_FILE.test(entry.name)) continue;
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        const asDir = child + sep;
        if (!asDir.startsWith(prefix) && !prefix.startsWith(asDir)) continue;
        const sub = await dir.child(entry.name);
        if (sub === undefined) continue;
        try {
          await this.#walk(sub, child, prefix, out, signal);
        } finally {
          await sub.close();
        }
      } else if (entry.isFile() && child.startsWith(prefix)) {
        out.set(this.#uriOf(child), child);
      }
    }
  }

  #uriOf(path: string): string {
    return pathToFileURL(path).href;
  }
}

/** Writes every chunk to `handle`, looping over short writes. */
async function writeAll(handle: FileHandle, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    for (let offset = 0; offset < chunk.byteLength;) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
  }
}

/** The content of an open file in chunks of at most {@link STREAM_CHUNK} bytes, checking `signal` before each. */
async function* fileChunks(handle: FileHandle, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for (;;) {
    throwIfAborted(signal);
    const buffer = new Uint8Array(STREAM_CHUNK);
    const { bytesRead } = await handle.read(buffer, 0, STREAM_CHUNK, null);
    if (bytesRead === 0) return;
    yield bytesRead === STREAM_CHUNK ? buffer : buffer.slice(0, bytesRead);
  }
}

function missing(uri: string): NotFoundError {
  return new NotFoundError(`no object at ${uri}`, { id: uri });
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
