import { describe, expect, it } from 'vitest';
import { runPods } from '../src/pods.js';

// Each pod is a Node process loading TypeScript through tsx: give the run time on a loaded machine.
describe('tasks as pods on a simulated cluster', { timeout: 60_000 }, () => {
  it('runs each task in a pod process that reads and writes the shared blob store', async () => {
    const result = await runPods('emea', 4, 'pods-1');
    expect(result.phase).toBe('SUCCEEDED');
    expect(result.outputs).toEqual({ total: 100, report: '4 orders, 100 in total (execution pods-1)' });
    expect(result.pods).toBe(2);
    expect(result.podsLeft).toBe(0);
  });
});
