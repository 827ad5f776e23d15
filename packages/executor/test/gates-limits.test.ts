import { approve, fromLiteralMap, idl, parseFilters, sleep, t, task, waitForInput, workflow } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { execId, ManualClock, nodePhase, phaseOf, settle, settings, startEngine } from './support.js';

const echo = task({ name: 'gate.echo', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));

function stringLiteral(value: string): idl.core.Literal {
  return {
    $typeName: 'flyteidl.core.Literal',
    value: {
      case: 'scalar',
      value: {
        $typeName: 'flyteidl.core.Scalar',
        value: {
          case: 'primitive',
          value: { $typeName: 'flyteidl.core.Primitive', value: { case: 'stringValue', value } },
        },
      },
    },
    hash: '',
    metadata: {},
  };
}

describe('gate nodes', () => {
  it('waits for a typed signal and passes its value on', async () => {
    const shout = task({ name: 'gate.shout', inputs: { s: t.string() }, outputs: { s: t.string() } }, ({ s }) => ({
      s: s.toUpperCase(),
    }));
    const wf = workflow({ name: 'gate.signal_wf', outputs: { s: t.string() } }, () => {
      const value = waitForInput('title', t.string());
      return { s: shout({ s: value }).s };
    });
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'g1' });
    await settle();
    expect(phaseOf(await engine.getExecution(execId('g1')))).toBe('RUNNING');
    await engine.setSignal(execId('g1'), 'title', stringLiteral('hello'));
    expect(phaseOf(await engine.waitForExecution(execId('g1')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('g1')))).toEqual({ s: 'HELLO' });
    await engine.stop();
  });

  it('passes an approved value on, and fails when it is rejected', async () => {
    const wf = workflow({ name: 'gate.approve_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      const v = echo({ x });
      return { y: echo({ x: approve(v.y, 'ok') }).y };
    });
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'g2', inputs: { x: 9 } });
    await engine.createExecution({ workflow: wf.id(settings), name: 'g3', inputs: { x: 9 } });
    await settle();
    await engine.approve(execId('g2'), 'ok');
    await engine.approve(execId('g3'), 'ok', false);
    expect(phaseOf(await engine.waitForExecution(execId('g2')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('g2')))).toEqual({ y: 9 });
    expect(phaseOf(await engine.waitForExecution(execId('g3')))).toBe('FAILED');
    await engine.stop();
  });

  it('sleeps on the engine clock', async () => {
    const clock = new ManualClock();
    const wf = workflow({ name: 'gate.sleep_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      const nap = sleep('10m');
      const e = echo({ x });
      nap.runsBefore(e);
      return { y: e.y };
    });
    const { engine } = await startEngine({ clock });
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'g4', inputs: { x: 1 } });
    await settle();
    await clock.advance(9 * 60_000);
    expect(phaseOf(await engine.getExecution(execId('g4')))).toBe('RUNNING');
    await clock.advance(60_000);
    expect(phaseOf(await engine.waitForExecution(execId('g4')))).toBe('SUCCEEDED');
    const nap = await engine.getNodeExecution({
      nodeId: 'n0',
      executionId: execId('g4'),
    } as idl.core.NodeExecutionIdentifier);
    expect(nodePhase(nap)).toBe('SUCCEEDED');
    await engine.stop();
  });
});

describe('timeouts', () => {
  it('times out an attempt on the engine clock and retries it as a user failure', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const stuck = task(
      { name: 'timeout.stuck', inputs: { x: t.int() }, outputs: { y: t.int() }, timeout: '1m', retries: 1 },
      async ({ x }, ctx) => {
        calls++;
        if (calls === 1)
          await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
        return { y: x };
      },
    );
    const wf = workflow({ name: 'timeout.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: stuck({ x }).y,
    }));
    const { engine } = await startEngine({ clock });
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 't1', inputs: { x: 3 } });
    await settle();
    await clock.advance(61_000);
    const t1 = await engine.waitForExecution(execId('t1'));
    expect(t1.closure?.outputResult.case === 'error' ? t1.closure.outputResult.value.message : '').toBe('');
    expect(phaseOf(t1)).toBe('SUCCEEDED');
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('t1'),
    } as idl.core.NodeExecutionIdentifier);
    const first = attempts.items[0]!.closure!;
    expect(idl.core.TaskExecution_Phase[first.phase]).toBe('FAILED');
    expect(first.outputResult.case === 'error' && first.outputResult.value.code).toBe('TimeoutExceeded');
    expect(attempts.items).toHaveLength(2);
    await engine.stop();
  });
});

