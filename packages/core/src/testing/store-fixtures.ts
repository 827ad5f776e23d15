// Builders of the admin and event messages the Store contract writes: small, explicit, and carrying exactly
// the fields the Store derives its queryable columns from (phase, created_at, duration, names, mode).
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  ExecutionClosureSchema,
  ExecutionMetadata_ExecutionMode,
  ExecutionMetadataSchema,
  ExecutionSchema,
  ExecutionSpecSchema,
  LaunchPlanClosureSchema,
  LaunchPlanSchema,
  LaunchPlanSpecSchema,
  LaunchPlanState,
  NodeExecutionClosureSchema,
  NodeExecutionSchema,
  TaskClosureSchema,
  TaskExecutionClosureSchema,
  TaskExecutionSchema,
  TaskSchema,
  WorkflowClosureSchema,
  WorkflowSchema,
  type Execution,
  type LaunchPlan,
  type NodeExecution,
  type Task,
  type TaskExecution,
  type Workflow,
} from '../gen/flyteidl/admin/index.js';
import {
  IdentifierSchema,
  NodeExecution_Phase,
  ResourceType,
  TaskExecution_Phase,
  TaskExecutionIdentifierSchema,
  WorkflowExecution_Phase,
  type NodeExecutionIdentifier,
  type TaskExecutionIdentifier,
  type WorkflowExecutionIdentifier,
} from '../gen/flyteidl/core/index.js';
import {
  NodeExecutionEventSchema,
  TaskExecutionEventSchema,
  WorkflowExecutionEventSchema,
} from '../gen/flyteidl/event/index.js';
import { executionId, launchPlanId, nodeExecutionId, taskId, workflowId } from '../identifiers.js';
import type { ExecutionEvent } from '../ports/store.js';
import { BASE_MS } from './support.js';

/** Where an entity lives and what it is called. */
export interface EntityName {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly version: string;
}

/** A registered task with a creation time. */
export function makeTask(id: EntityName, createdAtMs = BASE_MS): Task {
  return create(TaskSchema, {
    id: taskId(id),
    closure: create(TaskClosureSchema, { createdAt: timestampFromMs(createdAtMs) }),
    shortDescription: `task ${id.name}`,
  });
}

/** A registered workflow with a creation time. */
export function makeWorkflow(id: EntityName, createdAtMs = BASE_MS): Workflow {
  return create(WorkflowSchema, {
    id: workflowId(id),
    closure: create(WorkflowClosureSchema, { createdAt: timestampFromMs(createdAtMs) }),
    shortDescription: `workflow ${id.name}`,
  });
}

/** A launch plan of workflow `workflowName` (same project/domain), INACTIVE unless `state` says otherwise. */
export function makeLaunchPlan(
  id: EntityName,
  options: { readonly workflowName?: string; readonly state?: LaunchPlanState; readonly createdAtMs?: number } = {},
): LaunchPlan {
  return create(LaunchPlanSchema, {
    id: launchPlanId(id),
    spec: create(LaunchPlanSpecSchema, {
      workflowId: workflowId({ ...id, name: options.workflowName ?? `${id.name}-wf` }),
    }),
    closure: create(LaunchPlanClosureSchema, {
      state: options.state ?? LaunchPlanState.INACTIVE,
      createdAt: timestampFromMs(options.createdAtMs ?? BASE_MS),
    }),
  });
}

/** What an execution built by {@link makeExecution} looks like. */
export interface ExecutionShape {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly phase?: WorkflowExecution_Phase;
  readonly createdAtMs?: number;
  readonly durationSeconds?: number;
  readonly workflowName?: string;
  readonly launchPlanName?: string;
  /** When set, a single-task execution: its launch plan id is the task's id (resource type TASK). */
  readonly taskName?: string;
  readonly mode?: ExecutionMetadata_ExecutionMode;
}

