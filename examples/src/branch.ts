// A branch: one step of the Collatz sequence. A task tells whether n is even; a conditional runs exactly
// one of two tasks on it (halve, or triple and add one). Only the chosen case gets a node execution.
import { conditional, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { runToEnd, settings, type RunResult } from './engine.js';
import { nodeTimeline } from './timeline.js';

/** Whether n is even. */
export const parity = task(
  { name: 'examples.branch.parity', inputs: { n: t.int() }, outputs: { even: t.boolean() } },
  ({ n }) => ({ even: n % 2 === 0 }),
);

/** n / 2, for an even n. */
export const halve = task(
  { name: 'examples.branch.halve', inputs: { n: t.int() }, outputs: { next: t.int() } },
  ({ n }) => ({ next: n / 2 }),
);

/** 3n + 1, for an odd n. */
export const triple = task(
  { name: 'examples.branch.triple', inputs: { n: t.int() }, outputs: { next: t.int() } },
  ({ n }) => ({ next: 3 * n + 1 }),
);

/** The next number of the Collatz sequence after n. */
export const collatzStep = workflow(
  { name: 'examples.branch.collatz_step', inputs: { n: t.int() }, outputs: { next: t.int() } },
  ({ n }) => {
    const { even } = parity({ n });
    const step = conditional('step')
      .if(even.isTrue())
      .then(() => halve({ n }))
      .else(() => triple({ n }));
    return { next: step.next };
  },
);

/** A run of {@link collatzStep}. */
export interface BranchRun extends RunResult<typeof collatzStep.outputs> {
  /** Names of the cases that ran: `halve` or `triple`, exactly one. */
  readonly chosen: readonly string[];
}

/** Runs one step from `n`; gives the next number and the case that ran. */
export async function runBranch(engine: Engine, n: number, name = `branch-${n}`): Promise<BranchRun> {
  await engine.register([collatzStep], settings);
  const result = await runToEnd(engine, collatzStep, name, { n });
  // The branch node is n1; the case it chose is its only child.
  const cases = await nodeTimeline(engine, result.id, { parentNodeId: 'n1' });
  return { ...result, chosen: cases.map((row) => row.name) };
}
