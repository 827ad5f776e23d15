// Databases for the tests: one embedded PGlite per test file (creating one takes seconds and half a gigabyte),
// and, when DATABASE_URL names a PostgreSQL server, a fresh database per test file, so files running in
// parallel never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPgliteStore, createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';

/** The server the tests may use, from DATABASE_URL (undefined: server tests are skipped). */
export const DATABASE_URL = process.env.DATABASE_URL === '' ? undefined : process.env.DATABASE_URL;

/** Why server tests are skipped, for their titles. */
export const SERVER_SKIP_REASON = 'set DATABASE_URL=postgres://... to run against a PostgreSQL server';

/** A function that creates its value once, on first call, and hands the same promise to every caller. */
export function once<T>(create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= create());
}

/** A database created for one test file on the DATABASE_URL server, dropped by `drop`. */
export interface ServerDatabase {
  /** Connection string of the new database. */
  readonly url: string;
  /** Its name. */
  readonly name: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates a fresh, empty database on the DATABASE_URL server. */
export async function createServerDatabase(prefix: string): Promise<ServerDatabase> {
  if (DATABASE_URL === undefined) throw new Error(SERVER_SKIP_REASON);
  const name = `flyte_ts_${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Runs one statement on the DATABASE_URL database itself. */
export async function admin(statement: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}

/** A migrated backend on a fresh server database; closing it drops the database. */
export async function serverBackend(prefix: string): Promise<PostgresBackend & { readonly database: ServerDatabase }> {
  const database = await createServerDatabase(prefix);
  const backend = await createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 });
  return {
    ...backend,
    database,
    async close() {
      await backend.close();
      await database.drop();
    },
  };
}

/** A migrated in-memory PGlite backend. */
export function pgliteBackend(): Promise<PostgresBackend> {
  return createPgliteStore();
}
