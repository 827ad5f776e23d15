// Store notifications within one process: for Stores whose data only this process can reach (an in-memory
// store, embedded PGlite), so every engine sharing them shares the Store object, and a notice never needs to
// leave the process.
import type { OperationOptions } from './common.js';
import {
  checkExecutionNotices,
  type ExecutionNotice,
  type ExecutionNoticeListener,
  type NoticeSubscription,
  type StoreNotifications,
} from './store-notifications.js';

/**
 * {@link StoreNotifications} delivered in process to the subscribers of this object. A Store adapter whose data
 * lives in one process holds one and calls {@link InProcessNotifications.deliver} with a commit's notices once the
 * commit applied; nothing is ever lost, so `missed` is never called.
 */
export class InProcessNotifications implements StoreNotifications {
  readonly #listeners = new Set<ExecutionNoticeListener>();

  /** @inheritDoc */
  async publish(notices: readonly ExecutionNotice[], options?: OperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    checkExecutionNotices(notices);
    this.deliver(notices);
  }

  /** @inheritDoc */
  async subscribe(listener: ExecutionNoticeListener, options?: OperationOptions): Promise<NoticeSubscription> {
    options?.signal?.throwIfAborted();
    this.#listeners.add(listener);
    return {
      close: async () => {
        this.#listeners.delete(listener);
      },
    };
  }

  /**
   * Delivers notices (already checked) to the current subscribers, asynchronously (in a microtask, so never
   * inside the caller's code); a subscription closed meanwhile gets nothing.
   */
  deliver(notices: readonly ExecutionNotice[]): void {
    if (notices.length === 0 || this.#listeners.size === 0) return;
    const listeners = [...this.#listeners];
    queueMicrotask(() => {
      for (const notice of notices) {
        for (const listener of listeners) {
          if (!this.#listeners.has(listener)) continue;
          try {
            listener.notice(notice);
          } catch {
            // A listener's failure is its own: the others still get the notice.
          }
        }
      }
    });
  }
}
