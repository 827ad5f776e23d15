// compileWorkflow: Flyte's CompileWorkflow. Checks that every task, subworkflow and launch plan the workflow
// needs is given, then validates and compiles the workflow (and the subworkflows it calls) into a
// CompiledWorkflowClosure: templates with start and end nodes, resolved promises, and connections.
import { clone, create } from '@bufbuild/protobuf';
import { checkParametersNesting, checkTaskNesting, formatIdentifier, idl } from '@flyte-ts/core';
import { START_NODE_ID } from './builder.js';
import { CompileError, IssueScope } from './errors.js';
import { identifierText, idKey } from './ids.js';
import { toCompiledLaunchPlans, type InterfaceProvider } from './launch-plans.js';
import { checkWorkflowsNesting, collectRequirements, indexWorkflows } from './requirements.js';
import type { CompileContext } from './builder.js';
import { validateWorkflow } from './validate-workflow.js';

/**
 * Compiles `primary`, with the subworkflows it may call, the compiled tasks it may run and the interfaces of
 * the launch plans it may launch. Inputs are not modified: the closure holds copies.
 *
 * The closure lists tasks, subworkflows and launch plans in the order given (duplicate tasks dropped), as
 * Flyte does; pass tasks in `getRequirements` order to match Flyte's own outputs.
 * @throws {CompileError} with every issue found (codes such as `TaskReferenceNotFound`, `ParameterNotBound`,
 *   `MismatchingTypes`, `CycleDetected`, `UnreachableNodes`, ... and the node ids they concern).
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the node when a workflow nests deeper than
 *   `MAX_NESTING_DEPTH` (branches, map tasks, conditions, constants and types count; see `MAX_NESTING_DEPTH`).
 */
export function compileWorkflow(
  primary: idl.core.WorkflowTemplate,
  subWorkflows: readonly idl.core.WorkflowTemplate[] = [],
  tasks: readonly idl.core.CompiledTask[] = [],
  launchPlans: readonly InterfaceProvider[] = [],
): idl.core.CompiledWorkflowClosure {
  const name = `workflow ${primary.id?.name ?? identifierText(primary.id)}`;
  const scope = new IssueScope();
  const fail = (): never => {
    throw new CompileError(name, scope.issues);
  };

  // Before anything walks the templates recursively (copies, validation): what nests too deep is refused.
  checkWorkflowsNesting(primary, subWorkflows);
  for (const task of tasks) {
    if (task.template !== undefined) checkTaskNesting(task.template, `task ${formatIdentifier(task.template.id)}`);
  }
  for (const provider of launchPlans) {
    checkParametersNesting(
      provider.expectedInputs,
      provider.fixedInputs,
      `launch plan ${formatIdentifier(provider.id)}`,
    );
  }

  const workflow = clone(idl.core.WorkflowTemplateSchema, primary);

  const taskIndex = new Map<string, idl.core.TaskTemplate>();
  const compiledTasks: idl.core.CompiledTask[] = [];
  for (const task of tasks) {
    if (task.template?.id === undefined) {
      scope.collect('ValueRequired', 'task', 'Value required [Template.Id] of a compiled task.');
      fail();
    }
    const key = idKey(task.template!.id);
    if (taskIndex.has(key)) continue;
    const copy = clone(idl.core.CompiledTaskSchema, task);
    taskIndex.set(key, copy.template!);
    compiledTasks.push(copy);
  }

  // Copies of the subworkflows, indexed by id (duplicates are DuplicateId issues); compiled in place.
  const templates = indexWorkflows(
    subWorkflows.map((sub) => clone(idl.core.WorkflowTemplateSchema, sub)),
    scope,
  );
  const subIndex = new Map<string, idl.core.CompiledWorkflow>();
  const compiledSubs: idl.core.CompiledWorkflow[] = [];
  for (const [key, template] of templates) {
    const compiled = create(idl.core.CompiledWorkflowSchema, { template });
    subIndex.set(key, compiled);
    compiledSubs.push(compiled);
  }
  if (scope.hasErrors()) fail();

  const launchPlanIndex = new Map<string, InterfaceProvider>();
  for (const provider of launchPlans) launchPlanIndex.set(idKey(provider.id), provider);

  // Every requirement must be given before anything is validated (Flyte fails fast here).
  const requirements = collectRequirements(workflow, templates, true, scope);
  for (const id of requirements.launchPlanIds) {
    if (!launchPlanIndex.has(idKey(id))) {
      scope.collect(
        'WorkflowReferenceNotFound',
        START_NODE_ID,
        `Referenced Workflow [${identifierText(id)}] not found.`,
      );
    }
  }
  for (const id of requirements.taskIds) {
    if (!taskIndex.has(idKey(id))) {
      scope.collect('TaskReferenceNotFound', START_NODE_ID, `Referenced Task [${identifierText(id)}] not found.`);
    }
  }
  if (scope.hasErrors()) fail();

  const context: CompileContext = {
    tasks: taskIndex,
    subWorkflows: subIndex,
    launchPlans: launchPlanIndex,
    compiled: new Map(),
    inProgress: new Set(),
  };
  const compiled = create(idl.core.CompiledWorkflowSchema, { template: workflow });
  validateWorkflow(context, compiled, scope.child());
  if (scope.hasErrors()) fail();

  return create(idl.core.CompiledWorkflowClosureSchema, {
    primary: compiled,
    subWorkflows: compiledSubs,
    tasks: compiledTasks,
    launchPlans: toCompiledLaunchPlans(launchPlans),
  });
}
