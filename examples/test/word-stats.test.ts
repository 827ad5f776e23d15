import { fromLiteralMap, idl } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runToEnd, settings, startMemoryEngine } from '../src/engine.js';
import { nightly, wordStats } from '../src/word-stats.js';

describe('word stats: tokenize, map, summarize, branch', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
    await engine.register([nightly], settings);
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('measures every word and labels a long text long', async () => {
    const result = await runToEnd(engine, wordStats, 'long', {
      text: 'Flyte semantics, embedded in TypeScript: typed tasks, compiled workflows.',
    });
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ total: 61, longest: 10, label: 'long text (61 letters)' });
  });

  it('labels a short text short, with the default threshold', async () => {
    const result = await runToEnd(engine, wordStats, 'short', { text: 'Hello, Flyte!' });
    expect(result.outputs).toEqual({ total: 10, longest: 5, label: 'short text (10 letters)' });
  });

  it('runs the scheduled launch plan by hand, with its fixed text', async () => {
    const created = await engine.createExecution({ launchPlan: nightly.id(settings), name: 'nightly' });
    const done = await engine.waitForExecution(created.id!);
    expect(done.closure?.phase).toBe(idl.core.WorkflowExecution_Phase.SUCCEEDED);
    const outputs = fromLiteralMap(wordStats.outputs, await engine.getExecutionOutputs(created.id!));
    expect(outputs).toEqual({ total: 34, longest: 10, label: 'short text (34 letters)' });
  });
});
