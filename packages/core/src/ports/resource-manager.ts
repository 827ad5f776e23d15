// The ResourceManager port: quota tokens in named pools (Flyte's resource manager), so plugins can bound
// how many external jobs of a kind run at once (Hive queries per cluster, Batch jobs per queue, ...).
import type { OperationOptions } from './common.js';

/** Outcome of an allocation request. */
export type AllocationStatus = 'granted' | 'exhausted';

/**
 * Quota tokens. Guarantees: a pool never has more tokens granted than its quota; `allocate` is idempotent per
 * token (asking again for a held token is `granted` without taking another, and renews it); `release` is
 * idempotent; a token released makes room at once; a token not renewed within its `ttlMs` is released (so a
 * process that died holding tokens does not leak quota).
 */
export interface ResourceManager {
  /** Sets the quota of a pool (creating it); lowering it below the tokens held revokes nothing. */
  setQuota(pool: string, quota: number, options?: OperationOptions): Promise<void>;
  /**
   * Requests (or renews) one token of `pool` for `token` (a unique id, e.g. the task attempt's generated name),
   * held until `now + ttlMs` unless renewed (no `ttlMs`: until released). Times come from the caller's Clock.
   */
  allocate(
    pool: string,
    token: string,
    options?: OperationOptions & { readonly ttlMs?: number; readonly now?: Date },
  ): Promise<AllocationStatus>;
  /** Returns a token to its pool. */
  release(pool: string, token: string, options?: OperationOptions): Promise<void>;
}
