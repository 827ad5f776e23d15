// Dynamic nodes: a task that wrote a DynamicJobSpec (futures.pb) instead of outputs becomes the parent of the
// workflow it describes, which is compiled (with the tasks it carries and the registered ones it references)
// and run under it, recursively. After a restart the spec is read again and compiled to the same graph.
import { create } from '@bufbuild/protobuf';
import { compileTask, compileWorkflow, getRequirements, launchPlanInterface } from '@flyte-ts/compiler';
import { idl } from '@flyte-ts/core';
import { idKey, indexClosure, type Dag } from '../../runtime/dag.js';
import { NodeFailure } from '../../runtime/failure.js';
import type { NodeRun } from '../../runtime/node-run.js';
import type { Runtime, Transition } from '../handler.js';

/** Whether a task attempt wrote a DynamicJobSpec. */
export async function hasDynamicSpec(rt: Runtime, futuresUri: string): Promise<boolean> {
  return (await rt.services.blob.head(futuresUri)) !== undefined;
}

/** Advances a dynamic parent: builds its graph once, then reports how the graph is doing. */
export async function handleDynamic(run: NodeRun, rt: Runtime, template: idl.core.TaskTemplate): Promise<Transition> {
  let dag = rt.existingChildDag(run);
  if (dag === undefined) {
    let compiled: idl.core.CompiledWorkflowClosure;
    try {
      const spec = await rt.services.data.read(rt.paths(run).futures, idl.core.DynamicJobSpecSchema);
      compiled = await compileDynamic(run, rt, template, spec);
    } catch (error) {
      if (error instanceof NodeFailure) return { phase: 'failed', failure: error };
      return {
        phase: 'failed',
        failure: new NodeFailure(
          'DynamicCompileFailed',
          `the dynamic workflow of ${template.id?.name ?? run.spec.id} does not compile: ${
            error instanceof Error ? error.message : String(error)
          }`,
          'user',
        ),
      };
    }
    dag = rt.childDag(
      run,
      compiled.primary!,
      indexClosure(compiled.tasks, compiled.subWorkflows),
      await rt.inputsOf(run),
    );
  }
  return dagTransition(dag);
}

/** The transition of a node that runs a graph. */
export function dagTransition(dag: Dag): Transition {
  switch (dag.status) {
    case 'succeeded':
      return { phase: 'succeeded', outputs: dag.outputs ?? create(idl.core.LiteralMapSchema) };
    case 'failed':
    case 'aborted':
      return {
        phase: 'failed',
        failure: new NodeFailure(
          dag.failure?.code ?? 'SubworkflowFailed',
          dag.failure?.message ?? 'a node of the workflow failed',
          dag.failure?.kind === idl.core.ExecutionError_ErrorKind.SYSTEM ? 'system' : 'user',
        ),
      };
    default:
      return { phase: 'running' };
  }
}

async function compileDynamic(
  run: NodeRun,
  rt: Runtime,
  template: idl.core.TaskTemplate,
  spec: idl.core.DynamicJobSpec,
): Promise<idl.core.CompiledWorkflowClosure> {
  const id = template.id!;
  const workflow = create(idl.core.WorkflowTemplateSchema, {
    id: {
      resourceType: idl.core.ResourceType.WORKFLOW,
      project: id.project,
      domain: id.domain,
      name: `${id.name}.dynamic.${run.key}`,
      version: id.version,
      org: id.org,
    },
    interface: template.interface,
    nodes: spec.nodes,
    outputs: spec.outputs,
    metadata: {},
  });
  const required = getRequirements(workflow, spec.subworkflows);
  const carried = new Map(spec.tasks.map((t) => [key(t.id), t]));
  const tasks: idl.core.CompiledTask[] = [];
  for (const taskId of required.taskIds) {
    const own = carried.get(key(taskId)) ?? run.dag.index.tasks.get(idKey(taskId));
    if (own !== undefined) {
      tasks.push(compileTask(own));
      continue;
    }
    const registered = await rt.services.store.getTask(taskId);
    const compiledTask = registered?.closure?.compiledTask;
    if (compiledTask === undefined) {
      throw new NodeFailure(
        'TaskNotFound',
        `the dynamic workflow uses task ${taskId.name}, which is not registered`,
        'user',
      );
    }
    tasks.push(compiledTask);
  }
  const launchPlans = [];
  for (const lpId of required.launchPlanIds) {
    const lp = await rt.services.store.getLaunchPlan(lpId);
    if (lp === undefined) {
      throw new NodeFailure(
        'LaunchPlanNotFound',
        `the dynamic workflow uses launch plan ${lpId.name}, which is not registered`,
        'user',
      );
    }
    launchPlans.push(launchPlanInterface(lp));
  }
  return compileWorkflow(workflow, spec.subworkflows, tasks, launchPlans);
}

function key(id: idl.core.Identifier | undefined): string {
  return id === undefined ? '' : `${id.project}/${id.domain}/${id.name}/${id.version}`;
}
