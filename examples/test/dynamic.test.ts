import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runDynamic } from '../src/dynamic.js';

describe('dynamic fan-out', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('creates one node per shard at run time and sums their cubes', async () => {
    const result = await runDynamic(engine, 10);
    expect(result.phase).toBe('SUCCEEDED');
    // 1³ + … + 10³ = (10 · 11 / 2)²
    expect(result.outputs).toEqual({ sum: 3025 });
    expect(result.generated).toBe(10 + 1);
  });

  it('sizes the fan-out by the input of each run', async () => {
    const result = await runDynamic(engine, 25, 'dynamic-25');
    expect(result.outputs).toEqual({ sum: (25 * 26) ** 2 / 4 });
    expect(result.generated).toBe(25 + 1);
  });
});
