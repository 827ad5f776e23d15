// The lock of a PGlite data directory, with real processes: a second process (or a second open in this one) is
// refused with STORE_LOCKED naming the holder; a holder killed with SIGKILL is taken over with its data intact;
// close() releases; of processes racing to take over one stale lock exactly one wins. A holder whose pid cannot
// be checked from here (another host, another PID namespace) is judged by its heartbeat: refused while it is
// fresh, taken over once it is older than the stale threshold; a live one keeps it fresh; and a holder taken
// over anyway learns it. Heartbeat ages are made by setting modification times, never by sleeping.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isFlyteError } from '@flyte-ts/core';
import * as storePostgres from '@flyte-ts/store-postgres';
import { createPgliteStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeLock } from '../src/data-directory-lock.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const opener = fileURLToPath(new URL('./fixtures/pglite-opener.ts', import.meta.url));
const racer = fileURLToPath(new URL('./fixtures/lock-racer.ts', import.meta.url));
/** Directories whose stale lock the racing processes take over, one after the other. */
const RACES = 400;
/** The same, for stale locks of holders in another PID namespace (judged by their heartbeat). */
const FOREIGN_RACES = 200;
/** The default stale threshold of heartbeats. */
const STALE_AFTER_MS = 60_000;
/** Whether this process may run processes in a PID namespace of their own (Linux, as root). */
const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--pid', '--fork', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A child process and its stdout, line by line. */
interface Child {
  readonly process: ChildProcess;
  /** The next line it prints; rejects when it exits first (with what it wrote to stderr). */
  nextLine(): Promise<string>;
}

const children: ChildProcess[] = [];

