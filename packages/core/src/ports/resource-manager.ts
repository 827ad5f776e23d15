// The ResourceManager port: quota tokens in named pools (Flyte's resource manager), so plugins can bound
// how many external jobs of a kind run at once (Hive queries per cluster, Batch jobs per queue, ...).
import type { OperationOptions } from './common.js';

/** Outcome of an allocation request. */
export type AllocationStatus = 'granted' | 'exhausted';

/**
 * Quota tokens. Guarantees (see `resourceManagerContract`): a pool never has more tokens granted than its
 * quota; `allocate` is idempotent per token (asking again for a held token is `granted` without taking
 * another); `release` is idempotent; a token released makes room at once.
 */
export interface ResourceManager {
  /** Sets the quota of a pool (creating it); lowering it below the tokens held revokes nothing. */
  setQuota(pool: string, quota: number, options?: OperationOptions): Promise<void>;
  /** Requests one token of `pool` for `token` (a unique id, e.g. the task attempt's generated name). */
  allocate(pool: string, token: string, options?: OperationOptions): Promise<AllocationStatus>;
  /** Returns a token to its pool. */
  release(pool: string, token: string, options?: OperationOptions): Promise<void>;
}
