// Execution notices of the PostgreSQL store. On a server they travel through PostgreSQL's LISTEN/NOTIFY, so they
// reach engines in other processes, and a commit's notices are NOTIFYed inside its transaction (PostgreSQL
// delivers them only if it commits). On embedded PGlite every engine sharing the database is in this process, so
// notices are delivered in process once the commit returned.
import {
  checkExecutionNotices,
  executionId,
  InProcessNotifications,
  isExecutionNoticeKind,
  type ExecutionNotice,
  type ExecutionNoticeListener,
  type NoticeSubscription,
  type OperationOptions,
  type StoreNotifications,
} from '@flyte-ts/core';
import { sql, type Kysely, type Transaction } from 'kysely';
import { throwIfAborted, translateError } from './errors.js';
import { NoticeListener, type ListenConnector } from './notice-listener.js';
import type { PostgresDatabase } from './schema.js';

/** The PostgreSQL channel of execution notices (one per database: NOTIFY never crosses databases). */
export const NOTICE_CHANNEL = 'flyte_ts_execution_notices';

/** How a {@link PostgresStore} sends the notices of its commits, besides publishing and subscribing. */
export interface PostgresNotifications extends StoreNotifications {
  /** Sends a commit's notices (checked) inside its transaction, or does nothing when they go out after it. */
  inTransaction(trx: Transaction<PostgresDatabase>, notices: readonly ExecutionNotice[]): Promise<void>;
  /** Sends a commit's notices (checked) once its transaction committed, or does nothing when it sent them. */
  afterCommit(notices: readonly ExecutionNotice[]): void;
  /** Stops listening (the backend closes). */
  close(): Promise<void>;
}

/** Notices of a store on embedded PGlite: delivered in process to the subscribers of this object. */
export class InProcessPostgresNotifications extends InProcessNotifications implements PostgresNotifications {
  /** @inheritDoc */
  async inTransaction(): Promise<void> {}

  /** @inheritDoc */
  afterCommit(notices: readonly ExecutionNotice[]): void {
    this.deliver(notices);
  }

  /** @inheritDoc */
  async close(): Promise<void> {}
}

/**
 * Notices of a store on a PostgreSQL server: NOTIFY on {@link NOTICE_CHANNEL}, heard through one dedicated
 * connection that LISTENs while anything subscribes (reopened when it drops; subscribers are then told that
 * notices may have been missed).
 */
export class ListenNotifyNotifications implements PostgresNotifications {
  readonly #db: Kysely<PostgresDatabase>;
  readonly #connector: ListenConnector;
  readonly #subscribers = new Set<ExecutionNoticeListener>();
  #listener: NoticeListener | undefined;

  /**
   * @param db the store's Kysely instance (NOTIFY goes through its pool)
   * @param connector opens the dedicated LISTEN connection
   */
  constructor(db: Kysely<PostgresDatabase>, connector: ListenConnector) {
    this.#db = db;
    this.#connector = connector;
  }

  /** @inheritDoc */
  async publish(notices: readonly ExecutionNotice[], options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    checkExecutionNotices(notices);
    if (notices.length === 0) return;
    try {
      await this.#db.transaction().execute((trx) => this.inTransaction(trx, notices));
    } catch (error) {
      throw translateError(error, 'publish execution notices');
    }
  }

  /** @inheritDoc */
  async subscribe(listener: ExecutionNoticeListener, options?: OperationOptions): Promise<NoticeSubscription> {
    throwIfAborted(options?.signal);
    this.#subscribers.add(listener);
    const active = (this.#listener ??= new NoticeListener(
      this.#connector,
      NOTICE_CHANNEL,
      (payload) => this.#dispatch(payload),
      () => this.#missed(),
    ));
    try {
      await active.start();
    } catch (error) {
      await this.#leave(listener);
      throw error;
    }
    return { close: () => this.#leave(listener) };
  }

  /** @inheritDoc */
  async inTransaction(trx: Transaction<PostgresDatabase>, notices: readonly ExecutionNotice[]): Promise<void> {
    // One statement per notice keeps their order (PostgreSQL delivers a transaction's notices in NOTIFY order).
    for (const notice of notices) {
      await sql`select pg_notify(${NOTICE_CHANNEL}, ${encodeNotice(notice)})`.execute(trx);
    }
  }

  /** @inheritDoc */
  afterCommit(): void {}

  /** @inheritDoc */
  async close(): Promise<void> {
    this.#subscribers.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.close();
  }

  async #leave(listener: ExecutionNoticeListener): Promise<void> {
    if (!this.#subscribers.delete(listener) || this.#subscribers.size > 0) return;
    const active = this.#listener;
    this.#listener = undefined;
    await active?.close();
  }

  #dispatch(payload: string): void {
    const notice = decodeNotice(payload);
    if (notice === undefined) return;
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.notice(notice);
      } catch {
        // A subscriber's failure is its own: the others still get the notice.
      }
    }
  }

  #missed(): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.missed?.();
      } catch {
        // As above.
      }
    }
  }
}

/** The NOTIFY payload of a notice: JSON of its kind and execution id (far below PostgreSQL's 8,000 bytes). */
export function encodeNotice(notice: ExecutionNotice): string {
  const { org, project, domain, name } = notice.execution;
  return JSON.stringify({ kind: notice.kind, org, project, domain, name });
}

/** The notice in a NOTIFY payload, or undefined for a payload this package did not write. */
export function decodeNotice(payload: string): ExecutionNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, org, project, domain, name } = value as { [key: string]: unknown };
  if (!isExecutionNoticeKind(kind)) return undefined;
  if (typeof org !== 'string' || typeof project !== 'string' || typeof domain !== 'string') return undefined;
  if (typeof name !== 'string') return undefined;
  return { kind, execution: executionId({ org, project, domain, name }) };
}