/** A workflow execution with the fields the Store filters on. */
export function makeExecution(shape: ExecutionShape): Execution {
  const { project, domain } = shape;
  const launchPlan =
    shape.taskName !== undefined
      ? create(IdentifierSchema, {
          resourceType: ResourceType.TASK,
          project,
          domain,
          name: shape.taskName,
          version: 'v1',
        })
      : launchPlanId({ project, domain, name: shape.launchPlanName ?? 'lp', version: 'v1' });
  return create(ExecutionSchema, {
    id: executionId(shape),
    spec: create(ExecutionSpecSchema, {
      launchPlan,
      metadata: create(ExecutionMetadataSchema, { mode: shape.mode ?? ExecutionMetadata_ExecutionMode.MANUAL }),
    }),
    closure: create(ExecutionClosureSchema, {
      phase: shape.phase ?? WorkflowExecution_Phase.QUEUED,
      createdAt: timestampFromMs(shape.createdAtMs ?? BASE_MS),
      duration: durationFromMs((shape.durationSeconds ?? 0) * 1000),
      workflowId: workflowId({ project, domain, name: shape.workflowName ?? shape.taskName ?? 'wf', version: 'v1' }),
    }),
  });
}

/** A node execution of `execution`. */
export function makeNodeExecution(
  execution: WorkflowExecutionIdentifier,
  nodeId: string,
  options: {
    readonly phase?: NodeExecution_Phase;
    readonly createdAtMs?: number;
    readonly durationSeconds?: number;
  } = {},
): NodeExecution {
  return create(NodeExecutionSchema, {
    id: nodeExecutionId(execution, nodeId),
    inputUri: `mem://metadata/${execution.name}/${nodeId}/inputs.pb`,
    closure: create(NodeExecutionClosureSchema, {
      phase: options.phase ?? NodeExecution_Phase.QUEUED,
      createdAt: timestampFromMs(options.createdAtMs ?? BASE_MS),
      duration: durationFromMs((options.durationSeconds ?? 0) * 1000),
    }),
  });
}

/** The id of attempt `retryAttempt` of the task node `nodeId`. */
export function makeTaskExecutionId(
  execution: WorkflowExecutionIdentifier,
  nodeId: string,
  retryAttempt: number,
): TaskExecutionIdentifier {
  return create(TaskExecutionIdentifierSchema, {
    taskId: taskId({ project: execution.project, domain: execution.domain, name: `${nodeId}-task`, version: 'v1' }),
    nodeExecutionId: nodeExecutionId(execution, nodeId),
    retryAttempt,
  });
}

/** A task execution (one attempt) of the task node `nodeId`. */
export function makeTaskExecution(
  execution: WorkflowExecutionIdentifier,
  nodeId: string,
  retryAttempt: number,
  phase: TaskExecution_Phase = TaskExecution_Phase.QUEUED,
): TaskExecution {
  return create(TaskExecutionSchema, {
    id: makeTaskExecutionId(execution, nodeId, retryAttempt),
    inputUri: `mem://metadata/${execution.name}/${nodeId}/inputs.pb`,
    closure: create(TaskExecutionClosureSchema, { phase, createdAt: timestampFromMs(BASE_MS) }),
  });
}

/** A workflow execution event. */
export function workflowEvent(
  execution: WorkflowExecutionIdentifier,
  phase: WorkflowExecution_Phase,
  occurredAtMs: number,
): ExecutionEvent {
  return {
    kind: 'workflow',
    event: create(WorkflowExecutionEventSchema, {
      executionId: execution,
      producerId: 'contract',
      phase,
      occurredAt: timestampFromMs(occurredAtMs),
    }),
  };
}

/** A node execution event. */
export function nodeEvent(
  id: NodeExecutionIdentifier,
  phase: NodeExecution_Phase,
  occurredAtMs: number,
): ExecutionEvent {
  return {
    kind: 'node',
    event: create(NodeExecutionEventSchema, {
      id,
      producerId: 'contract',
      phase,
      occurredAt: timestampFromMs(occurredAtMs),
    }),
  };
}

/** A task execution event. */
export function taskEvent(
  id: TaskExecutionIdentifier,
  phase: TaskExecution_Phase,
  occurredAtMs: number,
): ExecutionEvent {
  return {
    kind: 'task',
    event: create(TaskExecutionEventSchema, {
      taskId: id.taskId,
      parentNodeExecutionId: id.nodeExecutionId,
      retryAttempt: id.retryAttempt,
      producerId: 'contract',
      phase,
      occurredAt: timestampFromMs(occurredAtMs),
    }),
  };
}

/** The id of an execution in a project/domain. */
export function execId(project: string, domain: string, name: string): WorkflowExecutionIdentifier {
  return executionId({ project, domain, name });
}

/** An RFC 3339 timestamp, as filters on times take them. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
