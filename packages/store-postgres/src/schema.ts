// The tables of the store as a Kysely database type. Protobuf payloads are bytea; the fields lists filter and
// sort on are columns of their own (FlyteAdmin's columns), derived from the payload when a row is written.
import type { ColumnType, Generated } from 'kysely';

/**
 * An int8 column as it comes back: `pg` and this package's PGlite dialect return decimal strings, other parser
 * setups numbers or bigints. Reading goes through a checked conversion, never a silent `Number()`.
 */
export type Int8 = ColumnType<string | number | bigint, string | number | bigint, string | number | bigint>;

/** A nullable int8 column. */
export type NullableInt8 = ColumnType<
  string | number | bigint | null,
  string | number | bigint | null | undefined,
  string | number | bigint | null
>;

/** An int8 column with a default: optional on insert. */
export type Int8WithDefault = ColumnType<
  string | number | bigint,
  string | number | bigint | undefined,
  string | number | bigint
>;

/** A bytea column: bytes in, bytes out (`Buffer` from `pg`, `Uint8Array` from PGlite). */
export type Bytea = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

/** A nullable bytea column. */
export type NullableBytea = ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;

/** A jsonb column, written as JSON text and read back parsed (or as text, with other parser setups). */
export type Jsonb = ColumnType<unknown, string, string>;

/** Identity column: assigned by the database, in insertion order; the tie-breaker of every sort. */
export type Seq = ColumnType<string | number | bigint, never, never>;

/** `projects`: one row per project id. */
export interface ProjectsTable {
  seq: Seq;
  id: string;
  name: string;
  state: number;
  payload: Bytea;
}

/** `project_domain_settings`: the settings of one project-domain, as JSON. */
export interface ProjectDomainSettingsTable {
  project: string;
  domain: string;
  settings: Jsonb;
}

/** `tasks`, `workflows` and `launch_plans` share these columns: one row per registered version. */
export interface EntityTable {
  seq: Seq;
  org: string;
  project: string;
  domain: string;
  name: string;
  version: string;
  /** closure.created_at in nanoseconds since the epoch (0 when unset). */
  created_at_ns: Int8;
  /** Digest of the content given at registration: the same digest again is a no-op. */
  digest: string;
  payload: Bytea;
}

/** `launch_plans`: an entity with its state and workflow name. */
export interface LaunchPlansTable extends EntityTable {
  /** LaunchPlanState: at most one ACTIVE (1) row per project/domain/name (a partial unique index). */
  state: number;
  workflow_name: string;
}

/** `executions`: one row per workflow execution, with its lease. */
export interface ExecutionsTable {
  pk: Generated<string | number | bigint>;
  org: string;
  project: string;
  domain: string;
  name: string;
  phase: number;
  created_at_ns: Int8;
  /** closure.duration in seconds. */
  duration: number;
  workflow_name: string;
  launch_plan_name: string;
  task_name: string;
  mode: number;
  revision: number;
  payload: Bytea;
  state: NullableBytea;
  /** Where the execution's inputs are stored; set on insert, never updated (null: rows of earlier versions). */
  inputs_uri: ColumnType<string | null, string | null | undefined, never>;
  lease_owner: ColumnType<string | null, string | null | undefined, string | null>;
  /** Epoch of the last claim; 0 when never claimed. Kept when a lease is released. */
  lease_epoch: Int8WithDefault;
  /** Expiry of the current lease in milliseconds since the epoch, by the caller's clock. */
  lease_expires_ms: NullableInt8;
}

/** `node_executions`: one row per node execution of an execution. */
export interface NodeExecutionsTable {
  seq: Seq;
  execution_pk: Int8;
  node_id: string;
  parent_node_id: string;
  phase: number;
  created_at_ns: Int8;
  duration: number;
  revision: number;
  payload: Bytea;
  state: NullableBytea;
}

/** `task_executions`: one row per attempt of a task node. */
export interface TaskExecutionsTable {
  seq: Seq;
  execution_pk: Int8;
  node_id: string;
  retry_attempt: number;
  /** The task id of the attempt, as a JSON array (org, project, domain, name, version); empty when none. */
  task_key: string;
  phase: number;
  revision: number;
  payload: Bytea;
}

/** `execution_events`: the event log of every execution, in commit order. */
export interface ExecutionEventsTable {
  seq: Seq;
  execution_pk: Int8;
  /** 'workflow', 'node' or 'task'. */
  kind: string;
  /** Entity, phase and occurred_at of the event: a second event with the same identity is skipped. */
  identity: string;
  payload: Bytea;
}

/** `schedule_state`: the last fire of each schedule. */
export interface ScheduleStateTable {
  key: string;
  last_fire_ms: Int8;
}

/** `catalog_datasets`: one row per Data Catalog dataset (a task signature). */
export interface CatalogDatasetsTable {
  pk: Generated<string | number | bigint>;
  org: string;
  project: string;
  domain: string;
  name: string;
  version: string;
}

/** `catalog_artifacts`: one cached result: the Artifact message (its data are the outputs) and its source. */
export interface CatalogArtifactsTable {
  pk: Generated<string | number | bigint>;
  dataset_pk: Int8;
  artifact_id: string;
  payload: Bytea;
  /** The TaskExecutionIdentifier that produced the outputs, when recorded. */
  source: NullableBytea;
  created_at_ms: Int8;
}

/** `catalog_tags`: tag name → artifact, per dataset. */
export interface CatalogTagsTable {
  dataset_pk: Int8;
  name: string;
  artifact_pk: Int8;
}

/** `catalog_reservations`: who computes a key right now, until when (by the caller's clock). */
export interface CatalogReservationsTable {
  org: string;
  project: string;
  domain: string;
  name: string;
  version: string;
  tag: string;
  owner_id: string;
  heartbeat_ms: Int8;
  expires_at_ms: Int8;
}

/** `resource_pools`: the quota of each pool. */
export interface ResourcePoolsTable {
  name: string;
  quota: number;
}

/** `resource_tokens`: tokens held in each pool; a null expiry means held until released. */
export interface ResourceTokensTable {
  pool: string;
  token: string;
  expires_at_ms: NullableInt8;
}

/**
 * The tables of `@flyte-ts/store-postgres` as a Kysely database type. Use it to type a Kysely instance given to
 * {@link PostgresStore}, {@link PostgresCatalog} or {@link PostgresResourceManager}, or for read-only ad-hoc
 * queries; write only through the adapters, which keep the derived columns and payloads consistent.
 */
export interface PostgresDatabase {
  projects: ProjectsTable;
  project_domain_settings: ProjectDomainSettingsTable;
  tasks: EntityTable;
  workflows: EntityTable;
  launch_plans: LaunchPlansTable;
  executions: ExecutionsTable;
  node_executions: NodeExecutionsTable;
  task_executions: TaskExecutionsTable;
  execution_events: ExecutionEventsTable;
  schedule_state: ScheduleStateTable;
  catalog_datasets: CatalogDatasetsTable;
  catalog_artifacts: CatalogArtifactsTable;
  catalog_tags: CatalogTagsTable;
  catalog_reservations: CatalogReservationsTable;
  resource_pools: ResourcePoolsTable;
  resource_tokens: ResourceTokensTable;
}
