// The exclusive lock of a PGlite data directory. PGlite runs in one process, and two instances on one directory
// corrupt it; PGlite's own postmaster.pid does not stop them (every instance records the same fake pid, -42).
// Node has no flock, so the lock is made of files whose only atomic operations are link(2) and rename(2):
// numbered generations in `<dataDir>/flyte-ts.lock/`, where the newest names the holder.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, isFlyteError, UnavailableError } from '@flyte-ts/core';
import { StoreLockedError } from './errors.js';
import { currentProcess, isProcessId, liveness, type Liveness, type ProcessIdentity } from './process-identity.js';

/** Name of the directory, inside a data directory, that holds its lock. */
export const LOCK_DIRECTORY_NAME = 'flyte-ts.lock';

/** The process holding a data directory's lock. */
export interface LockHolder {
  /** Its pid. */
  readonly pid: number;
  /** The host it runs on (`os.hostname()`). */
  readonly host: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/** A lock held on a data directory; see {@link lockDataDirectory}. */
export interface DataDirectoryLock {
  /** The locked directory (absolute). */
  readonly directory: string;
  /** This process, as other processes see it while it holds the lock. */
  readonly holder: LockHolder;
  /** Releases the lock: the next opener takes it at once. Idempotent. */
  release(): Promise<void>;
}

/** What a generation file holds: who took the lock, and whether it gave it back. */
interface LockRecord extends ProcessIdentity {
  readonly since: string;
  readonly released?: true | undefined;
}

/** The newest generation, as read. `record` is undefined when the file is not a lock record. */
interface Generation {
  readonly number: number;
  readonly file: string;
  readonly record: LockRecord | undefined;
}

/** Attempts before giving up; each failed one means another process took or gave back the lock meanwhile. */
const MAX_ATTEMPTS = 64;
const GENERATION_NAME = /^[0-9]{1,15}$/;
const TEMPORARY_PREFIX = 'tmp-';

/**
 * Takes the exclusive lock of a data directory (created when missing), for as long as this process runs or until
 * `release()`. `createPgliteStore({ dataDir })` takes it for the life of its backend; call this yourself for a
 * PGlite instance you create and pass as `pglite`.
 *
 * The lock is `<directory>/flyte-ts.lock/`: files named by increasing generation numbers, each created whole by
 * link(2), which fails when the name exists. The newest generation names the holder (pid, host, and on Linux the
 * process start time, boot id and PID namespace). A holder that is gone (its pid is dead, names another process
 * started at another time, or the machine rebooted) or that released the lock is succeeded by creating the next
 * generation: of several processes taking over the same stale lock, exactly one creates that name, and nothing
 * is ever deleted to take over, so no process can remove the lock of one that took it first (the race of a
 * delete-then-create takeover). Older generations are deleted by the holder; a process that created a
 * generation below the newest one gives it up.
 *
 * Limits: a holder on another host or in another PID namespace (another container, or an earlier run of a
 * container that restarted: each run gets a new namespace) cannot be judged from here and is never taken over:
 * delete the `flyte-ts.lock` directory once you know that process is gone. Host names must name machines: a
 * holder with this host name and another boot id is judged gone (a reboot). Without
 * `/proc` (macOS, Windows) a pid that was reused after a crash keeps the lock looking held, until that process
 * ends or the directory is deleted. The guarantee rests on atomic link(2) and rename(2) and on directory
 * listings that show other hosts' changes at once; local filesystems give them, network filesystems (NFS, SMB)
 * may not, and PGlite should not live on one anyway.
 * @param directory the data directory
 * @throws {StoreLockedError} `STORE_LOCKED` when another backend holds it: a process running on this host, this
 * process, a process on another host or in another container, or a lock record that cannot be read
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the directory cannot be created or written
 * @throws {UnavailableError} `UNAVAILABLE` when other processes kept taking the lock while this one tried
 */
export function lockDataDirectory(directory: string): Promise<DataDirectoryLock> {
  return takeLock(directory, {});
}

/**
 * Points where a takeover can be held still, so that tests replay the interleavings it must survive. Not part
 * of the package's API.
 */
export interface LockHooks {
  /** Called once the newest generation was judged free (its holder gone, or released), before it is succeeded. */
  readonly judgedFree?: (() => Promise<void>) | undefined;
}

/**
 * {@link lockDataDirectory}, with hooks.
 * @param directory the data directory
 * @param hooks where to hold the takeover still
 */
export async function takeLock(directory: string, hooks: LockHooks): Promise<DataDirectoryLock> {
  const dataDir = resolve(directory);
  const lockDir = join(dataDir, LOCK_DIRECTORY_NAME);
  try {
    await mkdir(lockDir, { recursive: true });
    const self = await currentProcess();
    const record: LockRecord = { ...self, since: new Date().toISOString() };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const newest = await readNewest(lockDir);
      if (newest === 'vanished') continue;
      if (newest !== undefined) {
        const state = newest.record === undefined ? 'unreadable' : await holderState(newest.record, self);
        if (state !== 'gone') throw lockedError(dataDir, newest, state, self);
        await hooks.judgedFree?.();
      }
      const number = (newest?.number ?? 0) + 1;
      const file = join(lockDir, String(number));
      if (!(await createWhole(lockDir, file, record))) continue;
      // Only a process whose listing predates the deletion of an older generation can create a name below
      // the newest: it is not the holder.
      if ((await generationNumbers(lockDir)).some((n) => n > number)) {
        await unlinkIfPresent(file);
        continue;
      }
      await collectGarbage(lockDir, number, self);
      return heldLock(dataDir, lockDir, file, record);
    }
    throw new UnavailableError(
      `could not lock the data directory ${dataDir}: other processes kept taking and releasing it; retry`,
      { id: dataDir },
    );
  } catch (error) {
    if (isFlyteError(error)) throw error;
    throw new InvalidArgumentError(
      `could not lock the data directory ${dataDir} (${error instanceof Error ? error.message : String(error)}): ` +
        'give a directory this process can write, on a local filesystem',
      { id: dataDir, cause: error },
    );
  }
}

