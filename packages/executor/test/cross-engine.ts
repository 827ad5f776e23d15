// Scenarios of engines sharing a Store in one process, for any Store: a terminate or a signal sent to an engine
// that does not drive the execution reaches the engine that does, and (with the Store's notifications) a new
// execution is claimed at once. The intervals each suite passes decide how things may arrive: hours, so that
// only a notice can deliver them before the test times out, or milliseconds for the polling fallback.
import { fromLiteralMap, idl, t, task, waitForInput, workflow, type Store } from '@flyte-ts/core';
import { createEngine, type Engine, type EngineConfig } from '@flyte-ts/executor';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { execId, phaseOf, settings } from './support.js';

/** An hour, in ms. */
export const HOUR = 3_600_000;

/** Lease and poll settings no test waits out: only a notice can deliver within a test. */
export const HOURS = {
  leases: { ttlMs: 10 * HOUR, renewIntervalMs: 5 * HOUR, pollIntervalMs: 3 * HOUR },
  pollInterval: { baseMs: 3 * HOUR, maxMs: 3 * HOUR },
} as const satisfies Pick<EngineConfig, 'leases' | 'pollInterval'>;

/** How a test observes the long task of one execution. */
interface TaskHooks {
  started(): void;
  aborted(reason: unknown): void;
}

const hooks = new Map<string, TaskHooks>();

/** Runs until its attempt is aborted (then reports the reason and fails). */
const long = task({ name: 'cluster.long', inputs: { x: t.int() }, outputs: { y: t.int() } }, async (_, ctx) => {
  const hook = hooks.get(ctx.execution?.name ?? '');
  hook?.started();
  return new Promise<{ y: number }>((_resolve, reject) => {
    ctx.signal.addEventListener(
      'abort',
      () => {
        hook?.aborted(ctx.signal.reason);
        reject(ctx.signal.reason as Error);
      },
      { once: true },
    );
  });
});

const add = task({ name: 'cluster.add', inputs: { a: t.int(), b: t.int() }, outputs: { y: t.int() } }, ({ a, b }) => ({
  y: a + b,
}));

/** Waits for the signal `go`, then adds it to its input. */
const gated = workflow({ name: 'cluster.gated', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: add({ a: x, b: waitForInput('go', t.int()) }).y,
}));

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with the execution `name` once `engine` reports it ended. */
function endedOn(engine: Engine, name: string): Promise<idl.admin.Execution> {
  return new Promise((resolve) => {
    const listener = (execution: idl.admin.Execution) => {
      if (execution.id?.name !== name) return;
      engine.off('execution-ended', listener);
      resolve(execution);
    };
    engine.on('execution-ended', listener);
  });
}

/** Options of {@link crossEngineSuite}. */
export interface CrossEngineOptions {
  /** The Store the engines share (one per test file; each test uses names of its own). */
  readonly store: () => Promise<Store>;
  /** Lease and poll settings of every engine. */
  readonly intervals: Pick<EngineConfig, 'leases' | 'pollInterval'>;
  /** Whether the Store has notifications (its engines then claim new executions at once). */
  readonly notices: boolean;
}

/** Registers the scenarios for one Store. */
export function crossEngineSuite(title: string, options: CrossEngineOptions): void {
  describe(title, () => {
    const blob = new MemoryBlobStore();
    const engines: Engine[] = [];
    let serial = 0;

    afterEach(async () => {
      await Promise.all(engines.splice(0).map((engine) => engine.stop()));
    });

    async function engine(id: string, start = true): Promise<Engine> {
      const created = createEngine({
        store: await options.store(),
        blob,
        tasks: [long, add],
        config: { id, retryBackoff: { baseMs: 0, maxMs: 0 }, ...options.intervals },
      });
      engines.push(created);
      if (start) await created.start();
      return created;
    }

    /** Engine `driver` runs an execution (claimed at once: it creates it); `other` starts after it has. */
    async function twoEngines(): Promise<{ driver: Engine; other: Engine; name: string }> {
      const name = `x${++serial}-${Math.random().toString(36).slice(2, 8)}`;
      const driver = await engine(`${name}-driver`);
      await driver.register([long, gated], settings);
      return { driver, other: await engine(`${name}-other`, false), name };
    }

    it(
      'aborts a running task when its execution is terminated through an engine that does not drive it',
      { timeout: 60_000 },
      async () => {
        const { driver, other, name } = await twoEngines();
        const started = deferred<void>();
        const aborted = deferred<unknown>();
        hooks.set(name, { started: () => started.resolve(), aborted: (reason) => aborted.resolve(reason) });
        const ended = endedOn(driver, name);
        await driver.createExecution({ task: long.id(settings), name, inputs: { x: 1 } });
        await started.promise;
        // Started now, the other engine finds every execution claimed.
        await other.start();
        expect(other.activeExecutions).toBe(0);
        await other.terminateExecution(execId(name), 'stopped by the other engine');

        const execution = await ended;
        expect(phaseOf(execution)).toBe('ABORTED');
        const result = execution.closure?.outputResult;
        expect(result?.case === 'abortMetadata' ? result.value.cause : undefined).toBe('stopped by the other engine');
        // The function saw its signal aborted with the cause; the node and its attempt ended ABORTED.
        expect(((await aborted.promise) as Error).message).toBe('stopped by the other engine');
        const node = await other.getNodeExecution({
          $typeName: 'flyteidl.core.NodeExecutionIdentifier',
          nodeId: 'n0',
          executionId: execId(name),
        });
        expect(idl.core.NodeExecution_Phase[node!.closure!.phase]).toBe('ABORTED');
        const attempts = await other.listTaskExecutions(node!.id!);
        expect(attempts.items.map((a) => idl.core.TaskExecution_Phase[a.closure!.phase])).toEqual(['ABORTED']);
        hooks.delete(name);
      },
    );

    it(
      'releases a gate when its signal is set through an engine that does not drive it',
      { timeout: 60_000 },
      async () => {
        const { driver, other, name } = await twoEngines();
        const waiting = deferred<void>();
        driver.on('node', (event) => {
          const running = event.phase === idl.core.NodeExecution_Phase.RUNNING;
          if (running && event.id?.executionId?.name === name) waiting.resolve();
        });
        const ended = endedOn(driver, name);
        await driver.createExecution({ workflow: gated.id(settings), name, inputs: { x: 21 } });
        // The gate is the only node that can run before the signal.
        await waiting.promise;
        await other.start();
        expect(other.activeExecutions).toBe(0);
        await other.setSignal(execId(name), 'go', t.int().toLiteral(21));

        const execution = await ended;
        expect(phaseOf(execution)).toBe('SUCCEEDED');
        expect(fromLiteralMap(gated.outputs, await driver.getExecutionOutputs(execId(name)))).toEqual({ y: 42 });
      },
    );

    it.runIf(options.notices)(
      'claims an execution created through an engine that is not started at once',
      { timeout: 60_000 },
      async () => {
        const { driver, other, name } = await twoEngines();
        const started = deferred<void>();
        hooks.set(name, { started: () => started.resolve(), aborted: () => undefined });
        // `other` is not started: it only records the execution; the started engine hears of it and claims it.
        await other.createExecution({ task: long.id(settings), name, inputs: { x: 1 } });
        await started.promise;
        expect(driver.activeExecutions).toBe(1);
        const ended = endedOn(driver, name);
        await driver.terminateExecution(execId(name), 'done');
        expect(phaseOf(await ended)).toBe('ABORTED');
        hooks.delete(name);
      },
    );
  });
}
