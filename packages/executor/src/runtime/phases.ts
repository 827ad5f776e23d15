// Phase predicates shared by the runner and the handlers.
import { idl } from '@flyte-ts/core';

const WP = idl.core.WorkflowExecution_Phase;

/** Whether a workflow phase is final. */
export function isTerminalWorkflowPhase(phase: idl.core.WorkflowExecution_Phase): boolean {
  return phase === WP.SUCCEEDED || phase === WP.FAILED || phase === WP.ABORTED || phase === WP.TIMED_OUT;
}
