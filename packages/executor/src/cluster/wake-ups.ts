// Wake-ups from the other engines sharing the Store: a terminate or a signal asked through another engine reaches
// the engine driving the execution, and a new execution is claimed at once. The Store's notifications carry
// them when it has that capability; otherwise this engine polls the Store for abort requests at the lease poll
// interval (and gates poll for their signals: see `EngineServices.signalsPolled`).
import {
  formatExecutionId,
  idl,
  type ExecutionNotice,
  type ExecutionNoticeKind,
  type ExecutionRecord,
  type NoticeSubscription,
  type Store,
} from '@flyte-ts/core';
import type { ResolvedConfig } from '../config.js';
import type { ExecutionRunner } from '../runtime/execution-runner.js';

const WP = idl.core.WorkflowExecution_Phase;

/** What the engine gives the wake-ups. */
export interface WakeUpTarget {
  /** The runner driving the execution in this engine, if any. */
  runnerOf(id: idl.core.WorkflowExecutionIdentifier): ExecutionRunner | undefined;
  /** The runners of this engine. */
  runners(): Iterable<ExecutionRunner>;
  /** Claims unclaimed executions now (engines sharing the Store through leases). */
  claim(): void;
  /** Reports an error that fails nothing. */
  warn(message: string, error?: unknown): void;
}

/**
 * Whether signals set through another engine reach this engine's gates only by polling: the Store is shared
 * (leases) and has no notifications.
 */
export function signalsPolled(store: Store, config: ResolvedConfig): boolean {
  return config.leases !== undefined && store.notifications === undefined;
}

/** Subscribes to the Store's notices while the engine is started, or polls for abort requests instead. */
export class WakeUps {
  readonly #store: Store;
  readonly #config: ResolvedConfig;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #target: WakeUpTarget;
  #subscription: NoticeSubscription | undefined;
  #polling: AbortController | undefined;

  /**
   * @param store the engine's Store
   * @param config the engine's settings (leases)
   * @param sleep the engine clock's sleep
   * @param target the engine's runners and claims
   */
  constructor(
    store: Store,
    config: ResolvedConfig,
    sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    target: WakeUpTarget,
  ) {
    this.#store = store;
    this.#config = config;
    this.#sleep = sleep;
    this.#target = target;
  }

  /**
   * Starts listening: subscribes to the Store's notices (resolves once subscribed), or, for a shared Store without
   * them, starts polling for abort requests every `config.leases.pollIntervalMs`.
   * @throws {UnavailableError} `UNAVAILABLE` when the Store cannot subscribe
   */
  async start(): Promise<void> {
    const notifications = this.#store.notifications;
    if (notifications !== undefined) {
      this.#subscription ??= await notifications.subscribe({
        notice: (notice) => this.#onNotice(notice),
        missed: () => this.#onMissed(),
      });
      return;
    }
    const leases = this.#config.leases;
    if (leases === undefined || this.#polling !== undefined) return;
    const polling = new AbortController();
    this.#polling = polling;
    void this.#poll(leases.pollIntervalMs, polling.signal);
  }

  /** Stops listening (or polling). */
  async stop(): Promise<void> {
    this.#polling?.abort(new Error('engine stopped'));
    this.#polling = undefined;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  /** Tells the other engines (nothing without the Store's notifications); a failure is only reported. */
  publish(kind: ExecutionNoticeKind, execution: idl.core.WorkflowExecutionIdentifier): void {
    this.#store.notifications
      ?.publish([{ kind, execution }])
      .catch((error: unknown) =>
        this.#target.warn(`could not tell other engines (${kind}) about ${formatExecutionId(execution)}`, error),
      );
  }

  /**
   * Has the runners of this engine abort the executions whose abort another engine recorded (one query of the
   * ABORTING executions).
   */
  async checkAbortRequests(): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.#store.listExecutions({
        filters: [{ fn: 'eq', field: 'phase', values: ['ABORTING'] }],
        limit: 1000,
        ...(token === undefined ? {} : { token }),
      });
      for (const record of page.items) this.#abortRecorded(record);
      token = page.nextToken;
    } while (token !== undefined);
  }

  #onNotice(notice: ExecutionNotice): void {
    switch (notice.kind) {
      case 'created':
        if (this.#config.leases !== undefined) this.#target.claim();
        return;
      case 'signal':
        this.#target.runnerOf(notice.execution)?.signalSet();
        return;
      case 'terminate': {
        const runner = this.#target.runnerOf(notice.execution);
        if (runner === undefined || runner.isAborting) return;
        this.#store.getExecution(notice.execution).then(
          (record) => {
            if (record !== undefined) this.#abortRecorded(record);
          },
          (error: unknown) =>
            this.#target.warn(`could not read the abort request of ${formatExecutionId(notice.execution)}`, error),
        );
        return;
      }
    }
  }

  /** Notices may have been lost: look at what they would have said. */
  #onMissed(): void {
    if (this.#config.leases !== undefined) this.#target.claim();
    for (const runner of this.#target.runners()) runner.signalSet();
    this.checkAbortRequests().catch((error: unknown) =>
      this.#target.warn('could not look for abort requests after notices were missed', error),
    );
  }

  #abortRecorded(record: ExecutionRecord): void {
    if ((record.execution.closure?.phase ?? WP.UNDEFINED) !== WP.ABORTING) return;
    const runner = this.#target.runnerOf(record.execution.id!);
    if (runner === undefined || runner.isAborting) return;
    runner
      .abortRecorded(record)
      .catch((error: unknown) =>
        this.#target.warn(`aborting execution ${formatExecutionId(record.execution.id)} failed`, error),
      );
  }

  async #poll(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#sleep(intervalMs, signal);
      } catch {
        return;
      }
      // Idle: nothing of this engine to abort.
      if (this.#target.runners()[Symbol.iterator]().next().done === true) continue;
      await this.checkAbortRequests().catch((error: unknown) =>
        this.#target.warn('looking for abort requests failed', error),
      );
    }
  }
}
