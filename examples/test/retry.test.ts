import type { Engine } from '@flyte-ts/executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryEngine } from '../src/engine.js';
import { runRetry } from '../src/retry.js';

describe('retry then succeed', () => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await startMemoryEngine();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('retries the failing attempts and succeeds, one task execution per attempt', async () => {
    const result = await runRetry(engine);
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ value: 'value of answer (attempt 2)' });
    expect(result.attempts).toEqual(['RETRYABLE_FAILED', 'RETRYABLE_FAILED', 'SUCCEEDED']);
  });
});
