// Map keys of identifiers: one string per entity, so that lookups by id are a single Map access.
import type { idl } from '@flyte-ts/core';

const SEP = '\u0000';

// Task attempts of one template share its Identifier object: its key is made once, and made again if the object
// was changed since (messages are mutable).
const entityKeys = new WeakMap<idl.core.Identifier, { readonly of: readonly string[]; readonly key: string }>();

/** Key of a task, workflow or launch plan version (org, project, domain, name, version). */
export function entityKey(id: idl.core.Identifier): string {
  const cached = entityKeys.get(id);
  const { org, project, domain, name, version } = id;
  if (cached !== undefined) {
    const of = cached.of;
    if (of[0] === org && of[1] === project && of[2] === domain && of[3] === name && of[4] === version) {
      return cached.key;
    }
  }
  const key = `${org}${SEP}${project}${SEP}${domain}${SEP}${name}${SEP}${version}`;
  entityKeys.set(id, { of: [org, project, domain, name, version], key });
  return key;
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
