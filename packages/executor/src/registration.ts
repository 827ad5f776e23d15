// Registration (FlyteAdmin's task, workflow and launch plan services): entities are versioned and immutable;
// registering identical content again is a no-op, different content under the same version is an error.
// Workflows are compiled on registration against the registered tasks and launch plans, and get a default
// launch plan.
import { create, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  compileTask,
  compileWorkflow,
  CompileError,
  getRequirements,
  launchPlanInterface,
  launchPlanInterfaceFromSpec,
} from '@flyte-ts/compiler';
import {
  AlreadyExistsError,
  hashMessage,
  idl,
  InvalidArgumentError,
  NotFoundError,
  formatIdentifier,
  timestampFromMs,
  type Clock,
  type CreateResult,
  type Store,
} from '@flyte-ts/core';
import { ExecutorError } from './errors.js';
import { checkTaskResources } from './runtime/resources.js';
import { parseSchedule } from './scheduler/schedule.js';

const RT = idl.core.ResourceType;

function digest<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string {
  return hashMessage(schema, message).toString('hex');
}

function checkId(id: idl.core.Identifier | undefined, type: idl.core.ResourceType, what: string): idl.core.Identifier {
  if (id === undefined || id.project === '' || id.domain === '' || id.name === '' || id.version === '') {
    throw new InvalidArgumentError(`${what} needs an id with project, domain, name and version`, {
      id: formatIdentifier(id),
    });
  }
  if (id.resourceType !== type) {
    throw new InvalidArgumentError(`${what} ${formatIdentifier(id)} has the wrong resource type`, {
      id: formatIdentifier(id),
    });
  }
  return id;
}

function compileFailed(error: unknown, id: string): never {
  if (error instanceof CompileError) {
    throw new ExecutorError('COMPILE_FAILED', error.message, { id, cause: error });
  }
  throw error;
}

/** Registers entities in a Store. */
export class Registrar {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly checkScope: (project: string, domain: string) => Promise<void>;
  private readonly activate: (id: idl.core.Identifier) => Promise<void>;

  /**
   * @param store where entities go
   * @param clock for created_at
   * @param checkScope rejects unknown projects and domains
   * @param activate makes a launch plan version ACTIVE (and schedules it); default: the Store's state change
   */
  constructor(
    store: Store,
    clock: Clock,
    checkScope: (project: string, domain: string) => Promise<void>,
    activate?: (id: idl.core.Identifier) => Promise<void>,
  ) {
    this.store = store;
    this.clock = clock;
    this.checkScope = checkScope;
    this.activate =
      activate ??
      (async (id) => {
        await store.setLaunchPlanState(id, idl.admin.LaunchPlanState.ACTIVE);
      });
  }

  /** Registers a task (compiled and validated first). */
  async task(template: idl.core.TaskTemplate, description = ''): Promise<CreateResult> {
    const id = checkId(template.id, RT.TASK, 'task');
    await this.checkScope(id.project, id.domain);
    let compiled: idl.core.CompiledTask;
    try {
      compiled = compileTask(template);
    } catch (error) {
      compileFailed(error, formatIdentifier(id));
    }
    if (template.target.case === 'container') checkTaskResources(template.target.value.resources, formatIdentifier(id));
    const entity = create(idl.admin.TaskSchema, {
      id,
      closure: { compiledTask: compiled, createdAt: timestampFromMs(this.clock.now().getTime()) },
      shortDescription: description,
    });
    return this.store.createTask({ entity, digest: digest(idl.core.TaskTemplateSchema, template) });
  }

