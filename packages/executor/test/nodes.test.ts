import { conditional, dynamic, fromLiteralMap, idl, launchPlan, map, t, task, workflow } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '@flyte-ts/store-memory';
import { execId, nodePhase, phaseOf, settings, startEngine, storeWith } from './support.js';

const square = task({ name: 'nodes.square', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: x * x,
}));
const sum = task({ name: 'nodes.sum', inputs: { xs: t.list(t.int()) }, outputs: { total: t.int() } }, ({ xs }) => ({
  total: xs.reduce((a, b) => a + b, 0),
}));
const describeSize = task(
  { name: 'nodes.describe', inputs: { n: t.int(), label: t.string() }, outputs: { text: t.string() } },
  ({ n, label }) => ({ text: `${label}:${n}` }),
);

describe('branch nodes', () => {
  const wf = workflow({ name: 'nodes.branching', inputs: { n: t.int() }, outputs: { text: t.string() } }, ({ n }) => {
    const s = square({ x: n });
    const out = conditional('size')
      .if(s.y.gt(100))
      .then(() => describeSize({ n: s.y, label: 'big' }))
      .elif(s.y.gt(10))
      .then(() => describeSize({ n: s.y, label: 'medium' }))
      .else(() => describeSize({ n: s.y, label: 'small' }));
    return { text: out.text };
  });

  it('runs only the case whose condition holds', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    for (const [n, expected] of [
      [20, 'big:400'],
      [4, 'medium:16'],
      [2, 'small:4'],
    ] as const) {
      const name = `b${n}`;
      await engine.createExecution({ workflow: wf.id(settings), name, inputs: { n } });
      const done = await engine.waitForExecution(execId(name));
      expect(phaseOf(done)).toBe('SUCCEEDED');
      expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId(name)))).toEqual({ text: expected });
      const children = await engine.listNodeExecutions(execId(name), { parentNodeId: 'n1' });
      expect(children.items).toHaveLength(1);
    }
    await engine.stop();
  });

  it('fails with the error of a branch without a true case and no else', async () => {
    const strict = workflow(
      { name: 'nodes.strict_branch', inputs: { n: t.int() }, outputs: { text: t.string() } },
      ({ n }) => {
        const out = conditional('only')
          .if(n.gt(0))
          .then(() => describeSize({ n, label: 'positive' }))
          .fail('n must be positive');
        return { text: out.text };
      },
    );
    const { engine } = await startEngine();
    await engine.register([strict], settings);
    await engine.createExecution({ workflow: strict.id(settings), name: 'neg', inputs: { n: -1 } });
    const done = await engine.waitForExecution(execId('neg'));
    expect(phaseOf(done)).toBe('FAILED');
    expect(done.closure?.outputResult.case === 'error' && done.closure.outputResult.value.message).toContain(
      'n must be positive',
    );
    await engine.stop();
  });
});

describe('array nodes (map tasks)', () => {
  const wf = workflow(
    { name: 'nodes.mapping', inputs: { xs: t.list(t.int()) }, outputs: { total: t.int() } },
    ({ xs }) => {
      const squares = map(square, { concurrency: 16 })({ x: xs });
      return { total: sum({ xs: squares.y }).total };
    },
  );

  it('maps a task over 1,000 items with a concurrency limit and gathers the outputs in order', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    await engine.createExecution({ workflow: wf.id(settings), name: 'm1', inputs: { xs } });
    const done = await engine.waitForExecution(execId('m1'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    const expected = xs.reduce((a, x) => a + x * x, 0);
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('m1')))).toEqual({ total: expected });
    const items = await engine.listNodeExecutions(execId('m1'), { parentNodeId: 'n0', limit: 1000 });
    expect(items.items).toHaveLength(1000);
    expect(items.items.every((n) => nodePhase(n) === 'SUCCEEDED')).toBe(true);
    await engine.stop();
  });

  it('succeeds with min success ratio when some items fail, failed items giving none', async () => {
    const fragile = task({ name: 'nodes.fragile', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
      if (x % 5 === 0) throw new Error(`no ${x}`);
      return { y: x };
    });
    const count = task(
      { name: 'nodes.count_some', inputs: { ys: t.list(t.optional(t.int())) }, outputs: { n: t.int() } },
      ({ ys }) => ({ n: ys.filter((y) => y !== null).length }),
    );
    const tolerant = workflow(
      { name: 'nodes.tolerant', inputs: { xs: t.list(t.int()) }, outputs: { n: t.int() } },
      ({ xs }) => {
        const ys = map(fragile, { minSuccessRatio: 0.7 })({ x: xs });
        return { n: count({ ys: ys.y }).n };
      },
    );
    const { engine } = await startEngine();
    await engine.register([tolerant], settings);
    await engine.createExecution({
      workflow: tolerant.id(settings),
      name: 'm2',
      inputs: { xs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    });
    const ok = await engine.waitForExecution(execId('m2'));
    expect(phaseOf(ok)).toBe('SUCCEEDED');
    expect(fromLiteralMap(tolerant.outputs, await engine.getExecutionOutputs(execId('m2')))).toEqual({ n: 8 });
    await engine.createExecution({ workflow: tolerant.id(settings), name: 'm3', inputs: { xs: [5, 10, 15, 1] } });
    expect(phaseOf(await engine.waitForExecution(execId('m3')))).toBe('FAILED');
    await engine.stop();
  });
});

