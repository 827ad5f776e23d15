// PostgresCatalog: the Catalog port on PostgreSQL with Data Catalog's tables and shapes: datasets (one per task
// signature), artifacts (one per cached result, its data the outputs), tags pointing at artifacts, and
// reservations that expire by the caller's clock.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
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
import type { Kysely, Transaction } from 'kysely';
import { randomUUID } from 'node:crypto';
import { bytes, int8Number } from './codec.js';
import { throwIfAborted, translateError } from './errors.js';
import { decode } from './records.js';
import type { PostgresDatabase } from './schema.js';

type Db = Kysely<PostgresDatabase>;
type Trx = Transaction<PostgresDatabase>;
type DatasetID = idl.datacatalog.DatasetID;

/** Options of {@link PostgresCatalog}. */
export interface PostgresCatalogOptions {
  /** Clock of the artifacts' `created_at` (reservations use the caller's `now`). Default: the system clock. */
  readonly clock?: Clock | undefined;
}

/** Metadata keys of an artifact's source, as Flyte's catalog client writes them. */
const METADATA_KEYS = {
  taskVersion: 'task-version',
  executionName: 'execution-name',
  executionDomain: 'exec-domain',
  executionProject: 'exec-project',
  nodeId: 'exec-node',
  attempt: 'exec-attempt',
  org: 'exec-org',
} as const;

/**
 * The Catalog port on PostgreSQL (a server through `pg`, or embedded PGlite). A put writes the artifact and its
 * tag in one transaction; concurrent puts under one tag resolve to the same winner (the tag's primary key
 * decides). A reservation is one row per key, taken or extended by a single conditional upsert, so two callers
 * never both acquire it.
 */
export class PostgresCatalog implements Catalog {
  readonly #db: Db;
  readonly #clock: Clock;

  /**
   * @param db a Kysely instance on a database migrated by {@link migrateToLatest}
   * @param options the clock of the artifacts' creation times
   */
  constructor(db: Kysely<PostgresDatabase>, options: PostgresCatalogOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: CatalogKey, options?: OperationOptions): Promise<CatalogEntry | undefined> {
    throwIfAborted(options?.signal);
    const dataset = requireKey(key);
    return this.#run(`get ${describe(key)}`, async () => taggedEntry(this.#db, dataset, key.tag));
  }

