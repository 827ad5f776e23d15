// Execution notices of the PostgreSQL store between engines. On PGlite (one process: engines share the store
// object) they are delivered in process; on a PostgreSQL server they travel through LISTEN/NOTIFY between engine
// processes, and the listening connection is reopened when it drops. Lease and poll intervals are hours, so only a
// notice can deliver a terminate, a signal or a new execution before a test times out.
import { spawn, type ChildProcess } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import pg from 'pg';
import { executionId, fromLiteralMap, idl, type ExecutionNotice } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { LocalFsBlobStore } from '@flyte-ts/store-memory';
import { createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEngineSuite, HOURS } from '../../executor/test/cross-engine.js';
import { resumeAbortSuite } from '../../executor/test/resume-abort.js';
import { gate, noticeTasks, untilAborted } from './fixtures/notice-tasks.js';
import {
  admin,
  createServerDatabase,
  DATABASE_URL,
  once,
  pgliteBackend,
  SERVER_SKIP_REASON,
  type ServerDatabase,
} from './support.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/notice-engine-process.ts', import.meta.url));
const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;

describe('on PGlite', () => {
  const backend = once(pgliteBackend);
  afterAll(async () => (await backend()).close(), 60_000);

  crossEngineSuite('engines sharing a PGlite store in one process (in-process notices)', {
    store: async () => (await backend()).store,
    intervals: HOURS,
    notices: true,
  });

  resumeAbortSuite('an execution resumed ABORTING on a PGlite store', { store: async () => (await backend()).store });
});

/** An engine process, its stdout lines, and a way to wait for one. */
class EngineProcess {
  readonly lines: string[] = [];
  readonly #waiters: { readonly match: (line: string) => boolean; readonly resolve: (line: string) => void }[] = [];
  #stderr = '';

  constructor(
    readonly id: string,
    readonly process: ChildProcess,
  ) {
    process.stderr!.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    createInterface({ input: process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const waiter of this.#waiters.filter((w) => w.match(line))) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    });
  }

  /** Resolves with the first line (printed already or later) that `match` accepts; rejects if the process exits. */
  line(match: string | ((line: string) => boolean)): Promise<string> {
    const test = typeof match === 'string' ? (line: string) => line === match : match;
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ match: test, resolve });
      this.process.once('exit', (code) =>
        reject(new Error(`engine process ${this.id} exited (${code}); stderr: ${this.#stderr}`)),
      );
    });
  }

  /** Sends a command; resolves once it was carried out. */
  async send(command: string): Promise<void> {
    this.process.stdin!.write(`${command}\n`);
    const answer = await this.line((l) => l === `did ${command}` || l.startsWith(`failed ${command}:`));
    if (answer.startsWith('failed')) throw new Error(answer);
  }
}

