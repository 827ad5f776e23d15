// Engines sharing a Store in one process: a terminate or a signal sent to an engine that does not drive the
// execution reaches the driver through the MemoryStore's in-process notices (intervals of hours: nothing else
// could deliver them in time), and, for a Store without notifications, through polling at short intervals.
import { idl, t, task, type ExecutionTransition } from '@flyte-ts/core';
import { MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { crossEngineSuite, HOURS } from './cross-engine.js';
import { execId, phaseOf, settings, startEngine, storeWith } from './support.js';

const pause = task({ name: 'cluster.pause', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));

const memory = new MemoryStore();
crossEngineSuite('engines sharing a MemoryStore in one process (in-process notices)', {
  store: async () => memory,
  intervals: HOURS,
  notices: true,
});

// What a Store without the `notifications` capability looks like to an engine.
const hidden = storeWith(new MemoryStore(), { notifications: undefined });
crossEngineSuite('engines sharing a Store without notifications (polling at short intervals)', {
  store: async () => hidden,
  intervals: { leases: { ...HOURS.leases, pollIntervalMs: 20 }, pollInterval: { baseMs: 20, maxMs: 20 } },
  notices: false,
});

describe('a terminate through an engine that does not drive the execution', () => {
  it('is recorded even when the driver writes the execution between its read and its commit', async () => {
    const memory = new MemoryStore();
    let raced = 0;
    // The driver's write lands between the terminate's read and its commit (once): a real commit, in between.
    const racing = storeWith(memory, {
      commit: async (transition: ExecutionTransition) => {
        const phase = transition.execution?.record.execution.closure?.phase;
        if (phase === idl.core.WorkflowExecution_Phase.ABORTING && raced++ === 0) {
          const current = (await memory.getExecution(transition.execution!.record.execution.id!))!;
          await memory.commit({ execution: { record: current, expectedRevision: current.revision } });
        }
        return memory.commit(transition);
      },
    });
    const { engine } = await startEngine({ store: racing });
    await engine.stop();
    await engine.register([pause], settings);
    await engine.createExecution({ task: pause.id(settings), name: 'raced', inputs: { x: 1 } });
    await engine.terminateExecution(execId('raced'), 'stop after a race');
    const execution = await engine.getExecution(execId('raced'));
    expect(raced).toBe(2);
    expect(phaseOf(execution)).toBe('ABORTING');
    const result = execution?.closure?.outputResult;
    expect(result?.case === 'abortMetadata' ? result.value.cause : undefined).toBe('stop after a race');
  });
});
