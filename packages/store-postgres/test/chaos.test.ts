// Chaos: 100 executions of a workflow with a fan-out, a map task, a cached task and a subworkflow, driven by engine
// processes that are SIGKILLed at random points (chosen by a seed, printed, replayable with CHAOS_SEED) and
// restarted. On a PostgreSQL server, three processes of one engine each share the database; on PGlite, which is
// single-process, one process holds the data directory with three engines in it, and is killed and restarted over
// the same directory. Afterwards (chaos-checks.ts): all executions SUCCEEDED with the right outputs, no task ran
// after its node's success was committed, terminal phases and events are kept once, no duplicate rows, and amcheck
// passes on every index. CHAOS_SEED replays a run's kill points and task durations (the interleaving of the
// processes is the machine's); CHAOS_KILLS changes the number of kills.
import { create } from '@bufbuild/protobuf';
import { PGlite } from '@electric-sql/pglite';
import { amcheck } from '@electric-sql/pglite/contrib/amcheck';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { idl } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { LocalFsBlobStore } from '@flyte-ts/store-memory';
import { createPgliteStore, createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chaosExecutionIds,
  chaosExecutionName,
  checkDuplicateRows,
  checkEvents,
  checkExecutions,
  checkIndexes,
  checkTaskRuns,
  parseTaskLog,
  tablesOf,
  type CheckResult,
} from './chaos-checks.js';
import {
  isAlive,
  killEngineProcess,
  logLines,
  spawnEngineProcess,
  stopEngineProcess,
  type EngineProcess,
} from './engine-processes.js';
import { chaos, chaosInputs, tasks } from './fixtures/chaos-workflow.js';
import { createServerDatabase, DATABASE_URL, SERVER_SKIP_REASON, type ServerDatabase } from './support.js';

const EXECUTIONS = 100;
/** Kills that land while a task runs in the killed process, per variant (more land while a restarted process starts). */
const KILLS = { server: 15, pglite: 10 };
/** Chance that a restarted process is killed again while it starts (recovering its store and executions). */
const STARTUP_KILL_CHANCE = 0.25;
/** Time given to the executions, kills included, before the test stops waiting and reports what is unfinished. */
const DEADLINE_MS = 300_000;
const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;
const taskModule = fileURLToPath(new URL('./fixtures/chaos-workflow.ts', import.meta.url));
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/**
 * Engine settings of the processes. A lease outlives a stall of a few seconds (PGlite serializes the renewals with
 * every other query of its process), and a killed process's executions are claimed again soon after its restart.
 * System retries are not what is tested here: a run of kills must not use them up.
 */
const ENGINE_CONFIG = {
  leases: { ttlMs: 5_000, renewIntervalMs: 1_000, pollIntervalMs: 250, maxExecutions: 4 },
  maxSystemFailures: 1_000,
  cacheReservationHeartbeatMs: 200,
};

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same kill points. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Where a variant runs: how its database is opened, and how its engine processes are started. */
interface Variant {
  readonly name: 'server' | 'pglite';
  /** Engine processes at once. */
  readonly processes: number;
  /** Environment of each engine process (the database, and ENGINES). */
  readonly env: Readonly<Record<string, string>>;
  /** Opens the database in this process (never while an engine process holds a PGlite directory). */
  open(): Promise<PostgresBackend>;
  /** Opens it for the final checks, with amcheck at hand where it can be. */
  openForChecks(): Promise<PostgresBackend>;
  /** Whether amcheck must run, and what to do when it is missing. */
  readonly amcheck: { readonly required: boolean; readonly missing: string };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 60_000);

/** What a fleet's processes need to know. */
interface FleetOptions {
  readonly variant: Variant;
  readonly env: Readonly<Record<string, string>>;
  /** Draws of the restarts (whether and when a restarting process is killed again). */
  readonly random: () => number;
}

/**
 * The engine processes of a run, one per slot, and what they report: tasks in flight per process, unfinished
 * executions, executions reported ended. A killed process is replaced in its slot once it has exited.
 */
class Fleet {
  /** The current process of each slot. */
  readonly slots: EngineProcess[] = [];
  /** Every process started, killed or not. */
  readonly all: EngineProcess[] = [];
  /** Processes killed on purpose. */
  readonly killed = new Set<number>();
  /** Tasks running in each live process (from its `start` and `end` lines). */
  readonly inFlight = new Map<EngineProcess, Set<string>>();
  /** Number of times engines reported each execution ended. */
  readonly endedReports = new Map<string, number>();
  /** Unfinished executions, as last reported. */
  remaining = EXECUTIONS;
  /** Processes killed while they started. */
  startupKills = 0;
  #changed: () => void = () => {};

  constructor(private readonly options: FleetOptions) {}

  /** Resolves at the next report of any process, or after a second. */
  changed(): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => (this.#changed = resolve)), sleep(1_000)]);
  }