describe.skipIf(DATABASE_URL === undefined)(
  `between engine processes on a PostgreSQL server${DATABASE_URL === undefined ? ` (${SERVER_SKIP_REASON})` : ''}`,
  () => {
    let database: ServerDatabase;
    let backend: PostgresBackend;
    let blobDir: string;
    /** Registers and launches; never started, so it drives nothing. */
    let launcher: Engine;
    /** Started once the first executions exist: it claims them all. */
    let driver: EngineProcess;
    /** Started after it: it finds them claimed. */
    let other: EngineProcess;
    const processes: ChildProcess[] = [];

    async function startEngineProcess(id: string): Promise<EngineProcess> {
      const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=@flyte-ts/source', child], {
        cwd: repo,
        env: { ...process.env, DATABASE_URL: database.url, BLOB_ROOT: join(blobDir, 'blobs'), ENGINE_ID: id },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      processes.push(proc);
      const engine = new EngineProcess(id, proc);
      await engine.line('ready');
      return engine;
    }

    function id(name: string): idl.core.WorkflowExecutionIdentifier {
      return executionId({ project: settings.project, domain: settings.domain, name });
    }

    beforeAll(async () => {
      database = await createServerDatabase('notices');
      backend = await createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 });
      blobDir = await mkdtemp(join(tmpdir(), 'flyte-ts-notices-'));
      const blob = new LocalFsBlobStore({ root: join(blobDir, 'blobs') });
      launcher = createEngine({
        store: backend.store,
        blob,
        tasks: noticeTasks,
        config: { metadataPrefix: `${blob.rootUri}/metadata`, rawOutputPrefix: `${blob.rootUri}/raw` },
      });
      await backend.store.putProject(
        create(idl.admin.ProjectSchema, {
          id: settings.project,
          name: settings.project,
          domains: [{ id: settings.domain, name: settings.domain }],
        }),
      );
      await launcher.register([untilAborted, gate], settings);
      await launcher.createExecution({ task: untilAborted.id(settings), name: 'term', inputs: { x: 1 } });
      await launcher.createExecution({ workflow: gate.id(settings), name: 'sig', inputs: { x: 21 } });
      driver = await startEngineProcess('driver');
      await driver.line('started term');
      await driver.line((line) => line.startsWith('running sig '));
      other = await startEngineProcess('other');
    }, 120_000);

    afterAll(async () => {
      await Promise.all(
        processes.map(async (proc) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          const exited = onceEvent(proc, 'exit');
          proc.kill('SIGTERM');
          await exited;
        }),
      );
      await backend?.close();
      await database?.drop();
      if (blobDir !== undefined) await rm(blobDir, { recursive: true, force: true });
    }, 60_000);

    it('aborts the running task of the driving process when another process terminates the execution', async () => {
      await other.send('terminate term stopped by another process');
      await driver.line('aborted term stopped by another process');
      await driver.line('ended term ABORTED stopped by another process');
      const node = await backend.store.getNodeExecution(
        create(idl.core.NodeExecutionIdentifierSchema, { nodeId: 'n0', executionId: id('term') }),
      );
      expect(idl.core.NodeExecution_Phase[node!.nodeExecution.closure!.phase]).toBe('ABORTED');
    }, 60_000);

    it('releases the gate of the driving process when another process sets its signal', async () => {
      await other.send('signal sig go 21');
      await driver.line('ended sig SUCCEEDED');
      expect(fromLiteralMap(gate.outputs, await launcher.getExecutionOutputs(id('sig')))).toEqual({ y: 42 });
    }, 60_000);

    it('has a process claim at once an execution that an engine not started created', async () => {
      await launcher.createExecution({ task: untilAborted.id(settings), name: 'fresh', inputs: { x: 1 } });
      const waits = [driver, other].map((p) => p.line('started fresh').then(() => p));
      // The other one never prints it: its wait ends with its process.
      for (const wait of waits) wait.catch(() => undefined);
      const claimed = await Promise.race(waits);
      // Terminated through the engine that is not started: the notice reaches the process that claimed it.
      await launcher.terminateExecution(id('fresh'), 'done');
      await claimed.line('ended fresh ABORTED done');
    }, 60_000);

    it('listens on a connection of a pg.Pool given to the store, and gives it back destroyed', async () => {
      const pool = new pg.Pool({ connectionString: database.url, max: 2 });
      const given = await createPostgresStore({ pool });
      let heard!: (notice: ExecutionNotice) => void;
      const notice = new Promise<ExecutionNotice>((resolve) => (heard = resolve));
      const subscription = await given.store.notifications!.subscribe({ notice: (n) => heard(n) });
      await backend.store.notifications!.publish([{ kind: 'created', execution: id('pooled') }]);
      expect((await notice).execution.name).toBe('pooled');
      expect(pool.totalCount).toBe(1);
      await subscription.close();
      expect(pool.totalCount).toBe(0);
      await given.close();
      await pool.end();
    }, 60_000);

    it('reopens the LISTEN connection when it drops, tells subscribers notices may be missed, and hears again', async () => {
      const notifications = backend.store.notifications!;
      const heard: ExecutionNotice[] = [];
      let missed!: () => void;
      const reopened = new Promise<void>((resolve) => (missed = resolve));
      let marker!: () => void;
      const markerHeard = new Promise<void>((resolve) => (marker = resolve));
      const subscription = await notifications.subscribe({
        notice: (notice) => {
          heard.push(notice);
          if (notice.execution.name === 'after-drop') marker();
        },
        missed,
      });
      const dropped = await admin(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and query like 'LISTEN %'`,
        [database.name],
      );
      expect(dropped.rowCount).toBeGreaterThan(0);
      await reopened;
      await notifications.publish([{ kind: 'signal', execution: id('after-drop') }]);
      await markerHeard;
      expect(heard.filter((n) => n.execution.name === 'after-drop').map((n) => n.kind)).toEqual(['signal']);
      await subscription.close();
    }, 60_000);
  },
);
