// The Catalog port: memoization of task outputs with Data Catalog semantics. A cached task's outputs are
// stored as an artifact of the dataset of its signature (project, domain, task name, cache version,
// interface hash) and tagged with the hash of its input values. Keys are derived by `catalogKeyForTask`.
// Adapters: MemoryCatalog (@flyte-ts/store-memory), PostgresCatalog (@flyte-ts/store-postgres).
import type { Artifact, DatasetID, Reservation } from '../gen/flyteidl/datacatalog/index.js';
import type { LiteralMap, TaskExecutionIdentifier } from '../gen/flyteidl/core/index.js';
import type { OperationOptions } from './common.js';

/** Where a cached result lives: the dataset of a task signature and the tag of an input-values hash. */
export interface CatalogKey {
  /** Dataset of the task signature (`flyte_task-<name>`, version `<cache_version>-<in>-<out>`). */
  readonly dataset: DatasetID;
  /** Tag of the input values: `flyte_cached-<hash of the input LiteralMap>`. */
  readonly tag: string;
}

/** A cached result. */
export interface CatalogEntry {
  /** The artifact: dataset, outputs as artifact data, metadata (source execution), tags, created_at. */
  readonly artifact: Artifact;
  /** The outputs, as a LiteralMap (the artifact's data assembled). */
  readonly outputs: LiteralMap;
  /** The task execution that produced it, when recorded. */
  readonly source?: TaskExecutionIdentifier | undefined;
}

/** Options of {@link Catalog.put}. */
export interface CatalogPutOptions extends OperationOptions {
  /** The task execution that produced the outputs (recorded as the artifact's metadata). */
  readonly source?: TaskExecutionIdentifier | undefined;
  /** Replace an existing artifact under the same tag (Flyte's overwrite_cache); otherwise the first one stays. */
  readonly overwrite?: boolean | undefined;
}

/** Outcome of a reservation request. */
export interface ReservationResult {
  /** The reservation as stored (owner, heartbeat interval, expiry). */
  readonly reservation: Reservation;
  /** Whether the caller now owns it (it was free, expired, or already the caller's). */
  readonly acquired: boolean;
}

/**
 * Memoization store. Guarantees:
 * - `get` after `put` under the same key returns the outputs byte for byte; a different tag or dataset misses;
 * - a `put` under an existing tag keeps the first artifact unless `overwrite` (concurrent puts: one wins, the
 *   other resolves to the winner's entry, nothing half-written);
 * - reservations serialize identical work: at most one owner holds a key until it releases it or its
 *   reservation expires (`heartbeatMs` after its last extension, by the caller's clock), after which another
 *   caller may take it.
 */
export interface Catalog {
  /** The cached entry for `key`, or undefined on a miss. */
  get(key: CatalogKey, options?: OperationOptions): Promise<CatalogEntry | undefined>;
  /** Stores outputs under `key` and resolves to the entry that is now cached there. */
  put(key: CatalogKey, outputs: LiteralMap, options?: CatalogPutOptions): Promise<CatalogEntry>;
  /**
   * Acquires or extends the reservation of `key` for `ownerId`, valid until `now + heartbeatMs` (times come from
   * the caller's Clock, so every adapter agrees and tests control them).
   */
  getOrExtendReservation(
    key: CatalogKey,
    ownerId: string,
    request: { readonly heartbeatMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<ReservationResult>;
  /** Releases `ownerId`'s reservation of `key`; a no-op when it holds none. */
  releaseReservation(key: CatalogKey, ownerId: string, options?: OperationOptions): Promise<void>;
}
