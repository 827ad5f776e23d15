// Entry points: a Store, Catalog and ResourceManager sharing one Kysely instance, on a PostgreSQL server
// (`pg`) or on embedded PGlite. `pg` and `@electric-sql/pglite` are optional peers, loaded only when used.
import type * as PgliteModule from '@electric-sql/pglite';
import type { PGliteInterface } from '@electric-sql/pglite';
import type { Clock } from '@flyte-ts/core';
import { Kysely, PostgresDialect, type KyselyPlugin, type PostgresPool } from 'kysely';
import type PgModule from 'pg';
import { InvalidArgumentError } from '@flyte-ts/core';
import { lockDataDirectory, type DataDirectoryLock } from './data-directory-lock.js';
import { translateError } from './errors.js';
import { migrateToLatest, type MigrationReport } from './migrations.js';
import type { ListenClient, ListenConnector } from './notice-listener.js';
import {
  InProcessPostgresNotifications,
  ListenNotifyNotifications,
  type PostgresNotifications,
} from './notifications.js';
import { PgliteDialect } from './pglite-dialect.js';
import { PostgresCatalog } from './postgres-catalog.js';
import { PostgresResourceManager } from './postgres-resource-manager.js';
import { PostgresStore } from './postgres-store.js';
import type { PostgresDatabase } from './schema.js';

/** The adapters of one database, sharing its connection (pool), and what manages the database itself. */
export interface PostgresBackend {
  /** The Store port (projects, entities, executions, events, leases, schedules). */
  readonly store: PostgresStore;
  /** The Catalog port (cached task outputs and reservations). */
  readonly catalog: PostgresCatalog;
  /** The ResourceManager port (quota tokens per pool). */
  readonly resourceManager: PostgresResourceManager;
  /** The Kysely instance the adapters share, typed with the store's tables (for read-only queries). */
  readonly db: Kysely<PostgresDatabase>;
  /**
   * The lock this backend holds on its PGlite data directory; undefined for a server, an in-memory database or a
   * PGlite instance given to it. Once its `signal` aborts (another process took the directory over), every query
   * fails with that `STORE_LOCKED` error: end the process.
   */
  readonly lock?: DataDirectoryLock | undefined;
  /** Applies the migrations not applied yet (idempotent; safe from several processes at once). */
  migrate(): Promise<MigrationReport>;
  /**
   * Closes the database: ends the pool this backend created (a pool given to it is left open) or closes the
   * PGlite instance it created (one given to it is left open), then releases the lock of its data directory.
   * Once that lock is lost, the PGlite instance is left as it is instead (closing it would write to a directory
   * another process may hold). Idempotent. Operations afterwards are `UNAVAILABLE`.
   */
  close(): Promise<void>;
}

/** Options shared by both entry points. */
export interface BackendOptions {
  /** Clock of catalog artifacts' creation times and of allocations without `now`. Default: the system clock. */
  readonly clock?: Clock | undefined;
}

/** Where the PostgreSQL server is: a connection string, or a `pg.Pool` (or any Kysely `PostgresPool`) of yours. */
export type PostgresConnection =
  | {
      /** `postgres://user:password@host:5432/database`. */
      readonly connectionString: string;
      /** Largest number of connections of the pool this backend creates. Default: 10. */
      readonly maxConnections?: number | undefined;
    }
  | {
      /**
       * A pool of yours (e.g. a `pg.Pool`). `close()` leaves it open. Listen to its `error` event and to each
       * client's (`pool.on('connect', (c) => c.on('error', ...))`): `pg` emits the errors of broken connections
       * there, and an unheard `error` event crashes the process. Its int8 and bytea parsers may be the defaults or any parsers returning
       * strings, numbers, bigints or bytes: the store reads them all without losing precision (it rejects a
       * number that was already rounded). The store's execution notices (LISTEN) hold one of its connections
       * while an engine subscribes to them: its clients must be `pg` clients (with `on('notification')`).
       */
      readonly pool: PostgresPool;
    };

/** Options of {@link createPostgresStore}. */
export type PostgresStoreOptions = PostgresConnection &
  BackendOptions & {
    /** Apply pending migrations before resolving. Default: false (call `migrate()` when you decide). */
    readonly migrate?: boolean | undefined;
  };

