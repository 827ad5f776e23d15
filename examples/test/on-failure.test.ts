import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runOnFailure } from '../src/on-failure.js';
import { nodeTimeline } from '../src/timeline.js';

describe('a failing workflow with an on-failure node', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('ends FAILED with the task error, after running the on-failure task with the workflow inputs', async () => {
    const result = await runOnFailure(engine, 'order-7', 5);
    expect(result.phase).toBe('FAILED');
    expect(result.outputs).toBeUndefined();
    expect(result.error?.code).toBe('USER:Error');
    expect(result.error?.message).toContain('payment declined for order-7:5');
    expect(result.released).toEqual([{ order: 'order-7', quantity: 5 }]);
    const rows = await nodeTimeline(engine, result.id);
    expect(rows.filter((r) => r.nodeId !== 'start-node').map((r) => [r.nodeId, r.name, r.phase])).toEqual([
      ['n0', 'reserve_stock', 'SUCCEEDED'],
      ['n1', 'charge', 'FAILED'],
      ['fn0', 'release_stock', 'SUCCEEDED'],
    ]);
  });
});
