// Worker-thread mode of the function-task plugin: `worker: true` tasks run off the engine's thread, load from
// their module, report user and system failures like in-process tasks, and an abort terminates the thread.
import { threadId } from 'node:worker_threads';
import { fromLiteralMap, idl, t, task, workflow, type Entity } from '@flyte-ts/core';
import { FunctionTaskPlugin } from '@flyte-ts/executor';
import { afterAll, describe, expect, it } from 'vitest';
import { exits, fib, flaky, spin } from './fixtures/cpu-tasks.js';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

const tasksModule = new URL('./fixtures/cpu-tasks.ts', import.meta.url).href;
const plugin = new FunctionTaskPlugin({
  workers: {
    maxThreads: 2,
    // The task modules are TypeScript, and workspace packages resolve to their sources.
    execArgv: ['--conditions=@flyte-ts/source'],
    preload: [new URL('./fixtures/register-tsx.mjs', import.meta.url).href],
  },
});

afterAll(() => plugin.close());

async function engineWith(...entities: Entity[]) {
  const test = await startEngine({ plugins: [plugin] });
  await test.engine.register(entities, settings);
  return test;
}

async function taskAttempts(engine: Awaited<ReturnType<typeof startEngine>>['engine'], name: string, node = 'n0') {
  const page = await engine.listTaskExecutions({
    nodeId: node,
    executionId: execId(name),
  } as idl.core.NodeExecutionIdentifier);
  return page.items.map((a) => ({
    phase: idl.core.TaskExecution_Phase[a.closure!.phase],
    code: a.closure?.outputResult.case === 'error' ? a.closure.outputResult.value.code : undefined,
    kind:
      a.closure?.outputResult.case === 'error'
        ? idl.core.ExecutionError_ErrorKind[a.closure.outputResult.value.kind]
        : undefined,
  }));
}

describe('worker-thread tasks', () => {
  it('run off the engine thread, in parallel, with typed inputs and outputs', async () => {
    const wf = workflow(
      { name: 'workers.pair', inputs: { n: t.int() }, outputs: { a: t.int(), b: t.int(), ta: t.int(), tb: t.int() } },
      ({ n }) => {
        const a = fib({ n });
        const b = fib({ n });
        return { a: a.value, b: b.value, ta: a.thread, tb: b.thread };
      },
    );
    const { engine } = await engineWith(wf);
    await engine.createExecution({ workflow: wf.id(settings), name: 'w1', inputs: { n: 25 } });
    expect(phaseOf(await engine.waitForExecution(execId('w1')))).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('w1')));
    expect(outputs.a).toBe(75025);
    expect(outputs.b).toBe(75025);
    // Two tasks at once on a pool of two: two distinct worker threads, neither of them this one.
    expect(new Set([outputs.ta, outputs.tb]).size).toBe(2);
    expect(outputs.ta).not.toBe(threadId);
    expect(outputs.tb).not.toBe(threadId);
    await engine.stop();
  });

  it('report a thrown error as a user error and retry it', async () => {
    const { engine } = await engineWith(flaky);
    await engine.createExecution({ task: flaky.id(settings), name: 'w2', inputs: {} });
    expect(phaseOf(await engine.waitForExecution(execId('w2')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(flaky.outputs, await engine.getExecutionOutputs(execId('w2')))).toEqual({ attempt: 1 });
    expect(await taskAttempts(engine, 'w2')).toEqual([
      { phase: 'RETRYABLE_FAILED', code: 'USER:FlakyError', kind: 'USER' },
      { phase: 'SUCCEEDED', code: undefined, kind: undefined },
    ]);
    await engine.stop();
  });

  it('count a dead worker as a system error, within the system retry budget', async () => {
    const { engine } = await engineWith(exits);
    await engine.createExecution({ task: exits.id(settings), name: 'w3', inputs: {} });
    expect(phaseOf(await engine.waitForExecution(execId('w3')))).toBe('FAILED');
    const attempts = await taskAttempts(engine, 'w3');
    expect(attempts.length).toBe(engine.config.maxSystemFailures + 1);
    expect(attempts.every((a) => a.code === 'WorkerExited' && a.kind === 'SYSTEM')).toBe(true);
    await engine.stop();
    // Four worker threads start and die one after the other: slow on a loaded 2-core machine.
  }, 30_000);

  it('fail permanently when the module does not export the task', async () => {
    const hidden = task({ name: 'workers.hidden', outputs: { x: t.int() }, worker: true, module: tasksModule }, () => ({
      x: 1,
    }));
    const { engine } = await engineWith(hidden);
    await engine.createExecution({ task: hidden.id(settings), name: 'w4', inputs: {} });
    expect(phaseOf(await engine.waitForExecution(execId('w4')))).toBe('FAILED');
    const attempts = await taskAttempts(engine, 'w4');
    expect(attempts).toEqual([{ phase: 'FAILED', code: 'FunctionNotFound', kind: 'SYSTEM' }]);
    await engine.stop();
  });

  it('terminate a busy thread when the execution is aborted', async () => {
    const { engine } = await engineWith(spin);
    await engine.createExecution({ task: spin.id(settings), name: 'w5', inputs: {} });
    await new Promise<void>((resolve) => {
      const listener = () => {
        if (plugin.workerThreads > 0) {
          engine.off('task', listener);
          resolve();
        }
      };
      engine.on('task', listener);
    });
    const before = plugin.workerThreads;
    await engine.terminateExecution(execId('w5'), 'stop spinning');
    const ended = await engine.waitForExecution(execId('w5'));
    expect(phaseOf(ended)).toBe('ABORTED');
    const node = await engine.getNodeExecution({
      nodeId: 'n0',
      executionId: execId('w5'),
    } as idl.core.NodeExecutionIdentifier);
    expect(nodePhase(node)).toBe('ABORTED');
    expect(plugin.workerThreads).toBe(before - 1);
    await engine.stop();
  });

  it('need the module that exports them', () => {
    expect(() => task({ name: 'workers.nomodule', worker: true }, () => undefined)).toThrow(/need module/);
  });
});
