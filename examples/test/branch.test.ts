import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runBranch } from '../src/branch.js';

describe('branch: one Collatz step', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('halves an even number, running only the halve case', async () => {
    const result = await runBranch(engine, 6);
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ next: 3 });
    expect(result.chosen).toEqual(['halve']);
  });

  it('triples an odd number and adds one, running only the triple case', async () => {
    const result = await runBranch(engine, 7);
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ next: 22 });
    expect(result.chosen).toEqual(['triple']);
  });
});
