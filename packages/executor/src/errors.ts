// Errors the engine raises on purpose: each has a stable code (match on it, never on the message) and the id
// of what was wrong.
import { FlyteError, type FlyteErrorOptions } from '@flyte-ts/core';

/** Stable error codes raised by `@flyte-ts/executor` (besides the core ones: NOT_FOUND, ALREADY_EXISTS, ...). */
export const EXECUTOR_ERROR_CODES = [
  /** A project or domain is not configured on this engine. */
  'UNKNOWN_PROJECT_DOMAIN',
  /** No registered plugin runs this task type, or the project-domain does not allow it. */
  'UNSUPPORTED_TASK_TYPE',
  /** Execution inputs are missing, unknown, fixed by the launch plan, or of the wrong type. */
  'INVALID_INPUTS',
  /** The project-domain already runs as many executions as it may. */
  'TOO_MANY_EXECUTIONS',
  /** A workflow, launch plan or dynamic job spec does not compile. */
  'COMPILE_FAILED',
  /** The engine is not started, or was stopped. */
  'ENGINE_STOPPED',
  /** The execution is not in a state that allows the request (e.g. recovering a running execution). */
  'INVALID_STATE',
  /** A signal value does not match the signal's type, or the signal is unknown. */
  'INVALID_SIGNAL',
  /** The launch plan named after a workflow (its default launch plan) runs another workflow. */
  'LAUNCH_PLAN_MISMATCH',
] as const;

/** One of {@link EXECUTOR_ERROR_CODES}. */
export type ExecutorErrorCode = (typeof EXECUTOR_ERROR_CODES)[number];

/** An error of the engine's API. */
export class ExecutorError extends FlyteError<ExecutorErrorCode> {
  /**
   * @param code the stable code
   * @param message what is wrong and what to change
   * @param options the id of what was wrong, and the cause
   */
  constructor(code: ExecutorErrorCode, message: string, options: FlyteErrorOptions = {}) {
    super(code, message, options);
  }
}
