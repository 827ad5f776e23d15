import { fromLiteralMap, idl, t, task, UnavailableError, workflow } from '@flyte-ts/core';
import { MemoryBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

/** A gate the test opens: tasks wait on it. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('caching', () => {
  it('hits the cache on the second run, without running the task or creating task executions', async () => {
    let runs = 0;
    const costly = task(
      { name: 'cache.costly', inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version: '1' } },
      ({ x }) => {
        runs++;
        return { y: x * 10 };
      },
    );
    const wf = workflow({ name: 'cache.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: costly({ x }).y,
    }));
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    for (const name of ['c1', 'c2']) {
      await engine.createExecution({ workflow: wf.id(settings), name, inputs: { x: 4 } });
      expect(phaseOf(await engine.waitForExecution(execId(name)))).toBe('SUCCEEDED');
      expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId(name)))).toEqual({ y: 40 });
    }
    expect(runs).toBe(1);
    const status = async (name: string) => {
      const node = await engine.getNodeExecution({
        nodeId: 'n0',
        executionId: execId(name),
      } as idl.core.NodeExecutionIdentifier);
      const meta = node?.closure?.targetMetadata;
      return meta?.case === 'taskNodeMetadata' ? idl.core.CatalogCacheStatus[meta.value.cacheStatus] : undefined;
    };
    expect(await status('c1')).toBe('CACHE_POPULATED');
    expect(await status('c2')).toBe('CACHE_HIT');
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('c2'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items).toHaveLength(0);
    // Other inputs miss; overwriteCache runs again and replaces the entry.
    await engine.createExecution({ workflow: wf.id(settings), name: 'c3', inputs: { x: 5 } });
    await engine.waitForExecution(execId('c3'));
    await engine.createExecution({ workflow: wf.id(settings), name: 'c4', inputs: { x: 4 }, overwriteCache: true });
    await engine.waitForExecution(execId('c4'));
    expect(runs).toBe(3);
    expect(await status('c4')).toBe('CACHE_POPULATED');
    await engine.stop();
  });

  it('runs identical serialized cached tasks once while the others wait for the result', async () => {
    let runs = 0;
    const gate = latch();
    const serial = task(
      {
        name: 'cache.serial',
        inputs: { x: t.int() },
        outputs: { y: t.int() },
        cache: { version: '1', serialize: true },
      },
      async ({ x }) => {
        runs++;
        await gate.opened;
        return { y: x + 1 };
      },
    );
    const wf = workflow({ name: 'cache.serial_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: serial({ x }).y,
    }));
    const { engine } = await startEngine({ config: { cacheReservationHeartbeatMs: 200 } });
    await engine.register([wf], settings);
    for (const name of ['s1', 's2', 's3'])
      await engine.createExecution({ workflow: wf.id(settings), name, inputs: { x: 1 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(1);
    gate.open();
    for (const name of ['s1', 's2', 's3'])
      expect(phaseOf(await engine.waitForExecution(execId(name)))).toBe('SUCCEEDED');
    expect(runs).toBe(1);
    await engine.stop();
  });
});

describe('abort', () => {
  it('terminates a running execution: the running task is aborted and everything ends ABORTED', async () => {
    const started = latch();
    let sawAbort = false;
    const long = task({ name: 'abort.long', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }, ctx) => {
      started.open();
      await new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          sawAbort = true;
          reject(ctx.signal.reason);
        });
      });
      return { y: x };
    });
    const wf = workflow({ name: 'abort.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: long({ x: long({ x }).y }).y,
    }));
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'a1', inputs: { x: 1 } });
    await started.opened;
    await engine.terminateExecution(execId('a1'), 'the user changed their mind');
    const done = await engine.waitForExecution(execId('a1'));
    expect(phaseOf(done)).toBe('ABORTED');
    expect(done.closure?.outputResult.case === 'abortMetadata' && done.closure.outputResult.value.cause).toBe(
      'the user changed their mind',
    );
    expect(sawAbort).toBe(true);
    const nodes = await engine.listNodeExecutions(execId('a1'));
    const byId = Object.fromEntries(nodes.items.map((n) => [n.id!.nodeId, nodePhase(n)]));
    expect(byId.n0).toBe('ABORTED');
    expect(byId.n1).toBeUndefined();
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('a1'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items.map((a) => idl.core.TaskExecution_Phase[a.closure!.phase])).toEqual(['ABORTED']);
    await engine.stop();
  });
});

describe('durability', () => {
  it('resumes an execution with a new engine over the same store after the first one stopped mid-run', async () => {
    const store = new MemoryStore();
    const blob = new MemoryBlobStore();
    const catalog = new MemoryCatalog();
    const calls: string[] = [];
    const hold = latch();
    const step = task({ name: 'durable.step', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      calls.push(`step:${x}`);
      return { y: x + 1 };
    });
    const slow = task({ name: 'durable.slow', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
      calls.push(`slow:${x}`);
      await hold.opened;
      return { y: x * 2 };
    });
    const wf = workflow({ name: 'durable.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: step({ x: slow({ x: step({ x }).y }).y }).y,
    }));
    const first = await startEngine({ store, blob, catalog });
    await first.engine.register([wf], settings);
    await first.engine.createExecution({ workflow: wf.id(settings), name: 'd1', inputs: { x: 1 } });
    // Stop once the running attempt of the slow task is committed (a crash before that commit re-runs it as
    // the same attempt instead, which is just as correct but shows one attempt).
    const slowNode = { nodeId: 'n1', executionId: execId('d1') } as idl.core.NodeExecutionIdentifier;
    while ((await store.listTaskExecutions(slowNode)).items.length === 0) await new Promise((r) => setTimeout(r, 5));
    await first.engine.stop();
    expect(phaseOf(await first.engine.getExecution(execId('d1')))).toBe('RUNNING');

    hold.open();
    const second = await startEngine({ store, blob, catalog, tasks: [step, slow] });
    const done = await second.engine.waitForExecution(execId('d1'));
    expect(done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value.message : '').toBe('');
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await second.engine.getExecutionOutputs(execId('d1')))).toEqual({ y: 5 });
    // The first step ran once; the task in flight at the stop ran again, as a new attempt (system retry).
    expect(calls.filter((c) => c === 'step:1')).toHaveLength(1);
    expect(calls.filter((c) => c === 'slow:2')).toHaveLength(2);
    const attempts = await second.engine.listTaskExecutions({
      nodeId: 'n1',
      executionId: execId('d1'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items.map((a) => idl.core.TaskExecution_Phase[a.closure!.phase])).toEqual([
      'RETRYABLE_FAILED',
      'SUCCEEDED',
    ]);
    await second.engine.stop();
  });

  // A commit applies but its reply is lost (the connection drops): the retry finds the execution already written
  // (CONFLICT), and the runner resumes from the Store, where the attempt shows as started. The function is still in
  // flight in this process: the resumed runner adopts it, and must get its outputs and its end, whether the
  // function ends before the resumed runner first looks at it or after. (Found by the chaos test: OutputsNotFound,
  // or a node waiting an hour for a recheck that went to the stopped runner.)
  it.each(['before', 'after'] as const)(
    'keeps the outputs of a task adopted in flight after a commit conflict, ending %s the adoption',
    async (when) => {
      const memory = new MemoryStore();
      let runs = 0;
      const hold = latch();
      let returned!: () => void;
      const ended = new Promise<void>((resolve) => (returned = resolve));
      const slow = task({ name: 'durable.adopted', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
        runs++;
        await hold.opened;
        returned();
        return { y: x + 1 };
      });
      const wf = workflow({ name: 'durable.adopting', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
        y: slow({ x }).y,
      }));
      let fault: 'armed' | 'fired' | 'resuming' | 'done' = 'armed';
      const store = new Proxy(memory, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key === 'commit') {
            return async (...args: Parameters<MemoryStore['commit']>) => {
              const result = await target.commit(...args);
              const running = args[0].taskExecutions?.some(
                (t) => t.record.taskExecution.closure?.phase === idl.core.TaskExecution_Phase.RUNNING,
              );
              if (fault === 'armed' && running === true) {
                fault = 'fired';
                throw new UnavailableError('the connection dropped after the commit applied');
              }
              return result;
            };
          }
          if (key === 'listNodeExecutions') {
            // The engine reads the nodes back to resume: the first runner has stopped.
            return async (...args: Parameters<MemoryStore['listNodeExecutions']>) => {
              if (fault === 'fired') {
                fault = 'resuming';
                if (when === 'before') {
                  fault = 'done';
                  hold.open();
                  await ended;
                  await new Promise((resolve) => setImmediate(resolve));
                }
              }
              return target.listNodeExecutions(...args);
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const { engine } = await startEngine({ store });
      const handle = engine.functions.handle.bind(engine.functions);
      engine.functions.handle = async (ctx) => {
        const transition = await handle(ctx);
        // The resumed runner has adopted the function, which is still running: let it end now.
        if (fault === 'resuming' && transition.phase === 'running') {
          fault = 'done';
          hold.open();
        }
        return transition;
      };
      await engine.register([wf], settings);
      await engine.createExecution({ workflow: wf.id(settings), name: 'adopt', inputs: { x: 1 } });
      const done = await engine.waitForExecution(execId('adopt'));
      expect(fault).toBe('done');
      expect(done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value.message : '').toBe('');
      expect(phaseOf(done)).toBe('SUCCEEDED');
      expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('adopt')))).toEqual({ y: 2 });
      // Adopted, not run again.
      expect(runs).toBe(1);
      await engine.stop();
    },
  );

  it('aborts a function adopted in flight after a commit conflict when its execution is terminated', async () => {
    const memory = new MemoryStore();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let sawAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((resolve) => (sawAbort = resolve));
    const waiting = task({ name: 'durable.waiting', inputs: { x: t.int() }, outputs: { y: t.int() } }, (_, ctx) => {
      started();
      return new Promise<{ y: number }>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          sawAbort(ctx.signal.reason);
          reject(ctx.signal.reason as Error);
        });
      });
    });
    const wf = workflow(
      { name: 'durable.abort_adopted', inputs: { x: t.int() }, outputs: { y: t.int() } },
      ({ x }) => ({
        y: waiting({ x }).y,
      }),
    );
    let fault: 'armed' | 'fired' | 'done' = 'armed';
    const store = new Proxy(memory, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'commit') {
          return async (...args: Parameters<MemoryStore['commit']>) => {
            const result = await target.commit(...args);
            const attemptRunning = args[0].taskExecutions?.some(
              (t) => t.record.taskExecution.closure?.phase === idl.core.TaskExecution_Phase.RUNNING,
            );
            if (fault === 'armed' && attemptRunning === true) {
              fault = 'fired';
              throw new UnavailableError('the connection dropped after the commit applied');
            }
            return result;
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { engine } = await startEngine({ store });
    const handle = engine.functions.handle.bind(engine.functions);
    let adopted!: () => void;
    const adoption = new Promise<void>((resolve) => (adopted = resolve));
    engine.functions.handle = async (ctx) => {
      const transition = await handle(ctx);
      // The runner resumed after the conflict has looked at the function, still running.
      if (fault === 'fired' && transition.phase === 'running' && ctx.state?.started === true) {
        fault = 'done';
        adopted();
      }
      return transition;
    };
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'abort-adopted', inputs: { x: 1 } });
    await running;
    await adoption;
    await engine.terminateExecution(execId('abort-adopted'), 'stop the adopted task');
    expect(String(await aborted)).toContain('stop the adopted task');
    expect(phaseOf(await engine.waitForExecution(execId('abort-adopted')))).toBe('ABORTED');
    await engine.stop();
  });

  it('resumes a workflow whose end node was queued but not done when its engine stopped', async () => {
    // The end node's inputs (the workflow's outputs) are kept in memory, never written as inputs.pb: an engine that
    // resumes after the end node was committed QUEUED must resolve them again. (Found by the chaos test: the
    // execution FAILED with NOT_FOUND on end-node/0/inputs.pb.)
    const store = new MemoryStore();
    const memoryBlob = new MemoryBlobStore();
    const step = task({ name: 'durable.last', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: x + 1,
    }));
    const inner = workflow({ name: 'durable.inner_end', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: step({ x }).y,
    }));
    const wf = workflow({ name: 'durable.ending', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: inner({ x }).y,
    }));
    // Outputs go to outputs.pb (nothing inline), and the end node's write of them never finishes in the first
    // engine: it stops with the end node committed QUEUED and not done.
    const data = { inlineLimitBytes: 0 };
    const stalled = /\/end-node\/0\/outputs\.pb$/;
    const blob = new Proxy(memoryBlob, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'put') {
          return (...args: Parameters<MemoryBlobStore['put']>) =>
            stalled.test(args[0]) ? new Promise(() => undefined) : target.put(...args);
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const first = await startEngine({ store, blob: blob as MemoryBlobStore, config: { data } });
    await first.engine.register([wf], settings);
    const queued = new Promise<string>((resolve) =>
      first.engine.on('node', (event) => {
        if (event.id?.nodeId.endsWith('end-node') && event.phase === idl.core.NodeExecution_Phase.QUEUED) {
          resolve(event.id.nodeId);
        }
      }),
    );
    await first.engine.createExecution({ workflow: wf.id(settings), name: 'ending', inputs: { x: 1 } });
    // The subworkflow's end node, the first to end.
    expect(await queued).toBe('n0-0-end-node');
    await first.engine.stop();

    const second = await startEngine({ store, blob: memoryBlob, tasks: [step], config: { data } });
    const done = await second.engine.waitForExecution(execId('ending'));
    expect(done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value.message : '').toBe('');
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await second.engine.getExecutionOutputs(execId('ending')))).toEqual({ y: 2 });
    await second.engine.stop();
  });

  it('recovers a failed execution, reusing the outputs of the nodes that succeeded', async () => {
    const calls: string[] = [];
    let healthy = false;
    const prepare = task({ name: 'recover.prepare', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      calls.push('prepare');
      return { y: x + 1 };
    });
    const finish = task({ name: 'recover.finish', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      calls.push('finish');
      if (!healthy) throw new Error('not yet');
      return { y: x * 100 };
    });
    const wf = workflow({ name: 'recover.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: finish({ x: prepare({ x }).y }).y,
    }));
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'r1', inputs: { x: 1 } });
    expect(phaseOf(await engine.waitForExecution(execId('r1')))).toBe('FAILED');
    healthy = true;
    await engine.recoverExecution(execId('r1'), { name: 'r1-recovered' });
    expect(phaseOf(await engine.waitForExecution(execId('r1-recovered')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('r1-recovered')))).toEqual({ y: 200 });
    expect(calls).toEqual(['prepare', 'finish', 'finish']);
    const recovered = await engine.getNodeExecution({
      nodeId: 'n0',
      executionId: execId('r1-recovered'),
    } as idl.core.NodeExecutionIdentifier);
    expect(nodePhase(recovered)).toBe('RECOVERED');
    // Relaunch runs everything again with the same inputs.
    await engine.relaunchExecution(execId('r1'), { name: 'r1-again' });
    expect(phaseOf(await engine.waitForExecution(execId('r1-again')))).toBe('SUCCEEDED');
    expect(calls).toEqual(['prepare', 'finish', 'finish', 'prepare', 'finish']);
    await engine.stop();
  });
});