/** Options of {@link createPgliteStore}. */
export interface PgliteStoreOptions extends BackendOptions {
  /**
   * Directory of the database files (created when missing; reopening takes about a second), as PGlite takes it
   * (a path, or `file://` and a path). The backend holds the directory's exclusive lock until `close()` (see
   * {@link lockDataDirectory}): PGlite runs in one process, so a second backend on it, in another process or in
   * this one, is refused with `STORE_LOCKED`. Default: none, the database lives in memory and is gone when closed.
   */
  readonly dataDir?: string | undefined;
  /**
   * A PGlite instance of yours instead (`dataDir` is then ignored); `close()` leaves it open. Its directory is
   * not locked by this backend: call {@link lockDataDirectory} before you create the instance.
   */
  readonly pglite?: PGliteInterface | undefined;
  /** Apply pending migrations before resolving. Default: true. */
  readonly migrate?: boolean | undefined;
  /**
   * How long the heartbeat of a process holding `dataDir` on another host or in another container may stay
   * unrefreshed before it is judged gone and its lock taken over, in ms (at least 1000); this backend refreshes
   * its own every twelfth of it. Default: 60 000. See `staleAfterMs` of {@link lockDataDirectory}.
   */
  readonly lockStaleAfterMs?: number | undefined;
  /**
   * How long to wait for `dataDir` while another process holds it, in ms, before failing with `STORE_LOCKED`:
   * more than `lockStaleAfterMs` lets a restarting container wait out the lock of its killed earlier run.
   * Default: 0, fail at once. See `waitMs` of {@link lockDataDirectory}.
   */
  readonly lockWaitMs?: number | undefined;
}

/** PostgreSQL type oid of int8: our pool decodes it as text whatever `pg.defaults.parseInt8` says. */
const INT8_OID = 20;

/**
 * Opens the store on a PostgreSQL server through `pg` (install it: `npm install pg`). The schema is created or
 * updated by `migrate()` (or by `migrate: true`).
 * @throws {UnavailableError} `UNAVAILABLE` when `migrate: true` and the server cannot be reached
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresBackend> {
  let pool: PostgresPool;
  let listen: ListenConnector;
  if ('pool' in options) {
    const given = options.pool;
    // Kysely ends its pool when destroyed; a pool given to us is its owner's to end.
    pool = { connect: () => given.connect(), end: async () => {} };
    listen = pooledListenConnector(given);
  } else {
    const pg = await loadPg();
    listen = {
      connect: async () => {
        // Its own connection, outside the pool: a LISTEN lives as long as its session.
        const client = new pg.Client({ connectionString: options.connectionString, keepAlive: true });
        client.on('error', () => {});
        await client.connect();
        return client;
      },
      close: (client) => (client as InstanceType<typeof pg.Client>).end(),
    };
    const own = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID && format !== 'binary'
            ? (value: string) => value
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // A connection that breaks (server restart, pg_terminate_backend) emits `error` on its client, and on the
    // pool when idle; without listeners that would crash the process. The failing query rejects by itself
    // (UNAVAILABLE), and the pool discards the broken client when it is released.
    own.on('error', () => {});
    own.on('connect', (client) => client.on('error', () => {}));
    pool = own;
  }
  const db = new Kysely<PostgresDatabase>({ dialect: new PostgresDialect({ pool }) });
  return open(db, options, false, new ListenNotifyNotifications(db, listen), undefined);
}

/** The LISTEN connection taken from a pool of the caller's: held while subscribed, then destroyed (not reused). */
function pooledListenConnector(pool: PostgresPool): ListenConnector {
  type PooledClient = Partial<ListenClient> & { release(destroy?: boolean): void };
  return {
    connect: async () => {
      const client = (await pool.connect()) as unknown as PooledClient;
      if (typeof client.on !== 'function') {
        client.release();
        throw new InvalidArgumentError(
          "the pool's clients cannot LISTEN (they have no `on('notification')`): give createPostgresStore a pg.Pool, or a connectionString",
          { id: 'pool' },
        );
      }
      client.on('error', () => {});
      return client as ListenClient;
    },
    close: async (client) => (client as unknown as PooledClient).release(true),
  };
}