  /** Starts a process in a slot. */
  spawn(slot: number): EngineProcess {
    const running = new Set<string>();
    const p = spawnEngineProcess({
      id: `${this.options.variant.name}-${slot}-${this.all.length}`,
      env: this.options.env,
      onLine: (line) => {
        const [what, ...rest] = line.split(' ');
        if (what === 'start') running.add(rest.join(' '));
        else if (what === 'end') running.delete(rest.join(' '));
        else if (what === 'active') this.remaining = Math.min(this.remaining, Number(rest[0]));
        else if (what === 'ended') this.endedReports.set(rest[0]!, (this.endedReports.get(rest[0]!) ?? 0) + 1);
        else return;
        this.#changed();
      },
    });
    this.inFlight.set(p, running);
    this.all.push(p);
    this.slots[slot] = p;
    void p.exited.then(() => {
      this.inFlight.delete(p);
      this.#changed();
    });
    return p;
  }

  /** Kills a process with SIGKILL; resolves once it has exited. */
  async kill(p: EngineProcess): Promise<void> {
    this.killed.add(p.process.pid!);
    await killEngineProcess(p);
  }

  /** Starts a process in the slot of one that was killed; sometimes kills it again while it starts, and retries. */
  async restart(slot: number): Promise<void> {
    for (;;) {
      const p = this.spawn(slot);
      if (this.options.random() >= STARTUP_KILL_CHANCE) {
        await p.ready;
        return;
      }
      await Promise.race([sleep(this.options.random() * 1_500), p.exited]);
      if (!isAlive(p)) {
        throw new Error(`engine process ${p.id} exited by itself while starting: ${p.stderr().slice(-4_000)}`);
      }
      await this.kill(p);
      this.startupKills++;
    }
  }

  /** Lines the engines wrote on standard error (their warnings). */
  warnings(): string[] {
    return this.all.flatMap((p) =>
      p
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('[')),
    );
  }
}

/** Registers the workflow and creates the executions, before any engine process runs: the chaos is in running them. */
async function createExecutions(variant: Variant, launcherFor: (backend: PostgresBackend) => Engine): Promise<void> {
  const backend = await variant.open();
  try {
    await backend.store.putProject(
      create(idl.admin.ProjectSchema, {
        id: settings.project,
        name: settings.project,
        domains: [{ id: settings.domain, name: settings.domain }],
      }),
    );
    const launcher = launcherFor(backend);
    await launcher.register([chaos], settings);
    for (let i = 0; i < EXECUTIONS; i++) {
      await launcher.createExecution({
        workflow: chaos.id(settings),
        name: chaosExecutionName(i),
        inputs: chaosInputs(i),
      });
    }
  } finally {
    await backend.close();
  }
}

/**
 * Kills `planned` times. Kill j waits until j/(planned+2) of the executions have ended, so that the kills spread over
 * the whole run and all land before its end; then a random delay; then it kills a random process among those running
 * a task at that moment, and restarts it. Resolves when every kill is done and every process restarted.
 */
async function killAtRandom(
  fleet: Fleet,
  planned: number,
  random: () => number,
  deadline: number,
): Promise<{ kills: number; tasksCut: number }> {
  const restarts: Promise<void>[] = [];
  let kills = 0;
  let tasksCut = 0;
  while (kills < planned && fleet.remaining > 0 && Date.now() < deadline) {
    const due = EXECUTIONS - Math.floor(((kills + 1) * EXECUTIONS) / (planned + 2));
    if (fleet.remaining > due) {
      await fleet.changed();
      continue;
    }
    await sleep(random() * 500);
    const busy = [...fleet.inFlight].filter(([p, running]) => running.size > 0 && isAlive(p));
    if (busy.length === 0) {
      await fleet.changed();
      continue;
    }
    const [victim, running] = busy[Math.floor(random() * busy.length)]!;
    tasksCut += running.size;
    await fleet.kill(victim);
    kills++;
    const restarted = fleet.restart(fleet.slots.indexOf(victim));
    // Awaited below; a failure to restart fails the test there.
    restarted.catch(() => undefined);
    restarts.push(restarted);
    // On the server the others go on while it restarts; a lone process (PGlite) must be back first.
    if (fleet.slots.length === 1) await restarted;
  }
  await Promise.all(restarts);
  return { kills, tasksCut };
}

