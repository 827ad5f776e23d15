// Rows of the Store's tables from records and back: the derived columns FlyteAdmin would index (phase,
// created_at, duration, names, mode), the protobuf payloads, and the checks a record must pass to be written.
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  formatExecutionId,
  idl,
  InvalidArgumentError,
  type ExecutionEvent,
  type ExecutionRecord,
  type NodeExecutionRecord,
  type TaskExecutionRecord,
} from '@flyte-ts/core';
import { bytes, compositeKey, durationSeconds, taskKey, timestampKey, timestampNanos } from './codec.js';

type WorkflowExecutionIdentifier = idl.core.WorkflowExecutionIdentifier;

/** Bounds of int8, the type of the nanosecond columns (years 1677 to 2262). */
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** A time column's value: nanoseconds since the epoch, refused when PostgreSQL's int8 cannot hold them. */
export function nanosColumn(timestamp: idl.wkt.Timestamp | undefined, what: string): string {
  const ns = timestampNanos(timestamp);
  if (ns < INT8_MIN || ns > INT8_MAX) {
    throw new InvalidArgumentError(`${what} is outside the years 1677 to 2262 that the store can index`, { id: what });
  }
  return ns.toString();
}

/** The execution id of a record, checked: project, domain and name are required. */
export function requireExecutionId(
  id: WorkflowExecutionIdentifier | undefined,
  what: string,
): WorkflowExecutionIdentifier {
  if (id === undefined || id.project === '' || id.domain === '' || id.name === '') {
    throw new InvalidArgumentError(`${what} needs an execution id with project, domain and name`, {
      id: formatExecutionId(id),
    });
  }
  return id;
}

/** Key of an execution within this process: its name is unique within a project and domain. */
export function executionKey(id: { readonly project: string; readonly domain: string; readonly name: string }): string {
  return compositeKey([id.project, id.domain, id.name]);
}

/** The columns of an execution row derived from its record (all but id, revision and lease). */
export function executionColumns(record: Omit<ExecutionRecord, 'revision'>) {
  const execution = record.execution;
  const closure = execution.closure;
  const launched = execution.spec?.launchPlan;
  const id = execution.id!;
  return {
    org: id.org,
    phase: closure?.phase ?? 0,
    created_at_ns: nanosColumn(closure?.createdAt, `execution ${formatExecutionId(id)} created_at`),
    duration: durationSeconds(closure?.duration),
    workflow_name: closure?.workflowId?.name ?? '',
    launch_plan_name: launched?.name ?? '',
    // A single-task execution names the task where a workflow execution names its launch plan.
    task_name: launched?.resourceType === idl.core.ResourceType.TASK ? launched.name : '',
    mode: execution.spec?.metadata?.mode ?? 0,
    payload: toBinary(idl.admin.ExecutionSchema, execution),
    state: record.state ?? null,
  };
}

/** The columns of a node execution row derived from its record (all but the execution and revision). */
export function nodeColumns(record: Omit<NodeExecutionRecord, 'revision'>) {
  const node = record.nodeExecution;
  const closure = node.closure;
  return {
    node_id: node.id!.nodeId,
    parent_node_id: record.parentNodeId,
    phase: closure?.phase ?? 0,
    created_at_ns: nanosColumn(closure?.createdAt, `node execution ${node.id!.nodeId} created_at`),
    duration: durationSeconds(closure?.duration),
    payload: toBinary(idl.admin.NodeExecutionSchema, node),
    state: record.state ?? null,
  };
}

/** The columns of a task execution row derived from its record (all but the execution and revision). */
export function taskColumns(record: Omit<TaskExecutionRecord, 'revision'>) {
  const task = record.taskExecution;
  const id = task.id!;
  return {
    node_id: id.nodeExecutionId!.nodeId,
    retry_attempt: id.retryAttempt,
    task_key: taskKey(id.taskId),
    phase: task.closure?.phase ?? 0,
    payload: toBinary(idl.admin.TaskExecutionSchema, task),
  };
}

/** An execution record from its row. */
export function executionRecord(row: {
  readonly payload: Uint8Array;
  readonly revision: number;
  readonly state?: Uint8Array | null | undefined;
  readonly inputs_uri?: string | null | undefined;
}): ExecutionRecord {
  const execution = fromBinary(idl.admin.ExecutionSchema, bytes(row.payload));
  const record: { -readonly [K in keyof ExecutionRecord]: ExecutionRecord[K] } = { execution, revision: row.revision };
  if (row.state !== null && row.state !== undefined) record.state = bytes(row.state);
  if (row.inputs_uri !== null && row.inputs_uri !== undefined) record.inputsUri = row.inputs_uri;
  return record;
}

/** A node execution record from its row. */
export function nodeRecord(row: {
  readonly payload: Uint8Array;
  readonly parent_node_id: string;
  readonly revision: number;
  readonly state: Uint8Array | null;
}): NodeExecutionRecord {
  const nodeExecution = fromBinary(idl.admin.NodeExecutionSchema, bytes(row.payload));
  return row.state === null
    ? { nodeExecution, parentNodeId: row.parent_node_id, revision: row.revision }
    : { nodeExecution, parentNodeId: row.parent_node_id, revision: row.revision, state: bytes(row.state) };
}

/** A task execution record from its row. */
export function taskRecord(row: { readonly payload: Uint8Array; readonly revision: number }): TaskExecutionRecord {
  return { taskExecution: fromBinary(idl.admin.TaskExecutionSchema, bytes(row.payload)), revision: row.revision };
}

/** The execution an event belongs to, its identity (entity, phase, occurred_at) and its payload. */
export function eventRow(event: ExecutionEvent): {
  readonly execution: WorkflowExecutionIdentifier | undefined;
  readonly identity: string;
  readonly payload: Uint8Array;
} {
  switch (event.kind) {
    case 'workflow': {
      const e = event.event;
      return {
        execution: e.executionId,
        identity: compositeKey(['w', e.phase, timestampKey(e.occurredAt)]),
        payload: toBinary(idl.event.WorkflowExecutionEventSchema, e),
      };
    }
    case 'node': {
      const e = event.event;
      return {
        execution: e.id?.executionId,
        identity: compositeKey(['n', e.id?.nodeId ?? '', e.phase, timestampKey(e.occurredAt)]),
        payload: toBinary(idl.event.NodeExecutionEventSchema, e),
      };
    }
    case 'task': {
      const e = event.event;
      const attempt = compositeKey([e.parentNodeExecutionId?.nodeId ?? '', e.retryAttempt, taskKey(e.taskId)]);
      return {
        execution: e.parentNodeExecutionId?.executionId,
        identity: compositeKey(['t', attempt, e.phase, timestampKey(e.occurredAt)]),
        payload: toBinary(idl.event.TaskExecutionEventSchema, e),
      };
    }
    default:
      throw new InvalidArgumentError(`unknown event kind ${JSON.stringify((event as { kind: unknown }).kind)}`);
  }
}

/** An event from its row. */
export function eventFromRow(row: { readonly kind: string; readonly payload: Uint8Array }): ExecutionEvent {
  const payload = bytes(row.payload);
  switch (row.kind) {
    case 'workflow':
      return { kind: 'workflow', event: fromBinary(idl.event.WorkflowExecutionEventSchema, payload) };
    case 'node':
      return { kind: 'node', event: fromBinary(idl.event.NodeExecutionEventSchema, payload) };
    case 'task':
      return { kind: 'task', event: fromBinary(idl.event.TaskExecutionEventSchema, payload) };
    default:
      throw new Error(`execution_events holds an event of unknown kind ${JSON.stringify(row.kind)}`);
  }
}
