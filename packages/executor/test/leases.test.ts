// Engines sharing one Store through leases: every execution is driven by exactly one engine, new executions are
// claimed at once, and an engine cut off from the Store loses its executions to another, whose writes win
// (fencing): the cut-off engine's late writes are refused.
import { fromLiteralMap, idl, t, task, UnavailableError, workflow, type Store } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { MemoryBlobStore, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { execId, phaseOf, settings } from './support.js';

const leases = { ttlMs: 1_500, renewIntervalMs: 150, pollIntervalMs: 25 } as const;

/** A Store that can be cut off: every call fails as UNAVAILABLE while `cut` is set (a network partition). */
function partitionable(store: Store): { store: Store; setCut(cut: boolean): void } {
  let cut = false;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (cut) return Promise.reject(new UnavailableError('partitioned'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, setCut: (value) => (cut = value) };
}

const double = task({ name: 'leases.double', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: 2 * x,
}));
const pipeline = workflow({ name: 'leases.pipeline', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: double({ x: double({ x }).y }).y,
}));

async function engineOn(
  store: Store,
  blob: MemoryBlobStore,
  id: string,
  extra: Partial<Parameters<typeof createEngine>[0]> = {},
): Promise<Engine> {
  const engine = createEngine({
    store,
    blob,
    tasks: [double],
    config: { id, leases, retryBackoff: { baseMs: 0, maxMs: 0 } },
    ...extra,
  });
  await engine.start();
  return engine;
}

describe('engines sharing a Store through leases', () => {
  it('run 40 executions between two engines, each exactly once', async () => {
    const store = new MemoryStore();
    const blob = new MemoryBlobStore();
    const a = await engineOn(store, blob, 'engine-a');
    const b = await engineOn(store, blob, 'engine-b');
    await a.register([pipeline], settings);
    const ended = { a: 0, b: 0 };
    a.on('execution-ended', () => ended.a++);
    b.on('execution-ended', () => ended.b++);
    const names = Array.from({ length: 40 }, (_, i) => `l${i}`);
    await Promise.all(
      names.map((name, i) =>
        (i % 2 === 0 ? a : b).createExecution({ workflow: pipeline.id(settings), name, inputs: { x: i } }),
      ),
    );
    for (const [i, name] of names.entries()) {
      const execution = await a.waitForExecution(execId(name));
      expect(phaseOf(execution)).toBe('SUCCEEDED');
      expect(fromLiteralMap(pipeline.outputs, await a.getExecutionOutputs(execId(name)))).toEqual({ y: 4 * i });
      // Exactly one attempt per task node, and one terminal workflow event.
      for (const node of ['n0', 'n1']) {
        const attempts = await a.listTaskExecutions({
          nodeId: node,
          executionId: execId(name),
        } as idl.core.NodeExecutionIdentifier);
        expect(attempts.items).toHaveLength(1);
      }
      const events = await store.listEvents(execId(name), { limit: 1000 });
      const succeeded = events.items.filter(
        (e) => e.kind === 'workflow' && e.event.phase === idl.core.WorkflowExecution_Phase.SUCCEEDED,
      );
      expect(succeeded).toHaveLength(1);
    }
    expect(ended.a + ended.b).toBe(40);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('hand the executions of an engine cut off from the Store to another, and refuse its late writes', async () => {
    const memory = new MemoryStore();
    const blob = new MemoryBlobStore();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slow = task({ name: 'leases.slow', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
      calls++;
      if (calls === 1) await released; // the first run (on the engine that gets cut off) ends late
      return { y: x + 1 };
    });
    const partition = partitionable(memory);
    const a = await engineOn(partition.store, blob, 'engine-a', { tasks: [slow] });
    await a.register([slow], settings);
    const started = new Promise<void>((resolve) =>
      a.on('task', (event) => {
        if (event.phase === idl.core.TaskExecution_Phase.RUNNING) resolve();
      }),
    );
    await a.createExecution({ task: slow.id(settings), name: 'takeover', inputs: { x: 1 } });
    await started;
    partition.setCut(true);
    const b = await engineOn(memory, blob, 'engine-b', { tasks: [slow] });
    const done = await b.waitForExecution(execId('takeover'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    // The cut-off engine's function now ends and its engine reaches the Store again: its writes are refused.
    partition.setCut(false);
    release();
    await new Promise((resolve) => setTimeout(resolve, 10 * leases.renewIntervalMs));
    const attempts = await b.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('takeover'),
    } as idl.core.NodeExecutionIdentifier);
    // Attempt 0 was lost with engine A; B ran attempt 1 (at-least-once, visible in the attempts).
    expect(attempts.items.map((x) => idl.core.TaskExecution_Phase[x.closure!.phase])).toEqual([
      'RETRYABLE_FAILED',
      'SUCCEEDED',
    ]);
    expect(
      attempts.items[0]!.closure?.outputResult.case === 'error' && attempts.items[0]!.closure.outputResult.value.code,
    ).toBe('TaskLost');
    const events = await memory.listEvents(execId('takeover'), { limit: 1000 });
    const terminal = events.items.filter(
      (e) => e.kind === 'workflow' && e.event.phase === idl.core.WorkflowExecution_Phase.SUCCEEDED,
    );
    expect(terminal).toHaveLength(1);
    expect(a.activeExecutions).toBe(0);
    await Promise.all([a.stop(), b.stop()]);
  });
});
