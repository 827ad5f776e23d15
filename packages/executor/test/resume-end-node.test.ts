// A run cut between its end node's QUEUED and SUCCEEDED commits (a lost lease, a crash) resumes to the workflow's
// outputs: the end node's inputs are the workflow's outputs and are never written as inputs.pb, so the runner that
// resumes resolves them again from the upstream outputs.
import { ConflictError, fromLiteralMap, idl, t, task, workflow, type ExecutionTransition } from '@flyte-ts/core';
import { MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { execId, phaseOf, settings, startEngine, storeWith } from './support.js';

const NP = idl.core.NodeExecution_Phase;

const inc = task({ name: 'resume.inc', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));
const once = workflow({ name: 'resume.once', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: inc({ x }).y,
}));

describe('resuming an execution whose end node was QUEUED', () => {
  it('resolves the end node inputs again and succeeds', async () => {
    const memory = new MemoryStore();
    let cut = 0;
    // The commit that ends the end node is cut once: what reached the Store is the end node QUEUED, nothing after
    // it (as when the lease is lost between two commits); the runner is told CONFLICT and the engine resumes.
    const store = storeWith(memory, {
      commit: async (transition: ExecutionTransition) => {
        const end = transition.nodeExecutions?.find(
          (n) =>
            n.record.nodeExecution.id?.nodeId === 'end-node' && n.record.nodeExecution.closure?.phase === NP.SUCCEEDED,
        );
        if (end === undefined || cut++ > 0) return memory.commit(transition);
        const node = end.record.nodeExecution;
        const queued = { ...node, closure: { ...node.closure!, phase: NP.QUEUED, outputResult: { case: undefined } } };
        await memory.commit({
          nodeExecutions: [
            { record: { ...end.record, nodeExecution: queued }, expectedRevision: end.expectedRevision },
          ],
        });
        throw new ConflictError('the lease was lost after the end node was QUEUED', { id: 'end-node' });
      },
    });
    const { engine } = await startEngine({ store });
    await engine.register([once], settings);
    await engine.createExecution({ workflow: once.id(settings), name: 'cut', inputs: { x: 1 } });
    const done = await engine.waitForExecution(execId('cut'));
    const error = done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value.message : undefined;
    expect(error).toBeUndefined();
    expect(phaseOf(done)).toBe('SUCCEEDED');
    // Cut once, then committed by the runner that resumed.
    expect(cut).toBe(2);
    expect(fromLiteralMap(once.outputs, await engine.getExecutionOutputs(execId('cut')))).toEqual({ y: 2 });
    await engine.stop();
  });
});
