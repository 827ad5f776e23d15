// The queryable fields of each Store list, derived from the stored admin messages (FlyteAdmin's columns):
// phase, created_at, duration, workflow.name, launch_plan.name, task.name, mode, node_id, retry_attempt, ...
import {
  idl,
  type ExecutionEvent,
  type ExecutionRecord,
  type NodeExecutionRecord,
  type TaskExecutionRecord,
} from '@flyte-ts/core';
import type { Field, ListDefinition } from './list-engine.js';

type Timestamp = idl.wkt.Timestamp;
type Duration = idl.wkt.Duration;

/** Milliseconds since the epoch of a Timestamp (0 when unset), nanoseconds kept as a fraction. */
export function timestampMillis(timestamp: Timestamp | undefined): number {
  return timestamp === undefined ? 0 : Number(timestamp.seconds) * 1000 + timestamp.nanos / 1e6;
}

/** Seconds of a Duration (0 when unset). */
export function durationSeconds(duration: Duration | undefined): number {
  return duration === undefined ? 0 : Number(duration.seconds) + duration.nanos / 1e9;
}

const text = <T>(get: (row: T) => string): Field<T> => ({ kind: 'text', get });
const number = <T>(get: (row: T) => number): Field<T> => ({ kind: 'number', get });
const time = <T>(get: (row: T) => Timestamp | undefined): Field<T> => ({
  kind: 'time',
  get: (row) => timestampMillis(get(row)),
});
const enumeration = <T>(names: Readonly<Record<string, string | number>>, get: (row: T) => number): Field<T> => ({
  kind: 'enum',
  get,
  names,
});

/** Projects: sorted by id; filters on `name`, `state`. */
export const PROJECT_LIST: ListDefinition<idl.admin.Project> = {
  name: 'projects',
  fields: {
    name: text((p) => p.name),
    state: enumeration(idl.admin.Project_ProjectState, (p) => p.state),
  },
  sortKeys: { id: text((p) => p.id), name: text((p) => p.name) },
  defaultSort: { key: 'id', direction: 'asc' },
};

/** A registered entity: the common shape of Task, Workflow and LaunchPlan. */
interface Entity {
  readonly id?: idl.core.Identifier | undefined;
  readonly closure?: { readonly createdAt?: Timestamp | undefined } | undefined;
}

function entityFields<T extends Entity>(): { readonly [field: string]: Field<T> } {
  return {
    project: text((e) => e.id?.project ?? ''),
    domain: text((e) => e.id?.domain ?? ''),
    name: text((e) => e.id?.name ?? ''),
    version: text((e) => e.id?.version ?? ''),
    created_at: time((e) => e.closure?.createdAt),
  };
}

/** Tasks: newest first; filters on `project`, `domain`, `name`, `version`, `created_at`. */
export const TASK_LIST: ListDefinition<idl.admin.Task> = {
  name: 'tasks',
  fields: entityFields(),
  sortKeys: entityFields(),
  defaultSort: { key: 'created_at', direction: 'desc' },
};

/** Workflows: as tasks. */
export const WORKFLOW_LIST: ListDefinition<idl.admin.Workflow> = {
  name: 'workflows',
  fields: entityFields(),
  sortKeys: entityFields(),
  defaultSort: { key: 'created_at', direction: 'desc' },
};

const launchPlanFields: { readonly [field: string]: Field<idl.admin.LaunchPlan> } = {
  ...entityFields<idl.admin.LaunchPlan>(),
  'workflow.name': text((lp) => lp.spec?.workflowId?.name ?? ''),
};

/** Launch plans: as tasks, plus `state` and `workflow.name`. */
export const LAUNCH_PLAN_LIST: ListDefinition<idl.admin.LaunchPlan> = {
  name: 'launch plans',
  fields: {
    ...launchPlanFields,
    state: enumeration(idl.admin.LaunchPlanState, (lp) => lp.closure?.state ?? idl.admin.LaunchPlanState.INACTIVE),
  },
  sortKeys: launchPlanFields,
  defaultSort: { key: 'created_at', direction: 'desc' },
};

const executionSortable: { readonly [field: string]: Field<ExecutionRecord> } = {
  project: text((r) => r.execution.id?.project ?? ''),
  domain: text((r) => r.execution.id?.domain ?? ''),
  name: text((r) => r.execution.id?.name ?? ''),
  created_at: time((r) => r.execution.closure?.createdAt),
  execution_created_at: time((r) => r.execution.closure?.createdAt),
  duration: number((r) => durationSeconds(r.execution.closure?.duration)),
  'workflow.name': text((r) => r.execution.closure?.workflowId?.name ?? ''),
  'launch_plan.name': text((r) => r.execution.spec?.launchPlan?.name ?? ''),
  // A single-task execution names the task where a workflow execution names its launch plan.
  'task.name': text((r) => {
    const launched = r.execution.spec?.launchPlan;
    return launched?.resourceType === idl.core.ResourceType.TASK ? launched.name : '';
  }),
};

/**
 * Executions: newest first; filters on `project`, `domain`, `name`, `phase`, `created_at`, `execution_created_at`,
 * `duration` (seconds), `workflow.name`, `launch_plan.name`, `task.name`, `mode`.
 */
export const EXECUTION_LIST: ListDefinition<ExecutionRecord> = {
  name: 'executions',
  fields: {
    ...executionSortable,
    phase: enumeration(idl.core.WorkflowExecution_Phase, (r) => r.execution.closure?.phase ?? 0),
    mode: enumeration(idl.admin.ExecutionMetadata_ExecutionMode, (r) => r.execution.spec?.metadata?.mode ?? 0),
  },
  sortKeys: executionSortable,
  defaultSort: { key: 'created_at', direction: 'desc' },
};

const nodeSortable: { readonly [field: string]: Field<NodeExecutionRecord> } = {
  node_id: text((r) => r.nodeExecution.id?.nodeId ?? ''),
  created_at: time((r) => r.nodeExecution.closure?.createdAt),
  duration: number((r) => durationSeconds(r.nodeExecution.closure?.duration)),
};

/** Node executions: oldest first (creation order); filters on `phase`, `node_id`, `created_at`, `duration`. */
export const NODE_EXECUTION_LIST: ListDefinition<NodeExecutionRecord> = {
  name: 'node executions',
  fields: {
    ...nodeSortable,
    phase: enumeration(idl.core.NodeExecution_Phase, (r) => r.nodeExecution.closure?.phase ?? 0),
  },
  sortKeys: nodeSortable,
};

const taskSortable: { readonly [field: string]: Field<TaskExecutionRecord> } = {
  retry_attempt: number((r) => r.taskExecution.id?.retryAttempt ?? 0),
};

/** Task executions: by retry attempt; filters on `phase`, `retry_attempt`. */
export const TASK_EXECUTION_LIST: ListDefinition<TaskExecutionRecord> = {
  name: 'task executions',
  fields: {
    ...taskSortable,
    phase: enumeration(idl.core.TaskExecution_Phase, (r) => r.taskExecution.closure?.phase ?? 0),
  },
  sortKeys: taskSortable,
  defaultSort: { key: 'retry_attempt', direction: 'asc' },
};

/** The event log: commit order, no filters. */
export const EVENT_LIST: ListDefinition<ExecutionEvent> = { name: 'events', fields: {}, sortKeys: {} };
