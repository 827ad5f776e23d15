// Execution notices: how engines sharing a Store wake each other when something happens to an execution that
// another engine drives (a terminate or a signal asked through it, a new execution to claim). An optional
// capability of the Store port (`Store.notifications`); engines poll the Store when it is absent.
import type { WorkflowExecutionIdentifier } from '../gen/flyteidl/core/index.js';
import { InvalidArgumentError } from '../errors.js';
import { formatExecutionId } from '../identifiers.js';
import type { OperationOptions } from './common.js';

/**
 * What a notice says happened to an execution:
 * - `created`: it was created (engines sharing the Store through leases claim it now, not at their next poll);
 * - `terminate`: an abort was recorded (its phase is ABORTING, with the cause): the engine driving it aborts it;
 * - `signal`: a signal of it was set: the engine driving it looks at the gates that wait for one.
 */
export const EXECUTION_NOTICE_KINDS = ['created', 'terminate', 'signal'] as const;

/** One of {@link EXECUTION_NOTICE_KINDS}. */
export type ExecutionNoticeKind = (typeof EXECUTION_NOTICE_KINDS)[number];

/** Whether `value` is one of {@link EXECUTION_NOTICE_KINDS}. */
export function isExecutionNoticeKind(value: unknown): value is ExecutionNoticeKind {
  return (EXECUTION_NOTICE_KINDS as readonly unknown[]).includes(value);
}

/**
 * A wake-up about one execution. It carries no state: what happened is recorded in the Store (the execution's
 * phase) or the blob store (a signal's value), and whoever receives a notice reads it there.
 */
export interface ExecutionNotice {
  /** What happened. */
  readonly kind: ExecutionNoticeKind;
  /** The execution it happened to (project, domain and name required). */
  readonly execution: WorkflowExecutionIdentifier;
}

/**
 * Checks notices before they are published or committed.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an unknown kind or an execution id without project,
 *   domain or name
 */
export function checkExecutionNotices(notices: readonly ExecutionNotice[]): void {
  for (const notice of notices) {
    const id = notice.execution as WorkflowExecutionIdentifier | undefined;
    if (id === undefined || id.project === '' || id.domain === '' || id.name === '') {
      throw new InvalidArgumentError('an execution notice needs an execution id with project, domain and name', {
        id: formatExecutionId(id),
      });
    }
    if (!isExecutionNoticeKind(notice.kind)) {
      throw new InvalidArgumentError(
        `execution notice kind ${JSON.stringify(notice.kind)} is not one of ${EXECUTION_NOTICE_KINDS.join(', ')}`,
        { id: formatExecutionId(id) },
      );
    }
  }
}

/** Receives the notices of a subscription. Its methods must not throw (a throw is ignored). */
export interface ExecutionNoticeListener {
  /** A notice arrived. */
  notice(notice: ExecutionNotice): void;
  /**
   * Notices may have been lost: the Store's link to the notification channel broke and is listening again. Look
   * at the Store for what may have happened meanwhile. Not called for the first connection.
   */
  missed?(): void;
}

/** A subscription to notices. */
export interface NoticeSubscription {
  /** Ends it: once the promise resolves, its listener is not called again. Idempotent. */
  close(): Promise<void>;
}

/**
 * Publishes and delivers {@link ExecutionNotice}s among the Stores of one database: every subscriber of every
 * Store instance on the same data (the same PostgreSQL database, the same in-process store), the publishing
 * instance's own subscribers included.
 *
 * Guarantees:
 * - A notice is a wake-up, delivered at most once to each subscription; it may be lost when the link to the
 *   channel breaks, and the listener's `missed` is then called once the link is back.
 * - A notice given with a commit (`ExecutionTransition.notices`) is delivered only if that commit applied, and
 *   only once it is visible: a subscriber reading the Store on the notice sees the write.
 * - Notices of one publisher arrive in the order they were published (or committed).
 * - Listeners are called asynchronously, never inside `publish` or `commit`.
 */
export interface StoreNotifications {
  /** Publishes notices now (not tied to a commit). */
  publish(notices: readonly ExecutionNotice[], options?: OperationOptions): Promise<void>;
  /**
   * Subscribes `listener` to every notice published from now on. Resolves once listening: a notice published
   * after it resolves is delivered.
   * @throws {UnavailableError} `UNAVAILABLE` when the channel cannot be listened to
   */
  subscribe(listener: ExecutionNoticeListener, options?: OperationOptions): Promise<NoticeSubscription>;
}
