// The Scheduler port: fires executions of ACTIVE launch plans that carry a schedule (cron or fixed rate).
// The reference implementation lives in @flyte-ts/executor; its bookkeeping goes through the Store.
import type { Schedule } from '../gen/flyteidl/admin/index.js';
import type { Identifier } from '../gen/flyteidl/core/index.js';
import type { OperationOptions } from './common.js';

/** One fire of a schedule. */
export interface ScheduledFire {
  /** The launch plan version to execute (the ACTIVE one when the fire was computed). */
  readonly launchPlan: Identifier;
  /** The scheduled time (not the time it was noticed): passed to the `kickoff_time_input_arg` input. */
  readonly scheduledTime: Date;
  /**
   * Execution name derived from (launch plan, scheduled time): creating the execution under this name makes
   * a fire idempotent, whichever process or retry creates it.
   */
  readonly executionName: string;
}

/** Receives fires; a rejected promise means the fire was not launched and will be retried. */
export type FireHandler = (fire: ScheduledFire, options: OperationOptions) => Promise<void>;

/**
 * Schedules of ACTIVE launch plans. Guarantees: every scheduled time after a schedule is registered is fired
 * exactly once (missed fires after downtime are caught up, up to a configured limit), even with several
 * processes sharing one Store; activating another version of a launch plan replaces its schedule at once.
 */
export interface Scheduler {
  /** Registers or replaces the schedule of a launch plan name (the given version is the ACTIVE one). */
  upsert(launchPlan: Identifier, schedule: Schedule, options?: OperationOptions): Promise<void>;
  /** Removes the schedule of a launch plan name (it was deactivated); fires already launched stay. */
  remove(launchPlan: Identifier, options?: OperationOptions): Promise<void>;
  /** Starts firing into `handler` until `stop`. */
  start(handler: FireHandler): void;
  /** Stops firing; resolves when no fire is in flight. */
  stop(): Promise<void>;
}
