// PostgresResourceManager: quota tokens in named pools (Flyte's resource manager) on PostgreSQL. An allocation
// locks its pool's row, so the count of live tokens and the insert of a new one cannot race past the quota.
import {
  InvalidArgumentError,
  NotFoundError,
  systemClock,
  type AllocationStatus,
  type Clock,
  type OperationOptions,
  type ResourceManager,
} from '@flyte-ts/core';
import { sql, type Kysely } from 'kysely';
import { int8Number } from './codec.js';
import { throwIfAborted, translateError } from './errors.js';
import type { PostgresDatabase } from './schema.js';

/** Options of {@link PostgresResourceManager}. */
export interface PostgresResourceManagerOptions {
  /** The time used when `allocate` is called without `now`. Default: the system clock. */
  readonly clock?: Clock | undefined;
}

/**
 * The ResourceManager port on PostgreSQL (a server through `pg`, or embedded PGlite), shared by every process
 * on the database. Allocating from a pool whose quota was never set is `NOT_FOUND`: plugins declare their pools
 * (`setQuota`) when they start. Expiry is judged by the caller's `now` (or the clock given), never the
 * database's clock.
 */
export class PostgresResourceManager implements ResourceManager {
  readonly #db: Kysely<PostgresDatabase>;
  readonly #clock: Clock;

  /**
   * @param db a Kysely instance on a database migrated by {@link migrateToLatest}
   * @param options the clock used when a request gives no `now`
   */
  constructor(db: Kysely<PostgresDatabase>, options: PostgresResourceManagerOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
  }

  async setQuota(pool: string, quota: number, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (!Number.isSafeInteger(quota) || quota < 0 || quota > 2 ** 31 - 1) {
      throw new InvalidArgumentError(`the quota of pool ${pool} must be a non-negative integer, got ${quota}`, {
        id: pool,
      });
    }
    await this.#run(`set quota of pool ${pool}`, async () => {
      await this.#db
        .insertInto('resource_pools')
        .values({ name: pool, quota })
        .onConflict((oc) => oc.column('name').doUpdateSet({ quota }))
        .execute();
    });
  }

  async allocate(
    pool: string,
    token: string,
    options?: OperationOptions & { readonly ttlMs?: number; readonly now?: Date },
  ): Promise<AllocationStatus> {
    throwIfAborted(options?.signal);
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new InvalidArgumentError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`, { id: token });
    }
    const nowMs = (options?.now ?? this.#clock.now()).getTime();
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('now must be a valid Date', { id: token });
    const now = String(nowMs);
    const expiresAt = ttlMs === undefined ? null : String(nowMs + Math.ceil(ttlMs));
    return this.#run(`allocate ${token} from pool ${pool}`, () =>
      this.#db.transaction().execute(async (trx): Promise<AllocationStatus> => {
        throwIfAborted(options?.signal);
        const row = await trx
          .selectFrom('resource_pools')
          .select('quota')
          .where('name', '=', pool)
          .forUpdate()
          .executeTakeFirst();
        if (row === undefined) {
          throw new NotFoundError(
            `resource pool ${pool} has no quota: call setQuota(${JSON.stringify(pool)}, n) first`,
            { id: pool },
          );
        }
        // A live token of the caller is renewed, never counted twice.
        const renewed = await trx
          .updateTable('resource_tokens')
          .set({ expires_at_ms: expiresAt })
          .where('pool', '=', pool)
          .where('token', '=', token)
          .where((eb) => eb.or([eb('expires_at_ms', 'is', null), eb('expires_at_ms', '>', now)]))
          .executeTakeFirst();
        if (renewed.numUpdatedRows === 1n) return 'granted';
        await trx.deleteFrom('resource_tokens').where('pool', '=', pool).where('expires_at_ms', '<=', now).execute();
        const { held } = await trx
          .selectFrom('resource_tokens')
          .select(sql<string | number | bigint>`count(*)`.as('held'))
          .where('pool', '=', pool)
          .executeTakeFirstOrThrow();
        if (int8Number(held, 'count') >= row.quota) return 'exhausted';
        await trx.insertInto('resource_tokens').values({ pool, token, expires_at_ms: expiresAt }).execute();
        return 'granted';
      }),
    );
  }

  async release(pool: string, token: string, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    await this.#run(`release ${token} of pool ${pool}`, async () => {
      await this.#db.deleteFrom('resource_tokens').where('pool', '=', pool).where('token', '=', token).execute();
    });
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translateError(error, what);
    }
  }
}