  /**
   * Registers a workflow: compiled with its subworkflows against registered tasks and launch plans, stored with
   * its closure, and given a default launch plan (same name and version) unless one exists.
   */
  async workflow(spec: idl.admin.WorkflowSpec, defaultLaunchPlan?: idl.admin.LaunchPlan): Promise<CreateResult> {
    const template = spec.template;
    const id = checkId(template?.id, RT.WORKFLOW, 'workflow');
    await this.checkScope(id.project, id.domain);
    let required;
    try {
      required = getRequirements(template!, spec.subWorkflows);
    } catch (error) {
      compileFailed(error, formatIdentifier(id));
    }
    const tasks: idl.core.CompiledTask[] = [];
    for (const taskId of required.taskIds) {
      const task = await this.store.getTask(taskId);
      if (task?.closure?.compiledTask === undefined) {
        throw new NotFoundError(
          `workflow ${formatIdentifier(id)} uses task ${formatIdentifier(taskId)}, which is not registered`,
          {
            id: formatIdentifier(taskId),
          },
        );
      }
      tasks.push(task.closure.compiledTask);
    }
    const launchPlans = [];
    for (const lpId of required.launchPlanIds) {
      const lp = await this.store.getLaunchPlan(lpId);
      if (lp === undefined) {
        throw new NotFoundError(
          `workflow ${formatIdentifier(id)} uses launch plan ${formatIdentifier(lpId)}, which is not registered`,
          { id: formatIdentifier(lpId) },
        );
      }
      launchPlans.push(launchPlanInterface(lp));
    }
    let closure: idl.core.CompiledWorkflowClosure;
    try {
      closure = compileWorkflow(template!, spec.subWorkflows, tasks, launchPlans);
    } catch (error) {
      compileFailed(error, formatIdentifier(id));
    }
    const entity = create(idl.admin.WorkflowSchema, {
      id,
      closure: { compiledWorkflow: closure, createdAt: timestampFromMs(this.clock.now().getTime()) },
      shortDescription: spec.description?.shortDescription ?? '',
    });
    const result = await this.store.createWorkflow({ entity, digest: digest(idl.admin.WorkflowSpecSchema, spec) });
    const lp = defaultLaunchPlan ?? defaultLaunchPlanFor(id, template!.interface);
    const lpId = lp.id!;
    if ((await this.store.getLaunchPlan(lpId)) === undefined) {
      try {
        await this.launchPlan(lp);
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    return result;
  }

  /** Registers a launch plan (its workflow must be registered); INACTIVE unless it says ACTIVE. */
  async launchPlan(launchPlan: idl.admin.LaunchPlan): Promise<CreateResult> {
    const id = checkId(launchPlan.id, RT.LAUNCH_PLAN, 'launch plan');
    await this.checkScope(id.project, id.domain);
    const spec = launchPlan.spec;
    if (spec?.workflowId === undefined) {
      throw new InvalidArgumentError(`launch plan ${formatIdentifier(id)} names no workflow`, {
        id: formatIdentifier(id),
      });
    }
    const workflow = await this.store.getWorkflow(spec.workflowId);
    const iface = workflow?.closure?.compiledWorkflow?.primary?.template?.interface;
    if (workflow === undefined) {
      throw new NotFoundError(
        `launch plan ${formatIdentifier(id)} runs workflow ${formatIdentifier(spec.workflowId)}, which is not registered`,
        { id: formatIdentifier(spec.workflowId) },
      );
    }
    for (const name of Object.keys(spec.fixedInputs?.literals ?? {})) {
      if (iface?.inputs?.variables[name] === undefined) {
        throw new InvalidArgumentError(
          `launch plan ${formatIdentifier(id)} fixes ${name}, which the workflow does not take`,
          {
            id: formatIdentifier(id),
          },
        );
      }
    }
    const provider = launchPlanInterfaceFromSpec(id, spec, iface);
    checkSchedule(formatIdentifier(id), spec.entityMetadata?.schedule, provider.expectedInputs);
    const now = timestampFromMs(this.clock.now().getTime());
    const active = launchPlan.closure?.state === idl.admin.LaunchPlanState.ACTIVE;
    const entity = create(idl.admin.LaunchPlanSchema, {
      id,
      spec,
      closure: {
        state: idl.admin.LaunchPlanState.INACTIVE,
        expectedInputs: provider.expectedInputs,
        expectedOutputs: provider.expectedOutputs,
        createdAt: now,
        updatedAt: now,
      },
    });
    const result = await this.store.createLaunchPlan({ entity, digest: digest(idl.admin.LaunchPlanSpecSchema, spec) });
    if (active && result === 'created') await this.activate(id);
    return result;
  }
}

/**
 * Checks a launch plan's schedule as FlyteAdmin does at registration: its expression can be read, and its
 * `kickoff_time_input_arg`, when set, names a datetime input the launch plan does not fix.
 */
function checkSchedule(
  where: string,
  schedule: idl.admin.Schedule | undefined,
  expected: idl.core.ParameterMap | undefined,
): void {
  if (schedule === undefined || schedule.ScheduleExpression.case === undefined) return;
  try {
    parseSchedule(schedule);
  } catch (error) {
    throw new InvalidArgumentError(`launch plan ${where}: ${error instanceof Error ? error.message : String(error)}`, {
      id: where,
      cause: error,
    });
  }
  const arg = schedule.kickoffTimeInputArg;
  if (arg === '') return;
  const type = expected?.parameters[arg]?.var?.type?.type;
  if (type?.case !== 'simple' || type.value !== idl.core.SimpleType.DATETIME) {
    throw new InvalidArgumentError(
      `launch plan ${where}: the schedule's kickoff_time_input_arg ${JSON.stringify(arg)} must name a datetime input the launch plan does not fix`,
      { id: where },
    );
  }
}

/** The default launch plan of a workflow: same name and version, every input required. */
export function defaultLaunchPlanFor(
  workflowId: idl.core.Identifier,
  iface: idl.core.TypedInterface | undefined,
): idl.admin.LaunchPlan {
  const parameters: { [name: string]: idl.core.Parameter } = {};
  for (const [name, variable] of Object.entries(iface?.inputs?.variables ?? {})) {
    parameters[name] = create(idl.core.ParameterSchema, { var: variable, behavior: { case: 'required', value: true } });
  }
  return create(idl.admin.LaunchPlanSchema, {
    id: { ...workflowId, resourceType: RT.LAUNCH_PLAN },
    spec: { workflowId, defaultInputs: { parameters }, fixedInputs: {} },
  });
}
