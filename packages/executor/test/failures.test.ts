import { fromLiteralMap, idl, t, task, workflow } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { ExecutorError } from '@flyte-ts/executor';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

describe('retries', () => {
  it('retries a task after user errors until it succeeds, one task execution per attempt', async () => {
    let calls = 0;
    const flaky = task({ name: 'fail.flaky', inputs: { x: t.int() }, outputs: { y: t.int() }, retries: 3 }, ({ x }) => {
      calls++;
      if (calls < 3) throw new TypeError(`attempt ${calls} fails`);
      return { y: x + 1 };
    });
    const wf = workflow({ name: 'fail.retry_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: flaky({ x }).y,
    }));
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'r1', inputs: { x: 1 } });
    expect(phaseOf(await engine.waitForExecution(execId('r1')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('r1')))).toEqual({ y: 2 });
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('r1'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items.map((a) => [a.id?.retryAttempt, idl.core.TaskExecution_Phase[a.closure!.phase]])).toEqual([
      [0, 'RETRYABLE_FAILED'],
      [1, 'RETRYABLE_FAILED'],
      [2, 'SUCCEEDED'],
    ]);
    const first = attempts.items[0]!.closure!.outputResult;
    expect(first.case === 'error' && first.value.code).toBe('USER:TypeError');
    await engine.stop();
  });

  it('fails once the user retry budget is spent', async () => {
    const broken = task({ name: 'fail.broken', retries: 1 }, () => {
      throw new Error('always');
    });
    const wf = workflow({ name: 'fail.broken_wf' }, () => {
      broken();
      return undefined;
    });
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'r2' });
    const done = await engine.waitForExecution(execId('r2'));
    expect(phaseOf(done)).toBe('FAILED');
    const error = done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value : undefined;
    expect(error?.code).toBe('USER:Error');
    expect(error?.kind).toBe(idl.core.ExecutionError_ErrorKind.USER);
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('r2'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items).toHaveLength(2);
    await engine.stop();
  });
});

describe('failure policy and the failure node', () => {
  const ok = task({ name: 'fail.ok', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
  const bad = task({ name: 'fail.bad', inputs: { x: t.int() }, outputs: { y: t.int() } }, () => {
    throw new Error('bad');
  });
  const slowOk = task({ name: 'fail.slow_ok', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
    await new Promise((r) => setTimeout(r, 20));
    return { y: x };
  });
  const cleanups: number[] = [];
  const cleanup = task({ name: 'fail.cleanup', inputs: { x: t.int() } }, ({ x }) => {
    cleanups.push(x);
  });

  it('fails immediately by default and runs the on-failure node with the workflow inputs', async () => {
    const wf = workflow(
      { name: 'fail.immediate', inputs: { x: t.int() }, outputs: { y: t.int(), z: t.int() }, onFailure: cleanup },
      ({ x }) => {
        const a = bad({ x });
        const b = slowOk({ x });
        return { y: ok({ x: a.y }).y, z: b.y };
      },
    );
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'f1', inputs: { x: 7 } });
    const done = await engine.waitForExecution(execId('f1'));
    expect(phaseOf(done)).toBe('FAILED');
    expect(cleanups).toEqual([7]);
    const events = await engine.listEvents(execId('f1'), { limit: 1000 });
    const phases = events.items
      .filter((e) => e.kind === 'workflow')
      .map((e) => idl.core.WorkflowExecution_Phase[e.event.phase]);
    expect(phases).toEqual(['RUNNING', 'FAILING', 'FAILED']);
    await engine.stop();
  });

  it('lets the executable nodes complete with fail-after-executable-nodes-complete', async () => {
    const wf = workflow(
      {
        name: 'fail.after',
        inputs: { x: t.int() },
        outputs: { y: t.int(), z: t.int() },
        failurePolicy: 'fail-after-executable-nodes-complete',
      },
      ({ x }) => ({ y: ok({ x: bad({ x }).y }).y, z: ok({ x: slowOk({ x }).y }).y }),
    );
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'f2', inputs: { x: 1 } });
    expect(phaseOf(await engine.waitForExecution(execId('f2')))).toBe('FAILED');
    const nodes = await engine.listNodeExecutions(execId('f2'));
    const byId = Object.fromEntries(nodes.items.map((n) => [n.id!.nodeId, nodePhase(n)]));
    expect(byId).toMatchObject({ n0: 'FAILED', n2: 'SUCCEEDED', n3: 'SUCCEEDED' });
    expect(byId.n1).toBeUndefined();
    await engine.stop();
  });

  it('runs what a node ending together with the failure unblocks, with fail-after-executable-nodes-complete', async () => {
    // `bad` and `quick` end within one turn, so their ends are committed in one batch, the failure first: the
    // graph must not be judged stuck before `quick` releases the node waiting for it.
    const quick = task({ name: 'fail.quick', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
    const wf = workflow(
      {
        name: 'fail.together',
        inputs: { x: t.int() },
        outputs: { y: t.int(), z: t.int() },
        failurePolicy: 'fail-after-executable-nodes-complete',
      },
      ({ x }) => ({ y: ok({ x: bad({ x }).y }).y, z: ok({ x: quick({ x }).y }).y }),
    );
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    for (let i = 0; i < 10; i++) {
      await engine.createExecution({ workflow: wf.id(settings), name: `together${i}`, inputs: { x: i } });
      expect(phaseOf(await engine.waitForExecution(execId(`together${i}`)))).toBe('FAILED');
      const nodes = await engine.listNodeExecutions(execId(`together${i}`));
      const byId = Object.fromEntries(nodes.items.map((n) => [n.id!.nodeId, nodePhase(n)]));
      expect(byId).toMatchObject({ n0: 'FAILED', n2: 'SUCCEEDED', n3: 'SUCCEEDED' });
    }
    await engine.stop();
  });
});