  async put(key: CatalogKey, outputs: idl.core.LiteralMap, options?: CatalogPutOptions): Promise<CatalogEntry> {
    throwIfAborted(options?.signal);
    const dataset = requireKey(key);
    const source = options?.source;
    const overwrite = options?.overwrite === true;
    const artifactId = randomUUID();
    const artifact = create(idl.datacatalog.ArtifactSchema, {
      id: artifactId,
      dataset,
      data: Object.entries(outputs.literals).map(([name, value]) =>
        create(idl.datacatalog.ArtifactDataSchema, { name, value }),
      ),
      metadata: create(idl.datacatalog.MetadataSchema, { keyMap: sourceMetadata(source) }),
      tags: [create(idl.datacatalog.TagSchema, { name: key.tag, artifactId, dataset })],
      createdAt: timestampFromMs(this.#clock.now().getTime()),
    });
    return this.#run(`put ${describe(key)}`, () =>
      this.#db.transaction().execute(async (trx) => {
        throwIfAborted(options?.signal);
        const datasetPk = await ensureDataset(trx, dataset);
        const held = await trx
          .selectFrom('catalog_tags')
          .select('artifact_pk')
          .where('dataset_pk', '=', datasetPk)
          .where('name', '=', key.tag)
          .forUpdate()
          .executeTakeFirst();
        if (held !== undefined && !overwrite) return (await taggedEntry(trx, dataset, key.tag))!;
        const inserted = await trx
          .insertInto('catalog_artifacts')
          .values({
            dataset_pk: datasetPk,
            artifact_id: artifactId,
            payload: toBinary(idl.datacatalog.ArtifactSchema, artifact),
            source: source === undefined ? null : toBinary(idl.core.TaskExecutionIdentifierSchema, source),
            created_at_ms: String(timestampMillis(artifact.createdAt)),
          })
          .returning('pk')
          .executeTakeFirstOrThrow();
        const artifactPk = String(inserted.pk);
        if (held !== undefined) {
          await trx
            .updateTable('catalog_tags')
            .set({ artifact_pk: artifactPk })
            .where('dataset_pk', '=', datasetPk)
            .where('name', '=', key.tag)
            .execute();
          // The replaced artifact had only this tag: it is gone with it.
          await trx.deleteFrom('catalog_artifacts').where('pk', '=', String(held.artifact_pk)).execute();
        } else {
          const tagged = await trx
            .insertInto('catalog_tags')
            .values({ dataset_pk: datasetPk, name: key.tag, artifact_pk: artifactPk })
            .onConflict((oc) => oc.columns(['dataset_pk', 'name']).doNothing())
            .executeTakeFirst();
          if (tagged.numInsertedOrUpdatedRows !== 1n) {
            // A concurrent put tagged first (it committed while this one waited): theirs is the cached entry.
            await trx.deleteFrom('catalog_artifacts').where('pk', '=', artifactPk).execute();
            return (await taggedEntry(trx, dataset, key.tag))!;
          }
        }
        return source === undefined ? { artifact, outputs } : { artifact, outputs, source };
      }),
    );
  }

  async getOrExtendReservation(
    key: CatalogKey,
    ownerId: string,
    request: { readonly heartbeatMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<ReservationResult> {
    throwIfAborted(options?.signal);
    const dataset = requireKey(key);
    if (ownerId === '') throw new InvalidArgumentError('a reservation owner must not be empty', { id: key.tag });
    if (!Number.isFinite(request.heartbeatMs) || request.heartbeatMs <= 0) {
      throw new InvalidArgumentError(`heartbeatMs must be positive, got ${request.heartbeatMs}`, { id: key.tag });
    }
    const nowMs = request.now instanceof Date ? request.now.getTime() : Number.NaN;
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('now must be a valid Date', { id: key.tag });
    const heartbeatMs = Math.ceil(request.heartbeatMs);
    const mine = { ownerId, heartbeatMs, expiresAtMs: nowMs + heartbeatMs };
    return this.#run(`reserve ${describe(key)}`, async () => {
      // Taken when free, expired, or already ours; otherwise the holder's row is left as it is. A holder who
      // releases between the two statements makes the second one miss: then try again.
      for (;;) {
        const taken = await this.#db
          .insertInto('catalog_reservations')
          .values({
            ...reservationKey(dataset, key.tag),
            owner_id: ownerId,
            heartbeat_ms: String(heartbeatMs),
            expires_at_ms: String(mine.expiresAtMs),
          })
          .onConflict((oc) =>
            oc
              .columns(['project', 'domain', 'name', 'version', 'org', 'tag'])
              .doUpdateSet((eb) => ({
                owner_id: eb.ref('excluded.owner_id'),
                heartbeat_ms: eb.ref('excluded.heartbeat_ms'),
                expires_at_ms: eb.ref('excluded.expires_at_ms'),
              }))
              .where((eb) =>
                eb.or([
                  eb('catalog_reservations.owner_id', '=', ownerId),
                  eb('catalog_reservations.expires_at_ms', '<=', String(nowMs)),
                ]),
              ),
          )
          .executeTakeFirst();
        if (taken.numInsertedOrUpdatedRows === 1n) return { reservation: reservation(key, mine), acquired: true };
        const held = await this.#db
          .selectFrom('catalog_reservations')
          .select(['owner_id', 'heartbeat_ms', 'expires_at_ms'])
          .where((eb) => eb.and(reservationKey(dataset, key.tag)))
          .executeTakeFirst();
        if (held !== undefined) {
          const holder = {
            ownerId: held.owner_id,
            heartbeatMs: int8Number(held.heartbeat_ms, 'heartbeat_ms'),
            expiresAtMs: int8Number(held.expires_at_ms, 'expires_at_ms'),
          };
          return { reservation: reservation(key, holder), acquired: false };
        }
      }
    });
  }

  async releaseReservation(key: CatalogKey, ownerId: string, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const dataset = requireKey(key);
    await this.#run(`release ${describe(key)}`, async () => {
      await this.#db
        .deleteFrom('catalog_reservations')
        .where((eb) => eb.and({ ...reservationKey(dataset, key.tag), owner_id: ownerId }))
        .execute();
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

function requireKey(key: CatalogKey): DatasetID {
  if (key.dataset === undefined || key.tag === '') {
    throw new InvalidArgumentError('a catalog key needs a dataset and a tag', { id: key.tag });
  }
  return key.dataset;
}

function describe(key: CatalogKey): string {
  const d = key.dataset;
  return `catalog entry ${d?.project}/${d?.domain}/${d?.name}@${d?.version} tag ${key.tag}`;
}

function datasetColumns(dataset: DatasetID) {
  return {
    org: dataset.org,
    project: dataset.project,
    domain: dataset.domain,
    name: dataset.name,
    version: dataset.version,
  };
}

/** The primary key columns of a reservation. */
function reservationKey(dataset: DatasetID, tag: string) {
  return { ...datasetColumns(dataset), tag };
}

/** The primary key of a dataset, created on first use. */
async function ensureDataset(trx: Trx, dataset: DatasetID): Promise<string> {
  const inserted = await trx
    .insertInto('catalog_datasets')
    .values(datasetColumns(dataset))
    .onConflict((oc) => oc.columns(['project', 'domain', 'name', 'version', 'org']).doNothing())
    .returning('pk')
    .executeTakeFirst();
  if (inserted !== undefined) return String(inserted.pk);
  const row = await trx
    .selectFrom('catalog_datasets')
    .select('pk')
    .where('org', '=', dataset.org)
    .where('project', '=', dataset.project)
    .where('domain', '=', dataset.domain)
    .where('name', '=', dataset.name)
    .where('version', '=', dataset.version)
    .executeTakeFirstOrThrow();
  return String(row.pk);
}

/** The entry a tag of a dataset points at, or undefined. */
async function taggedEntry(db: Db | Trx, dataset: DatasetID, tag: string): Promise<CatalogEntry | undefined> {
  const row = await db
    .selectFrom('catalog_tags as t')
    .innerJoin('catalog_datasets as d', 'd.pk', 't.dataset_pk')
    .innerJoin('catalog_artifacts as a', 'a.pk', 't.artifact_pk')
    .select(['a.payload', 'a.source'])
    .where('d.org', '=', dataset.org)
    .where('d.project', '=', dataset.project)
    .where('d.domain', '=', dataset.domain)
    .where('d.name', '=', dataset.name)
    .where('d.version', '=', dataset.version)
    .where('t.name', '=', tag)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const what = `${dataset.project}/${dataset.domain}/${dataset.name}/${dataset.version}:${tag}`;
  const artifact = decode(idl.datacatalog.ArtifactSchema, row.payload, 'cached artifact', what);
  const literals: { [name: string]: idl.core.Literal } = {};
  for (const data of artifact.data) literals[data.name] = data.value ?? create(idl.core.LiteralSchema);
  const outputs = create(idl.core.LiteralMapSchema, { literals });
  if (row.source === null) return { artifact, outputs };
  return { artifact, outputs, source: fromBinary(idl.core.TaskExecutionIdentifierSchema, bytes(row.source)) };
}

function reservation(
  key: CatalogKey,
  held: { readonly ownerId: string; readonly heartbeatMs: number; readonly expiresAtMs: number },
): idl.datacatalog.Reservation {
  return create(idl.datacatalog.ReservationSchema, {
    reservationId: create(idl.datacatalog.ReservationIDSchema, { datasetId: key.dataset, tagName: key.tag }),
    ownerId: held.ownerId,
    heartbeatInterval: durationFromMs(held.heartbeatMs),
    expiresAt: timestampFromMs(held.expiresAtMs),
  });
}

function timestampMillis(timestamp: idl.wkt.Timestamp | undefined): number {
  return timestamp === undefined ? 0 : Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);
}

function sourceMetadata(source: idl.core.TaskExecutionIdentifier | undefined): { [key: string]: string } {
  if (source === undefined) return {};
  const node = source.nodeExecutionId;
  const execution = node?.executionId;
  const keys = METADATA_KEYS;
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
