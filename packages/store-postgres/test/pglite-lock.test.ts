// The lock of a PGlite data directory, with real processes: a second process (or a second open in this one) is
// refused with STORE_LOCKED naming the holder; a holder killed with SIGKILL is taken over with its data intact;
// close() releases; of processes racing to take over one stale lock exactly one wins; a holder that cannot be
// judged from here (another host) is never taken over.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isFlyteError } from '@flyte-ts/core';
import * as storePostgres from '@flyte-ts/store-postgres';
import { createPgliteStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const opener = fileURLToPath(new URL('./fixtures/pglite-opener.ts', import.meta.url));
const racer = fileURLToPath(new URL('./fixtures/lock-racer.ts', import.meta.url));
/** Directories whose stale lock the racing processes take over, one after the other. */
const RACES = 400;

/** A child process and its stdout, line by line. */
interface Child {
  readonly process: ChildProcess;
  /** The next line it prints; rejects when it exits first (with what it wrote to stderr). */
  nextLine(): Promise<string>;
}

const children: ChildProcess[] = [];

function start(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=@flyte-ts/source', file, ...args], {
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

async function killed(child: Child): Promise<void> {
  const exit = once(child.process, 'exit');
  child.process.kill('SIGKILL');
  await exit;
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
    backend = await createPgliteStore({ dataDir });
    expect((await backend.store.getProject('kept'))?.name).toBe('kept');
  }, 120_000);
});

describe('taking over a stale lock', () => {
  type Outcome = { readonly won?: number; readonly lost?: string; readonly holder?: number };
  const command = (child: Child, value: unknown) => child.process.stdin!.write(`${JSON.stringify(value)}\n`);
  const outcome = async (child: Child) => JSON.parse(await child.nextLine()) as Outcome;
  const racers: Child[] = [];
  let replays: string[];
  let races: string[];

  beforeAll(async () => {
    const stale = (name: string, count: number) => Array.from({ length: count }, (_, i) => join(root, name, String(i)));
    replays = stale('replays', 10);
    races = stale('races', RACES);
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

  it(`lets exactly one of two processes racing for the same stale lock win (${RACES} races)`, async () => {
    const wrong: unknown[] = [];
    for (const dir of races) {
      // Both get the directory at once, and answer before the next one is sent.
      for (const r of racers) command(r, { lock: dir });
      const outcomes = await Promise.all(racers.map(outcome));
      const winners = outcomes.filter((o) => o.won !== undefined);
      const right =
        winners.length === 1 &&
        outcomes.every((o) => o.won !== undefined || (o.lost === 'STORE_LOCKED' && o.holder === winners[0]!.won));
      if (!right) wrong.push({ dir, outcomes });
    }
    expect(wrong, `${wrong.length} of ${RACES} races without exactly one winner`).toEqual([]);
    // Older generations are collected: the winner's generation, and no temporary file, is left.
    expect(await readdir(join(races[0]!, storePostgres.LOCK_DIRECTORY_NAME))).toHaveLength(1);
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

  it('never takes over a lock held on another host, and says how to remove it', async () => {
    const dir = join(root, 'elsewhere');
    const lockDir = join(dir, storePostgres.LOCK_DIRECTORY_NAME);
    await mkdir(lockDir, { recursive: true });
    const record = { pid: 1, host: `not-${hostname()}`, since: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(lockDir, '7'), JSON.stringify(record));

    const error = await storePostgres.lockDataDirectory(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(storePostgres.StoreLockedError);
    expect(error).toMatchObject({ code: 'STORE_LOCKED', id: dir, holder: { pid: 1, host: `not-${hostname()}` } });
    expect((error as Error).message).toContain(`delete ${lockDir}`);
    expect(await readdir(lockDir)).toEqual(['7']);
  });
});
