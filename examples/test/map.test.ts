import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runMap } from '../src/map.js';

describe('map over 1,000 items', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('squares every item in its own map run and sums the results', async () => {
    const result = await runMap(engine);
    expect(result.phase).toBe('SUCCEEDED');
    // 0² + 1² + … + 999² = 999 · 1000 · 1999 / 6
    expect(result.outputs).toEqual({ sum: 332_833_500 });
    expect(result.items).toBe(1000);
  });

  it('handles an empty list', async () => {
    const result = await runMap(engine, 0, 'map-empty');
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ sum: 0 });
    expect(result.items).toBe(0);
  });
});