describe('limits', () => {
  it('runs at most maxParallelism task nodes of an execution at once', async () => {
    let running = 0;
    let peak = 0;
    const busy = task({ name: 'limits.busy', inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      return { y: x };
    });
    const wf = workflow({ name: 'limits.fan', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      let last = busy({ x });
      for (let i = 0; i < 11; i++) last = busy({ x: i === 10 ? last.y : x });
      return { y: last.y };
    });
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'p1', inputs: { x: 1 }, maxParallelism: 3 });
    expect(phaseOf(await engine.waitForExecution(execId('p1')))).toBe('SUCCEEDED');
    expect(peak).toBe(3);
    await engine.stop();
  });

  it('enforces max concurrent executions and allowed task types per project-domain', async () => {
    const hold = task({ name: 'limits.hold' }, async () => new Promise<void>(() => undefined));
    const wf = workflow({ name: 'limits.hold_wf' }, () => {
      hold();
      return undefined;
    });
    const { engine } = await startEngine({
      config: { projectDomainSettings: [{ project: 'flytesnacks', domain: 'staging', maxConcurrentExecutions: 1 }] },
    });
    const staging = { ...settings, domain: 'staging' };
    await engine.register([wf], staging);
    await engine.createExecution({ workflow: wf.id(staging), name: 'l1' });
    await expect(engine.createExecution({ workflow: wf.id(staging), name: 'l2' })).rejects.toMatchObject({
      code: 'TOO_MANY_EXECUTIONS',
    });
    await engine.terminateExecution({ ...execId('l1'), domain: 'staging' }, 'done');
    await expect(engine.createExecution({ workflow: wf.id(staging), name: 'l3' })).resolves.toBeDefined();
    await engine.setProjectDomainSettings({
      project: 'flytesnacks',
      domain: 'production',
      allowedTaskTypes: ['container'],
    });
    const production = { ...settings, domain: 'production' };
    await engine.register([wf], production);
    await expect(engine.createExecution({ workflow: wf.id(production) })).rejects.toMatchObject({
      code: 'UNSUPPORTED_TASK_TYPE',
    });
    await expect(engine.register([wf], { ...settings, domain: 'qa' })).rejects.toMatchObject({
      code: 'UNKNOWN_PROJECT_DOMAIN',
    });
    await engine.stop();
  });

  it('lists executions with Flyte filters, sort keys and pages', async () => {
    const wf = workflow({ name: 'limits.list_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: echo({ x }).y,
    }));
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    for (let i = 0; i < 5; i++) {
      await engine.createExecution({ workflow: wf.id(settings), name: `q${i}`, inputs: { x: i } });
      await engine.waitForExecution(execId(`q${i}`));
    }
    const page1 = await engine.listExecutions({
      filters: parseFilters('eq(phase,SUCCEEDED)+eq(workflow.name,limits.list_wf)'),
      limit: 3,
    });
    expect(page1.items).toHaveLength(3);
    const page2 = await engine.listExecutions({
      filters: parseFilters('eq(phase,SUCCEEDED)+eq(workflow.name,limits.list_wf)'),
      limit: 3,
      token: page1.nextToken!,
    });
    expect([...page1.items, ...page2.items].map((e) => e.id!.name).sort()).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    await expect(engine.listExecutions({ filters: parseFilters('eq(nonsense,1)') })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await engine.stop();
  });
});
