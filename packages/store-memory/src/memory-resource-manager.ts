// MemoryResourceManager: quota tokens in named pools (Flyte's resource manager) in memory, with tokens that
// expire when not renewed within their TTL, by the caller's clock.
import {
  InvalidArgumentError,
  NotFoundError,
  systemClock,
  type AllocationStatus,
  type Clock,
  type OperationOptions,
  type ResourceManager,
} from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';

/** Options of {@link MemoryResourceManager}. */
export interface MemoryResourceManagerOptions {
  /** The time used when `allocate` is called without `now`. Default: the system clock. */
  readonly clock?: Clock | undefined;
}

interface Pool {
  quota: number;
  /** Token → expiry in ms (Infinity: held until released). */
  readonly tokens: Map<string, number>;
}

/**
 * The ResourceManager port in memory. Allocating from a pool whose quota was never set is `NOT_FOUND`: plugins
 * declare their pools (`setQuota`) when they start.
 */
export class MemoryResourceManager implements ResourceManager {
  readonly #clock: Clock;
  readonly #pools = new Map<string, Pool>();

  /**
   * @param options the clock used when a request gives no `now`
   */
  constructor(options: MemoryResourceManagerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async setQuota(pool: string, quota: number, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (!Number.isSafeInteger(quota) || quota < 0) {
      throw new InvalidArgumentError(`the quota of pool ${pool} must be a non-negative integer, got ${quota}`, {
        id: pool,
      });
    }
    const existing = this.#pools.get(pool);
    if (existing === undefined) this.#pools.set(pool, { quota, tokens: new Map() });
    else existing.quota = quota;
  }

  async allocate(
    pool: string,
    token: string,
    options?: OperationOptions & { readonly ttlMs?: number; readonly now?: Date },
  ): Promise<AllocationStatus> {
    throwIfAborted(options?.signal);
    const state = this.#pools.get(pool);
    if (state === undefined) {
      throw new NotFoundError(`resource pool ${pool} has no quota: call setQuota(${JSON.stringify(pool)}, n) first`, {
        id: pool,
      });
    }
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new InvalidArgumentError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`, { id: token });
    }
    const nowMs = (options?.now ?? this.#clock.now()).getTime();
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('now must be a valid Date', { id: token });
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : nowMs + ttlMs;

    const held = state.tokens.get(token);
    if (held !== undefined && nowMs < held) {
      state.tokens.set(token, expiresAt);
      return 'granted';
    }
    for (const [other, until] of state.tokens) if (until <= nowMs) state.tokens.delete(other);
    if (state.tokens.size >= state.quota) return 'exhausted';
    state.tokens.set(token, expiresAt);
    return 'granted';
  }

  async release(pool: string, token: string, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    this.#pools.get(pool)?.tokens.delete(token);
  }
}
