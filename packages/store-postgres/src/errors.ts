// Database errors as flyte-ts errors: a lost connection, a server shutting down, a deadlock or a serialization
// failure is UNAVAILABLE (transient: the engine retries); a value PostgreSQL cannot hold is INVALID_ARGUMENT;
// a uniqueness race the adapter did not foresee is CONFLICT. Anything else is rethrown as it is. And the one
// error of this package's own: STORE_LOCKED, a PGlite data directory in use by another backend.
import { ConflictError, FlyteError, InvalidArgumentError, isFlyteError, UnavailableError } from '@flyte-ts/core';
import type { LockHolder } from './data-directory-lock.js';

/** Stable error codes this package adds to those of `@flyte-ts/core`. */
export const POSTGRES_STORE_ERROR_CODES = [
  /**
   * The PGlite data directory is in use by another backend: in another process, or already open in this one.
   * PGlite runs in one process only; open the directory once and share the backend.
   */
  'STORE_LOCKED',
] as const;

/** One of {@link POSTGRES_STORE_ERROR_CODES}. */
export type PostgresStoreErrorCode = (typeof POSTGRES_STORE_ERROR_CODES)[number];

/**
 * A PGlite data directory is locked by another backend (`STORE_LOCKED`); `id` and `directory` name the directory,
 * `holder` the process holding it. Also the reason of a held lock's `signal` once another process took it over.
 */
export class StoreLockedError extends FlyteError<'STORE_LOCKED'> {
  /** The data directory (absolute). */
  readonly directory: string;
  /** The process holding the lock; undefined when its lock file cannot be read. */
  readonly holder: LockHolder | undefined;
  /**
   * For a holder judged by its heartbeat (on another host, or in another container): when it will be judged
   * gone unless its heartbeat is refreshed first (ISO 8601). Undefined for other holders.
   */
  readonly staleAt: string | undefined;

  /**
   * @param message who holds the directory and what to do
   * @param directory the data directory (absolute)
   * @param holder the process holding the lock, when known
   * @param staleAt when a holder judged by its heartbeat will be judged gone (ISO 8601)
   */
  constructor(message: string, directory: string, holder: LockHolder | undefined, staleAt?: string) {
    super('STORE_LOCKED', message, { id: directory });
    this.directory = directory;
    this.holder = holder;
    this.staleAt = staleAt;
  }
}

/** Node.js socket error codes meaning the server cannot be reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs that say "try again": serialization failure, deadlock, lock timeout, shutdown, too many clients. */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '57014']);

/** Messages of `pg` (and pg-pool) errors that carry no code but mean the connection is gone. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'timeout exceeded when trying to connect',
  'driver has already been destroyed',
  'the PGlite database is closed',
  'PGlite is closed',
];

/** Rejects with the reason of an aborted signal, before any change is made. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason;
}

/**
 * Maps a database error to the flyte-ts error a caller can act on. flyte-ts errors and unrecognized errors
 * (including an abort signal's reason) pass through unchanged.
 * @param what the operation, for the message (`commit of execution p/d/e`)
 */
export function translateError(error: unknown, what: string): unknown {
  if (isFlyteError(error) || typeof error !== 'object' || error === null) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return unavailable(what, message, error);
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const sqlClass = code.slice(0, 2);
      if (TRANSIENT_SQLSTATES.has(code) || sqlClass === '08' || sqlClass === '53') {
        return unavailable(what, `${message} (SQLSTATE ${code})`, error);
      }
      if (code === '23505') {
        return new ConflictError(`${what} raced with another writer (${message}): read again and retry`, {
          id: what,
          cause: error,
        });
      }
      if (sqlClass === '22') {
        return new InvalidArgumentError(`${what}: PostgreSQL cannot store a value given (${message})`, {
          id: what,
          cause: error,
        });
      }
      return error;
    }
  }
  if (CONNECTION_MESSAGES.some((text) => message.includes(text))) return unavailable(what, message, error);
  return error;
}

function unavailable(what: string, message: string, cause: unknown): UnavailableError {
  return new UnavailableError(`${what} failed: the database is unavailable (${message}); retry later`, {
    id: what,
    cause,
  });
}
