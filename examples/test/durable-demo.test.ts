// The durable demo's engine: two separate processes' worth of engine + PGlite on one directory, one after the
// other. The second run of the Quickstart finds the first one's execution and cached results in the store. And
// the demo itself, run while another process holds its store, stops at once with STORE_LOCKED.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromLiteralMap, idl } from '@flyte-ts/core';
import { lockDataDirectory } from '@flyte-ts/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionId, listWorkflowExecutions, startDurableEngine, uniqueExecutionName } from '../src/engine.js';
import { meanOf, runQuickstart, sample, stdOf, wf } from '../src/quickstart.js';
import { nodeTimeline, type TimelineRow } from '../src/timeline.js';

const summary = (rows: readonly TimelineRow[]) => rows.map((r) => [r.nodeId, r.phase, r.cacheStatus, r.attempts]);

describe('the durable demo engine (PGlite in dir/db, files in dir/data)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flyte-ts-durable-demo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the cached tasks of a second run, in a new engine and database instance, from the store', async () => {
    // First "invocation": a new database, everything computed.
    const first = await startDurableEngine({ dir, tasks: [sample, meanOf, stdOf] });
    let firstName = '';
    let firstOutputs: unknown;
    try {
      expect(first.database).toBe(join(dir, 'db'));
      expect(first.dataUri.startsWith('file://')).toBe(true);
      firstName = uniqueExecutionName('quickstart');
      const result = await runQuickstart(first.engine, { name: firstName, seed: 7 });
      expect(result.phase).toBe('SUCCEEDED');
      firstOutputs = result.outputs;
      expect(summary(await nodeTimeline(first.engine, result.id))).toEqual([
        ['start-node', 'SUCCEEDED', undefined, 0],
        ['n0', 'SUCCEEDED', 'CACHE_DISABLED', 1],
        ['n1', 'SUCCEEDED', 'CACHE_POPULATED', 1],
        ['n2', 'SUCCEEDED', 'CACHE_POPULATED', 1],
        ['end-node', 'SUCCEEDED', undefined, 0],
      ]);
      expect((await listWorkflowExecutions(first.engine, wf)).map((e) => e.id?.name)).toEqual([firstName]);
    } finally {
      await first.close();
    }
    await first.close(); // idempotent
    expect(existsSync(join(dir, 'db', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dir, 'data', 'metadata'))).toBe(true);

    // Second "invocation": the same directory reopened; the cached tasks are answered by the catalog.
    const second = await startDurableEngine({ dir, tasks: [sample, meanOf, stdOf] });
    try {
      const name = uniqueExecutionName('quickstart');
      expect(name).not.toBe(firstName);
      const result = await runQuickstart(second.engine, { name, seed: 7 });
      expect(result.phase).toBe('SUCCEEDED');
      expect(result.outputs).toEqual(firstOutputs);
      expect(summary(await nodeTimeline(second.engine, result.id))).toEqual([
        ['start-node', 'SUCCEEDED', undefined, 0],
        ['n0', 'SUCCEEDED', 'CACHE_DISABLED', 1],
        ['n1', 'SUCCEEDED', 'CACHE_HIT', 0],
        ['n2', 'SUCCEEDED', 'CACHE_HIT', 0],
        ['end-node', 'SUCCEEDED', undefined, 0],
      ]);
      // The first execution survived the restart, with its outputs.
      const names = (await listWorkflowExecutions(second.engine, wf)).map((e) => e.id?.name);
      expect(names.sort()).toEqual([firstName, name].sort());
      const earlier = await second.engine.getExecution(executionId(firstName));
      expect(earlier?.closure?.phase).toBe(idl.core.WorkflowExecution_Phase.SUCCEEDED);
      expect(fromLiteralMap(wf.outputs, await second.engine.getExecutionOutputs(executionId(firstName)))).toEqual(
        firstOutputs,
      );
    } finally {
      await second.close();
    }
  }, 60_000);

  it('stops at once, printing STORE_LOCKED and exiting 1, while another process holds the store', async () => {
    const state = join(dir, 'held');
    const lock = await lockDataDirectory(join(state, 'db'));
    try {
      const demo = spawn(
        process.execPath,
        ['--import', 'tsx', '--conditions=@flyte-ts/source', fileURLToPath(new URL('../src/demo.ts', import.meta.url))],
        { env: { ...process.env, FLYTE_DEMO_DIR: state, DATABASE_URL: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(demo, 'exit')) as [number | null];
      expect(stderr).toContain('[STORE_LOCKED]');
      expect(stderr).toContain(`in use by process ${process.pid}`);
      expect(code).toBe(1);
      // It stopped before PGlite touched the directory.
      expect(existsSync(join(state, 'db', 'PG_VERSION'))).toBe(false);
    } finally {
      await lock.release();
    }
  }, 60_000);

  it('names executions as Flyte requires, differently each time', () => {
    const names = new Set(Array.from({ length: 50 }, () => uniqueExecutionName('quickstart')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^quickstart-[a-z0-9]+$/);
    expect(uniqueExecutionName('q'.repeat(80))).toHaveLength(63);
  });
});
