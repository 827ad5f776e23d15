// Map keys of identifiers: one string per entity, so that lookups by id are a single Map access.
import type { idl } from '@flyte-ts/core';

const SEP = '\u0000';

/** Key of a task, workflow or launch plan version (org, project, domain, name, version). */
export function entityKey(id: idl.core.Identifier): string {
  return `${id.org}${SEP}${id.project}${SEP}${id.domain}${SEP}${id.name}${SEP}${id.version}`;
}

/** Key of a launch plan name, all versions (project, domain, name): the scope of "one ACTIVE version". */
export function launchPlanNameKey(project: string, domain: string, name: string): string {
  return `${project}${SEP}${domain}${SEP}${name}`;
}

/** Key of an execution: its name is unique within a project and domain. */
export function executionKey(id: idl.core.WorkflowExecutionIdentifier): string {
  return `${id.project}${SEP}${id.domain}${SEP}${id.name}`;
}

/** Key of a task execution within its execution (node, retry attempt, task version). */
export function taskExecutionKey(
  nodeId: string,
  retryAttempt: number,
  taskId: idl.core.Identifier | undefined,
): string {
  return `${nodeId}${SEP}${retryAttempt}${SEP}${taskId === undefined ? '' : entityKey(taskId)}`;
}

/** Key of a project-domain pair. */
export function projectDomainKey(project: string, domain: string): string {
  return `${project}${SEP}${domain}`;
}
