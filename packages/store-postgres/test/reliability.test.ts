// Reliability on a PostgreSQL server: an engine process killed with SIGKILL in the middle of a workflow is
// replaced by another that finishes it (nothing lost, only the tasks in flight run again); two engine processes
// share 200 executions, each driven to its end exactly once; connections dropped under a running engine are
// retried, never a corrupt execution. Needs DATABASE_URL: PGlite cannot be shared by processes.
import { create } from '@bufbuild/protobuf';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromLiteralMap, idl, type ExecutionRecord, type Store } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { LocalFsBlobStore } from '@flyte-ts/store-memory';
import { createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterEach, describe, expect, it } from 'vitest';
import {
  killEngineProcess,
  logLines,
  spawnEngineProcess,
  stopEngineProcess,
  waitFor,
  type EngineProcess,
} from './engine-processes.js';
import { fifty, pair, tasks } from './fixtures/reliability-tasks.js';
import { admin, createServerDatabase, DATABASE_URL, SERVER_SKIP_REASON, type ServerDatabase } from './support.js';

const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;
const WP = idl.core.WorkflowExecution_Phase;
const ACTIVE = ['UNDEFINED', 'QUEUED', 'RUNNING', 'SUCCEEDING', 'FAILING', 'ABORTING'];

interface World {
  readonly database: ServerDatabase;
  readonly backend: PostgresBackend;
  readonly blobRoot: string;
  readonly blob: LocalFsBlobStore;
  readonly log: string;
  /** An engine that registers and launches but is not started: the engine processes run the executions. */
  readonly launcher: Engine;
  readonly children: EngineProcess[];
}

let world: World | undefined;

afterEach(async () => {
  if (world === undefined) return;
  await Promise.all(world.children.map(killEngineProcess));
  await world.backend.close();
  await world.database.drop();
  await rm(world.blobRoot, { recursive: true, force: true });
  world = undefined;
});

async function setUp(prefix: string): Promise<World> {
  const database = await createServerDatabase(prefix);
  const backend = await createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'flyte-ts-reliability-'));
  const blobRoot = join(dir, 'blobs');
  const blob = new LocalFsBlobStore({ root: blobRoot });
  const launcher = createEngine({
    store: backend.store,
    catalog: backend.catalog,
    blob,
    tasks,
    config: { metadataPrefix: `${blob.rootUri}/metadata`, rawOutputPrefix: `${blob.rootUri}/raw` },
  });
  world = { database, backend, blobRoot: dir, blob, log: join(dir, 'tasks.log'), launcher, children: [] };
  await backend.store.putProject(
    create(idl.admin.ProjectSchema, {
      id: settings.project,
      name: settings.project,
      domains: [{ id: settings.domain, name: settings.domain }],
    }),
  );
  return world;
}

/** Starts an engine process on the world's database; resolves once it is ready. */
async function startEngine(w: World, id: string): Promise<EngineProcess> {
  const started = spawnEngineProcess({
    id,
    env: { DATABASE_URL: w.database.url, BLOB_ROOT: join(w.blobRoot, 'blobs'), RELIABILITY_LOG: w.log },
  });
  w.children.push(started);
  await started.ready;
  return started;
}

async function ended(store: Store, id: idl.core.WorkflowExecutionIdentifier): Promise<ExecutionRecord | undefined> {
  const record = await store.getExecution(id);
  const phase = record?.execution.closure?.phase ?? WP.UNDEFINED;
  return [WP.SUCCEEDED, WP.FAILED, WP.ABORTED, WP.TIMED_OUT].includes(phase) ? record : undefined;
}

async function attemptsOf(store: Store, execution: idl.core.WorkflowExecutionIdentifier, nodeId: string) {
  const page = await store.listTaskExecutions(
    { $typeName: 'flyteidl.core.NodeExecutionIdentifier', nodeId, executionId: execution },
    { limit: 100 },
  );
  return page.items.map((r) => r.taskExecution);
}

async function taskLog(file: string): Promise<{ what: string; i: number; pid: number }[]> {
  return (await logLines(file)).map(([what, i, pid]) => ({ what: what!, i: Number(i), pid: Number(pid) }));
}

