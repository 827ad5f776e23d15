// Rows of the Store's tables from records and back: the derived columns FlyteAdmin would index (phase,
// created_at, duration, names, mode), the protobuf payloads, and the checks a record must pass to be written.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  formatExecutionId,
  idl,
  InvalidArgumentError,
  isFlyteError,
  UnreadableRecordError,
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

/**
 * Decodes a stored payload. A payload no reader decodes (corrupt, or nested deeper than protobuf readers accept, as
 * versions before the nesting limit could write) is `UNREADABLE_RECORD` naming the record: only the call reading it
 * fails, and lists leave it out (see {@link readRows}).
 * @param kind what the record is (`execution`), and `id` which one (`p/d/e`), for the error
 */
export function decode<Desc extends DescMessage>(
  schema: Desc,
  payload: Uint8Array,
  kind: string,
  id: string,
): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes(payload));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new UnreadableRecordError(
      `${kind} ${id} is stored but cannot be read (${why}): only this record is affected${/recursion depth/.test(why) ? '; it nests deeper than protobuf readers accept, as versions without the nesting limit (MAX_NESTING_DEPTH) could write' : ''}`,
      { id, cause: error },
    );
  }
}

/**
 * The records of a page's rows: rows that cannot be decoded are left out of `items` and reported in `unreadable`,
 * so that one bad row never fails a whole list.
 */
export function readRows<R, T>(
  rows: readonly R[],
  read: (row: R) => T,
): { readonly items: T[]; readonly unreadable?: UnreadableRecordError[] } {
  const items: T[] = [];
  const unreadable: UnreadableRecordError[] = [];
  for (const row of rows) {
    try {
      items.push(read(row));
    } catch (error) {
      if (!isFlyteError(error, 'UNREADABLE_RECORD')) throw error;
      unreadable.push(error as UnreadableRecordError);
    }
  }
  return unreadable.length === 0 ? { items } : { items, unreadable };
}

/** An execution record from its row (with its project, domain and name, which name it when it is unreadable). */
export function executionRecord(row: {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly payload: Uint8Array;
  readonly revision: number;
  readonly state?: Uint8Array | null | undefined;
  readonly inputs_uri?: string | null | undefined;
}): ExecutionRecord {
  const execution = decode(
    idl.admin.ExecutionSchema,
    row.payload,
    'execution',
    `${row.project}/${row.domain}/${row.name}`,
  );
  const record: { -readonly [K in keyof ExecutionRecord]: ExecutionRecord[K] } = { execution, revision: row.revision };
  if (row.state !== null && row.state !== undefined) record.state = bytes(row.state);
  if (row.inputs_uri !== null && row.inputs_uri !== undefined) record.inputsUri = row.inputs_uri;
  return record;
}

/** A node execution record from its row, of execution `execution`. */
export function nodeRecord(
  row: {
    readonly node_id: string;
    readonly payload: Uint8Array;
    readonly parent_node_id: string;
    readonly revision: number;
    readonly state: Uint8Array | null;
  },
  execution: WorkflowExecutionIdentifier,
): NodeExecutionRecord {
  const nodeExecution = decode(
    idl.admin.NodeExecutionSchema,
    row.payload,
    'node execution',
    `${formatExecutionId(execution)}/${row.node_id}`,
  );
  return row.state === null
    ? { nodeExecution, parentNodeId: row.parent_node_id, revision: row.revision }
    : { nodeExecution, parentNodeId: row.parent_node_id, revision: row.revision, state: bytes(row.state) };
}

/** A task execution record from its row, of execution `execution`. */
export function taskRecord(
  row: {
    readonly node_id: string;
    readonly retry_attempt: number;
    readonly payload: Uint8Array;
    readonly revision: number;
  },
  execution: WorkflowExecutionIdentifier | undefined,
): TaskExecutionRecord {
  const id = `${formatExecutionId(execution)}/${row.node_id}/${row.retry_attempt}`;
  return {
    taskExecution: decode(idl.admin.TaskExecutionSchema, row.payload, 'task execution', id),
    revision: row.revision,
  };
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

/** An event from its row; `id` names it when it is unreadable (`p/d/e event 12`). */
export function eventFromRow(row: { readonly kind: string; readonly payload: Uint8Array }, id: string): ExecutionEvent {
  const payload = row.payload;
  switch (row.kind) {
    case 'workflow':
      return {
        kind: 'workflow',
        event: decode(idl.event.WorkflowExecutionEventSchema, payload, 'workflow event', id),
      };
    case 'node':
      return { kind: 'node', event: decode(idl.event.NodeExecutionEventSchema, payload, 'node event', id) };
    case 'task':
      return { kind: 'task', event: decode(idl.event.TaskExecutionEventSchema, payload, 'task event', id) };
    default:
      throw new Error(`execution_events holds an event of unknown kind ${JSON.stringify(row.kind)}`);
  }
}
