// Terminal phases of a workflow execution: executions in them are done, so no lease ever claims them.
import { idl } from '@flyte-ts/core';

const Phase = idl.core.WorkflowExecution_Phase;

/** Phases after which a workflow execution never changes again. */
export const TERMINAL_EXECUTION_PHASES: ReadonlySet<idl.core.WorkflowExecution_Phase> = new Set([
  Phase.SUCCEEDED,
  Phase.FAILED,
  Phase.ABORTED,
  Phase.TIMED_OUT,
]);

/** True when an execution in `phase` is finished. */
export function isTerminalExecutionPhase(phase: idl.core.WorkflowExecution_Phase | undefined): boolean {
  return phase !== undefined && TERMINAL_EXECUTION_PHASES.has(phase);
}
