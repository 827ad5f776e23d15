// The exclusive lock of a PGlite data directory. PGlite runs in one process, and two instances on one directory
// corrupt it; PGlite's own postmaster.pid does not stop them (every instance records the same fake pid, -42).
// Node has no flock, so the lock is made of files whose only atomic operations are link(2) and rename(2):
// numbered generations in `<dataDir>/flyte-ts.lock/`, where the newest names the holder, and the modification
// time of the newest is its holder's heartbeat.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, isFlyteError, UnavailableError } from '@flyte-ts/core';
import { StoreLockedError } from './errors.js';
import { startHeartbeat, type HeartbeatLoss } from './heartbeat.js';
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
  /**
   * Aborted when this process lost the lock while holding it, its reason a {@link StoreLockedError}: another
   * process took it over (this process's heartbeat went unrefreshed for longer than the stale threshold: the
   * process was frozen or suspended, or its filesystem stalled), or the lock directory was deleted. Another
   * process may be using the directory now: stop using it, and do not close a PGlite instance on it (closing
   * writes to the directory); end the process.
   */
  readonly signal: AbortSignal;
  /** Releases the lock: the next opener takes it at once. Idempotent; does nothing once the lock is lost. */
  release(): Promise<void>;
}

/** Options of {@link lockDataDirectory}. */
export interface DataDirectoryLockOptions {
  /**
   * How long, in ms, the heartbeat of a holder that cannot be checked from here (a process on another host, or
   * in another PID namespace: another container, or a container's run before it restarted) may stay unrefreshed
   * before that holder is judged gone and its lock taken over. At least 1000. This process, while it holds the
   * lock, refreshes its heartbeat every twelfth of it (every 5 s by default), and records it in the lock: other
   * processes wait for the longer of theirs and this one. Default: 60 000.
   */
  readonly staleAfterMs?: number | undefined;
  /**
   * How long, in ms, to keep trying while another process holds the lock, checking about once a second, before
   * failing with `STORE_LOCKED`. A restarting container whose earlier run was killed can wait for that run's
   * heartbeat to go stale instead of failing: give it more than `staleAfterMs`. Default: 0, fail at once.
   */
  readonly waitMs?: number | undefined;
}

/** What a generation file holds: who took the lock, when others may judge it gone, and whether it gave it back. */
interface LockRecord extends ProcessIdentity {
  readonly since: string;
  /** The holder's stale threshold (see {@link DataDirectoryLockOptions.staleAfterMs}); absent in old records. */
  readonly staleAfterMs?: number | undefined;
  readonly released?: true | undefined;
}

/**
 * The newest generation, as read. `record` is undefined when the file is not a lock record; `heartbeat` is its
 * modification time, as this host's filesystem reports it (epoch ms).
 */
interface Generation {
  readonly number: number;
  readonly file: string;
  readonly record: LockRecord | undefined;
  readonly heartbeat: number;
}

/**
 * How the holder of the newest generation was judged: `gone` (or released), `running` (a process checked on
 * this host), `unreadable` (not a lock record), or `beating`: a holder that cannot be checked from here whose
 * heartbeat is fresh, until `staleAt` (epoch ms).
 */
type Verdict =
  | { readonly state: 'gone' | 'running' | 'unreadable' }
  | { readonly state: 'beating'; readonly heartbeat: number; readonly staleAt: number };

/** Default of {@link DataDirectoryLockOptions.staleAfterMs}. */
const DEFAULT_STALE_AFTER_MS = 60_000;
/** The smallest threshold: under a second, coarse file timestamps (1 s on some filesystems) would misjudge. */
const MIN_STALE_AFTER_MS = 1000;
/** Heartbeats per stale threshold: a holder is judged gone only after this many refreshes in a row failed. */
const BEATS_PER_THRESHOLD = 12;
/** How often a waiting opener tries again. */
const WAIT_POLL_MS = 1000;
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
 * A holder whose pid cannot be checked from here, on another host or in another PID namespace (another
 * container, or the run of a container before it restarted: each run gets a new namespace), is judged by its
 * heartbeat instead: while it holds the lock, every holder refreshes the modification time of its generation
 * file, from a worker thread (so a long synchronous PGlite query does not stop it), every twelfth of
 * `staleAfterMs`. Such a holder is judged gone once that time is older than `staleAfterMs` (the longer of this
 * process's and the holder's); until then the opener gets `STORE_LOCKED` saying when it will be judged gone
 * (`staleAt`), or waits up to `waitMs`. The age is this host's clock minus the file's modification time as this
 * host's filesystem reports it, which the writer's clock set: one clock for processes on one host (containers
 * sharing a local volume); for several hosts the clocks must agree to well within `staleAfterMs` (NTP does).
 * The holder watches for its loss: `signal` aborts when another process took the lock over anyway (this one
 * was frozen for longer than the threshold, for one).
 *
 * Limits: host names must name machines: a holder with this host name and another boot id is judged gone (a
 * reboot). Without `/proc` (macOS, Windows) a pid that was reused after a crash keeps the lock looking held,
 * until that process ends or the directory is deleted. The guarantee rests on atomic link(2) and rename(2) and
 * on directory listings that show other hosts' changes at once; local filesystems give them, network
 * filesystems (NFS, SMB) may not, and PGlite should not live on one anyway.
 * @param directory the data directory
 * @param options the stale threshold of heartbeats, and how long to wait for the lock
 * @throws {StoreLockedError} `STORE_LOCKED` when another backend holds it: a process running on this host, this
 * process, a process on another host or in another container whose heartbeat is fresh, or a lock record that
 * cannot be read
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the directory cannot be created or written, or an
 * option is out of range
 * @throws {UnavailableError} `UNAVAILABLE` when other processes kept taking the lock while this one tried
 */
