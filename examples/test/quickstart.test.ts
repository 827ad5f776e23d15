import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runQuickstart, sample, uniform } from '../src/quickstart.js';
import { formatTimeline, nodeTimeline } from '../src/timeline.js';

describe('the Quickstart: wf(n=500, mean=42, sigma=2)', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('estimates a mean near 42 and a standard deviation near 2 from a seeded sample of 500', async () => {
    const result = await runQuickstart(engine, { seed: 7 });
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs!.mean).toBeGreaterThan(41.5);
    expect(result.outputs!.mean).toBeLessThan(42.5);
    expect(result.outputs!.std).toBeGreaterThan(1.5);
    expect(result.outputs!.std).toBeLessThan(2.5);
  });

  it('gives the same estimates for the same seed, and runs without one', async () => {
    const first = await runQuickstart(engine, { name: 'seeded-1', seed: 11 });
    const second = await runQuickstart(engine, { name: 'seeded-2', seed: 11 });
    expect(second.outputs).toEqual(first.outputs);
    const unseeded = await runQuickstart(engine, { name: 'unseeded' });
    expect(unseeded.phase).toBe('SUCCEEDED');
    expect(Math.abs(unseeded.outputs!.mean - 42)).toBeLessThan(1);
  });

  it('records a timeline of its nodes: sample runs each time, the cached estimates hit on the second run', async () => {
    await runQuickstart(engine, { name: 'timeline-1', seed: 3 });
    const second = await runQuickstart(engine, { name: 'timeline-2', seed: 3 });
    const rows = await nodeTimeline(engine, second.id);
    expect(rows.map((r) => [r.nodeId, r.name, r.phase, r.cacheStatus, r.attempts])).toEqual([
      ['start-node', 'start-node', 'SUCCEEDED', undefined, 0],
      ['n0', 'sample', 'SUCCEEDED', 'CACHE_DISABLED', 1],
      ['n1', 'mean_of', 'SUCCEEDED', 'CACHE_HIT', 0],
      ['n2', 'std_of', 'SUCCEEDED', 'CACHE_HIT', 0],
      ['end-node', 'end-node', 'SUCCEEDED', undefined, 0],
    ]);
    const lines = formatTimeline(rows);
    expect(lines[0]).toMatch(/^node\s+name\s+phase\s+start ms\s+duration ms\s+cache\s+attempts$/);
    expect(lines.find((l) => l.startsWith('n1 '))).toMatch(/mean_of\s+SUCCEEDED.*CACHE_HIT\s+0$/);
  });
});

describe('the sample task', () => {
  it('draws exactly n values, the same ones for the same seed', async () => {
    const a = await sample.run({ n: 501, mean: 0, sigma: 1, seed: 5 });
    const b = await sample.run({ n: 501, mean: 0, sigma: 1, seed: 5 });
    expect(a.values).toHaveLength(501);
    expect(b.values).toEqual(a.values);
  });

  it('draws uniform numbers in [0, 1) from a seed', () => {
    const next = uniform(1);
    const draws = Array.from({ length: 1000 }, next);
    expect(draws.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(new Set(draws).size).toBe(1000);
  });
});