describe('workflow nodes', () => {
  const inner = workflow({ name: 'nodes.inner', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
    y: square({ x: square({ x }).y }).y,
  }));
  const innerPlan = launchPlan(inner, { name: 'nodes.inner_lp' });
  const outer = workflow(
    { name: 'nodes.outer', inputs: { x: t.int() }, outputs: { a: t.int(), b: t.int() } },
    ({ x }) => ({ a: inner({ x }).y, b: innerPlan({ x }).y }),
  );

  it('runs a subworkflow inline and a launch plan as a child execution', async () => {
    const { engine } = await startEngine();
    await engine.register([outer], settings);
    await engine.createExecution({ workflow: outer.id(settings), name: 'w1', inputs: { x: 2 } });
    const done = await engine.waitForExecution(execId('w1'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap(outer.outputs, await engine.getExecutionOutputs(execId('w1')))).toEqual({ a: 16, b: 16 });
    const sub = await engine.listNodeExecutions(execId('w1'), { parentNodeId: 'n0' });
    expect(sub.items.map((n) => n.metadata?.specNodeId).sort()).toEqual(['end-node', 'n0', 'n1', 'start-node']);
    const lpNode = await engine.getNodeExecution({
      nodeId: 'n1',
      executionId: execId('w1'),
    } as idl.core.NodeExecutionIdentifier);
    const child =
      lpNode?.closure?.targetMetadata.case === 'workflowNodeMetadata'
        ? lpNode.closure.targetMetadata.value.executionId
        : undefined;
    expect(child).toBeDefined();
    const childExecution = await engine.getExecution(child!);
    expect(phaseOf(childExecution)).toBe('SUCCEEDED');
    expect(childExecution?.spec?.metadata?.mode).toBe(idl.admin.ExecutionMetadata_ExecutionMode.CHILD_WORKFLOW);
    expect(childExecution?.spec?.metadata?.parentNodeExecution?.nodeId).toBe('n1');
    await engine.stop();
  });

  it('terminates a child execution whose launch was in flight when its parent was terminated', async () => {
    // Holds back the Store's creation of the child until the parent's abort has begun.
    const memory = new MemoryStore();
    let entered!: () => void;
    const creating = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const store = storeWith(memory, {
      createExecution: async (...args: Parameters<MemoryStore['createExecution']>) => {
        if (args[0].execution.spec?.metadata?.mode === idl.admin.ExecutionMetadata_ExecutionMode.CHILD_WORKFLOW) {
          entered();
          await released;
        }
        return memory.createExecution(...args);
      },
    });
    const { engine } = await startEngine({ store });
    await engine.register([outer], settings);
    await engine.createExecution({ workflow: outer.id(settings), name: 'w2', inputs: { x: 3 } });
    await creating;
    const terminated = engine.terminateExecution(execId('w2'), 'stop it');
    release();
    await terminated;
    expect(phaseOf(await engine.waitForExecution(execId('w2')))).toBe('ABORTED');
    const children = await engine.listExecutions({
      filters: [{ fn: 'eq', field: 'mode', values: ['CHILD_WORKFLOW'] }],
    });
    expect(children.items).toHaveLength(1);
    const child = await engine.waitForExecution(children.items[0]!.id!);
    expect(phaseOf(child)).toBe('ABORTED');
    await engine.stop();
  });
});

describe('dynamic nodes', () => {
  const fanOut = dynamic({ name: 'nodes.fan_out', inputs: { n: t.int() }, outputs: { total: t.int() } }, ({ n }) => {
    const parts = Array.from({ length: n }, (_, i) => square({ x: i + 1 }).y);
    return { total: sum({ xs: parts }).total };
  });
  const nested = dynamic(
    { name: 'nodes.nested', inputs: { depth: t.int() }, outputs: { total: t.int() } },
    ({ depth }) => ({ total: fanOut({ n: depth }).total }),
  );
  const wf = workflow(
    { name: 'nodes.dynamic_wf', inputs: { n: t.int() }, outputs: { total: t.int(), again: t.int() } },
    ({ n }) => ({ total: fanOut({ n }).total, again: nested({ depth: n }).total }),
  );

  it('compiles and runs the workflow a task returns, recursively', async () => {
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'd1', inputs: { n: 10 } });
    const done = await engine.waitForExecution(execId('d1'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('d1')))).toEqual({
      total: 385,
      again: 385,
    });
    const parent = await engine.getNodeExecution({
      nodeId: 'n0',
      executionId: execId('d1'),
    } as idl.core.NodeExecutionIdentifier);
    expect(parent?.metadata?.isDynamic).toBe(true);
    const children = await engine.listNodeExecutions(execId('d1'), { parentNodeId: 'n0', limit: 100 });
    expect(children.items.length).toBe(13);
    await engine.stop();
  });
});
