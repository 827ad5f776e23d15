// The ResourceManager contract: quota-token guarantees of the ResourceManager port as a vitest suite. One
// instance serves the suite; each test uses pools of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceManager } from '../ports/resource-manager.js';
import { abortedSignal, BASE_MS, expectAbortReason, expectCode, unique } from './support.js';

/** A ResourceManager to run the contract against. */
export interface ResourceManagerUnderTest {
  /** The adapter. */
  readonly resourceManager: ResourceManager;
  /** Called once after the suite. */
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/** Creates the ResourceManager under test; called once per suite. */
export type ResourceManagerFactory = () => Promise<ResourceManagerUnderTest>;

const SETUP_TIMEOUT_MS = 120_000;

/**
 * Registers the ResourceManager contract suite: the quota bound, idempotent allocation and release, expiry of
 * tokens not renewed within their TTL (by the caller's clock), and quota changes.
 * @param name the adapter's name, shown in the test report
 * @param factory creates the adapter once for the whole suite
 */
export function resourceManagerContract(name: string, factory: ResourceManagerFactory): void {
  describe(`${name} (ResourceManager contract)`, () => {
    let subject: ResourceManagerUnderTest | undefined;
    let rm: ResourceManager;

    beforeAll(async () => {
      subject = await factory();
      rm = subject.resourceManager;
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await subject?.cleanup?.();
    }, SETUP_TIMEOUT_MS);

    async function pool(quota: number): Promise<string> {
      const id = unique('pool');
      await rm.setQuota(id, quota);
      return id;
    }

    it('never grants more tokens than the quota', async () => {
      const p = await pool(2);
      expect(await rm.allocate(p, 't1')).toBe('granted');
      expect(await rm.allocate(p, 't2')).toBe('granted');
      expect(await rm.allocate(p, 't3')).toBe('exhausted');
      expect(await rm.allocate(p, 't4')).toBe('exhausted');
    });

    it('grants a held token again without taking another', async () => {
      const p = await pool(2);
      expect(await rm.allocate(p, 't1')).toBe('granted');
      expect(await rm.allocate(p, 't1')).toBe('granted');
      expect(await rm.allocate(p, 't1')).toBe('granted');
      expect(await rm.allocate(p, 't2')).toBe('granted');
      expect(await rm.allocate(p, 't3')).toBe('exhausted');
    });

    it('makes room at once on release; releasing twice, or a token never held, frees nothing more', async () => {
      const p = await pool(1);
      expect(await rm.allocate(p, 't1')).toBe('granted');
      await rm.release(p, 't1');
      expect(await rm.allocate(p, 't2')).toBe('granted');
      await rm.release(p, 't1');
      await rm.release(p, 'never-held');
      expect(await rm.allocate(p, 't3')).toBe('exhausted');
      await rm.release(unique('no-such-pool'), 't1');
    });

    it('releases a token not renewed within its ttl, by the caller clock', async () => {
      const p = await pool(1);
      const at = (ms: number) => ({ ttlMs: 1000, now: new Date(BASE_MS + ms) });
      expect(await rm.allocate(p, 't1', at(0))).toBe('granted');
      expect(await rm.allocate(p, 't2', at(999))).toBe('exhausted');
      expect(await rm.allocate(p, 't2', at(1000))).toBe('granted');
      // t1 lost its token: asking again competes like a new token.
      expect(await rm.allocate(p, 't1', at(1001))).toBe('exhausted');
    });

    it('renews a token when it is allocated again', async () => {
      const p = await pool(1);
      const at = (ms: number) => ({ ttlMs: 1000, now: new Date(BASE_MS + ms) });
      expect(await rm.allocate(p, 't1', at(0))).toBe('granted');
      expect(await rm.allocate(p, 't1', at(900))).toBe('granted');
      expect(await rm.allocate(p, 't2', at(1500))).toBe('exhausted');
      expect(await rm.allocate(p, 't2', at(1900))).toBe('granted');
    });

    it('applies a raised quota at once, and a lowered one to new tokens only', async () => {
      const p = await pool(1);
      expect(await rm.allocate(p, 't1')).toBe('granted');
      expect(await rm.allocate(p, 't2')).toBe('exhausted');
      await rm.setQuota(p, 3);
      expect(await rm.allocate(p, 't2')).toBe('granted');
      expect(await rm.allocate(p, 't3')).toBe('granted');
      await rm.setQuota(p, 1);
      // Lowering revokes nothing: the three holders keep (and renew) their tokens.
      for (const token of ['t1', 't2', 't3']) expect(await rm.allocate(p, token)).toBe('granted');
      expect(await rm.allocate(p, 't4')).toBe('exhausted');
      await rm.release(p, 't1');
      await rm.release(p, 't2');
      expect(await rm.allocate(p, 't4')).toBe('exhausted');
      await rm.release(p, 't3');
      expect(await rm.allocate(p, 't4')).toBe('granted');
    });

    it('keeps pools apart', async () => {
      const a = await pool(1);
      const b = await pool(1);
      expect(await rm.allocate(a, 'same-token')).toBe('granted');
      expect(await rm.allocate(b, 'same-token')).toBe('granted');
      expect(await rm.allocate(b, 'other')).toBe('exhausted');
    });

    it('grants a contended last token to exactly one of several concurrent callers', async () => {
      const p = await pool(1);
      const results = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((token) => rm.allocate(p, token)));
      expect(results.filter((r) => r === 'granted')).toHaveLength(1);
    });

    it('rejects allocation from a pool whose quota was never set with NOT_FOUND', async () => {
      await expectCode(rm.allocate(unique('unset-pool'), 't1'), 'NOT_FOUND');
    });

    it('rejects a quota that is not a non-negative integer with INVALID_ARGUMENT', async () => {
      for (const quota of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectCode(rm.setQuota(unique('pool'), quota), 'INVALID_ARGUMENT');
      }
      const p = await pool(0);
      expect(await rm.allocate(p, 't1')).toBe('exhausted');
    });

    it('rejects with the reason of an already-aborted signal, and takes nothing', async () => {
      const p = await pool(1);
      const { signal, reason } = abortedSignal();
      await expectAbortReason(rm.allocate(p, 't1', { signal }), reason);
      expect(await rm.allocate(p, 't2')).toBe('granted');
    });
  });
}
