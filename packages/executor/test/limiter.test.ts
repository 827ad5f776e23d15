import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/runtime/limiter.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

describe('Limiter', () => {
  it('runs at most `concurrency` jobs, the others in the order they came', async () => {
    const limiter = new Limiter(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const done = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        await gate.promise;
        return i * 10;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect([limiter.active, limiter.waiting]).toEqual([2, 3]);
    gates[1]!.resolve();
    await done[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    gates[4]!.resolve();
    expect(await Promise.all(done)).toEqual([0, 10, 20, 30, 40]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('passes failures through (thrown at once or later) and frees the slot', async () => {
    const limiter = new Limiter(1);
    await expect(
      limiter.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(limiter.run(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(await limiter.run(() => 'value')).toBe('value');
    expect(limiter.active).toBe(0);
  });

  it('resolves onIdle when nothing runs or waits, and keeps order across many jobs', async () => {
    const limiter = new Limiter(3);
    await limiter.onIdle();
    const order: number[] = [];
    const jobs = Array.from({ length: 3000 }, (_, i) =>
      limiter.run(async () => {
        await Promise.resolve();
        order.push(i);
      }),
    );
    let idle = false;
    const whenIdle = limiter.onIdle().then(() => (idle = true));
    expect(idle).toBe(false);
    await Promise.all(jobs);
    await whenIdle;
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('hands out free slots at once with tryAcquire, never ahead of waiting jobs', async () => {
    const limiter = new Limiter(2);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    let ran = false;
    const queued = limiter.run(() => {
      ran = true;
      return 1;
    });
    limiter.release();
    // The freed slot went to the waiting job, not to a later tryAcquire.
    expect(limiter.tryAcquire()).toBe(false);
    expect(await queued).toBe(1);
    expect(ran).toBe(true);
    limiter.release();
    await limiter.onIdle();
    expect(limiter.active).toBe(0);
  });

  it('rejects limits that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new Limiter(bad, 'config.handleConcurrency')).toThrow(/config.handleConcurrency must be/);
    }
    expect(new Limiter(Infinity).active).toBe(0);
  });
});
