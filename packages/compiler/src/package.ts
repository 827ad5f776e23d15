// compilePackage: compiles a set of serialized entities together (what registration does): every task, every
// workflow with the subworkflows and launch plans it uses, each launch plan's interface from its workflow.
import type { idl } from '@flyte-ts/core';
import { compileTask } from './compile-task.js';
import { compileWorkflow } from './compile-workflow.js';
import { CompileError, type CompileIssue } from './errors.js';
import { idKey } from './ids.js';
import { launchPlanInterface, launchPlanInterfaceFromSpec, type InterfaceProvider } from './launch-plans.js';
import { getRequirements } from './requirements.js';

/** Entities to compile together (what `serialize` of @flyte-ts/core, or a flytekit package, gives). */
export interface EntityPackage {
  /** Task specs. */
  readonly tasks: readonly idl.admin.TaskSpec[];
  /** Workflow specs, each with the subworkflows it calls. */
  readonly workflows: readonly idl.admin.WorkflowSpec[];
  /** Launch plans. */
  readonly launchPlans: readonly idl.admin.LaunchPlan[];
}

/** Already registered entities a package may use. */
export interface CompilePackageOptions {
  /** Compiled tasks registered before. */
  readonly tasks?: readonly idl.core.CompiledTask[];
  /** Interfaces of launch plans registered before. */
  readonly launchPlans?: readonly InterfaceProvider[];
}

/** A compiled package. */
export interface CompiledPackage {
  /** Every task, compiled, in the order given. */
  readonly tasks: readonly idl.core.CompiledTask[];
  /** Every workflow: its spec and its compiled closure (tasks limited to those it needs). */
  readonly workflows: readonly {
    readonly spec: idl.admin.WorkflowSpec;
    readonly closure: idl.core.CompiledWorkflowClosure;
  }[];
  /** The interfaces of the package's launch plans. */
  readonly launchPlans: readonly InterfaceProvider[];
}

/**
 * Compiles every entity of a package.
 * @throws {CompileError} with the issues of every entity that fails (messages name the entity).
 */
export function compilePackage(pkg: EntityPackage, options: CompilePackageOptions = {}): CompiledPackage {
  const issues: CompileIssue[] = [];
  const record = (entity: string, error: unknown) => {
    if (!(error instanceof CompileError)) throw error;
    for (const issue of error.issues) issues.push({ ...issue, message: `${entity}: ${issue.message}` });
  };

  const tasks: idl.core.CompiledTask[] = [];
  for (const spec of pkg.tasks) {
    try {
      if (spec.template === undefined)
        throw new CompileError('task', [
          { code: 'ValueRequired', nodeId: 'root', message: 'Value required [template].' },
        ]);
      tasks.push(compileTask(spec.template));
    } catch (error) {
      record(`task ${spec.template?.id?.name ?? '?'}`, error);
    }
  }

  const interfaces = new Map<string, idl.core.TypedInterface | undefined>();
  for (const spec of pkg.workflows) {
    interfaces.set(idKey(spec.template?.id), spec.template?.interface);
    for (const sub of spec.subWorkflows) interfaces.set(idKey(sub.id), sub.interface);
  }
  const launchPlans = pkg.launchPlans.map((lp) => {
    const workflowInterface = interfaces.get(idKey(lp.spec?.workflowId));
    return workflowInterface !== undefined && lp.id !== undefined && lp.spec !== undefined
      ? launchPlanInterfaceFromSpec(lp.id, lp.spec, workflowInterface)
      : launchPlanInterface(lp);
  });

  const taskIndex = new Map([...(options.tasks ?? []), ...tasks].map((t) => [idKey(t.template?.id), t]));
  const launchPlanIndex = new Map([...(options.launchPlans ?? []), ...launchPlans].map((p) => [idKey(p.id), p]));
  const workflows: { spec: idl.admin.WorkflowSpec; closure: idl.core.CompiledWorkflowClosure }[] = [];
  for (const spec of pkg.workflows) {
    try {
      if (spec.template === undefined)
        throw new CompileError('workflow', [
          { code: 'ValueRequired', nodeId: 'root', message: 'Value required [template].' },
        ]);
      // Each closure holds the tasks and launch plans its workflow needs, in Flyte's requirement order.
      const required = getRequirements(spec.template, spec.subWorkflows);
      const needed = required.taskIds.flatMap((id) => taskIndex.get(idKey(id)) ?? []);
      const launched = required.launchPlanIds.flatMap((id) => launchPlanIndex.get(idKey(id)) ?? []);
      workflows.push({ spec, closure: compileWorkflow(spec.template, spec.subWorkflows, needed, launched) });
    } catch (error) {
      record(`workflow ${spec.template?.id?.name ?? '?'}`, error);
    }
  }
  if (issues.length > 0) throw new CompileError('package', issues);
  return { tasks, workflows, launchPlans };
}
