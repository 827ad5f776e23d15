// serialize(entities, settings): everything needed to register some tasks, workflows and launch plans,
// with their dependencies (the equivalent of flytekit's `pyflyte package`): TaskSpecs, WorkflowSpecs with
// their subworkflows, and LaunchPlans.
import { create } from '@bufbuild/protobuf';
import {
  TaskSpecSchema,
  WorkflowSpecSchema,
  type LaunchPlan,
  type TaskSpec,
  type WorkflowSpec,
} from '../gen/flyteidl/admin/index.js';
import {
  WorkflowClosureSchema,
  type TaskTemplate,
  type WorkflowClosure,
  type WorkflowTemplate,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import type { LaunchPlanLike, SerializationSettings, TaskLike, WorkflowLike } from './entities.js';

/** An entity the DSL defines or references. */
export type Entity = TaskLike | WorkflowLike | LaunchPlanLike;

/** What registration needs: tasks, workflows (with their subworkflows) and launch plans. */
export interface SerializedEntities {
  /** Task specs, dependencies first. */
  readonly tasks: readonly TaskSpec[];
  /** Workflow specs; each carries the templates of the subworkflows it calls, transitively. */
  readonly workflows: readonly WorkflowSpec[];
  /** Launch plans (the given ones, and those called by the workflows). */
  readonly launchPlans: readonly LaunchPlan[];
}

interface Collected {
  readonly tasks: TaskLike[];
  readonly workflows: WorkflowLike[];
  readonly launchPlans: LaunchPlanLike[];
}

function collect(entities: readonly Entity[]): Collected {
  const found: Collected = { tasks: [], workflows: [], launchPlans: [] };
  const seen = new Set<Entity>();
  const names = new Map<string, Entity>();
  const visit = (entity: Entity) => {
    if (seen.has(entity)) return;
    seen.add(entity);
    const key = `${entity.kind}:${entity.name}`;
    const other = names.get(key);
    if (other !== undefined && other !== entity) {
      throw new DefinitionError('INVALID_DEFINITION', `two different ${entity.kind}s are named ${entity.name}`, {
        id: entity.name,
      });
    }
    names.set(key, entity);
    if (entity.kind === 'workflow') {
      for (const dependency of entity.dependencies()) visit(dependency);
      found.workflows.push(entity);
    } else if (entity.kind === 'launchplan') {
      if (entity.workflow !== undefined) visit(entity.workflow);
      found.launchPlans.push(entity);
    } else {
      found.tasks.push(entity);
    }
  };
  entities.forEach(visit);
  return found;
}

/** The templates of the subworkflows `workflow` calls, transitively (not across launch plans), sorted by name. */
export function subworkflowTemplates(workflow: WorkflowLike, settings: SerializationSettings = {}): WorkflowTemplate[] {
  const found = new Map<string, WorkflowTemplate>();
  const visit = (wf: WorkflowLike) => {
    for (const dependency of wf.dependencies()) {
      if (dependency.kind !== 'workflow' || found.has(dependency.name)) continue;
      const template = dependency.template(settings);
      if (template === undefined) {
        throw new DefinitionError('INVALID_DEFINITION', `subworkflow ${dependency.name} has no template`, {
          id: dependency.name,
        });
      }
      found.set(dependency.name, template);
      visit(dependency);
    }
  };
  visit(workflow);
  return [...found.keys()].sort().map((name) => found.get(name)!);
}

/**
 * Serializes entities and everything they depend on, with identifiers filled from `settings`. References
 * (registered elsewhere) are not serialized. Names must be unique per kind.
 */
export function serialize(entities: readonly Entity[], settings: SerializationSettings = {}): SerializedEntities {
  const found = collect(entities);
  const tasks = found.tasks.flatMap((task) => {
    const template = task.template(settings);
    return template === undefined ? [] : [create(TaskSpecSchema, { template })];
  });
  const workflows = found.workflows.flatMap((wf) => {
    const template = wf.template(settings);
    return template === undefined
      ? []
      : [create(WorkflowSpecSchema, { template, subWorkflows: subworkflowTemplates(wf, settings) })];
  });
  const launchPlans = found.launchPlans.flatMap((lp) => {
    const spec = lp.spec(settings);
    if (spec === undefined) return [];
    const full = (lp as { toLaunchPlan?: (s: SerializationSettings) => LaunchPlan }).toLaunchPlan;
    return full === undefined ? [] : [full(settings)];
  });
  return { tasks, workflows, launchPlans };
}

/**
 * The WorkflowClosure of a workflow (its template and every task it runs, transitively through subworkflows
 * but not through launch plans, which run as executions of their own), as flytekit writes it; subworkflow
 * templates are in {@link subworkflowTemplates}.
 */
export function workflowClosure(workflow: WorkflowLike, settings: SerializationSettings = {}): WorkflowClosure {
  const template = workflow.template(settings);
  if (template === undefined) {
    throw new DefinitionError('INVALID_DEFINITION', `workflow ${workflow.name} is a reference and has no template`, {
      id: workflow.name,
    });
  }
  const tasks: TaskTemplate[] = [];
  const seen = new Set<Entity>();
  const visit = (wf: WorkflowLike) => {
    for (const dependency of wf.dependencies()) {
      if (seen.has(dependency)) continue;
      seen.add(dependency);
      if (dependency.kind === 'workflow') visit(dependency);
      else if (dependency.kind === 'task') {
        const t = dependency.template(settings);
        if (t !== undefined) tasks.push(t);
      }
    }
  };
  visit(workflow);
  return create(WorkflowClosureSchema, { workflow: template, tasks });
}