export function lockDataDirectory(
  directory: string,
  options: DataDirectoryLockOptions = {},
): Promise<DataDirectoryLock> {
  return takeLock(directory, options, {});
}

/**
 * Points where a takeover can be held still, so that tests replay the interleavings it must survive. Not part
 * of the package's API.
 */
export interface LockHooks {
  /** Called once the newest generation was judged free (its holder gone, or released), before it is succeeded. */
  readonly judgedFree?: (() => Promise<void>) | undefined;
  /** Called with each refusal that a waiting opener (`waitMs`) will retry. */
  readonly waiting?: ((refusal: StoreLockedError) => Promise<void>) | undefined;
  /** Called after each refresh of the heartbeat of the lock taken. */
  readonly heartbeat?: (() => void) | undefined;
}

/**
 * {@link lockDataDirectory}, with hooks.
 * @param directory the data directory
 * @param options as {@link lockDataDirectory} takes them
 * @param hooks where to hold the takeover still, and what to report
 */
export async function takeLock(
  directory: string,
  options: DataDirectoryLockOptions,
  hooks: LockHooks,
): Promise<DataDirectoryLock> {
  const dataDir = resolve(directory);
  const staleAfterMs = validOption(dataDir, 'staleAfterMs', options.staleAfterMs, DEFAULT_STALE_AFTER_MS);
  const waitMs = validOption(dataDir, 'waitMs', options.waitMs, 0);
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      return await takeOnce(dataDir, staleAfterMs, hooks);
    } catch (error) {
      const remaining = deadline - performance.now();
      if (!(error instanceof StoreLockedError) || remaining <= 0) throw error;
      await hooks.waiting?.(error);
      await sleep(Math.min(remaining, WAIT_POLL_MS));
    }
  }
}

function validOption(
  dataDir: string,
  name: keyof DataDirectoryLockOptions,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const min = name === 'staleAfterMs' ? MIN_STALE_AFTER_MS : 0;
  if (Number.isSafeInteger(value) && value >= min) return value;
  throw new InvalidArgumentError(
    `could not lock the data directory ${dataDir}: ${name} is ${String(value)}; give a whole number of ms, at least ${min}`,
    { id: dataDir },
  );
}

