// The example pipeline of the Quickstart: split a text into words, measure each word in parallel (a map
// task), summarize, and label the result with a branch. Cached tasks, a subworkflow-free DAG, and a
// scheduled launch plan.
import { conditional, launchPlan, map, t, task, workflow } from '@flyte-ts/core';

/** Splits a text into lowercase words. */
export const tokenize = task(
  {
    name: 'examples.word_stats.tokenize',
    inputs: { text: t.string() },
    outputs: { words: t.list(t.string()) },
    cache: { version: '1' },
  },
  ({ text }) => ({ words: text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [] }),
);

/** Length of one word (run once per word by a map task). */
export const measure = task(
  {
    name: 'examples.word_stats.measure',
    inputs: { word: t.string() },
    outputs: { length: t.int() },
    retries: 2,
  },
  ({ word }) => ({ length: [...word].length }),
);

/** Total and longest length. */
export const summarize = task(
  {
    name: 'examples.word_stats.summarize',
    inputs: { lengths: t.list(t.int()) },
    outputs: { total: t.int(), longest: t.int() },
  },
  ({ lengths }) => ({ total: lengths.reduce((a, b) => a + b, 0), longest: Math.max(0, ...lengths) }),
);

/** A label for a text of that many letters. */
export const label = task(
  {
    name: 'examples.word_stats.label',
    inputs: { total: t.int(), size: t.enum(['short', 'long']) },
    outputs: { label: t.string() },
  },
  ({ total, size }) => ({ label: `${size} text (${total} letters)` }),
);

/** The pipeline: tokenize → measure every word → summarize → label by size. */
export const wordStats = workflow(
  {
    name: 'examples.word_stats.word_stats',
    inputs: { text: t.string(), threshold: t.int() },
    outputs: { total: t.int(), longest: t.int(), label: t.string() },
    defaults: { threshold: 40 },
  },
  ({ text, threshold }) => {
    const { words } = tokenize({ text });
    const lengths = map(measure, { concurrency: 8 })({ word: words });
    const summary = summarize({ lengths: lengths.length });
    const labelled = conditional('size')
      .if(summary.total.gt(threshold))
      .then(() => label({ total: summary.total, size: 'long' }))
      .else(() => label({ total: summary.total, size: 'short' }));
    return { total: summary.total, longest: summary.longest, label: labelled.label };
  },
);

/** Runs the pipeline every night on a fixed text. */
export const nightly = launchPlan(wordStats, {
  name: 'examples.word_stats.nightly',
  fixedInputs: { text: 'Flyte semantics, embedded in TypeScript.' },
  schedule: { cron: '0 3 * * *', timezone: 'UTC' },
  labels: { team: 'examples' },
});
