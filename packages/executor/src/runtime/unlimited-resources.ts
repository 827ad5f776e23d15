// The default ResourceManager: every allocation is granted (no quota is configured).
import type { AllocationStatus, ResourceManager } from '@flyte-ts/core';

/** A ResourceManager without quotas: pools with a quota set are enforced in-process, others are unlimited. */
export class UnlimitedResourceManager implements ResourceManager {
  private readonly quotas = new Map<string, number>();
  private readonly held = new Map<string, Set<string>>();

  /** @inheritDoc */
  async setQuota(pool: string, quota: number): Promise<void> {
    this.quotas.set(pool, quota);
  }

  /** @inheritDoc */
  async allocate(pool: string, token: string): Promise<AllocationStatus> {
    const held = this.held.get(pool) ?? new Set<string>();
    this.held.set(pool, held);
    if (held.has(token)) return 'granted';
    const quota = this.quotas.get(pool);
    if (quota !== undefined && held.size >= quota) return 'exhausted';
    held.add(token);
    return 'granted';
  }

  /** @inheritDoc */
  async release(pool: string, token: string): Promise<void> {
    this.held.get(pool)?.delete(token);
  }
}