async function takeOnce(dataDir: string, staleAfterMs: number, hooks: LockHooks): Promise<DataDirectoryLock> {
  const lockDir = join(dataDir, LOCK_DIRECTORY_NAME);
  try {
    await mkdir(lockDir, { recursive: true });
    const self = await currentProcess();
    const record = { ...self, since: new Date().toISOString(), staleAfterMs } satisfies LockRecord;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const newest = await readNewest(lockDir);
      if (newest === 'vanished') continue;
      if (newest !== undefined) {
        const verdict = await judge(newest, self, staleAfterMs);
        if (verdict.state !== 'gone') throw lockedError(dataDir, newest, verdict, self);
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
      return heldLock(dataDir, lockDir, number, record, hooks);
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

async function judge(newest: Generation, self: ProcessIdentity, staleAfterMs: number): Promise<Verdict> {
  const record = newest.record;
  if (record === undefined) return { state: 'unreadable' };
  if (record.released === true) return { state: 'gone' };
  const state: Liveness = await liveness(record, self);
  if (state !== 'elsewhere') return { state };
  // A heartbeat in the future (the writer's clock ahead of this one) only makes the holder look fresher.
  const staleAt = newest.heartbeat + Math.max(staleAfterMs, record.staleAfterMs ?? 0);
  return Date.now() >= staleAt ? { state: 'gone' } : { state: 'beating', heartbeat: newest.heartbeat, staleAt };
}

function heldLock(
  dataDir: string,
  lockDir: string,
  number: number,
  record: LockRecord & { readonly staleAfterMs: number },
  hooks: LockHooks,
): DataDirectoryLock {
  const file = join(lockDir, String(number));
  const lost = new AbortController();
  const stopHeartbeat = startHeartbeat(
    { file, lockDir, generation: number, intervalMs: Math.round(record.staleAfterMs / BEATS_PER_THRESHOLD) },
    {
      lost: (reason) => void lossError(dataDir, lockDir, reason).then((error) => lost.abort(error)),
      beat: hooks.heartbeat,
    },
  );
  let released: Promise<void> | undefined;
  return {
    directory: dataDir,
    holder: { pid: record.pid, host: record.host, since: record.since },
    signal: lost.signal,
    release() {
      // The generation stays, marked released (replaced whole by rename): deleting it would let an older
      // generation's number be created again.
      released ??= (async () => {
        stopHeartbeat();
        try {
          // Lost: the generation is not this process's to mark any more.
          if (lost.signal.aborted || (await generationNumbers(lockDir)).some((n) => n > number)) return;
          const temporary = join(lockDir, temporaryName(record.pid));
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
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'vanished';
    throw error;
  }
  // Record and heartbeat from one open file: a release replaces the file by rename meanwhile.
  try {
    const text = await handle.readFile('utf8');
    const { mtimeMs } = await handle.stat();
    return { number, file, record: parseRecord(text), heartbeat: mtimeMs };
  } finally {
    await handle.close();
  }
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
  const { pid, host, since, startTime, bootId, pidNamespace, staleAfterMs, released } = value as {
    [key: string]: unknown;
  };
  if (!isProcessId(pid) || typeof host !== 'string' || typeof since !== 'string') return undefined;
  const optional = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    pid,
    host,
    since,
    startTime: optional(startTime),
    bootId: optional(bootId),
    pidNamespace: optional(pidNamespace),
    staleAfterMs: typeof staleAfterMs === 'number' && Number.isFinite(staleAfterMs) ? staleAfterMs : undefined,
    released: released === true ? true : undefined,
  };
}

function lockedError(dataDir: string, newest: Generation, verdict: Verdict, self: ProcessIdentity): StoreLockedError {
  const record = newest.record;
  const lockDir = join(dataDir, LOCK_DIRECTORY_NAME);
  if (record === undefined || verdict.state === 'unreadable') {
    return new StoreLockedError(
      `the data directory ${dataDir} is locked by a lock file flyte-ts cannot read (${newest.file}): ` +
        `if no process uses the directory, delete ${lockDir} and open it again`,
      dataDir,
      undefined,
    );
  }
  const holder: LockHolder = { pid: record.pid, host: record.host, since: record.since };
  const who = `process ${record.pid} on host ${record.host} (since ${record.since})`;
  if (verdict.state === 'beating') {
    const staleAt = new Date(verdict.staleAt).toISOString();
    const age = Math.max(0, Math.round((Date.now() - verdict.heartbeat) / 1000));
    return new StoreLockedError(
      `the data directory ${dataDir} is locked by ${who}, on another host or in another container (PID ` +
        `namespace), where its pid cannot be checked; it looks alive: its heartbeat (${newest.file}) was ` +
        `refreshed ${age} s ago. It will be judged gone, and its lock taken over, if its heartbeat is not ` +
        `refreshed before ${staleAt}: if it is an earlier run of a restarting container, open the directory ` +
        `again then (lockWaitMs waits for it); if it runs, stop it first`,
      dataDir,
      holder,
      staleAt,
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

/** Why this process lost the lock it held, naming the process that holds it now when there is one. */
async function lossError(dataDir: string, lockDir: string, reason: HeartbeatLoss): Promise<StoreLockedError> {
  const newest = await readNewest(lockDir).catch(() => undefined);
  const record = typeof newest === 'object' ? newest.record : undefined;
  const holder = record === undefined ? undefined : { pid: record.pid, host: record.host, since: record.since };
  const why =
    reason === 'superseded'
      ? `was taken over by ${record === undefined ? 'another process' : `process ${record.pid} on host ${record.host}`}, ` +
        'which found the heartbeat of this process older than its stale threshold (was this process frozen or ' +
        'suspended, or its filesystem stalled?)'
      : reason === 'deleted'
        ? `lost its lock: ${lockDir} was deleted while this process held it`
        : 'lost its lock: the thread refreshing its heartbeat failed, so other processes will take it over';
  return new StoreLockedError(
    `the data directory ${dataDir} ${why}. Another process may be using it now: this process must stop using ` +
      'it; end the process and open the directory again',
    dataDir,
    holder,
  );
}
