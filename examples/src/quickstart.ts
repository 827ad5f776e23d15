// The Quickstart: `wf(n=500, mean=42, sigma=2)` draws a normal sample in one task (Box–Muller), then
// estimates its mean and standard deviation in two more. The estimates land near 42 and 2.
import { t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { runToEnd, settings, type RunResult } from './engine.js';

/** A seeded uniform generator on [0, 1) (mulberry32): the same seed gives the same sample. */
export function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Draws `n` values of a normal distribution (Box–Muller); without a seed, a different sample each run. */
export const sample = task(
  {
    name: 'examples.quickstart.sample',
    inputs: { n: t.int(), mean: t.float(), sigma: t.float(), seed: t.optional(t.int()) },
    outputs: { values: t.list(t.float()) },
  },
  ({ n, mean, sigma, seed }) => {
    const random = seed === null ? Math.random : uniform(seed);
    const values: number[] = [];
    while (values.length < n) {
      // 1 - u is in (0, 1]: the logarithm stays finite.
      const radius = Math.sqrt(-2 * Math.log(1 - random()));
      const angle = 2 * Math.PI * random();
      values.push(mean + sigma * radius * Math.cos(angle), mean + sigma * radius * Math.sin(angle));
    }
    return { values: values.slice(0, n) };
  },
);

/** The mean of the values. Pure, so cached: a second run with the same sample reads the result back. */
export const meanOf = task(
  {
    name: 'examples.quickstart.mean_of',
    inputs: { values: t.list(t.float()) },
    outputs: { mean: t.float() },
    cache: { version: '1' },
  },
  ({ values }) => ({ mean: values.reduce((a, b) => a + b, 0) / values.length }),
);

/** The sample standard deviation of the values around their mean. Cached too. */
export const stdOf = task(
  {
    name: 'examples.quickstart.std_of',
    inputs: { values: t.list(t.float()), mean: t.float() },
    outputs: { std: t.float() },
    cache: { version: '1' },
  },
  ({ values, mean }) => ({
    std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1)),
  }),
);

/** The Quickstart workflow: sample, then estimate. */
export const wf = workflow(
  {
    name: 'examples.quickstart.wf',
    inputs: { n: t.int(), mean: t.float(), sigma: t.float(), seed: t.optional(t.int()) },
    outputs: { mean: t.float(), std: t.float() },
    defaults: { n: 500, mean: 42, sigma: 2 },
  },
  ({ n, mean, sigma, seed }) => {
    const { values } = sample({ n, mean, sigma, seed });
    const estimate = meanOf({ values });
    const spread = stdOf({ values, mean: estimate.mean });
    return { mean: estimate.mean, std: spread.std };
  },
);

/** Registers the Quickstart and runs it once under `name`, with the defaults and the given seed. */
export async function runQuickstart(
  engine: Engine,
  options: { readonly name?: string; readonly seed?: number } = {},
): Promise<RunResult<typeof wf.outputs>> {
  await engine.register([wf], settings);
  return runToEnd(engine, wf, options.name ?? 'quickstart', options.seed === undefined ? {} : { seed: options.seed });
}