describe('launch validation', () => {
  const typed = task({ name: 'fail.typed', inputs: { x: t.int(), s: t.string() } }, () => undefined);
  const wf = workflow({ name: 'fail.typed_wf', inputs: { x: t.int(), s: t.string() } }, ({ x, s }) => {
    typed({ x, s });
    return undefined;
  });

  it('rejects missing, unknown and mistyped inputs with INVALID_INPUTS naming the input', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    const launch = (inputs: Record<string, unknown>) => engine.createExecution({ workflow: wf.id(settings), inputs });
    await expect(launch({ x: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUTS', id: 's' });
    await expect(launch({ x: 1, s: 'a', extra: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUTS', id: 'extra' });
    await expect(launch({ x: 'one', s: 'a' })).rejects.toMatchObject({ code: 'INVALID_INPUTS', id: 'x' });
    await expect(launch({ x: 1, s: 'a' })).resolves.toBeDefined();
    await engine.stop();
  });

  it('rejects a task type no plugin runs, at launch', async () => {
    const foreign = task({ name: 'fail.foreign', taskType: 'spark' }, () => undefined);
    const fw = workflow({ name: 'fail.foreign_wf' }, () => {
      foreign();
      return undefined;
    });
    const { engine } = await startEngine();
    await engine.register([fw], settings);
    const error = await engine.createExecution({ workflow: fw.id(settings) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutorError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_TASK_TYPE', id: 'fail.foreign' });
    await engine.stop();
  });

  it('keeps execution names unique per project and domain', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'same', inputs: { x: 1, s: 'a' } });
    await expect(
      engine.createExecution({ workflow: wf.id(settings), name: 'same', inputs: { x: 1, s: 'a' } }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await engine.stop();
  });

  it('makes registration immutable: same content is a no-op, different content an error', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.register([wf], settings);
    const changed = task({ name: 'fail.typed', inputs: { x: t.int() } }, () => undefined);
    await expect(engine.register([changed], settings)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await engine.stop();
  });
});