/**
 * Opens the store on embedded PGlite (install it: `npm install @electric-sql/pglite`): PostgreSQL in process,
 * in memory or in `dataDir`. Creating a database takes a few seconds and about half a gigabyte of memory: open
 * one per process and share it. Access is serialized over PGlite's single connection. A `dataDir` is locked
 * for the life of the backend, before PGlite touches it.
 * @throws {StoreLockedError} `STORE_LOCKED` when another backend, in this process or another, holds `dataDir`
 * (after `lockWaitMs`)
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when `dataDir` cannot be created or written, or a lock
 * option is out of range
 */
export async function createPgliteStore(options: PgliteStoreOptions = {}): Promise<PostgresBackend> {
  const given = options.pglite;
  const directory = given === undefined ? localDirectory(options.dataDir) : undefined;
  const lock =
    directory === undefined
      ? undefined
      : await lockDataDirectory(directory, { staleAfterMs: options.lockStaleAfterMs, waitMs: options.lockWaitMs });
  // Only this process can open the database, so notices stay in process; backends opened on one PGlite instance
  // share theirs, so their engines hear each other.
  let notifications: InProcessPostgresNotifications;
  if (given === undefined) {
    notifications = new InProcessPostgresNotifications();
  } else {
    notifications = pgliteNotifications.get(given) ?? new InProcessPostgresNotifications();
    pgliteNotifications.set(given, notifications);
  }
  const dialect =
    given !== undefined
      ? new PgliteDialect({ pglite: given })
      : new PgliteDialect({
          pglite: async () => {
            const { PGlite } = await loadPglite();
            return PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
          },
        });
  const plugins = lock === undefined ? [] : [refusingAfterLoss(lock.signal)];
  return open(new Kysely<PostgresDatabase>({ dialect, plugins }), options, true, notifications, lock);
}

/** Fails every query once `signal` aborts (the data directory's lock was lost), with its reason. */
function refusingAfterLoss(signal: AbortSignal): KyselyPlugin {
  return {
    transformQuery({ node }) {
      signal.throwIfAborted();
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
}

/**
 * The filesystem directory PGlite stores a `dataDir` in, the way PGlite reads it; undefined for an in-memory
 * database and for the browser's stores (`idb://`, `opfs-ahp://`).
 */
function localDirectory(dataDir: string | undefined): string | undefined {
  if (dataDir === undefined || /^(memory|idb|opfs-ahp):\/\//.test(dataDir)) return undefined;
  const path = dataDir.startsWith('file://') ? dataDir.slice('file://'.length) : dataDir;
  // PGlite refuses an empty `file://` and keeps an empty `dataDir` in memory.
  return path === '' ? undefined : path;
}

/** The notices of each PGlite instance given to createPgliteStore. */
const pgliteNotifications = new WeakMap<PGliteInterface, InProcessPostgresNotifications>();

async function open(
  db: Kysely<PostgresDatabase>,
  options: BackendOptions & { readonly migrate?: boolean | undefined },
  migrateByDefault: boolean,
  notifications: PostgresNotifications,
  lock: DataDirectoryLock | undefined,
): Promise<PostgresBackend> {
  let closed: Promise<void> | undefined;
  const backend: PostgresBackend = {
    store: new PostgresStore(db, { notifications }),
    catalog: new PostgresCatalog(db, { clock: options.clock }),
    resourceManager: new PostgresResourceManager(db, { clock: options.clock }),
    db,
    lock,
    async migrate() {
      try {
        return await migrateToLatest(db);
      } catch (error) {
        throw translateError(error, 'migrate');
      }
    },
    close() {
      closed ??= (async () => {
        try {
          await notifications.close();
          if (lock?.signal.aborted !== true) await db.destroy();
        } finally {
          await lock?.release();
        }
      })();
      return closed;
    },
  };
  if (options.migrate ?? migrateByDefault) {
    try {
      await backend.migrate();
    } catch (error) {
      await backend.close();
      throw error;
    }
  }
  return backend;
}

async function loadPg(): Promise<typeof PgModule> {
  try {
    const pg = await import('pg');
    // `pg` is CommonJS: its API is the default export when imported from ESM.
    return (pg as unknown as { default?: typeof PgModule }).default ?? pg;
  } catch (error) {
    throw new Error('createPostgresStore needs the `pg` package: npm install pg', { cause: error });
  }
}

async function loadPglite(): Promise<typeof PgliteModule> {
  try {
    return await import('@electric-sql/pglite');
  } catch (error) {
    throw new Error('createPgliteStore needs the `@electric-sql/pglite` package: npm install @electric-sql/pglite', {
      cause: error,
    });
  }
}
