import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runCaching } from '../src/caching.js';

describe('caching', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('populates the cache on the first run and hits it on the second, running the function once', async () => {
    const { runs, functionCalls } = await runCaching(engine, 12);
    expect(runs.map((r) => [r.phase, r.outputs, r.cacheStatus, r.attempts])).toEqual([
      ['SUCCEEDED', { y: 144 }, 'CACHE_POPULATED', 1],
      ['SUCCEEDED', { y: 144 }, 'CACHE_HIT', 0],
    ]);
    expect(functionCalls).toBe(1);
  });

  it('misses for other inputs', async () => {
    await runCaching(engine, 2, ['two']);
    const { runs, functionCalls } = await runCaching(engine, 3, ['three']);
    expect(runs[0]!.cacheStatus).toBe('CACHE_POPULATED');
    expect(runs[0]!.outputs).toEqual({ y: 9 });
    expect(functionCalls).toBe(1);
  });
});
