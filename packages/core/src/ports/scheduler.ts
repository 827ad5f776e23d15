// The Scheduler port: fires executions of ACTIVE launch plans that carry a schedule (cron or fixed rate).
// The reference implementation lives in @flyte-ts/executor; its bookkeeping goes through the Store.
import type { Schedule } from '../gen/flyteidl/admin/index.js';
import type { Identifier } from '../gen/flyteidl/core/index.js';
import type { OperationOptions } from './common.js';

/** One fire of a schedule. */
export interface ScheduledFire {
  /** The launch plan version to execute (the ACTIVE one when the fire was computed). */
  readonly launchPlan: Identifier;
  /** The schedule the time was computed from (that version's): its `kickoffTimeInputArg` names the input to set. */
  readonly schedule: Schedule;
  /** The scheduled time (not the time it was noticed): passed to the `kickoff_time_input_arg` input. */
  readonly scheduledTime: Date;
  /**
   * Execution name derived from (launch plan project, domain and name, scheduled time), not from the version:
   * creating the execution under this name makes a fire idempotent, whichever process, retry or version creates
   * it. A handler treats `ALREADY_EXISTS` on this name as success.
   */
  readonly executionName: string;
}

/**
 * Receives fires. Resolving means the execution exists (created now or before); a rejected promise means the fire
 * was not launched: the scheduler retries it, and gives up on it (reporting it skipped) only when the error says
 * retrying cannot help or after its configured attempts.
 */
export type FireHandler = (fire: ScheduledFire, options: OperationOptions) => Promise<void>;

/** Fires a scheduler skipped on purpose (see {@link SchedulerListener.skipped}). */
export interface SkippedFires {
  /** The launch plan (its ACTIVE version when the fires were skipped). */
  readonly launchPlan: Identifier;
  /**
   * Why: `catch-up-limit` — more fires were missed (downtime) than the scheduler catches up, the oldest were
   * skipped; `launch-failed` — the execution could not be created (the error is in `error`).
   */
  readonly reason: 'catch-up-limit' | 'launch-failed';
  /** Scheduled time of the first fire skipped. */
  readonly first: Date;
  /** Scheduled time of the last fire skipped. */
  readonly last: Date;
  /** How many fires were skipped (from `first` to `last`, both included). */
  readonly count: number;
  /** The launch error, for `launch-failed`. */
  readonly error?: unknown;
}

/** What a scheduler reports besides fires. Every callback is optional and must not throw. */
export interface SchedulerListener {
  /** Fires were skipped; reported once, by the process that recorded the skip. */
  skipped?(event: SkippedFires): void;
  /** Something failed that will be retried (the Store was unreachable, a fire failed and will be retried, ...). */
  warning?(message: string, error?: unknown): void;
}

/** Options of {@link Scheduler.upsert}. */
export interface ScheduleUpsertOptions extends OperationOptions {
  /**
   * When the launch plan name became ACTIVE after no scheduled version was: the schedule starts then, and fires
   * only times after it (a schedule re-activated after a pause does not catch up the pause). Omitted when a
   * version replaces an ACTIVE scheduled version (a version swap) and at start: the schedule then continues from
   * its last fire, catching up what was missed.
   */
  readonly activatedAt?: Date | undefined;
}

/**
 * Schedules of ACTIVE launch plans. The schedule of a launch plan is keyed by its name (project, domain, name),
 * so its bookkeeping survives version swaps. Guarantees: every scheduled time after a schedule is activated is
 * fired exactly once (missed fires after downtime are caught up, up to a configured limit, older ones reported
 * skipped), even with several processes sharing one Store, each running a scheduler; activating another
 * version of a launch plan replaces its schedule at once.
 */
export interface Scheduler {
  /**
   * Registers or replaces the schedule of a launch plan name (the given version is the ACTIVE one). Usable before
   * `start`: the bookkeeping of `activatedAt` is recorded at once.
   */
  upsert(launchPlan: Identifier, schedule: Schedule, options?: ScheduleUpsertOptions): Promise<void>;
  /**
   * Removes the schedule of a launch plan name (it was deactivated); fires already launched stay. Resolves when no
   * fire of it is in flight.
   */
  remove(launchPlan: Identifier, options?: OperationOptions): Promise<void>;
  /**
   * Loads the schedules of every ACTIVE launch plan of the Store, then fires into `handler` until `stop`. Keeps in
   * step with launch plans other processes activate or deactivate. Idempotent while started.
   */
  start(handler: FireHandler, listener?: SchedulerListener): Promise<void>;
  /** Stops firing; resolves when no fire is in flight. `start` may be called again afterwards. */
  stop(): Promise<void>;
}
