// The schema as Kysely migrations: versioned, forward-only, applied in order under Kysely's migration lock (so
// several processes migrating at once apply each migration once). A migration is never edited once released:
// changes come as new migrations.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { PostgresDatabase } from './schema.js';

/** Name of the table recording applied migrations. */
export const MIGRATION_TABLE = 'flyte_ts_migrations';
/** Name of the table holding the migration lock. */
export const MIGRATION_LOCK_TABLE = 'flyte_ts_migrations_lock';

/** Executions in these phases (SUCCEEDED, FAILED, ABORTED, TIMED_OUT) are done: no lease ever claims them. */
export const TERMINAL_PHASES = [4, 6, 7, 8] as const;

/** One statement per entry: PGlite runs one statement per parameterized query. */
const INITIAL: readonly string[] = [
  `create table projects (
    id text collate "C" primary key,
    seq bigint generated always as identity unique,
    name text collate "C" not null,
    state integer not null,
    payload bytea not null
  )`,
  `create table project_domain_settings (
    project text collate "C" not null,
    domain text collate "C" not null,
    settings jsonb not null,
    primary key (project, domain)
  )`,
  ...['tasks', 'workflows', 'launch_plans'].flatMap((table) => [
    `create table ${table} (
      seq bigint generated always as identity primary key,
      org text collate "C" not null,
      project text collate "C" not null,
      domain text collate "C" not null,
      name text collate "C" not null,
      version text collate "C" not null,
      created_at_ns bigint not null,
      digest text not null,
      payload bytea not null,${
        table === 'launch_plans'
          ? `
      state integer not null,
      workflow_name text collate "C" not null,`
          : ''
      }
      unique (project, domain, name, version, org)
    )`,
    `create index ${table}_created on ${table} (created_at_ns, seq)`,
  ]),
  `create unique index launch_plans_one_active on launch_plans (project, domain, name) where state = 1`,
  `create index launch_plans_workflow on launch_plans (workflow_name)`,
  `create table executions (
    pk bigint generated always as identity primary key,
    org text collate "C" not null,
    project text collate "C" not null,
    domain text collate "C" not null,
    name text collate "C" not null,
    phase integer not null,
    created_at_ns bigint not null,
    duration double precision not null,
    workflow_name text collate "C" not null,
    launch_plan_name text collate "C" not null,
    task_name text collate "C" not null,
    mode integer not null,
    revision integer not null,
    payload bytea not null,
    state bytea,
    lease_owner text,
    lease_epoch bigint not null default 0,
    lease_expires_ms bigint,
    unique (project, domain, name)
  )`,
  `create index executions_created on executions (project, domain, created_at_ns, pk)`,
  `create index executions_phase on executions (phase, created_at_ns)`,
  `create index executions_workflow on executions (workflow_name)`,
  `create index executions_launch_plan on executions (launch_plan_name)`,
  `create index executions_claimable on executions (pk) where phase not in (${TERMINAL_PHASES.join(', ')})`,
  `create table node_executions (
    seq bigint generated always as identity primary key,
    execution_pk bigint not null references executions (pk) on delete cascade,
    node_id text collate "C" not null,
    parent_node_id text collate "C" not null,
    phase integer not null,
    created_at_ns bigint not null,
    duration double precision not null,
    revision integer not null,
    payload bytea not null,
    state bytea,
    unique (execution_pk, node_id)
  )`,
  `create index node_executions_order on node_executions (execution_pk, seq)`,
  `create index node_executions_parent on node_executions (execution_pk, parent_node_id, seq)`,
  `create table task_executions (
    seq bigint generated always as identity primary key,
    execution_pk bigint not null references executions (pk) on delete cascade,
    node_id text collate "C" not null,
    retry_attempt integer not null,
    task_key text collate "C" not null,
    phase integer not null,
    revision integer not null,
    payload bytea not null,
    unique (execution_pk, node_id, retry_attempt, task_key)
  )`,
  `create table execution_events (
    seq bigint generated always as identity primary key,
    execution_pk bigint not null references executions (pk) on delete cascade,
    kind text not null check (kind in ('workflow', 'node', 'task')),
    identity text collate "C" not null,
    payload bytea not null,
    unique (execution_pk, identity)
  )`,
  `create index execution_events_order on execution_events (execution_pk, seq)`,
  `create table schedule_state (
    key text collate "C" primary key,
    last_fire_ms bigint not null
  )`,
  `create table catalog_datasets (
    pk bigint generated always as identity primary key,
    org text collate "C" not null,
    project text collate "C" not null,
    domain text collate "C" not null,
    name text collate "C" not null,
    version text collate "C" not null,
    unique (project, domain, name, version, org)
  )`,
  `create table catalog_artifacts (
    pk bigint generated always as identity primary key,
    dataset_pk bigint not null references catalog_datasets (pk) on delete cascade,
    artifact_id text collate "C" not null unique,
    payload bytea not null,
    source bytea,
    created_at_ms bigint not null
  )`,
  `create index catalog_artifacts_dataset on catalog_artifacts (dataset_pk)`,
  `create table catalog_tags (
    dataset_pk bigint not null references catalog_datasets (pk) on delete cascade,
    name text collate "C" not null,
    artifact_pk bigint not null references catalog_artifacts (pk) on delete cascade,
    primary key (dataset_pk, name)
  )`,
  `create index catalog_tags_artifact on catalog_tags (artifact_pk)`,
  `create table catalog_reservations (
    org text collate "C" not null,
    project text collate "C" not null,
    domain text collate "C" not null,
    name text collate "C" not null,
    version text collate "C" not null,
    tag text collate "C" not null,
    owner_id text not null,
    heartbeat_ms bigint not null,
    expires_at_ms bigint not null,
    primary key (project, domain, name, version, org, tag)
  )`,
  `create table resource_pools (
    name text collate "C" primary key,
    quota integer not null check (quota >= 0)
  )`,
  `create table resource_tokens (
    pool text collate "C" not null references resource_pools (name) on delete cascade,
    token text collate "C" not null,
    expires_at_ms bigint,
    primary key (pool, token)
  )`,
];

/** Executions reference their inputs (FlyteAdmin's `inputs_uri`): null for rows written before. */
const EXECUTION_INPUTS_URI: readonly string[] = [`alter table executions add column inputs_uri text`];

function statements(list: readonly string[]): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of list) await sql.raw(statement).execute(db);
    },
  };
}

/** The migrations of this package, by name (applied in name order). */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': statements(INITIAL),
  '0002_execution_inputs_uri': statements(EXECUTION_INPUTS_URI),
};

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

/** What a migration run did. */
export interface MigrationReport {
  /** Migrations applied by this run, in order (empty when the schema was up to date). */
  readonly applied: readonly string[];
  /** Every migration of this package, applied now or before. */
  readonly known: readonly string[];
}

/**
 * Brings the schema up to date: applies, in one transaction under Kysely's migration lock, the migrations not
 * applied yet. Idempotent; safe to run from several processes at once. Forward-only: a database migrated by a
 * newer version of this package is refused (its migrations are unknown here).
 * @throws the migration's error (nothing of the failed run is applied)
 */
export async function migrateToLatest(db: Kysely<PostgresDatabase>): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return {
    applied: (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName),
    known: Object.keys(MIGRATIONS).sort(),
  };
}