describe.skipIf(DATABASE_URL === undefined)(
  `reliability on a PostgreSQL server${DATABASE_URL === undefined ? ` (${SERVER_SKIP_REASON})` : ''}`,
  () => {
    it('resumes a workflow of 50 tasks in a new process after SIGKILL: nothing lost, only tasks in flight run again', async () => {
      const w = await setUp('crash');
      await w.launcher.register([fifty], settings);
      const first = await startEngine(w, 'engine-1');
      const execution = await w.launcher.createExecution({
        workflow: fifty.id(settings),
        name: 'crash',
        inputs: {},
        maxParallelism: 4,
      });
      const id = execution.id!;
      // Kill it once a dozen tasks are done and others run.
      await waitFor(async () =>
        (await taskLog(w.log)).filter((l) => l.what === 'end').length >= 12 ? true : undefined,
      );
      await killEngineProcess(first);
      // What was committed when it died: those nodes must never run again.
      const nodes = await w.backend.store.listNodeExecutions(id, { limit: 1000 });
      const committed = new Set(
        nodes.items
          .filter((n) => n.nodeExecution.closure?.phase === idl.core.NodeExecution_Phase.SUCCEEDED)
          .map((n) => n.nodeExecution.id!.nodeId),
      );
      expect(committed.size).toBeGreaterThan(0);
      expect(committed.size).toBeLessThan(50);
      const beforeKill = await taskLog(w.log);

      const second = await startEngine(w, 'engine-2');
      const done = await waitFor(() => ended(w.backend.store, id));
      await stopEngineProcess(second);

      expect(idl.core.WorkflowExecution_Phase[done.execution.closure!.phase]).toBe('SUCCEEDED');
      expect(fromLiteralMap(fifty.outputs, await w.launcher.getExecutionOutputs(id))).toEqual({ sum: 1225 });
      const after = await w.backend.store.listNodeExecutions(id, { limit: 1000 });
      const phases = new Map(after.items.map((n) => [n.nodeExecution.id!.nodeId, n.nodeExecution.closure!.phase]));
      for (let i = 0; i <= 50; i++) expect(phases.get(`n${i}`)).toBe(idl.core.NodeExecution_Phase.SUCCEEDED);

      const runs = await taskLog(w.log);
      const firstPid = beforeKill[0]!.pid;
      const rerun = new Set(runs.filter((l) => l.what === 'start' && l.pid !== firstPid).map((l) => l.i));
      const ranFirst = new Set(beforeKill.filter((l) => l.what === 'start').map((l) => l.i));
      for (const i of rerun) {
        // Only tasks whose success had not been committed run again (group commits lag a little behind the runs).
        if (ranFirst.has(i)) expect(committed.has(`n${i}`)).toBe(false);
      }
      const again = [...rerun].filter((i) => ranFirst.has(i));
      for (let i = 0; i < 50; i++) {
        const attempts = await attemptsOf(w.backend.store, id, `n${i}`);
        const succeeded = attempts.filter((a) => a.closure?.phase === idl.core.TaskExecution_Phase.SUCCEEDED);
        expect(succeeded).toHaveLength(1);
        // A run cut by the kill after its attempt was recorded shows as a lost attempt, then the one that succeeded.
        if (attempts.length > 1) {
          const lost = attempts[0]!.closure?.outputResult;
          expect(lost?.case === 'error' ? lost.value.code : undefined).toBe('TaskLost');
          expect(again).toContain(i);
        }
        if (committed.has(`n${i}`)) expect(attempts).toHaveLength(1);
      }
    });

    it('shares 200 executions between two engine processes: each driven to its end exactly once', async () => {
      const w = await setUp('share');
      await w.launcher.register([pair], settings);
      const engines = await Promise.all([startEngine(w, 'engine-a'), startEngine(w, 'engine-b')]);
      const ids = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const e = await w.launcher.createExecution({
            workflow: pair.id(settings),
            name: `share-${i}`,
            inputs: { x: i },
          });
          return e.id!;
        }),
      );
      await waitFor(async () => {
        const page = await w.backend.store.listExecutions({
          filters: [{ fn: 'value_in', field: 'phase', values: ACTIVE }],
          limit: 1,
        });
        return page.items.length === 0 ? true : undefined;
      });
      const drove = await Promise.all(engines.map(stopEngineProcess));
      expect(drove[0]! + drove[1]!).toBe(200);
      expect(drove[0]).toBeGreaterThan(0);
      expect(drove[1]).toBeGreaterThan(0);
      for (const [i, id] of ids.entries()) {
        const record = await w.backend.store.getExecution(id);
        expect(idl.core.WorkflowExecution_Phase[record!.execution.closure!.phase]).toBe('SUCCEEDED');
        expect(fromLiteralMap(pair.outputs, await w.launcher.getExecutionOutputs(id))).toEqual({ y: i + 2 });
        const events = await w.backend.store.listEvents(id, { limit: 1000 });
        const terminal = events.items.filter((e) => e.kind === 'workflow' && e.event.phase === WP.SUCCEEDED);
        expect(terminal).toHaveLength(1);
        for (const node of ['n0', 'n1']) expect(await attemptsOf(w.backend.store, id, node)).toHaveLength(1);
      }
    });

    it('retries transitions across dropped connections: the execution still ends right', async () => {
      const w = await setUp('drop');
      await w.launcher.register([fifty], settings);
      const engine = createEngine({
        store: w.backend.store,
        catalog: w.backend.catalog,
        blob: w.blob,
        tasks,
        config: {
          metadataPrefix: `${w.blob.rootUri}/metadata`,
          rawOutputPrefix: `${w.blob.rootUri}/raw`,
          retryBackoff: { baseMs: 0, maxMs: 0 },
        },
      });
      await engine.start();
      const execution = await engine.createExecution({
        workflow: fifty.id(settings),
        name: 'drop',
        inputs: {},
        maxParallelism: 8,
      });
      const id = execution.id!;
      let drops = 0;
      // Cut every connection of the engine to its database, again and again, while the workflow runs.
      while ((await ended(w.backend.store, id).catch(() => undefined)) === undefined) {
        const result = await admin(
          "select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and usename = current_user and backend_type = 'client backend'",
          [w.database.name],
        );
        drops += Number((result.rows[0] as { n: string }).n);
        await sleep(40);
      }
      const done = await engine.waitForExecution(id);
      await engine.stop();
      expect(drops).toBeGreaterThan(0);
      expect(idl.core.WorkflowExecution_Phase[done.closure!.phase]).toBe('SUCCEEDED');
      expect(fromLiteralMap(fifty.outputs, await engine.getExecutionOutputs(id))).toEqual({ sum: 1225 });
      const events = await w.backend.store.listEvents(id, { limit: 1000 });
      expect(events.items.filter((e) => e.kind === 'workflow' && e.event.phase === WP.SUCCEEDED)).toHaveLength(1);
    });
  },
  120_000,
);
