// MemoryCatalog: the Catalog port in memory, with Data Catalog's shapes: one Artifact per cached result (one
// ArtifactData per output, the source execution in its metadata, its tag) and Reservations by the caller's clock.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  idl,
  InvalidArgumentError,
  systemClock,
  type Catalog,
  type CatalogEntry,
  type CatalogKey,
  type CatalogPutOptions,
  type Clock,
  type OperationOptions,
  type ReservationResult,
} from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';

/** Metadata keys of an artifact's source, as Flyte's catalog client writes them. */
export const ARTIFACT_METADATA_KEYS = {
  taskVersion: 'task-version',
  executionName: 'execution-name',
  executionDomain: 'exec-domain',
  executionProject: 'exec-project',
  nodeId: 'exec-node',
  attempt: 'exec-attempt',
  org: 'exec-org',
} as const;

/** Options of {@link MemoryCatalog}. */
export interface MemoryCatalogOptions {
  /** Clock of the artifacts' `created_at` (reservations use the caller's `now`). Default: the system clock. */
  readonly clock?: Clock | undefined;
}

interface HeldReservation {
  readonly ownerId: string;
  readonly heartbeatMs: number;
  readonly expiresAtMs: number;
}

const SEP = '\u0000';

function datasetKey(dataset: idl.datacatalog.DatasetID | undefined): string {
  if (dataset === undefined) return '';
  return `${dataset.org}${SEP}${dataset.project}${SEP}${dataset.domain}${SEP}${dataset.name}${SEP}${dataset.version}`;
}

function catalogKey(key: CatalogKey): string {
  if (key.dataset === undefined || key.tag === '') {
    throw new InvalidArgumentError('a catalog key needs a dataset and a tag', { id: key.tag });
  }
  return `${datasetKey(key.dataset)}${SEP}${SEP}${key.tag}`;
}

/**
 * The Catalog port in memory (memoization for tests and single-process apps). Entries are shared, not copied:
 * treat the outputs given to `put` and the entries returned as immutable.
 */
export class MemoryCatalog implements Catalog {
  readonly #clock: Clock;
  readonly #entries = new Map<string, CatalogEntry>();
  readonly #reservations = new Map<string, HeldReservation>();
  #artifacts = 0;

  /**
   * @param options the clock of the artifacts' creation times
   */
  constructor(options: MemoryCatalogOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: CatalogKey, options?: OperationOptions): Promise<CatalogEntry | undefined> {
    throwIfAborted(options?.signal);
    return this.#entries.get(catalogKey(key));
  }

  async put(key: CatalogKey, outputs: idl.core.LiteralMap, options?: CatalogPutOptions): Promise<CatalogEntry> {
    throwIfAborted(options?.signal);
    const k = catalogKey(key);
    const existing = this.#entries.get(k);
    if (existing !== undefined && options?.overwrite !== true) return existing;
    this.#artifacts += 1;
    const id = `artifact-${this.#artifacts.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const artifact = create(idl.datacatalog.ArtifactSchema, {
      id,
      dataset: key.dataset,
      data: Object.entries(outputs.literals).map(([name, value]) =>
        create(idl.datacatalog.ArtifactDataSchema, { name, value }),
      ),
      metadata: create(idl.datacatalog.MetadataSchema, { keyMap: sourceMetadata(options?.source) }),
      tags: [create(idl.datacatalog.TagSchema, { name: key.tag, artifactId: id, dataset: key.dataset })],
      createdAt: timestampFromMs(this.#clock.now().getTime()),
    });
    const entry: CatalogEntry =
      options?.source === undefined ? { artifact, outputs } : { artifact, outputs, source: options.source };
    this.#entries.set(k, entry);
    return entry;
  }

  async getOrExtendReservation(
    key: CatalogKey,
    ownerId: string,
    request: { readonly heartbeatMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<ReservationResult> {
    throwIfAborted(options?.signal);
    if (ownerId === '') throw new InvalidArgumentError('a reservation owner must not be empty', { id: key.tag });
    if (!Number.isFinite(request.heartbeatMs) || request.heartbeatMs <= 0) {
      throw new InvalidArgumentError(`heartbeatMs must be positive, got ${request.heartbeatMs}`, { id: key.tag });
    }
    const nowMs = request.now.getTime();
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('now must be a valid Date', { id: key.tag });
    const k = catalogKey(key);
    const held = this.#reservations.get(k);
    if (held !== undefined && held.ownerId !== ownerId && nowMs < held.expiresAtMs) {
      return { reservation: reservation(key, held), acquired: false };
    }
    const mine = { ownerId, heartbeatMs: request.heartbeatMs, expiresAtMs: nowMs + request.heartbeatMs };
    this.#reservations.set(k, mine);
    return { reservation: reservation(key, mine), acquired: true };
  }

  async releaseReservation(key: CatalogKey, ownerId: string, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const k = catalogKey(key);
    if (this.#reservations.get(k)?.ownerId === ownerId) this.#reservations.delete(k);
  }
}

function reservation(key: CatalogKey, held: HeldReservation): idl.datacatalog.Reservation {
  return create(idl.datacatalog.ReservationSchema, {
    reservationId: create(idl.datacatalog.ReservationIDSchema, { datasetId: key.dataset, tagName: key.tag }),
    ownerId: held.ownerId,
    heartbeatInterval: durationFromMs(held.heartbeatMs),
    expiresAt: timestampFromMs(held.expiresAtMs),
  });
}

function sourceMetadata(source: idl.core.TaskExecutionIdentifier | undefined): { [key: string]: string } {
  if (source === undefined) return {};
  const node = source.nodeExecutionId;
  const execution = node?.executionId;
  const keys = ARTIFACT_METADATA_KEYS;
  return {
    [keys.taskVersion]: source.taskId?.version ?? '',
    [keys.executionName]: execution?.name ?? '',
    [keys.executionDomain]: execution?.domain ?? '',
    [keys.executionProject]: execution?.project ?? '',
    [keys.nodeId]: node?.nodeId ?? '',
    [keys.attempt]: String(source.retryAttempt),
    [keys.org]: execution?.org ?? '',
  };
}
