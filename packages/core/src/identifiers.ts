// Identifier helpers: building the IDL identifiers of tasks, workflows, launch plans and executions, and
// printing them the way Flyte does (`project/domain/name/version`).
import { create } from '@bufbuild/protobuf';
import {
  IdentifierSchema,
  NodeExecutionIdentifierSchema,
  ResourceType,
  WorkflowExecutionIdentifierSchema,
  type Identifier,
  type NodeExecutionIdentifier,
  type TaskExecutionIdentifier,
  type WorkflowExecutionIdentifier,
} from './gen/flyteidl/core/index.js';

/** The parts of an entity identifier; `org` is optional as in Flyte. */
export interface EntityIdParts {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly version: string;
  readonly org?: string;
}

function entityId(resourceType: ResourceType, parts: EntityIdParts): Identifier {
  const { project, domain, name, version, org } = parts;
  return create(IdentifierSchema, { resourceType, project, domain, name, version, org: org ?? '' });
}

/** The identifier of a task. */
export function taskId(parts: EntityIdParts): Identifier {
  return entityId(ResourceType.TASK, parts);
}

/** The identifier of a workflow. */
export function workflowId(parts: EntityIdParts): Identifier {
  return entityId(ResourceType.WORKFLOW, parts);
}

/** The identifier of a launch plan. */
export function launchPlanId(parts: EntityIdParts): Identifier {
  return entityId(ResourceType.LAUNCH_PLAN, parts);
}

/** The identifier of a workflow execution. */
export function executionId(parts: {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly org?: string;
}): WorkflowExecutionIdentifier {
  const { project, domain, name, org } = parts;
  return create(WorkflowExecutionIdentifierSchema, { project, domain, name, org: org ?? '' });
}

/** The identifier of a node execution. */
export function nodeExecutionId(execution: WorkflowExecutionIdentifier, nodeId: string): NodeExecutionIdentifier {
  return create(NodeExecutionIdentifierSchema, { executionId: execution, nodeId });
}

const RESOURCE_NAMES: Record<ResourceType, string> = {
  [ResourceType.UNSPECIFIED]: 'unspecified',
  [ResourceType.TASK]: 'task',
  [ResourceType.WORKFLOW]: 'workflow',
  [ResourceType.LAUNCH_PLAN]: 'launch plan',
  [ResourceType.DATASET]: 'dataset',
};

/** `project/domain/name/version` (Flyte's display form); empty parts are kept so the form stays positional. */
export function formatIdentifier(id: Identifier | undefined): string {
  if (id === undefined) return '<no id>';
  return `${id.project}/${id.domain}/${id.name}/${id.version}`;
}

/** `task project/domain/name/version`, naming the kind of entity too. */
export function describeIdentifier(id: Identifier | undefined): string {
  if (id === undefined) return '<no id>';
  return `${RESOURCE_NAMES[id.resourceType] ?? 'entity'} ${formatIdentifier(id)}`;
}

/** `project/domain/name` of an execution. */
export function formatExecutionId(id: WorkflowExecutionIdentifier | undefined): string {
  if (id === undefined) return '<no execution>';
  return `${id.project}/${id.domain}/${id.name}`;
}

/** `project/domain/execution/node` of a node execution. */
export function formatNodeExecutionId(id: NodeExecutionIdentifier | undefined): string {
  if (id === undefined) return '<no node execution>';
  return `${formatExecutionId(id.executionId)}/${id.nodeId}`;
}

/** `project/domain/execution/node/retry` of a task execution. */
export function formatTaskExecutionId(id: TaskExecutionIdentifier | undefined): string {
  if (id === undefined) return '<no task execution>';
  return `${formatNodeExecutionId(id.nodeExecutionId)}/${id.retryAttempt}`;
}

/** True when two identifiers name the same entity version (resource type, project, domain, name, version, org). */
export function sameIdentifier(a: Identifier | undefined, b: Identifier | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.resourceType === b.resourceType &&
    a.project === b.project &&
    a.domain === b.domain &&
    a.name === b.name &&
    a.version === b.version &&
    a.org === b.org
  );
}
