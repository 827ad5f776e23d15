// Confinement of LocalFsBlobStore to its root: directories and files are opened, then the opened descriptor is
// checked, so that a directory swapped for a symbolic link between a check and a use cannot redirect anything.
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ConflictError, InvalidArgumentError } from '@flyte-ts/core';

/** How a LocalFsBlobStore keeps its operations inside its root; see {@link LocalFsBlobStore}. */
export const LOCAL_FS_CONFINEMENTS = ['auto', 'descriptor', 'path'] as const;

/**
 * How a LocalFsBlobStore keeps its operations inside its root. `descriptor` checks every opened descriptor
 * through `/proc/self/fd` (Linux) and holds concurrent symlink swaps off; `path` checks paths before using them
 * and is not safe against them; `auto` takes `descriptor` where the platform has it, else `path`.
 */
export type LocalFsConfinement = (typeof LOCAL_FS_CONFINEMENTS)[number];

/** True when `value` is a {@link LocalFsConfinement}. */
export function isLocalFsConfinement(value: unknown): value is LocalFsConfinement {
  return (LOCAL_FS_CONFINEMENTS as readonly unknown[]).includes(value);
}

/** A directory found inside the root, open for the operations on its entries. */
export interface ConfinedDir {
  /** A path naming this directory itself (to read it). */
  readonly path: string;
  /** A path naming `name` in this directory; in `descriptor` mode it reaches this very directory, wherever it is now. */
  entry(name: string): string;
  /** The subdirectory `name`, never through a link; undefined when it is not (or no longer) a directory. */
  child(name: string): Promise<ConfinedDir | undefined>;
  /** Rejects with `INVALID_ARGUMENT` (id `id`) when this directory has left the root since it was opened. */
  recheck(id: string): Promise<void>;
  /** Releases the directory. */
  close(): Promise<void>;
}

/** Opens directories and files under a root, refusing whatever lies outside it. */
export interface RootGuard {
  /**
   * The directory at `path` (a path under the root), creating it and its missing parents inside the root when
   * `create`. Resolves undefined when it is missing or not a directory and `create` is false. Rejects with
   * `INVALID_ARGUMENT` (id `id`) when it resolves outside the root, and with the raw filesystem error otherwise.
   */
  dir(path: string, id: string, create: boolean): Promise<ConfinedDir | undefined>;
  /**
   * The file at `path` open for reading, once it is known to be inside the root (`INVALID_ARGUMENT`, id `id`,
   * when not). Never blocks on a FIFO. Rejects with the raw filesystem error when it cannot be opened.
   */
  file(path: string, id: string): Promise<FileHandle>;
}

/** Flags of reads: no blocking open of a FIFO, no controlling terminal taken. */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
/** Flags of directories opened to work in them (a directory is all they open). */
const DIRECTORY = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);
/** Where Linux shows the path each open descriptor refers to; `<fd>/<name>` resolves `name` in that directory. */
const PROC_FD = '/proc/self/fd/';

/**
 * Creates the root (trusted, as configured) and the guard of `confinement`.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when `descriptor` is asked for where `/proc/self/fd` is missing.
 */
export async function guardRoot(root: string, confinement: LocalFsConfinement): Promise<RootGuard> {
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  if (confinement !== 'path') {
    if (await descriptorsWork(root, realRoot)) return new DescriptorGuard(root, realRoot);
    if (confinement === 'descriptor') {
      throw new InvalidArgumentError(
        `confinement 'descriptor' needs ${PROC_FD} (Linux), which this platform lacks; use 'auto' or 'path' for ` +
          `the weaker path checks`,
        { id: root },
      );
    }
  }
  return new PathGuard(root, realRoot);
}

