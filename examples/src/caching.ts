// Caching: a task with `cache: { version }` is memoized by its input values. The first run computes and
// stores the result (CACHE_POPULATED); the second, with the same inputs, reads it back (CACHE_HIT) without
// calling the function or creating a task execution.
import { idl, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { nodeExecutionId, runToEnd, settings, type RunResult } from './engine.js';

/** How many times the function of {@link slowSquare} ran in this process. */
export const calls = { slowSquare: 0 };

/** x², slowly (pretend): worth caching. */
export const slowSquare = task(
  {
    name: 'examples.caching.slow_square',
    inputs: { x: t.int() },
    outputs: { y: t.int() },
    cache: { version: '1' },
  },
  async ({ x }) => {
    calls.slowSquare++;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { y: x * x };
  },
);

/** A workflow of one cached task. */
export const cachedSquare = workflow(
  { name: 'examples.caching.cached_square', inputs: { x: t.int() }, outputs: { y: t.int() } },
  ({ x }) => ({ y: slowSquare({ x }).y }),
);

/** A run of {@link cachedSquare}, with what its cached node did. */
export interface CachedRun extends RunResult<typeof cachedSquare.outputs> {
  /** Cache status of the node (`CACHE_POPULATED`, `CACHE_HIT`, ...). */
  readonly cacheStatus: string | undefined;
  /** Task executions of the node: 0 when the cache answered. */
  readonly attempts: number;
}

/**
 * Runs the workflow twice with the same input; gives both runs, and how many times the task function ran
 * meanwhile.
 */
export async function runCaching(
  engine: Engine,
  x = 12,
  names: readonly string[] = ['cache-1', 'cache-2'],
): Promise<{ readonly runs: readonly CachedRun[]; readonly functionCalls: number }> {
  await engine.register([cachedSquare], settings);
  const before = calls.slowSquare;
  const runs: CachedRun[] = [];
  for (const name of names) {
    const result = await runToEnd(engine, cachedSquare, name, { x });
    const node = await engine.getNodeExecution(nodeExecutionId(result.id, 'n0'));
    const meta = node?.closure?.targetMetadata;
    const cacheStatus =
      meta?.case === 'taskNodeMetadata' ? idl.core.CatalogCacheStatus[meta.value.cacheStatus] : undefined;
    const attempts = (await engine.listTaskExecutions(nodeExecutionId(result.id, 'n0'))).items.length;
    runs.push({ ...result, cacheStatus, attempts });
  }
  return { runs, functionCalls: calls.slowSquare - before };
}
