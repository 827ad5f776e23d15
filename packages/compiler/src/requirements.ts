// getRequirements: the tasks and launch plans a workflow needs, following subworkflows, in Flyte's order.
import { checkWorkflowNesting, formatIdentifier, type idl } from '@flyte-ts/core';
import { CompileError, IssueScope } from './errors.js';
import { IdentifierSet, idKey, identifierText } from './ids.js';

/** What a workflow needs registered to run. */
export interface WorkflowRequirements {
  /** Tasks, sorted as Flyte sorts identifiers. */
  readonly taskIds: idl.core.Identifier[];
  /** Launch plans, sorted likewise. */
  readonly launchPlanIds: idl.core.Identifier[];
}

/**
 * The tasks and launch plans `primary` needs: those its nodes (branch cases, array sub-nodes and the failure
 * node included) reference, and those of the subworkflows it calls, transitively.
 * @throws {CompileError} `DuplicateId` when two subworkflows have the same id.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the node when a workflow nests deeper than
 *   `MAX_NESTING_DEPTH`.
 */
export function getRequirements(
  primary: idl.core.WorkflowTemplate,
  subWorkflows: readonly idl.core.WorkflowTemplate[] = [],
): WorkflowRequirements {
  checkWorkflowsNesting(primary, subWorkflows);
  const scope = new IssueScope();
  const index = indexWorkflows(subWorkflows, scope);
  if (scope.hasErrors()) throw new CompileError(`workflow ${primary.id?.name ?? ''}`, scope.issues);
  return collectRequirements(primary, index, true, scope);
}

/**
 * Refuses a workflow or subworkflow nesting deeper than `MAX_NESTING_DEPTH`, before the recursive walks of
 * compilation (a workflow may hold thousands of nested branches).
 */
export function checkWorkflowsNesting(
  primary: idl.core.WorkflowTemplate,
  subWorkflows: readonly idl.core.WorkflowTemplate[],
): void {
  checkWorkflowNesting(primary, `workflow ${formatIdentifier(primary.id)}`);
  for (const sub of subWorkflows) checkWorkflowNesting(sub, `subworkflow ${formatIdentifier(sub.id)}`);
}

/** Subworkflow templates by id; duplicates are `DuplicateId` issues. */
export function indexWorkflows(
  templates: readonly idl.core.WorkflowTemplate[],
  scope: IssueScope,
): Map<string, idl.core.WorkflowTemplate> {
  const index = new Map<string, idl.core.WorkflowTemplate>();
  for (const template of templates) {
    if (template.id === undefined) {
      scope.collect('ValueRequired', 'root', 'Value required [subworkflow id].');
      continue;
    }
    const key = idKey(template.id);
    if (index.has(key)) {
      scope.collect(
        'DuplicateId',
        identifierText(template.id),
        `Two subworkflows have the id ${identifierText(template.id)}.`,
      );
      continue;
    }
    index.set(key, template);
  }
  return index;
}

/**
 * The requirements of a workflow; with `follow`, those of the subworkflows it calls too (a missing
 * subworkflow is a `WorkflowReferenceNotFound` issue in `scope`).
 */
export function collectRequirements(
  workflow: idl.core.WorkflowTemplate,
  subWorkflows: ReadonlyMap<string, idl.core.WorkflowTemplate>,
  follow: boolean,
  scope: IssueScope,
): WorkflowRequirements {
  const tasks = new IdentifierSet();
  const launchPlans = new IdentifierSet();
  // Each template is walked once: requirements are sets, and walking per path would take exponential time on
  // subworkflows called from several places (and forever on a subworkflow that calls itself).
  const visited = new Set<idl.core.WorkflowTemplate>();

  const visitWorkflow = (wf: idl.core.WorkflowTemplate) => {
    if (visited.has(wf)) return;
    visited.add(wf);
    for (const node of wf.nodes) visitNode(node);
    if (wf.failureNode !== undefined) visitNode(wf.failureNode);
  };

  const visitNode = (node: idl.core.Node) => {
    const target = node.target;
    switch (target.case) {
      case 'taskNode':
        if (target.value.reference.case === 'referenceId') tasks.add(target.value.reference.value);
        break;
      case 'workflowNode': {
        const reference = target.value.reference;
        if (reference.case === 'launchplanRef') {
          launchPlans.add(reference.value);
        } else if (reference.case === 'subWorkflowRef' && follow) {
          const sub = subWorkflows.get(idKey(reference.value));
          if (sub === undefined) {
            scope.collect(
              'WorkflowReferenceNotFound',
              node.id,
              `Referenced Workflow [${identifierText(reference.value)}] not found.`,
            );
          } else {
            visitWorkflow(sub);
          }
        }
        break;
      }
      case 'branchNode': {
        const ifElse = target.value.ifElse;
        if (ifElse === undefined) break;
        if (ifElse.case?.thenNode !== undefined) visitNode(ifElse.case.thenNode);
        for (const other of ifElse.other) if (other.thenNode !== undefined) visitNode(other.thenNode);
        if (ifElse.default.case === 'elseNode') visitNode(ifElse.default.value);
        break;
      }
      case 'arrayNode':
        if (target.value.node !== undefined) visitNode(target.value.node);
        break;
      default:
        break;
    }
  };

  visitWorkflow(workflow);
  return { taskIds: tasks.list(), launchPlanIds: launchPlans.list() };
}
