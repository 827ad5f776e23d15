// The Stores' last guard on a commit: every record and event of a transition is checked before any is written,
// so that a record no protobuf reader could read back is refused as a whole transition (nothing half-written).
import { ExecutionSchema, NodeExecutionSchema, TaskExecutionSchema } from '../gen/flyteidl/admin/index.js';
import {
  NodeExecutionEventSchema,
  TaskExecutionEventSchema,
  WorkflowExecutionEventSchema,
} from '../gen/flyteidl/event/index.js';
import { formatExecutionId, formatNodeExecutionId, formatTaskExecutionId } from '../identifiers.js';
import type { ExecutionTransition } from '../ports/store.js';
import { exceedsMessageDepth, messageTooDeep, withSharedLiteralMaps } from './message-depth.js';

/**
 * Refuses a transition holding a record or event nested deeper than `MAX_MESSAGE_DEPTH`. Stores call it before
 * writing anything of a commit.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the record
 */
export function checkTransitionDepth(transition: ExecutionTransition): void {
  // Records and events share their inputs and outputs: each literal map is walked once.
  withSharedLiteralMaps(() => checkEach(transition));
}

function checkEach(transition: ExecutionTransition): void {
  // The ids are formatted only for the error: this runs on every commit.
  const execution = transition.execution?.record.execution;
  if (execution !== undefined && exceedsMessageDepth(ExecutionSchema, execution)) {
    throw messageTooDeep(`execution ${formatExecutionId(execution.id)}`);
  }
  for (const { record } of transition.nodeExecutions ?? []) {
    const node = record.nodeExecution;
    if (exceedsMessageDepth(NodeExecutionSchema, node)) {
      throw messageTooDeep(`node execution ${formatNodeExecutionId(node.id)}`);
    }
  }
  for (const { record } of transition.taskExecutions ?? []) {
    const task = record.taskExecution;
    if (exceedsMessageDepth(TaskExecutionSchema, task)) {
      throw messageTooDeep(`task execution ${formatTaskExecutionId(task.id)}`);
    }
  }
  for (const event of transition.events ?? []) {
    if (event.kind === 'workflow' && exceedsMessageDepth(WorkflowExecutionEventSchema, event.event)) {
      throw messageTooDeep(`workflow event of ${formatExecutionId(event.event.executionId)}`);
    }
    if (event.kind === 'node' && exceedsMessageDepth(NodeExecutionEventSchema, event.event)) {
      throw messageTooDeep(`node event of ${formatNodeExecutionId(event.event.id)}`);
    }
    if (event.kind === 'task' && exceedsMessageDepth(TaskExecutionEventSchema, event.event)) {
      throw messageTooDeep(`task event of ${formatNodeExecutionId(event.event.parentNodeExecutionId)}`);
    }
  }
}
