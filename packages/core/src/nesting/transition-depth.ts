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
import { checkMessageDepth } from './message-depth.js';

/**
 * Refuses a transition holding a record or event nested deeper than `MAX_MESSAGE_DEPTH`. Stores call it before
 * writing anything of a commit.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the record
 */
export function checkTransitionDepth(transition: ExecutionTransition): void {
  const execution = transition.execution?.record.execution;
  if (execution !== undefined) {
    checkMessageDepth(ExecutionSchema, execution, `execution ${formatExecutionId(execution.id)}`);
  }
  for (const { record } of transition.nodeExecutions ?? []) {
    const node = record.nodeExecution;
    checkMessageDepth(NodeExecutionSchema, node, `node execution ${formatNodeExecutionId(node.id)}`);
  }
  for (const { record } of transition.taskExecutions ?? []) {
    const task = record.taskExecution;
    checkMessageDepth(TaskExecutionSchema, task, `task execution ${formatTaskExecutionId(task.id)}`);
  }
  for (const event of transition.events ?? []) {
    switch (event.kind) {
      case 'workflow':
        checkMessageDepth(
          WorkflowExecutionEventSchema,
          event.event,
          `workflow event of ${formatExecutionId(event.event.executionId)}`,
        );
        break;
      case 'node':
        checkMessageDepth(
          NodeExecutionEventSchema,
          event.event,
          `node event of ${formatNodeExecutionId(event.event.id)}`,
        );
        break;
      case 'task':
        checkMessageDepth(
          TaskExecutionEventSchema,
          event.event,
          `task event of ${formatNodeExecutionId(event.event.parentNodeExecutionId)}`,
        );
        break;
      default:
        break;
    }
  }
}
