// Registration (FlyteAdmin's task, workflow and launch plan services): entities are versioned and immutable;
// registering identical content again is a no-op, different content under the same version is an error.
// Workflows are compiled on registration against the registered tasks and launch plans, and get a default
// launch plan, which must run them. A registration stages every entity first and writes them in one atomic Store
// operation: it applies whole or not at all.
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
  sameIdentifier,
  type Clock,
  type CreateResult,
  type EntityBatchResult,
  type Registered,
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

  /** Starts a registration of several entities (a package), written together by its `commit()`. */
  begin(): Registration {
    return new Registration(this.store, this.clock, this.checkScope, this.activate);
  }

  /** Registers a task (compiled and validated first). */
  async task(template: idl.core.TaskTemplate, description = ''): Promise<CreateResult> {
    const registration = this.begin();
    await registration.task(template, description);
    return (await registration.commit()).tasks[0]!;
  }

  /**
   * Registers a workflow: compiled with its subworkflows against registered tasks and launch plans, stored with
   * its closure, and given a default launch plan (same name and version) unless one exists, in one step.
   */
  async workflow(spec: idl.admin.WorkflowSpec, defaultLaunchPlan?: idl.admin.LaunchPlan): Promise<CreateResult> {
    const registration = this.begin();
    await registration.workflow(spec, defaultLaunchPlan);
    return (await registration.commit()).workflows[0]!;
  }

  /** Registers a launch plan (its workflow must be registered); INACTIVE unless it says ACTIVE. */
  async launchPlan(launchPlan: idl.admin.LaunchPlan): Promise<CreateResult> {
    const registration = this.begin();
    await registration.launchPlan(launchPlan);
    return (await registration.commit()).launchPlans[0]!;
  }
}

/** A launch plan staged in a registration. */
interface StagedLaunchPlan {
  readonly registered: Registered<idl.admin.LaunchPlan>;
  /** Its closure asked for ACTIVE: it is activated once the registration is written. */
  readonly active: boolean;
  /** Generated as the default of a workflow of the registration: a launch plan of the package may take its place. */
  readonly generated: boolean;
}

/**
 * Entities validated and compiled one by one (against the Store and the entities staged before them), then written
 * in one atomic Store operation by {@link Registration.commit}: a package registers whole or not at all. Launch
 * plans are activated (and scheduled) after the write.
 */
export class Registration {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly checkScope: (project: string, domain: string) => Promise<void>;
  private readonly activate: (id: idl.core.Identifier) => Promise<void>;
  private readonly scopes = new Set<string>();
  private readonly tasks = new Map<string, Registered<idl.admin.Task>>();
  private readonly workflows = new Map<string, Registered<idl.admin.Workflow>>();
  private readonly launchPlans = new Map<string, StagedLaunchPlan>();

  /** See {@link Registrar}. */
  constructor(
    store: Store,
    clock: Clock,
    checkScope: (project: string, domain: string) => Promise<void>,
    activate: (id: idl.core.Identifier) => Promise<void>,
  ) {
    this.store = store;
    this.clock = clock;
    this.checkScope = checkScope;
    this.activate = activate;
  }

  /** Stages a task (compiled and validated first). */
  async task(template: idl.core.TaskTemplate, description = ''): Promise<void> {
    const id = checkId(template.id, RT.TASK, 'task');
    await this.scope(id);
    let compiled: idl.core.CompiledTask;
    try {
      compiled = compileTask(template);
    } catch (error) {
      compileFailed(error, formatIdentifier(id));
    }
    if (template.target.case === 'container') checkTaskResources(template.target.value.resources, formatIdentifier(id));
    const entity = create(idl.admin.TaskSchema, {
      id,
      closure: { compiledTask: compiled, createdAt: this.now() },
      shortDescription: description,
    });
    const registered = { entity, digest: digest(idl.core.TaskTemplateSchema, template) };
    const key = entityKey(id);
    if (!stagedAlready(this.tasks.get(key)?.digest, registered.digest, `task ${formatIdentifier(id)}`)) {
      this.tasks.set(key, registered);
    }
  }