async function holderState(record: LockRecord, self: ProcessIdentity): Promise<Liveness> {
  return record.released === true ? 'gone' : liveness(record, self);
}

function heldLock(dataDir: string, lockDir: string, file: string, record: LockRecord): DataDirectoryLock {
  let released: Promise<void> | undefined;
  return {
    directory: dataDir,
    holder: { pid: record.pid, host: record.host, since: record.since },
    release() {
      // The generation stays, marked released (replaced whole by rename): deleting it would let an older
      // generation's number be created again.
      released ??= (async () => {
        const temporary = join(lockDir, temporaryName(record.pid));
        try {
          await writeWhole(temporary, { ...record, released: true });
          await rename(temporary, file);
        } catch (error) {
          // The lock directory was deleted (by hand): there is nothing left to release.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      })();
      return released;
    },
  };
}

/** The newest generation; undefined when there is none; `vanished` when it was deleted while being read. */
async function readNewest(lockDir: string): Promise<Generation | 'vanished' | undefined> {
  const numbers = await generationNumbers(lockDir);
  if (numbers.length === 0) return undefined;
  const number = Math.max(...numbers);
  const file = join(lockDir, String(number));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'vanished';
    throw error;
  }
  return { number, file, record: parseRecord(text) };
}

async function generationNumbers(lockDir: string): Promise<number[]> {
  return (await readdir(lockDir)).filter((name) => GENERATION_NAME.test(name)).map(Number);
}

/**
 * Creates `file` with the record, whole from its first instant (written and synced under a temporary name, then
 * linked): a reader never sees it empty, even after a crash. False when the name exists already.
 */
async function createWhole(lockDir: string, file: string, record: LockRecord): Promise<boolean> {
  const temporary = join(lockDir, temporaryName(record.pid));
  await writeWhole(temporary, record);
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlinkIfPresent(temporary);
  }
}

async function writeWhole(file: string, record: LockRecord): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Deletes the generations older than the held one, and temporary files of processes gone on this host. */
async function collectGarbage(lockDir: string, held: number, self: ProcessIdentity): Promise<void> {
  for (const name of await readdir(lockDir)) {
    const file = join(lockDir, name);
    if (GENERATION_NAME.test(name)) {
      if (Number(name) < held) await unlinkIfPresent(file);
    } else if (name.startsWith(TEMPORARY_PREFIX)) {
      const record = parseRecord(await readFile(file, 'utf8').catch(() => ''));
      if (record !== undefined && (await liveness(record, self)) === 'gone') await unlinkIfPresent(file);
    }
  }
}

function temporaryName(pid: number): string {
  return `${TEMPORARY_PREFIX}${pid}-${randomBytes(8).toString('hex')}`;
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function parseRecord(text: string): LockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, host, since, startTime, bootId, pidNamespace, released } = value as { [key: string]: unknown };
  if (!isProcessId(pid) || typeof host !== 'string' || typeof since !== 'string') return undefined;
  const optional = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    pid,
    host,
    since,
    startTime: optional(startTime),
    bootId: optional(bootId),
    pidNamespace: optional(pidNamespace),
    released: released === true ? true : undefined,
  };
}

function lockedError(
  dataDir: string,
  newest: Generation,
  state: Liveness | 'unreadable',
  self: ProcessIdentity,
): StoreLockedError {
  const record = newest.record;
  const lockDir = join(dataDir, LOCK_DIRECTORY_NAME);
  if (record === undefined || state === 'unreadable') {
    return new StoreLockedError(
      `the data directory ${dataDir} is locked by a lock file flyte-ts cannot read (${newest.file}): ` +
        `if no process uses the directory, delete ${lockDir} and open it again`,
      dataDir,
      undefined,
    );
  }
  const holder: LockHolder = { pid: record.pid, host: record.host, since: record.since };
  const who = `process ${record.pid} on host ${record.host} (since ${record.since})`;
  if (state === 'elsewhere') {
    return new StoreLockedError(
      `the data directory ${dataDir} is locked by ${who}, on another host or in another container (PID ` +
        `namespace), which flyte-ts cannot check from here: if that process is gone (an earlier run of a ` +
        `restarted container, for one), delete ${lockDir} and open it again`,
      dataDir,
      holder,
    );
  }
  if (record.pid === self.pid && record.startTime === self.startTime) {
    return new StoreLockedError(
      `the data directory ${dataDir} is already open in this process (pid ${record.pid}, since ${record.since}): ` +
        'PGlite runs one instance per directory; share that backend, or close() it before opening the directory again',
      dataDir,
      holder,
    );
  }
  return new StoreLockedError(
    `the data directory ${dataDir} is in use by ${who}: PGlite runs in one process only; stop that process, or ` +
      'share one backend in it (a PostgreSQL server lets several processes share a database)',
    dataDir,
    holder,
  );
}