async function runChaos(variant: Variant): Promise<void> {
  const began = Date.now();
  const deadline = began + DEADLINE_MS;
  const seed =
    process.env.CHAOS_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.CHAOS_SEED);
  console.log(`chaos [${variant.name}]: seed ${seed} (replay the kill points with CHAOS_SEED=${seed})`);
  const planned = Number(process.env.CHAOS_KILLS ?? KILLS[variant.name]);
  const dir = await mkdtemp(join(tmpdir(), 'flyte-ts-chaos-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const blobRoot = join(dir, 'blobs');
  await mkdir(blobRoot);
  const log = join(dir, 'tasks.log');
  const blob = new LocalFsBlobStore({ root: blobRoot });
  const launcherFor = (backend: PostgresBackend): Engine =>
    createEngine({
      store: backend.store,
      catalog: backend.catalog,
      blob,
      tasks,
      config: { metadataPrefix: `${blob.rootUri}/metadata`, rawOutputPrefix: `${blob.rootUri}/raw` },
    });
  await createExecutions(variant, launcherFor);

  const fleet = new Fleet({
    variant,
    env: {
      ...variant.env,
      BLOB_ROOT: blobRoot,
      TASKS: taskModule,
      CHAOS_LOG: log,
      CHAOS_SEED: String(seed),
      REPORT_ACTIVE: '1',
      ENGINE_CONFIG: JSON.stringify(ENGINE_CONFIG),
    },
    // Restarts draw from their own sequence, so that they do not shift the kill loop's draws.
    random: random(seed ^ 0x5bd1e995),
  });
  cleanups.push(async () => {
    await Promise.all(fleet.all.map(killEngineProcess));
  });
  for (let slot = 0; slot < variant.processes; slot++) fleet.spawn(slot);
  await Promise.all(fleet.slots.map((p) => p.ready));
  const { kills, tasksCut } = await killAtRandom(fleet, planned, random(seed), deadline);
  while (fleet.remaining > 0 && Date.now() < deadline) await fleet.changed();
  await Promise.all(fleet.slots.map(stopEngineProcess));

  // The checks read the database as the engines left it.
  const backend = await variant.openForChecks();
  cleanups.push(() => backend.close());
  const ids = chaosExecutionIds(EXECUTIONS, settings.project, settings.domain);
  const results: CheckResult[] = [
    await checkExecutions(launcherFor(backend), ids),
    await checkTaskRuns(tablesOf(backend), parseTaskLog(await logLines(log)), fleet.killed),
    await checkEvents(backend.store, ids, fleet.endedReports),
    await checkDuplicateRows(tablesOf(backend)),
  ];
  const indexes = await checkIndexes(tablesOf(backend), variant.amcheck);
  results.push(indexes);
  if (indexes.skipped !== undefined) console.log(`chaos [${variant.name}]: amcheck skipped: ${indexes.skipped}`);
  const figures = Object.assign({}, ...results.map((r) => r.figures)) as Record<string, number | string>;
  // What the engines warned about (lost leases, conflicts): counted for the report, shown when a check failed.
  const warnings = fleet.warnings();
  const report = {
    seed,
    executions: EXECUTIONS,
    kills: kills + fleet.startupKills,
    killsWithTasksInFlight: kills,
    killsWhileStarting: fleet.startupKills,
    tasksInFlightAtKills: tasksCut,
    lostLeases: warnings.filter((line) => line.includes('lost the lease')).length,
    warnings: warnings.length,
    ...figures,
    seconds: Math.round((Date.now() - began) / 1000),
  };
  console.log(`chaos [${variant.name}]: ${JSON.stringify(report)}`);
  const failures = results.flatMap((r) => r.failures);
  if (failures.length > 0 && warnings.length > 0) {
    console.log(`chaos [${variant.name}]: the engines warned:\n${warnings.slice(0, 40).join('\n')}`);
  }
  expect(failures, `chaos seed ${seed}`).toEqual([]);
  // The chaos did happen: every planned kill landed while tasks ran, and some tasks had to run again.
  expect(kills).toBe(planned);
  expect(Number(figures.reruns)).toBeGreaterThan(0);
}

describe('chaos: engine processes SIGKILLed at random points, restarted, and nothing lost or doubled', () => {
  it.skipIf(DATABASE_URL === undefined)(
    `on a PostgreSQL server, three engine processes sharing the database through leases${DATABASE_URL === undefined ? ` (${SERVER_SKIP_REASON})` : ''}`,
    async () => {
      const database: ServerDatabase = await createServerDatabase('chaos');
      cleanups.push(() => database.drop());
      const open = () => createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 });
      await runChaos({
        name: 'server',
        processes: 3,
        env: { DATABASE_URL: database.url },
        open,
        openForChecks: open,
        amcheck: {
          required: inCi,
          missing:
            "install it in the server's template1 as the postgres user and grant its functions to the test role (.ci/run does: CREATE EXTENSION amcheck in template1, then GRANT EXECUTE on its functions)",
        },
      });
    },
    DEADLINE_MS + 60_000,
  );

  it(
    'on PGlite, one process of three engines sharing its data directory, killed and restarted over it',
    async () => {
      const dataDir = join(await mkdtemp(join(tmpdir(), 'flyte-ts-chaos-pglite-')), 'db');
      cleanups.push(() => rm(join(dataDir, '..'), { recursive: true, force: true }));
      await runChaos({
        name: 'pglite',
        processes: 1,
        env: { PGLITE_DIR: dataDir, ENGINES: '3' },
        open: () => createPgliteStore({ dataDir }),
        openForChecks: async () => {
          const pglite = await PGlite.create({ dataDir, extensions: { amcheck } });
          await pglite.exec('create extension if not exists amcheck');
          const backend = await createPgliteStore({ pglite });
          return {
            ...backend,
            close: async () => {
              await backend.close();
              await pglite.close();
            },
          };
        },
        amcheck: { required: true, missing: 'PGlite ships amcheck: load it with extensions: { amcheck }' },
      });
    },
    DEADLINE_MS + 60_000,
  );
});
