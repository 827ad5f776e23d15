import { fromLiteralMap, t, task, workflow } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

const double = task({ name: 'test.double', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: x * 2,
}));
const add = task(
  { name: 'test.add', inputs: { a: t.int(), b: t.int() }, outputs: { sum: t.int() } },
  async ({ a, b }) => ({ sum: a + b }),
);
const pipeline = workflow(
  { name: 'test.pipeline', inputs: { x: t.int() }, outputs: { out: t.int() }, defaults: { x: 3 } },
  ({ x }) => {
    const d1 = double({ x });
    const d2 = double({ x: d1.y });
    const s = add({ a: d1.y, b: d2.y });
    return { out: s.sum };
  },
);

describe('engine', () => {
  it('runs a registered workflow to its outputs, recording every node and task execution', async () => {
    const { engine } = await startEngine();
    await engine.register([pipeline], settings);
    const created = await engine.createExecution({
      workflow: pipeline.id(settings),
      name: 'e1',
      inputs: { x: 5 },
    });
    expect(phaseOf(created)).toBe('QUEUED');
    const done = await engine.waitForExecution(execId('e1'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    const outputs = await engine.getExecutionOutputs(execId('e1'));
    expect(fromLiteralMap(pipeline.outputs, outputs)).toEqual({ out: 30 });
    const nodes = await engine.listNodeExecutions(execId('e1'));
    expect(nodes.items.map((n) => `${n.id?.nodeId}:${nodePhase(n)}`).sort()).toEqual([
      'end-node:SUCCEEDED',
      'n0:SUCCEEDED',
      'n1:SUCCEEDED',
      'n2:SUCCEEDED',
      'start-node:SUCCEEDED',
    ]);
    const attempts = await engine.listTaskExecutions({ nodeId: 'n2', executionId: execId('e1') } as never);
    expect(attempts.items).toHaveLength(1);
    await engine.stop();
  });

  it('applies the defaults of the workflow', async () => {
    const { engine } = await startEngine();
    await engine.register([pipeline], settings);
    await engine.createExecution({ workflow: pipeline.id(settings), name: 'e2' });
    await engine.waitForExecution(execId('e2'));
    expect(fromLiteralMap(pipeline.outputs, await engine.getExecutionOutputs(execId('e2')))).toEqual({ out: 18 });
    await engine.stop();
  });
});
