// A Kysely dialect for PGlite (PostgreSQL compiled to WebAssembly, in process). PGlite has exactly one
// connection, so the driver hands it out under a mutex: a query or a whole transaction holds it, and nobody
// else's statements can slip into a transaction. Query results are decoded like `pg` does (int8 as text).
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PGliteInterface } from '@electric-sql/pglite';

/** Configuration of {@link PgliteDialect}. */
export interface PgliteDialectConfig {
  /**
   * The PGlite instance, or a function creating it on first use. The dialect never closes an instance it was
   * given; `Kysely.destroy()` closes only one it created through the function.
   */
  readonly pglite: PGliteInterface | (() => Promise<PGliteInterface>);
}

/** PostgreSQL type oid of int8: decoded as decimal text, like `pg`, so no value loses precision. */
const INT8_OID = 20;
const PARSERS = { [INT8_OID]: (value: string) => value };

/**
 * Kysely dialect for PGlite. Unlike a plain adapter it serializes access to PGlite's single connection: a query
 * or a transaction holds the connection until it ends, so statements of concurrent callers never interleave
 * inside a transaction. Consequence: inside `db.transaction().execute(trx => ...)`, use only `trx`; a query
 * through `db` there waits for the transaction to end, forever.
 */
export class PgliteDialect implements Dialect {
  readonly #config: PgliteDialectConfig;

  /**
   * @param config the PGlite instance (or its factory)
   */
  constructor(config: PgliteDialectConfig) {
    this.#config = config;
  }

  /** The PostgreSQL adapter: PGlite is PostgreSQL. */
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  /** A driver lending PGlite's connection to one query or transaction at a time. */
  createDriver(): Driver {
    return new PgliteDriver(this.#config);
  }

  /** PostgreSQL's introspector. */
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }

  /** PostgreSQL's query compiler. */
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

/** A FIFO mutex: `lock()` resolves to the function that releases it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return acquired;
  }
}

class PgliteDriver implements Driver {
  readonly #config: PgliteDialectConfig;
  readonly #mutex = new Mutex();
  #pglite: PGliteInterface | undefined;
  #owned = false;
  #connection: PgliteConnection | undefined;
  #release: (() => void) | undefined;

  constructor(config: PgliteDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    const { pglite } = this.#config;
    if (typeof pglite === 'function') {
      this.#pglite = await pglite();
      this.#owned = true;
    } else {
      this.#pglite = pglite;
    }
    await this.#pglite.waitReady;
    this.#connection = new PgliteConnection(this.#pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.lock();
    const connection = this.#connection;
    if (connection === undefined || this.#pglite?.closed !== false) {
      release();
      throw new Error('the PGlite database is closed');
    }
    this.#release = release;
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined) {
      statement = 'start transaction';
      if (settings.isolationLevel !== undefined) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode !== undefined) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    // Wait for the query or transaction in flight, then close (only an instance this driver created).
    const release = await this.#mutex.lock();
    try {
      const pglite = this.#pglite;
      this.#connection = undefined;
      if (pglite !== undefined && this.#owned && !pglite.closed) await pglite.close();
    } finally {
      release();
    }
  }
}

class PgliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteInterface;

  constructor(pglite: PGliteInterface) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
      parsers: PARSERS,
    });
    return {
      rows: result.rows,
      ...(result.affectedRows === undefined ? {} : { numAffectedRows: BigInt(result.affectedRows) }),
    };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // PGlite returns whole results; a stream of one chunk keeps Kysely's `.stream()` working.
    yield await this.executeQuery<R>(compiledQuery);
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
