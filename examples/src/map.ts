// A map task over 1,000 items: one task makes the items, `map` runs a task once per item (at most 50 at a
// time, Flyte's ArrayNode), and a last task adds up the list of results.
import { map, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { runToEnd, settings, type RunResult } from './engine.js';

/** The integers 0 … count - 1. */
export const range = task(
  { name: 'examples.map.range', inputs: { count: t.int() }, outputs: { items: t.list(t.int()) } },
  ({ count }) => ({ items: Array.from({ length: count }, (_, i) => i) }),
);

/** x². */
export const square = task(
  { name: 'examples.map.square', inputs: { x: t.int() }, outputs: { y: t.int() } },
  ({ x }) => ({ y: x * x }),
);

/** The sum of a list. */
export const total = task(
  { name: 'examples.map.total', inputs: { values: t.list(t.int()) }, outputs: { sum: t.int() } },
  ({ values }) => ({ sum: values.reduce((a, b) => a + b, 0) }),
);

/** Sum of the squares of 0 … count - 1, one map item per square. */
export const sumOfSquares = workflow(
  {
    name: 'examples.map.sum_of_squares',
    inputs: { count: t.int() },
    outputs: { sum: t.int() },
    defaults: { count: 1000 },
  },
  ({ count }) => {
    const { items } = range({ count });
    const squares = map(square, { concurrency: 50 })({ x: items });
    return { sum: total({ values: squares.y }).sum };
  },
);

/** A run of {@link sumOfSquares}. */
export interface MapRun extends RunResult<typeof sumOfSquares.outputs> {
  /** Map items that ran (node executions under the map node). */
  readonly items: number;
}

/** Runs the map over `count` items (1,000 by default); gives the sum and the number of map items run. */
export async function runMap(engine: Engine, count = 1000, name = 'map'): Promise<MapRun> {
  await engine.register([sumOfSquares], settings);
  const result = await runToEnd(engine, sumOfSquares, name, { count });
  // The map node is n1; each item is a child node execution.
  const items = await engine.listNodeExecutions(result.id, { parentNodeId: 'n1', limit: 10_000 });
  return { ...result, items: items.items.length };
}
