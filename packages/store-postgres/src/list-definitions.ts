// The filter fields and sort keys of each Store list, as columns: the same names, kinds and default orders as
// @flyte-ts/store-memory, so both adapters accept exactly the same queries and answer them alike.
import { idl } from '@flyte-ts/core';
import type { SqlField, SqlListDefinition } from './list-engine.js';

const text = (column: string): SqlField => ({ kind: 'text', column });
const number = (column: string): SqlField => ({ kind: 'number', column });
const time = (column: string): SqlField => ({ kind: 'time', column });
const enumeration = (column: string, names: Readonly<Record<string, string | number>>): SqlField => ({
  kind: 'enum',
  column,
  names,
});

/** Projects: sorted by id; filters on `name`, `state`. */
export const PROJECT_LIST: SqlListDefinition = {
  name: 'projects',
  fields: { name: text('name'), state: enumeration('state', idl.admin.Project_ProjectState) },
  sortKeys: { id: text('id'), name: text('name') },
  defaultSort: { key: 'id', direction: 'asc' },
  seqColumn: 'seq',
};

const entityFields: { readonly [field: string]: SqlField } = {
  project: text('project'),
  domain: text('domain'),
  name: text('name'),
  version: text('version'),
  created_at: time('created_at_ns'),
};

/** Tasks: newest first; filters on `project`, `domain`, `name`, `version`, `created_at`. */
export const TASK_LIST: SqlListDefinition = {
  name: 'tasks',
  fields: entityFields,
  sortKeys: entityFields,
  defaultSort: { key: 'created_at', direction: 'desc' },
  seqColumn: 'seq',
};

/** Workflows: as tasks. */
export const WORKFLOW_LIST: SqlListDefinition = { ...TASK_LIST, name: 'workflows' };

const launchPlanFields: { readonly [field: string]: SqlField } = {
  ...entityFields,
  'workflow.name': text('workflow_name'),
};

/** Launch plans: as tasks, plus `state` and `workflow.name`. */
export const LAUNCH_PLAN_LIST: SqlListDefinition = {
  name: 'launch plans',
  fields: { ...launchPlanFields, state: enumeration('state', idl.admin.LaunchPlanState) },
  sortKeys: launchPlanFields,
  defaultSort: { key: 'created_at', direction: 'desc' },
  seqColumn: 'seq',
};

const executionSortable: { readonly [field: string]: SqlField } = {
  project: text('project'),
  domain: text('domain'),
  name: text('name'),
  created_at: time('created_at_ns'),
  execution_created_at: time('created_at_ns'),
  duration: number('duration'),
  'workflow.name': text('workflow_name'),
  'launch_plan.name': text('launch_plan_name'),
  'task.name': text('task_name'),
};

/**
 * Executions: newest first; filters on `project`, `domain`, `name`, `phase`, `created_at`, `execution_created_at`,
 * `duration` (seconds), `workflow.name`, `launch_plan.name`, `task.name`, `mode`.
 */
export const EXECUTION_LIST: SqlListDefinition = {
  name: 'executions',
  fields: {
    ...executionSortable,
    phase: enumeration('phase', idl.core.WorkflowExecution_Phase),
    mode: enumeration('mode', idl.admin.ExecutionMetadata_ExecutionMode),
  },
  sortKeys: executionSortable,
  defaultSort: { key: 'created_at', direction: 'desc' },
  seqColumn: 'pk',
};

const nodeSortable: { readonly [field: string]: SqlField } = {
  node_id: text('node_id'),
  created_at: time('created_at_ns'),
  duration: number('duration'),
};

/** Node executions: oldest first (creation order); filters on `phase`, `node_id`, `created_at`, `duration`. */
export const NODE_EXECUTION_LIST: SqlListDefinition = {
  name: 'node executions',
  fields: { ...nodeSortable, phase: enumeration('phase', idl.core.NodeExecution_Phase) },
  sortKeys: nodeSortable,
  seqColumn: 'seq',
};

const taskSortable: { readonly [field: string]: SqlField } = { retry_attempt: number('retry_attempt') };

/** Task executions: by retry attempt; filters on `phase`, `retry_attempt`. */
export const TASK_EXECUTION_LIST: SqlListDefinition = {
  name: 'task executions',
  fields: { ...taskSortable, phase: enumeration('phase', idl.core.TaskExecution_Phase) },
  sortKeys: taskSortable,
  defaultSort: { key: 'retry_attempt', direction: 'asc' },
  seqColumn: 'seq',
};

/** The event log: commit order, no filters. */
export const EVENT_LIST: SqlListDefinition = { name: 'events', fields: {}, sortKeys: {}, seqColumn: 'seq' };
