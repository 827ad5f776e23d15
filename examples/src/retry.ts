// Retries: a task declared with `retries: 3` fails with a user error on its first two attempts and succeeds
// on the third. The node succeeds; each attempt is a task execution of its own (RETRYABLE_FAILED twice, then
// SUCCEEDED).
import { idl, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { nodeExecutionId, runToEnd, settings, type RunResult } from './engine.js';

/** Attempts that fail before the one that succeeds. */
export const FAILING_ATTEMPTS = 2;

/** Fetches (pretend) a value from a service that is down for the first attempts. */
export const flakyFetch = task(
  { name: 'examples.retry.flaky_fetch', inputs: { key: t.string() }, outputs: { value: t.string() }, retries: 3 },
  ({ key }, { attempt }) => {
    if (attempt < FAILING_ATTEMPTS) throw new Error(`service unavailable (attempt ${attempt})`);
    return { value: `value of ${key} (attempt ${attempt})` };
  },
);

/** A workflow of one flaky task. */
export const fetchWithRetries = workflow(
  { name: 'examples.retry.fetch_with_retries', inputs: { key: t.string() }, outputs: { value: t.string() } },
  ({ key }) => ({ value: flakyFetch({ key }).value }),
);

/** A run of {@link fetchWithRetries}. */
export interface RetryRun extends RunResult<typeof fetchWithRetries.outputs> {
  /** Phase of each task execution (attempt) of the flaky node, in order. */
  readonly attempts: readonly string[];
}

/** Runs the workflow; gives its result and the phase of each attempt of the flaky node. */
export async function runRetry(engine: Engine, key = 'answer', name = 'retry'): Promise<RetryRun> {
  await engine.register([fetchWithRetries], settings);
  const result = await runToEnd(engine, fetchWithRetries, name, { key });
  const attempts = await engine.listTaskExecutions(nodeExecutionId(result.id, 'n0'));
  const phases = attempts.items.map((a) => idl.core.TaskExecution_Phase[a.closure?.phase ?? 0] ?? '?');
  return { ...result, attempts: phases };
}