/** Starts a TypeScript file in a new process; with `namespace`, as pid 1 of a new PID namespace (a container). */
function start(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, namespace = false): Child {
  const node = [process.execPath, '--import', 'tsx', '--conditions=@flyte-ts/source', file, ...args];
  // --kill-child: the namespace's process dies with `unshare`.
  const argv = namespace ? ['unshare', '--pid', '--fork', '--kill-child', ...node] : node;
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let stderr = '';
  let exited: Error | undefined;
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter.resolve(line);
  });
  proc.once('exit', (code, signal) => {
    exited = new Error(`${file} exited (${code ?? signal}) before printing a line: ${stderr}`);
    for (const waiter of waiting.splice(0)) waiter.reject(exited);
  });
  return {
    process: proc,
    nextLine() {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (exited !== undefined) return Promise.reject(exited);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}

/** Sends a command line to a lock racer. */
function command(child: Child, value: unknown): void {
  child.process.stdin!.write(`${JSON.stringify(value)}\n`);
}

async function killed(child: Child): Promise<void> {
  const exit = once(child.process, 'exit');
  child.process.kill('SIGKILL');
  await exit;
}

/** Sets a file's modification time (its heartbeat, for a generation file) `ageMs` before now. */
async function age(file: string, ageMs: number): Promise<void> {
  const then = new Date(Date.now() - ageMs);
  await utimes(file, then, then);
}

/**
 * Writes the lock record of a holder whose pid cannot be checked from here: pid 1 in another PID namespace of
 * this host (a container), or on another host. Returns the generation file.
 */
async function foreignHolder(dir: string, where: 'namespace' | 'host', extra: object = {}): Promise<string> {
  const lockDir = join(dir, storePostgres.LOCK_DIRECTORY_NAME);
  await mkdir(lockDir, { recursive: true });
  const host = where === 'host' ? `not-${hostname()}` : hostname();
  const record = { pid: 1, host, since: '2026-01-01T00:00:00.000Z', pidNamespace: 'pid:[1]', ...extra };
  const file = join(lockDir, '7');
  await writeFile(file, JSON.stringify(record));
  return file;
}

/** What taking a lock was refused with; undefined (and the lock released) when it was taken. */
async function refusal(taking: Promise<storePostgres.DataDirectoryLock>): Promise<unknown> {
  return taking.then(
    (lock) => lock.release().then(() => undefined),
    (e: unknown) => e,
  );
}

/** What the opener fixture printed: the directory opened, or the error it got. */
type Opened =
  | { readonly opened: number }
  | { readonly held: number }
  | {
      readonly refused: {
        readonly code?: string;
        readonly id?: string;
        readonly holder?: { readonly pid: number; readonly host: string };
        readonly message: string;
      };
    };

/** Opens the directory in a new process; resolves once that process has ended (and closed what it opened). */
async function openInChild(dataDir: string): Promise<Opened> {
  const child = start(opener, ['try'], { DATA_DIR: dataDir });
  const exit = once(child.process, 'exit');
  const line = await child.nextLine();
  await exit;
  return JSON.parse(line) as Opened;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flyte-ts-pglite-lock-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

// One data directory opened in turn by processes, in the order of the tests (PGlite instances are heavy).
describe('one PGlite data directory, opened by several processes in turn', () => {
  let dataDir: string;
  let holder: Child;
  let holderPid: number;
  let backend: PostgresBackend | undefined;
  beforeAll(() => {
    dataDir = join(root, 'db');
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('refuses a second process with STORE_LOCKED naming the directory and the holding process', async () => {
    holder = start(opener, ['hold'], { DATA_DIR: dataDir, PROJECT: 'kept' });
    holderPid = (JSON.parse(await holder.nextLine()) as { held: number }).held;

    const second = await openInChild(dataDir);
    expect(second).toMatchObject({
      refused: { code: 'STORE_LOCKED', id: dataDir, holder: { pid: holderPid, host: hostname() } },
    });
    const { message } = (second as { refused: { message: string } }).refused;
    expect(message).toContain(dataDir);
    expect(message).toContain(`process ${holderPid} on host ${hostname()}`);
  }, 120_000);

  it('takes over the lock of a holder killed with SIGKILL, with the data it committed intact', async () => {
    await killed(holder);

    backend = await createPgliteStore({ dataDir });
    expect((await backend.store.getProject('kept'))?.name).toBe('kept');
    // The lock now names this process: it was taken over, not ignored.
    expect(await openInChild(dataDir)).toMatchObject({
      refused: { code: 'STORE_LOCKED', holder: { pid: process.pid } },
    });
  }, 120_000);

  it('refuses a second open in the same process while the first is open', async () => {
    const error = await createPgliteStore({ dataDir }).then(
      async (second) => {
        await second.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isFlyteError(error, 'STORE_LOCKED')).toBe(true);
    expect(error).toMatchObject({ id: dataDir, holder: { pid: process.pid, host: hostname() } });
    expect((error as Error).message).toContain('already open in this process');
    // The refused open changed nothing: the first backend still works.
    expect((await backend!.store.getProject('kept'))?.name).toBe('kept');
  }, 120_000);

  it('releases the directory on close(): it opens again', async () => {
    await backend!.close();
    backend = undefined;
    const lock = await storePostgres.lockDataDirectory(dataDir);
    await lock.release();
    await lock.release(); // idempotent
    // A heartbeat every 1000 / 12 ms, for the next test.
    backend = await createPgliteStore({ dataDir, lockStaleAfterMs: 1000 });
    expect((await backend.store.getProject('kept'))?.name).toBe('kept');
  }, 120_000);

  it('tells a holder that was taken over anyway: its signal aborts, its queries fail, close() leaves the directory alone', async () => {
    // What a process that judged this one's heartbeat stale leaves (this process frozen for a minute, say).
    const lock = backend!.lock!;
    const lockDir = join(dataDir, storePostgres.LOCK_DIRECTORY_NAME);
    const [held] = await readdir(lockDir);
    const taker = { pid: 1, host: `not-${hostname()}`, since: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(lockDir, String(Number(held) + 1)), JSON.stringify(taker));

    // The heartbeat finds the newer generation.
    if (!lock.signal.aborted) await once(lock.signal, 'abort');
    expect(lock.signal.reason).toBeInstanceOf(storePostgres.StoreLockedError);
    expect(lock.signal.reason).toMatchObject({ code: 'STORE_LOCKED', id: dataDir, holder: { pid: 1 } });
    expect((lock.signal.reason as Error).message).toContain(`taken over by process 1 on host not-${hostname()}`);
    const query = await backend!.store.getProject('kept').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(query).toBe(lock.signal.reason);

    // Neither the lock (its generation is not marked released) nor the database (PGlite was not closed, which
    // would have written to it) is touched.
    const before = await snapshot(dataDir);
    await backend!.close();
    backend = undefined;
    expect(await snapshot(dataDir)).toEqual(before);
    expect(JSON.parse(await readFile(join(lockDir, held!), 'utf8'))).not.toHaveProperty('released');
  }, 120_000);
});

/** Every file under `dir` with its size and modification time. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const { size, mtimeMs } = await stat(path);
    files[path] = `${size} ${mtimeMs}`;
  }
  return files;
}

describe('taking over a stale lock', () => {
  type Outcome = { readonly won?: number; readonly lost?: string; readonly holder?: number };
  const outcome = async (child: Child) => JSON.parse(await child.nextLine()) as Outcome;
  const racers: Child[] = [];
  let replays: string[];
  let races: string[];
  let foreignRaces: string[];

  beforeAll(async () => {
    const stale = (name: string, count: number) => Array.from({ length: count }, (_, i) => join(root, name, String(i)));
    replays = stale('replays', 10);
    races = stale('races', RACES);
    // Stale locks of holders in another container: heartbeats a second past the threshold.
    foreignRaces = stale('foreign-races', FOREIGN_RACES);
    for (const dir of foreignRaces) await age(await foreignHolder(dir, 'namespace'), STALE_AFTER_MS + 1000);
    // Stale locks of a real holder: a process that took them all, killed with SIGKILL.
    const maker = start(racer, []);
    expect(await maker.nextLine()).toBe('"ready"');
    for (const dir of [...replays, ...races]) {
      command(maker, { lock: dir });
      expect(await outcome(maker)).toEqual({ won: maker.process.pid });
    }
    await killed(maker);
    racers.push(start(racer, []), start(racer, []));
    for (const r of racers) expect(await r.nextLine()).toBe('"ready"');
  }, 120_000);

  it('replays the classic race: of two processes that judged the same lock stale, the one that acts last loses', async () => {
    // Both judge the lock stale; one takes it over; then the other acts on what it judged. A takeover that
    // deletes the lock it judged stale would now delete the new holder's lock and win too.
    const wrong: unknown[] = [];
    for (const [i, dir] of replays.entries()) {
      const [first, last] = i % 2 === 0 ? racers : [...racers].reverse();
      for (const r of [first!, last!]) {
        command(r, { lock: dir, hold: true });
        expect(await r.nextLine()).toBe('"judged"');
      }
      first!.process.stdin!.write('"go"\n');
      const won = await outcome(first!);
      last!.process.stdin!.write('"go"\n');
      const lost = await outcome(last!);
      if (won.won !== first!.process.pid || lost.lost !== 'STORE_LOCKED' || lost.holder !== won.won) {
        wrong.push({ dir, first: won, last: lost });
      }
    }
    expect(wrong).toEqual([]);
  });

  /** Lets both racers take each directory's lock at once; returns the races without exactly one winner. */
  async function race(dirs: readonly string[]): Promise<unknown[]> {
    const wrong: unknown[] = [];
    for (const dir of dirs) {
      // Both get the directory at once, and answer before the next one is sent.
      for (const r of racers) command(r, { lock: dir });
      const outcomes = await Promise.all(racers.map(outcome));
      const winners = outcomes.filter((o) => o.won !== undefined);
      const right =
        winners.length === 1 &&
        outcomes.every((o) => o.won !== undefined || (o.lost === 'STORE_LOCKED' && o.holder === winners[0]!.won));
      if (!right) wrong.push({ dir, outcomes });
    }
    return wrong;
  }

  it(`lets exactly one of two processes racing for the same stale lock win (${RACES} races)`, async () => {
    const wrong = await race(races);
    expect(wrong, `${wrong.length} of ${RACES} races without exactly one winner`).toEqual([]);
    // Older generations are collected: the winner's generation, and no temporary file, is left.
    expect(await readdir(join(races[0]!, storePostgres.LOCK_DIRECTORY_NAME))).toHaveLength(1);
  }, 120_000);

  it(`lets exactly one of two processes racing for the same stale lock of another container win (${FOREIGN_RACES} races)`, async () => {
    const wrong = await race(foreignRaces);
    expect(wrong, `${wrong.length} of ${FOREIGN_RACES} races without exactly one winner`).toEqual([]);
    expect(await readdir(join(foreignRaces[0]!, storePostgres.LOCK_DIRECTORY_NAME))).toEqual(['8']);
  }, 120_000);

  it.skipIf(!existsSync('/proc/self/stat'))(
    'takes over a lock whose pid now names another process (a pid reused after a crash)',
    async () => {
      // What a killed process with this process's pid, started at another time, left behind: this process's own
      // record with another start time.
      const own = await storePostgres.lockDataDirectory(join(root, 'own'));
      const lockDir = join(root, 'own', storePostgres.LOCK_DIRECTORY_NAME);
      const [generation] = await readdir(lockDir);
      const record = JSON.parse(await readFile(join(lockDir, generation!), 'utf8')) as { startTime: string };
      await own.release();
      const dir = join(root, 'reused');
      await mkdir(join(dir, storePostgres.LOCK_DIRECTORY_NAME), { recursive: true });
      const since = '2026-01-01T00:00:00.000Z';
      const stale = { ...record, since, startTime: String(BigInt(record.startTime) - 1n) };
      await writeFile(join(dir, storePostgres.LOCK_DIRECTORY_NAME, '1'), JSON.stringify(stale));

      const lock = await storePostgres.lockDataDirectory(dir);
      expect(lock.holder.pid).toBe(process.pid);
      expect(lock.holder.since).not.toBe(since);
      await lock.release();
    },
  );
});

describe('a holder whose pid cannot be checked from here (another container, another host): its heartbeat', () => {
  let dirs = 0;
  const newDir = () => join(root, 'heartbeat', String(dirs++));

  it.each(['namespace', 'host'] as const)(
    'refuses while the heartbeat of a holder in another %s is fresh, saying when it will be judged gone',
    async (where) => {
      const dir = newDir();
      // The holder's own threshold is longer than this process's: the longer one counts.
      const file = await foreignHolder(dir, where, { staleAfterMs: 2 * STALE_AFTER_MS });
      const { mtimeMs } = await stat(file);

      const error = await refusal(storePostgres.lockDataDirectory(dir));
      expect(error).toBeInstanceOf(storePostgres.StoreLockedError);
      const staleAt = new Date(mtimeMs + 2 * STALE_AFTER_MS).toISOString();
      expect(error).toMatchObject({ code: 'STORE_LOCKED', id: dir, holder: { pid: 1 }, staleAt });
      const { message } = error as Error;
      expect(message).toContain('looks alive');
      expect(message).toContain(
        `judged gone, and its lock taken over, if its heartbeat is not refreshed before ${staleAt}`,
      );
      expect(message).toContain('lockWaitMs');
      expect(await readdir(dirname(file))).toEqual(['7']);
    },
  );

  it.each(['namespace', 'host'] as const)(
    'takes over the lock of a holder in another %s whose heartbeat is older than the stale threshold',
    async (where) => {
      const dir = newDir();
      const file = await foreignHolder(dir, where);
      await age(file, STALE_AFTER_MS - 5000);
      expect(await refusal(storePostgres.lockDataDirectory(dir))).toMatchObject({ code: 'STORE_LOCKED' });
      // Older than this opener's threshold (the holder recorded none).
      const lock = await storePostgres.lockDataDirectory(dir, { staleAfterMs: STALE_AFTER_MS - 10_000 });
      expect(lock.holder.pid).toBe(process.pid);
      expect(await readdir(dirname(file))).toEqual(['8']);
      await lock.release();
      // And past the default threshold.
      const again = newDir();
      await age(await foreignHolder(again, where), STALE_AFTER_MS + 1000);
      await (await storePostgres.lockDataDirectory(again)).release();
    },
  );

  it('waits with waitMs for the heartbeat of a holder in another container to go stale, instead of failing', async () => {
    const dir = newDir();
    const file = await foreignHolder(dir, 'namespace');
    const refusals: storePostgres.StoreLockedError[] = [];
    const lock = await takeLock(
      dir,
      { waitMs: 60 * 60_000 },
      {
        waiting: async (refused) => {
          // The first refusal: the holder is killed now, and a minute passes.
          if (refusals.push(refused) === 1) await age(file, STALE_AFTER_MS + 1000);
        },
      },
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.staleAt).toBeDefined();
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('refuses stale thresholds under a second and negative waits', async () => {
    const dir = newDir();
    for (const options of [{ staleAfterMs: 999 }, { staleAfterMs: 1.5e3 + 0.5 }, { waitMs: -1 }]) {
      const error = await refusal(storePostgres.lockDataDirectory(dir, options));
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', id: dir });
      expect((error as Error).message).toContain(Object.keys(options)[0]);
    }
  });

  it.skipIf(!canUnshare)(
    'keeps the lock of a live holder in another PID namespace fresh, and takes it over once it was killed and its heartbeat went stale',
    async () => {
      const dir = newDir();
      // A process of another container: pid 1 of its own PID namespace, refreshing every 1000 / 12 ms.
      const holder = start(racer, [], {}, true);
      expect(await holder.nextLine()).toBe('"ready"');
      command(holder, { lock: dir, staleAfterMs: 1000, beats: true });
      expect(JSON.parse(await holder.nextLine())).toEqual({ won: 1 });
      const lockDir = join(dir, storePostgres.LOCK_DIRECTORY_NAME);
      const [generation] = await readdir(lockDir);
      const file = join(lockDir, generation!);

      // Its heartbeat made an hour old: it is fresh again after the holder's next refreshes.
      await age(file, 60 * 60_000);
      const stale = async () => (await stat(file)).mtimeMs < Date.now() - STALE_AFTER_MS;
      while (await stale()) expect(await holder.nextLine()).toBe('"beat"');
      const alive = await refusal(storePostgres.lockDataDirectory(dir));
      expect(alive).toMatchObject({ code: 'STORE_LOCKED', holder: { pid: 1 } });
      expect((alive as Error).message).toContain('looks alive');

      // Killed (with its namespace), it refreshes no more: its lock is taken over once the heartbeat is stale.
      const [namespacePid] = (await readFile(`/proc/${holder.process.pid}/task/${holder.process.pid}/children`, 'utf8'))
        .trim()
        .split(' ')
        .map(Number);
      const exit = once(holder.process, 'exit');
      process.kill(namespacePid!, 'SIGKILL');
      await exit;
      await age(file, STALE_AFTER_MS + 1000);
      const lock = await storePostgres.lockDataDirectory(dir);
      expect(lock.holder.pid).toBe(process.pid);
      await lock.release();
    },
    120_000,
  );
});