async function descriptorsWork(root: string, realRoot: string): Promise<boolean> {
  if (constants.O_DIRECTORY === undefined || constants.O_NOFOLLOW === undefined) return false;
  try {
    const handle = await open(root, DIRECTORY);
    try {
      return (await readlink(PROC_FD + handle.fd)) === realRoot;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** The common part of both guards: what "inside" means and how leaving is reported. */
abstract class Guard {
  readonly #realPrefix: string;

  constructor(
    readonly root: string,
    readonly realRoot: string,
  ) {
    this.#realPrefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  }

  /** Throws unless `real` (a resolved path) is the root or under it. */
  checkReal(real: string, id: string): void {
    if (real === this.realRoot || real.startsWith(this.#realPrefix)) return;
    throw new InvalidArgumentError(
      `${id} resolves to ${real}, outside the root ${this.root}: a symbolic link on its path leads out of the ` +
        `root (or was swapped in while the store used it). Remove the link or keep objects out of it`,
      { id },
    );
  }
}

/**
 * Linux: every directory or file is opened first (following links, so links inside the root keep working) and
 * then its descriptor's real path is read from `/proc/self/fd`; entries are then named as
 * `/proc/self/fd/<dir>/<name>`, which the kernel resolves in that very directory, not along the path again.
 */
class DescriptorGuard extends Guard implements RootGuard {
  async dir(path: string, id: string, create: boolean): Promise<ConfinedDir | undefined> {
    if (!create) {
      const handle = await open(path, DIRECTORY).catch(async (error: unknown) => {
        if (!isMissing(error)) throw error;
        await this.#checkAncestor(path, id);
        return undefined;
      });
      return handle === undefined ? undefined : new DescriptorDir(this, await this.verified(handle, id));
    }
    return untilKept(path, id, async () => {
      const handle = await open(path, DIRECTORY).catch(async (error: unknown) => {
        if (errorCode(error) === 'ENOENT') return this.#create(path, id);
        // A file in the way, unless the way leads out of the root: say which.
        if (isMissing(error)) await this.#checkAncestor(path, id);
        throw error;
      });
      return new DescriptorDir(this, await this.verified(handle, id));
    });
  }

  async file(path: string, id: string): Promise<FileHandle> {
    const handle = await open(path, READ_FLAGS).catch(async (error: unknown) => {
      if (isMissing(error)) await this.#checkAncestor(path, id);
      throw error;
    });
    return this.verified(handle, id);
  }

  /**
   * For a missing path: refuses it when its nearest existing ancestor is outside the root, so that a link out
   * of the root answers `INVALID_ARGUMENT` whether or not its target holds the name (and says nothing of that).
   */
  async #checkAncestor(path: string, id: string): Promise<void> {
    for (let probe = path; ; probe = dirname(probe)) {
      const handle = await open(probe, DIRECTORY).catch((error: unknown) => {
        if (isMissing(error)) return undefined;
        throw error;
      });
      if (handle !== undefined) return (await this.verified(handle, id)).close();
      // Not even the root is there (removed since): nothing is, which is no escape.
      if (probe === this.root) return;
    }
  }

  /** `handle`, once its descriptor is known to be inside the root; closed and refused otherwise. */
  async verified(handle: FileHandle, id: string): Promise<FileHandle> {
    try {
      this.checkReal(await readlink(PROC_FD + handle.fd), id);
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Creates the missing directory `path`, each level inside a parent already opened and checked. */
  async #create(path: string, id: string): Promise<FileHandle> {
    if (path === this.root) {
      await mkdir(path, { recursive: true });
      return open(path, DIRECTORY);
    }
    const parent = (await this.dir(dirname(path), id, true))!;
    try {
      const entry = parent.entry(basename(path));
      await mkdir(entry).catch((error: unknown) => {
        if (errorCode(error) !== 'EEXIST') throw error;
      });
      // Whatever is there now (maybe a link swapped in since the mkdir) is checked once open.
      return await open(entry, DIRECTORY);
    } finally {
      await parent.close();
    }
  }
}

/** Attempts at creating something in a directory that another process keeps removing. */
const ATTEMPTS = 5;

/**
 * Runs `create` again while it fails with `ENOENT`: the directory it works in was removed meanwhile by another
 * process (made, then removed before it was opened; or removed while it was open). After {@link ATTEMPTS}
 * attempts, `CONFLICT` (id `id`).
 */
export async function untilKept<T>(path: string, id: string, create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      if (attempt === ATTEMPTS) {
        throw new ConflictError(
          `${id} cannot be written: ${path} was removed ${attempt} times while the store worked in it; another ` +
            `process is removing it`,
          { id, cause: error },
        );
      }
    }
  }
}

class DescriptorDir implements ConfinedDir {
  readonly path: string;

  constructor(
    readonly guard: DescriptorGuard,
    readonly handle: FileHandle,
  ) {
    this.path = PROC_FD + handle.fd;
  }

  entry(name: string): string {
    return `${this.path}/${name}`;
  }

  async child(name: string): Promise<ConfinedDir | undefined> {
    // A real subdirectory of a directory inside the root is inside it: no link is followed to get there.
    const handle = await open(this.entry(name), DIRECTORY | (constants.O_NOFOLLOW ?? 0)).catch((error: unknown) => {
      if (isMissing(error) || errorCode(error) === 'ELOOP') return undefined;
      throw error;
    });
    return handle === undefined ? undefined : new DescriptorDir(this.guard, handle);
  }

  async recheck(id: string): Promise<void> {
    this.guard.checkReal(await readlink(this.path), id);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Elsewhere: the nearest existing ancestor of a path is resolved and checked, then the path is used. A link
 * swapped in between the check and the use is followed: this holds off links that are there, not races.
 */
class PathGuard extends Guard implements RootGuard {
  async dir(path: string, id: string, create: boolean): Promise<ConfinedDir | undefined> {
    if (create) {
      await this.check(path, id);
      await mkdir(path, { recursive: true });
    }
    await this.check(path, id);
    if (!create) {
      const stats = await lstatOf(path, true);
      if (stats?.isDirectory() !== true) return undefined;
    }
    return new PathDir(this, path);
  }

  async file(path: string, id: string): Promise<FileHandle> {
    await this.check(path, id);
    return open(path, READ_FLAGS);
  }

  /** Refuses a path whose nearest existing ancestor resolves (through symbolic links) outside the root. */
  async check(path: string, id: string): Promise<void> {
    for (let probe = path; ; probe = dirname(probe)) {
      try {
        this.checkReal(await realpath(probe), id);
        return;
      } catch (error) {
        if (!isMissing(error)) throw error;
        if (probe === this.root) return;
      }
    }
  }
}

class PathDir implements ConfinedDir {
  constructor(
    readonly guard: PathGuard,
    readonly path: string,
  ) {}

  entry(name: string): string {
    return join(this.path, name);
  }

  async child(name: string): Promise<ConfinedDir | undefined> {
    const stats = await lstatOf(this.entry(name), false);
    return stats?.isDirectory() === true ? new PathDir(this.guard, this.entry(name)) : undefined;
  }

  recheck(id: string): Promise<void> {
    return this.guard.check(this.path, id);
  }

  async close(): Promise<void> {}
}

/** The stats of `path` (following a final link when `follow`), or undefined when it is missing. */
function lstatOf(path: string, follow: boolean): Promise<Stats | undefined> {
  return (follow ? stat(path) : lstat(path)).catch((error: unknown) => {
    if (isMissing(error)) return undefined;
    throw error;
  });
}

/** The `code` of a Node.js system error. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/** True for the errors of a path that does not exist (or runs through a file). */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
