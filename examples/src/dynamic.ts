// A dynamic fan-out: the number of nodes is known only at run time. The dynamic task's builder runs with the
// input values and records one `cube` node per shard plus a `total`; the engine compiles and runs that
// workflow under the dynamic node.
import { dynamic, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { runToEnd, settings, type RunResult } from './engine.js';

/** i³. */
export const cube = task(
  { name: 'examples.dynamic.cube', inputs: { i: t.int() }, outputs: { value: t.int() } },
  ({ i }) => ({ value: i ** 3 }),
);

/** The sum of a list. */
export const total = task(
  { name: 'examples.dynamic.total', inputs: { values: t.list(t.int()) }, outputs: { sum: t.int() } },
  ({ values }) => ({ sum: values.reduce((a, b) => a + b, 0) }),
);

/** One `cube` node per i in 1 … shards, then their sum: as many nodes as the input says. */
export const fanOut = dynamic(
  { name: 'examples.dynamic.fan_out', inputs: { shards: t.int() }, outputs: { sum: t.int() } },
  ({ shards }) => {
    const values = Array.from({ length: shards }, (_, i) => cube({ i: i + 1 }).value);
    return { sum: total({ values }).sum };
  },
);

/** 1³ + 2³ + … + shards³, which is (shards (shards + 1) / 2)². */
export const sumOfCubes = workflow(
  { name: 'examples.dynamic.sum_of_cubes', inputs: { shards: t.int() }, outputs: { sum: t.int() } },
  ({ shards }) => ({ sum: fanOut({ shards }).sum }),
);

/** A run of {@link sumOfCubes}. */
export interface DynamicRun extends RunResult<typeof sumOfCubes.outputs> {
  /** Nodes the dynamic task generated (start and end nodes aside). */
  readonly generated: number;
}

/** Runs the fan-out over `shards`; gives the sum and the number of nodes the dynamic task created. */
export async function runDynamic(engine: Engine, shards = 10, name = 'dynamic'): Promise<DynamicRun> {
  await engine.register([sumOfCubes], settings);
  const result = await runToEnd(engine, sumOfCubes, name, { shards });
  // The dynamic node is n0; the nodes it generated are its children (start and end nodes included).
  const children = await engine.listNodeExecutions(result.id, { parentNodeId: 'n0', limit: 1000 });
  const generated = children.items.filter((n) => !['start-node', 'end-node'].includes(n.metadata?.specNodeId ?? ''));
  return { ...result, generated: generated.length };
}
