// MemoryResourceManager beyond the contract: its clock stands in for a missing `now`.
import { describe, expect, it } from 'vitest';
import { MemoryResourceManager } from '@flyte-ts/store-memory';

describe('MemoryResourceManager', () => {
  it('expires tokens by its own clock when requests give no now', async () => {
    let now = 0;
    const rm = new MemoryResourceManager({ clock: { now: () => new Date(now), sleep: async () => {} } });
    await rm.setQuota('pool', 1);
    expect(await rm.allocate('pool', 'a', { ttlMs: 100 })).toBe('granted');
    expect(await rm.allocate('pool', 'b', { ttlMs: 100 })).toBe('exhausted');
    now = 100;
    expect(await rm.allocate('pool', 'b', { ttlMs: 100 })).toBe('granted');
  });
});