  /**
   * Stages a workflow, compiled with its subworkflows against the tasks and launch plans registered or staged,
   * and its default launch plan (same name and version) unless one is registered or staged.
   * @throws {AlreadyExistsError} when the launch plan of that name and version runs another workflow
   */
  async workflow(spec: idl.admin.WorkflowSpec, defaultLaunchPlan?: idl.admin.LaunchPlan): Promise<void> {
    const template = spec.template;
    const id = checkId(template?.id, RT.WORKFLOW, 'workflow');
    await this.scope(id);
    let required;
    try {
      required = getRequirements(template!, spec.subWorkflows);
    } catch (error) {
      compileFailed(error, formatIdentifier(id));
    }
    const tasks: idl.core.CompiledTask[] = [];
    for (const taskId of required.taskIds) {
      const task = this.tasks.get(entityKey(taskId))?.entity ?? (await this.store.getTask(taskId));
      if (task?.closure?.compiledTask === undefined) {
        throw new NotFoundError(
          `workflow ${formatIdentifier(id)} uses task ${formatIdentifier(taskId)}, which is not registered`,
          { id: formatIdentifier(taskId) },
        );
      }
      tasks.push(task.closure.compiledTask);
    }
    const launchPlans = [];
    for (const lpId of required.launchPlanIds) {
      const lp = await this.getLaunchPlan(lpId);
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
      closure: { compiledWorkflow: closure, createdAt: this.now() },
      shortDescription: spec.description?.shortDescription ?? '',
    });
    const registered = { entity, digest: digest(idl.admin.WorkflowSpecSchema, spec) };
    const key = entityKey(id);
    if (!stagedAlready(this.workflows.get(key)?.digest, registered.digest, `workflow ${formatIdentifier(id)}`)) {
      this.workflows.set(key, registered);
    }
    const lp = defaultLaunchPlan ?? defaultLaunchPlanFor(id, template!.interface);
    const existing = await this.getLaunchPlan(lp.id!);
    if (existing === undefined) await this.stageLaunchPlan(lp, true);
    else checkRunsWorkflow(existing, id);
  }

  /**
   * Stages a launch plan (its workflow must be registered or staged); INACTIVE unless it says ACTIVE. A launch
   * plan of the package named like a workflow of the package takes the place of the workflow's default.
   */
  launchPlan(launchPlan: idl.admin.LaunchPlan): Promise<void> {
    return this.stageLaunchPlan(launchPlan, false);
  }

  /**
   * Writes everything staged in one atomic Store operation, then activates the launch plans that asked to be
   * ACTIVE and were created.
   * @returns what the Store did with each entity, in staging order
   */
  async commit(): Promise<EntityBatchResult> {
    const launchPlans = [...this.launchPlans.values()];
    const result = await this.store.createEntities({
      tasks: [...this.tasks.values()],
      workflows: [...this.workflows.values()],
      launchPlans: launchPlans.map((lp) => lp.registered),
    });
    for (const [i, lp] of launchPlans.entries()) {
      if (lp.active && result.launchPlans[i] === 'created') await this.activate(lp.registered.entity.id!);
    }
    return result;
  }

  private async stageLaunchPlan(launchPlan: idl.admin.LaunchPlan, generated: boolean): Promise<void> {
    const id = checkId(launchPlan.id, RT.LAUNCH_PLAN, 'launch plan');
    await this.scope(id);
    const spec = launchPlan.spec;
    if (spec?.workflowId === undefined) {
      throw new InvalidArgumentError(`launch plan ${formatIdentifier(id)} names no workflow`, {
        id: formatIdentifier(id),
      });
    }
    const workflow =
      this.workflows.get(entityKey(spec.workflowId))?.entity ?? (await this.store.getWorkflow(spec.workflowId));
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
          { id: formatIdentifier(id) },
        );
      }
    }
    const provider = launchPlanInterfaceFromSpec(id, spec, iface);
    checkSchedule(formatIdentifier(id), spec.entityMetadata?.schedule, provider.expectedInputs);
    const now = this.now();
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
    const key = entityKey(id);
    const staged = this.launchPlans.get(key);
    if (staged?.generated === true) {
      // The package's own launch plan with a workflow's name and version replaces the generated default.
      checkRunsWorkflow(entity, staged.registered.entity.spec!.workflowId!);
      this.launchPlans.delete(key);
    }
    const registered = { entity, digest: digest(idl.admin.LaunchPlanSpecSchema, spec) };
    const what = `launch plan ${formatIdentifier(id)}`;
    if (!stagedAlready(this.launchPlans.get(key)?.registered.digest, registered.digest, what)) {
      this.launchPlans.set(key, {
        registered,
        active: launchPlan.closure?.state === idl.admin.LaunchPlanState.ACTIVE,
        generated,
      });
    }
  }

  private async getLaunchPlan(id: idl.core.Identifier): Promise<idl.admin.LaunchPlan | undefined> {
    return this.launchPlans.get(entityKey(id))?.registered.entity ?? (await this.store.getLaunchPlan(id));
  }

  private async scope(id: idl.core.Identifier): Promise<void> {
    const key = `${id.project}/${id.domain}`;
    if (this.scopes.has(key)) return;
    await this.checkScope(id.project, id.domain);
    this.scopes.add(key);
  }

  private now(): idl.wkt.Timestamp {
    return timestampFromMs(this.clock.now().getTime());
  }
}

/** Key of an entity version within a registration. */
function entityKey(id: idl.core.Identifier): string {
  return JSON.stringify([id.org, id.project, id.domain, id.name, id.version]);
}

/**
 * Whether an entity version is staged already with the same content (staging it again changes nothing).
 * @throws {AlreadyExistsError} when it is staged with other content
 */
function stagedAlready(staged: string | undefined, digest: string, what: string): boolean {
  if (staged === undefined) return false;
  if (staged === digest) return true;
  throw new AlreadyExistsError(`${what} appears twice in the registration, with different content`, { id: what });
}

/**
 * Checks that a launch plan with a workflow's name and version runs that workflow: otherwise it would take the
 * place of the workflow's default launch plan, and launching the workflow would run another one.
 */
function checkRunsWorkflow(launchPlan: idl.admin.LaunchPlan, workflowId: idl.core.Identifier): void {
  if (runsWorkflow(launchPlan, workflowId)) return;
  throw new AlreadyExistsError(
    `launch plan ${formatIdentifier(launchPlan.id)} exists and runs workflow ${formatIdentifier(launchPlan.spec?.workflowId)}, so it cannot be the default launch plan of workflow ${formatIdentifier(workflowId)}: register the workflow under another name or version`,
    { id: formatIdentifier(launchPlan.id) },
  );
}

/** Whether a launch plan runs the workflow version `workflowId` (whatever resource type the ids carry). */
export function runsWorkflow(launchPlan: idl.admin.LaunchPlan, workflowId: idl.core.Identifier): boolean {
  const runs = launchPlan.spec?.workflowId;
  return (
    runs !== undefined &&
    sameIdentifier({ ...runs, resourceType: RT.WORKFLOW }, { ...workflowId, resourceType: RT.WORKFLOW })
  );
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
