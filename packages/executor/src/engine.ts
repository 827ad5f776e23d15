// The engine: FlyteAdmin's control plane (projects, registration, launch plans, executions) and
// FlytePropeller's data plane (one ExecutionRunner per running execution) in one embeddable object.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AlreadyExistsError,
  checkLiteralNesting,
  DataStore,
  describeIdentifier,
  formatExecutionId,
  formatIdentifier,
  idl,
  InvalidArgumentError,
  isFlyteError,
  launchPlan as dslLaunchPlan,
  NotFoundError,
  serialize,
  systemClock,
  timestampFromMs,
  withDataAccess,
  type Clock,
  type Entity,
  type EventSink,
  type ExecutionEvent,
  type ExecutionRecord,
  type Lease,
  type ListQuery,
  type NodeExecutionRecord,
  type Page,
  type ProjectDomainSettings,
  type ScheduledFire,
  type Scheduler,
  type SkippedFires,
  type SerializationSettings,
  type SerializedEntities,
  type Store,
  type TaskDefinition,
  type TaskExecutionRecord,
  type WorkflowLike,
} from '@flyte-ts/core';
import { EventEmitter } from 'eventemitter3';
import { signalsPolled, WakeUps } from './cluster/wake-ups.js';
import { resolveConfig, type EngineOptions, type LeaseConfig, type ResolvedConfig } from './config.js';
import { ExecutorError } from './errors.js';
import { resolveInputs, type ExecutionInputs } from './inputs.js';
import { Metrics } from './observability/metrics.js';
import { FunctionTaskPlugin, type FunctionTask } from './plugins/function-plugin.js';
import { mapPage } from './pages.js';
import { PluginRegistry } from './plugins/registry.js';
import { Registrar, runsWorkflow } from './registration.js';
import { ExecutionRunner, signalUri } from './runtime/execution-runner.js';
import {
  discardInputs,
  executionInputsUri,
  newInputsLocation,
  type InputsLocation,
} from './runtime/execution-inputs.js';
import { isTerminalWorkflowPhase } from './runtime/phases.js';
import { checkResourceSettings } from './runtime/resources.js';
import { Limiter } from './runtime/limiter.js';
import { UnlimitedResourceManager } from './runtime/unlimited-resources.js';
import { EnvironmentSecrets } from './runtime/environment-secrets.js';
import type { EngineServices } from './runtime/services.js';
import { scheduleOf, StoreScheduler } from './scheduler/store-scheduler.js';

const WP = idl.core.WorkflowExecution_Phase;
const RT = idl.core.ResourceType;
const Mode = idl.admin.ExecutionMetadata_ExecutionMode;

/**
 * Events the engine emits (after the transition they describe is committed). Events, and the records the engine
 * stores, share their parts (ids, timestamps, outputs) with each other and with the engine's state: read them, copy
 * them (`clone` from @bufbuild/protobuf) before changing anything.
 */
export interface EngineEvents {
  /** A workflow execution changed phase. */
  workflow: [event: idl.event.WorkflowExecutionEvent];
  /** A node execution changed phase. */
  node: [event: idl.event.NodeExecutionEvent];
  /** A task execution (attempt) changed phase or reported progress. */
  task: [event: idl.event.TaskExecutionEvent];
  /** An execution reached a terminal phase. */
  'execution-ended': [execution: idl.admin.Execution];
  /** Something went wrong that failed nothing (an event sink, a cleanup, a fire that will be retried). */
  warning: [message: string, error: unknown];
  /**
   * The scheduler skipped fires of a launch plan: more were missed than `config.schedules.catchUpLimit` (the oldest
   * are skipped), or a fire's execution could not be created. Also reported as a `warning`.
   */
  'schedule-skipped': [event: SkippedFires];
}

/** What to run: a launch plan, a workflow (its default launch plan) or a single task. */
export type ExecutionTarget =
  | { readonly launchPlan: idl.core.Identifier }
  | { readonly workflow: idl.core.Identifier }
  | { readonly task: idl.core.Identifier };

/** A request to create an execution. */
export type CreateExecutionRequest = ExecutionTarget & {
  /** Name, unique in the project-domain (default: generated). Lowercase letters, digits and `-`, ≤ 63. */
  readonly name?: string;
  /** Project of the execution (default: the target's). */
  readonly project?: string;
  /** Domain of the execution (default: the target's). */
  readonly domain?: string;
  /** Inputs: literals, or plain values converted by the launch plan's input types. */
  readonly inputs?: ExecutionInputs;
  /** Labels (default: the launch plan's). */
  readonly labels?: { readonly [key: string]: string };
  /** Annotations (default: the launch plan's). */
  readonly annotations?: { readonly [key: string]: string };
  /** Run-as identity and secrets (default: the launch plan's). */
  readonly securityContext?: idl.core.SecurityContext;
  /** Largest number of task nodes running at once (default: the launch plan's, then the engine's). */
  readonly maxParallelism?: number;
  /** Prefix of raw task data (default: the launch plan's, then the engine's). */
  readonly rawOutputPrefix?: string;
  /** Ignore cached results and overwrite them. */
  readonly overwriteCache?: boolean;
  /** Run tasks on interruptible capacity. */
  readonly interruptible?: boolean;
  /** Environment variables for the tasks. */
  readonly envs?: { readonly [key: string]: string };
  /** Who launched it. */
  readonly principal?: string;
};

/** Options of {@link Engine.waitForExecution}. */
export interface WaitOptions {
  /** Stops waiting (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** How an execution is launched: its mode, what launched it, and its inputs when they are resolved already. */
interface LaunchMetadata {
  readonly mode: idl.admin.ExecutionMetadata_ExecutionMode;
  readonly parent?: idl.core.NodeExecutionIdentifier;
  readonly nesting?: number;
  readonly reference?: idl.core.WorkflowExecutionIdentifier;
  readonly inputs?: idl.core.LiteralMap;
  readonly scheduledAt?: Date;
}

function executionKey(id: idl.core.WorkflowExecutionIdentifier): string {
  return `${id.org}/${id.project}/${id.domain}/${id.name}`;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The engine. Create it with {@link createEngine}, `start()` it, and `stop()` it when done. */
export class Engine extends EventEmitter<EngineEvents> {
  /** The Store it writes to. */
  readonly store: Store;
  /** Settings with defaults applied. */
  readonly config: ResolvedConfig;
  /** The in-process function-task plugin (tasks registered from definitions are added to it). */
  readonly functions: FunctionTaskPlugin;
  /** Fires the schedules of ACTIVE launch plans while the engine is started (undefined: `scheduler: false`). */
  readonly scheduler: Scheduler | undefined;
  private readonly ownsFunctions: boolean;
  private readonly services: EngineServices;
  private readonly registrar: Registrar;
  private readonly clock: Clock;
  private readonly sinks: readonly EventSink[];
  private readonly runners = new Map<string, ExecutionRunner>();
  private readonly endListeners = new Map<string, (() => void)[]>();
  private started = false;
  /** Leases held (engines sharing their Store), by execution key. */
  private readonly leases = new Map<string, Lease>();
  private leaseLoops: AbortController | undefined;
  private acquireRequested = false;
  private wakeAcquire: (() => void) | undefined;
  private readonly reloads = new Map<string, number>();
  private stopping = false;
  /** Terminates, signals and new executions from other engines sharing the Store. */
  private readonly wakeUps: WakeUps;

  /** @param options ports, plugins and settings */
  constructor(options: EngineOptions) {
    super();
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.config = resolveConfig(options.config, options.blob.scheme);
    const plugins = [...(options.plugins ?? [])];
    const given = plugins.find((p): p is FunctionTaskPlugin => p instanceof FunctionTaskPlugin);
    this.functions = given ?? new FunctionTaskPlugin();
    this.ownsFunctions = given === undefined;
    this.functions.add(...(options.tasks ?? []));
    if (given === undefined && !plugins.some((p) => p.taskTypes.includes(this.functions.taskTypes[0]!))) {
      plugins.push(this.functions);
    }
    this.sinks = options.eventSinks ?? [];
    const warn = (message: string, error?: unknown) => {
      if (this.listenerCount('warning') > 0) this.emit('warning', message, error);
    };
    this.services = {
      store: options.store,
      blob: options.blob,
      data: new DataStore(options.blob, {
        metadataPrefix: this.config.metadataPrefix,
        rawOutputPrefix: this.config.rawOutputPrefix,
      }),
      catalog: options.catalog,
      plugins: new PluginRegistry(plugins),
      clock: this.clock,
      config: this.config,
      resourceManager: options.resourceManager ?? new UnlimitedResourceManager(),
      secrets: options.secrets ?? new EnvironmentSecrets(),
      handleQueue: new Limiter(this.config.handleConcurrency, 'config.handleConcurrency'),
      metrics: new Metrics(options.meter),
      children: {
        launchChild: (request) => this.launchChild(request),
        terminate: (id, cause) => this.terminateExecution(id, cause).catch(() => undefined),
        onExecutionEnd: (id, fn) => this.onExecutionEnd(id, fn),
      },
      signalsPolled: signalsPolled(options.store, this.config),
      warn,
    };
    this.wakeUps = new WakeUps(options.store, this.config, (ms, signal) => this.clock.sleep(ms, signal), {
      runnerOf: (id) => this.runners.get(executionKey(id)),
      runners: () => this.runners.values(),
      claim: () => this.wakeClaims(),
      warn,
    });
    this.scheduler =
      options.scheduler === false
        ? undefined
        : (options.scheduler ??
          new StoreScheduler({ store: options.store, clock: this.clock, ...options.config?.schedules }));
    this.registrar = new Registrar(
      options.store,
      this.clock,
      (project, domain) => this.checkScope(project, domain),
      (id) => this.activate(id),
    );
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Starts the engine: creates the configured projects and settings, then resumes every execution the Store
   * holds that has not ended.
   */
  async start(): Promise<void> {
    if (this.started) return;
    for (const id of this.config.projects) {
      if ((await this.store.getProject(id)) === undefined) await this.createProject(id);
    }
    for (const settings of this.config.projectDomainSettings) {
      checkResourceSettings(settings);
      await this.store.putProjectDomainSettings(settings);
    }
    // Listening before driving anything: no terminate or signal for an execution it claims can slip by.
    await this.wakeUps.start();
    this.started = true;
    this.stopping = false;
    if (this.config.leases !== undefined) {
      // Shared Store: drive only what this engine claims; claims come from the lease loops.
      const loops = new AbortController();
      this.leaseLoops = loops;
      void this.acquireLoop(this.config.leases, loops.signal);
      void this.renewLoop(this.config.leases, loops.signal);
    } else {
      await this.resumeAll();
    }
    // Schedules of the ACTIVE launch plans, fired into this engine (every engine sharing the Store may do so:
    // the scheduler's bookkeeping in the Store makes each fire happen once).
    await this.scheduler?.start((fire, options) => this.fireScheduled(fire, options), {
      skipped: (event) => this.scheduleSkipped(event),
      warning: (message, error) => this.services.warn(message, error),
    });
  }

  /** Drives every execution of the Store that has not ended (an engine not sharing its Store). */
  private async resumeAll(): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.store.listExecutions({
        filters: [
          {
            fn: 'value_in',
            field: 'phase',
            values: ['UNDEFINED', 'QUEUED', 'RUNNING', 'SUCCEEDING', 'FAILING', 'ABORTING'],
          },
        ],
        includeState: true,
        ...(token === undefined ? {} : { token }),
      });
      for (const record of page.items) await this.run(record);
      for (const error of page.unreadable ?? []) this.services.warn(`execution ${error.id} cannot be read`, error);
      token = page.nextToken;
    } while (token !== undefined);
  }

  /**
   * Stops driving executions, leaving them to a later `start()` (of this or another engine over the same Store).
   * Running plugins are not aborted; each plugin's optional `close()` is called once (it stays usable, so the
   * engine may be started again).
   */
  async stop(): Promise<void> {
    // No new fire first: the scheduler's fire in flight, if any, ends before the executions are left.
    await this.scheduler?.stop();
    await this.wakeUps.stop();
    this.stopping = true;
    this.started = false;
    this.leaseLoops?.abort(new Error('engine stopped'));
    this.leaseLoops = undefined;
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
    await this.services.handleQueue.onIdle();
    // Hand the executions over at once rather than when the leases expire.
    const held = [...this.leases.values()];
    this.leases.clear();
    await Promise.all(
      held.map((lease) =>
        this.store.releaseLease(lease).catch((e: unknown) => this.services.warn('could not release a lease', e)),
      ),
    );
    // Plugins release what they hold between attempts (watches, worker threads): every plugin of the registry,
    // and the engine's own function plugin even when another plugin took its task type; each once.
    const plugins = new Set(this.services.plugins.plugins());
    if (this.ownsFunctions) plugins.add(this.functions);
    await Promise.all(
      [...plugins].map((plugin) =>
        plugin.close?.().catch((e: unknown) => this.services.warn(`could not close plugin ${plugin.id}`, e)),
      ),
    );
  }

  // ------------------------------------------------------------------ projects

  /** Creates (or updates) a project. */
  async createProject(
    id: string,
    options: { readonly name?: string; readonly description?: string } = {},
  ): Promise<void> {
    if (!/^[a-z0-9][a-z0-9-_]*$/i.test(id)) {
      throw new InvalidArgumentError(`project id ${JSON.stringify(id)} must be letters, digits, - and _`, { id });
    }
    await this.store.putProject(
      create(idl.admin.ProjectSchema, {
        id,
        name: options.name ?? id,
        description: options.description ?? '',
        domains: this.config.domains.map((d) => ({ id: d, name: d })),
      }),
    );
  }

  /** Sets the limits and defaults of a project-domain. */
  async setProjectDomainSettings(settings: ProjectDomainSettings): Promise<void> {
    await this.checkScope(settings.project, settings.domain);
    checkResourceSettings(settings);
    await this.store.putProjectDomainSettings(settings);
  }

  private async checkScope(project: string, domain: string): Promise<void> {
    if (!this.config.domains.includes(domain)) {
      throw new ExecutorError(
        'UNKNOWN_PROJECT_DOMAIN',
        `domain ${JSON.stringify(domain)} is not one of ${this.config.domains.join(', ')}`,
        { id: `${project}/${domain}` },
      );
    }
    if ((await this.store.getProject(project)) === undefined) {
      throw new ExecutorError(
        'UNKNOWN_PROJECT_DOMAIN',
        `project ${JSON.stringify(project)} does not exist: create it first (engine.createProject, or config.projects)`,
        { id: `${project}/${domain}` },
      );
    }
  }

  // ------------------------------------------------------------------ registration

  /**
   * Registers DSL entities (tasks, workflows, launch plans, and what they depend on) under `settings`
   * (project, domain, version); their task functions become runnable by this engine. Workflows get a default
   * launch plan with their defaults.
   */
  async register(entities: readonly Entity[], settings: SerializationSettings): Promise<SerializedEntities>;
  /** Registers serialized entities (from `serialize`, or a flytekit package). */
  async register(entities: SerializedEntities): Promise<SerializedEntities>;
  async register(
    entities: readonly Entity[] | SerializedEntities,
    settings?: SerializationSettings,
  ): Promise<SerializedEntities> {
    let pkg: SerializedEntities;
    const defaults = new Map<string, idl.admin.LaunchPlan>();
    const functions: FunctionTask[] = [];
    if (Array.isArray(entities)) {
      const list = entities as readonly Entity[];
      pkg = serialize(list, settings);
      const visit = (entity: Entity, seen: Set<Entity>) => {
        if (seen.has(entity)) return;
        seen.add(entity);
        if (entity.kind === 'task' && typeof (entity as TaskDefinition).execute === 'function') {
          functions.push(entity as unknown as FunctionTask);
        }
        if (entity.kind === 'workflow') {
          for (const d of entity.dependencies()) visit(d, seen);
          // The workflow's own default launch plan carries its defaults.
          defaults.set(entity.name, defaultLaunchPlanOf(entity, settings));
        }
        if (entity.kind === 'launchplan' && entity.workflow !== undefined) visit(entity.workflow, seen);
      };
      const seen = new Set<Entity>();
      for (const entity of list) visit(entity, seen);
    } else {
      pkg = entities as SerializedEntities;
    }
    // Everything is validated and compiled first, then written in one step: a package registers whole or not at all.
    const registration = this.registrar.begin();
    for (const spec of pkg.tasks) await registration.task(spec.template!, spec.description?.shortDescription);
    // Workflows and launch plans in dependency order: a workflow after the launch plans it calls, a launch
    // plan after its workflow.
    const key = (id: idl.core.Identifier | undefined) => `${id?.project}/${id?.domain}/${id?.name}/${id?.version}`;
    const workflows = new Map(pkg.workflows.map((w) => [key(w.template?.id), w]));
    const launchPlans = new Map(pkg.launchPlans.map((lp) => [key(lp.id), lp]));
    const done = new Set<string>();
    const registerWorkflow = async (spec: idl.admin.WorkflowSpec): Promise<void> => {
      const k = `wf:${key(spec.template?.id)}`;
      if (done.has(k)) return;
      done.add(k);
      for (const node of allNodes(spec)) {
        const target = node.target;
        if (target.case === 'workflowNode' && target.value.reference.case === 'launchplanRef') {
          const lp = launchPlans.get(key(target.value.reference.value));
          if (lp !== undefined) await registerLaunchPlan(lp);
        }
      }
      await registration.workflow(spec, defaults.get(spec.template?.id?.name ?? ''));
    };
    const registerLaunchPlan = async (lp: idl.admin.LaunchPlan): Promise<void> => {
      const k = `lp:${key(lp.id)}`;
      if (done.has(k)) return;
      done.add(k);
      const workflow = workflows.get(key(lp.spec?.workflowId));
      if (workflow !== undefined) await registerWorkflow(workflow);
      await registration.launchPlan(lp);
    };
    for (const spec of pkg.workflows) await registerWorkflow(spec);
    for (const lp of pkg.launchPlans) await registerLaunchPlan(lp);
    await registration.commit();
    for (const fn of functions) this.functions.addVersion(settings?.version ?? '', fn);
    return pkg;
  }

  /** Registers a task template. */
  registerTask(template: idl.core.TaskTemplate, description?: string) {
    return this.registrar.task(template, description);
  }

  /** Registers a workflow spec (compiled on registration; gets a default launch plan). */
  registerWorkflow(spec: idl.admin.WorkflowSpec) {
    return this.registrar.workflow(spec);
  }

  /** Registers a launch plan (INACTIVE unless its closure says ACTIVE). */
  async registerLaunchPlan(launchPlan: idl.admin.LaunchPlan) {
    const result = await this.registrar.launchPlan(launchPlan);
    return result;
  }

  /**
   * Makes a launch plan version the ACTIVE one of its name (the previous one becomes INACTIVE), and schedules it
   * at once when it has a schedule (or unschedules the name when it has none). A version replacing an ACTIVE
   * scheduled version continues the schedule from its last fire; otherwise the schedule starts now: it fires only
   * times after this activation (no catch-up of the time the name had no ACTIVE schedule).
   */
  async activateLaunchPlan(id: idl.core.Identifier): Promise<void> {
    await this.mustGetLaunchPlan(id);
    await this.activate(id);
  }

  /**
   * Makes a launch plan version INACTIVE and stops its schedule at once (its fire in flight, if any, ends first).
   * It can still be launched by hand.
   */
  async deactivateLaunchPlan(id: idl.core.Identifier): Promise<void> {
    await this.mustGetLaunchPlan(id);
    const changed = await this.store.setLaunchPlanState(id, idl.admin.LaunchPlanState.INACTIVE);
    if (changed.length > 0) await this.scheduler?.remove(id);
  }

  /** Activates a registered launch plan version and updates the scheduler (activation and registration). */
  private async activate(id: idl.core.Identifier): Promise<void> {
    const changed = await this.store.setLaunchPlanState(id, idl.admin.LaunchPlanState.ACTIVE);
    const scheduler = this.scheduler;
    if (scheduler === undefined) return;
    const launchPlan = await this.mustGetLaunchPlan(id);
    const schedule = scheduleOf(launchPlan);
    const replaced = changed.find((lp) => lp.id !== undefined && lp.id.version !== id.version);
    if (schedule === undefined) {
      if (replaced !== undefined) await scheduler.remove(id);
      return;
    }
    const becameActive = changed.some((lp) => lp.id?.version === id.version);
    // A swap from a scheduled version keeps the bookkeeping (same name): no activation anchor.
    const swap = replaced !== undefined && scheduleOf(replaced) !== undefined;
    await scheduler.upsert(id, schedule, becameActive && !swap ? { activatedAt: this.clock.now() } : {});
  }

  private async mustGetLaunchPlan(id: idl.core.Identifier): Promise<idl.admin.LaunchPlan> {
    const lp = await this.store.getLaunchPlan(id);
    if (lp === undefined) {
      throw new NotFoundError(`launch plan ${formatIdentifier(id)} is not registered`, { id: formatIdentifier(id) });
    }
    return lp;
  }

  // ------------------------------------------------------------------ executions

  /**
   * Creates an execution and starts it (when the engine is started).
   * @throws {NotFoundError} when the target is not registered
   * @throws {ExecutorError} `INVALID_INPUTS`, `UNSUPPORTED_TASK_TYPE`, `TOO_MANY_EXECUTIONS`,
   *   `UNKNOWN_PROJECT_DOMAIN`
   * @throws {AlreadyExistsError} when the name is taken in the project-domain
   * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the input that nests deeper than `MAX_NESTING_DEPTH`
   */
  async createExecution(request: CreateExecutionRequest): Promise<idl.admin.Execution> {
    return this.launch(request, { mode: Mode.MANUAL });
  }

  private async launch(request: CreateExecutionRequest, metadata: LaunchMetadata): Promise<idl.admin.Execution> {
    const launchPlan = await this.targetLaunchPlan(request);
    const lpId = launchPlan.id!;
    const project = request.project ?? lpId.project;
    const domain = request.domain ?? lpId.domain;
    await this.checkScope(project, domain);
    const workflowId = launchPlan.spec!.workflowId!;
    const workflow = await this.store.getWorkflow(workflowId);
    const compiled = workflow?.closure?.compiledWorkflow;
    if (compiled === undefined) {
      throw new NotFoundError(`workflow ${formatIdentifier(workflowId)} is not registered`, {
        id: formatIdentifier(workflowId),
      });
    }
    const settings = await this.store.getProjectDomainSettings(project, domain);
    for (const task of compiled.tasks) {
      const template = task.template!;
      const name = template.id?.name ?? '';
      this.services.plugins.get(template.type, name);
      if (settings?.allowedTaskTypes !== undefined && !settings.allowedTaskTypes.includes(template.type)) {
        throw new ExecutorError(
          'UNSUPPORTED_TASK_TYPE',
          `task ${name} has type ${template.type}, which ${project}/${domain} does not allow (allowed: ${settings.allowedTaskTypes.join(', ')})`,
          { id: name },
        );
      }
    }
    const name = request.name ?? generateName();
    if (!NAME.test(name)) {
      throw new InvalidArgumentError(
        `execution name ${JSON.stringify(name)} must start with a letter and hold only lowercase letters, digits and -, at most 63`,
        { id: name },
      );
    }
    const id = create(idl.core.WorkflowExecutionIdentifierSchema, { project, domain, name, org: lpId.org });
    if ((await this.store.getExecution(id)) !== undefined) {
      throw new AlreadyExistsError(`execution ${formatExecutionId(id)} exists`, { id: formatExecutionId(id) });
    }
    const lpSpec = launchPlan.spec!;
    const rawOutputPrefix =
      request.rawOutputPrefix || lpSpec.rawOutputDataConfig?.outputLocationPrefix || this.config.rawOutputPrefix;
    // This call's own locations: a concurrent call creating the same name never writes there.
    const location = newInputsLocation(this.config.metadataPrefix, rawOutputPrefix, id);
    let creating = false;
    let record: ExecutionRecord;
    try {
      const prepared = await this.prepareExecution(request, metadata, {
        launchPlan,
        id,
        workflowId,
        settings,
        location,
      });
      await this.services.data.writeLiteralMap(location.uri, prepared.inputs);
      creating = true;
      record = await this.store.createExecution({ execution: prepared.execution, inputsUri: location.uri });
    } catch (error) {
      // Whether the Store created it anyway is known unless it answered ALREADY_EXISTS or was not asked.
      await this.abandonInputs(id, location, creating && !(error instanceof AlreadyExistsError));
      throw error;
    }
    if (this.started && this.config.leases === undefined) await this.run(record, { value: settings });
    else this.requestAcquire(id);
    return record.execution;
  }

  /**
   * The inputs (files among them uploaded under `location`) and the admin message of a new execution, checked
   * against the limits of its project-domain.
   */
  private async prepareExecution(
    request: CreateExecutionRequest,
    metadata: LaunchMetadata,
    target: {
      readonly launchPlan: idl.admin.LaunchPlan;
      readonly id: idl.core.WorkflowExecutionIdentifier;
      readonly workflowId: idl.core.Identifier;
      readonly settings: ProjectDomainSettings | undefined;
      readonly location: InputsLocation;
    },
  ): Promise<{ readonly execution: idl.admin.Execution; readonly inputs: idl.core.LiteralMap }> {
    const { launchPlan, id, workflowId, settings, location } = target;
    const { project, domain, name } = id;
    const lpId = launchPlan.id!;
    const lpSpec = launchPlan.spec!;
    // Local files, content and rows given as inputs are uploaded under this call's own prefix.
    const inputs =
      metadata.inputs ??
      (await withDataAccess({ blob: this.services.blob, rawOutputPrefix: location.rawPrefix }, 'inputs', () =>
        resolveInputs(launchPlan, request.inputs),
      ));
    const inputBytes = toBinary(idl.core.LiteralMapSchema, inputs).byteLength;
    if (inputBytes > this.config.data.maxLiteralMapBytes) {
      throw new ExecutorError(
        'INVALID_INPUTS',
        `the inputs of execution ${name} are ${inputBytes} bytes encoded, above the limit of ${this.config.data.maxLiteralMapBytes} (config.data.maxLiteralMapBytes): pass large data as files, directories or datasets`,
        { id: name },
      );
    }
    if (settings?.maxConcurrentExecutions !== undefined) {
      const running = await this.countActive(project, domain, settings.maxConcurrentExecutions);
      if (running >= settings.maxConcurrentExecutions) {
        throw new ExecutorError(
          'TOO_MANY_EXECUTIONS',
          `${project}/${domain} already runs ${running} executions, its limit`,
          { id: `${project}/${domain}` },
        );
      }
    }
    const now = timestampFromMs(this.clock.now().getTime());
    const spec = create(idl.admin.ExecutionSpecSchema, {
      launchPlan: lpId,
      metadata: {
        mode: metadata.mode,
        principal: request.principal ?? '',
        nesting: metadata.nesting ?? 0,
        ...(metadata.parent === undefined ? {} : { parentNodeExecution: metadata.parent }),
        ...(metadata.reference === undefined ? {} : { referenceExecution: metadata.reference }),
        ...(metadata.scheduledAt === undefined ? {} : { scheduledAt: timestampFromMs(metadata.scheduledAt.getTime()) }),
      },
      labels: { values: { ...(lpSpec.labels?.values ?? {}), ...(request.labels ?? {}) } },
      annotations: { values: { ...(lpSpec.annotations?.values ?? {}), ...(request.annotations ?? {}) } },
      ...(request.securityContext !== undefined
        ? { securityContext: request.securityContext }
        : lpSpec.securityContext !== undefined
          ? { securityContext: lpSpec.securityContext }
          : {}),
      maxParallelism: request.maxParallelism ?? lpSpec.maxParallelism,
      rawOutputDataConfig: {
        outputLocationPrefix: request.rawOutputPrefix ?? lpSpec.rawOutputDataConfig?.outputLocationPrefix ?? '',
      },
      overwriteCache: request.overwriteCache ?? lpSpec.overwriteCache,
      ...(request.interruptible !== undefined
        ? { interruptible: request.interruptible }
        : lpSpec.interruptible !== undefined
          ? { interruptible: lpSpec.interruptible }
          : {}),
      envs: {
        values: [
          ...(lpSpec.envs?.values ?? []),
          ...Object.entries(request.envs ?? {}).map(([key, value]) => ({ key, value })),
        ],
      },
    });
    const execution = create(idl.admin.ExecutionSchema, {
      id,
      spec,
      closure: { phase: WP.QUEUED, createdAt: now, updatedAt: now, workflowId },
    });
    return { execution, inputs };
  }

  /**
   * Removes what a launch wrote for an execution it did not create (it lost the name to another call, or failed).
   * `unsure`: the Store's answer left open whether the execution was created; it is read back first.
   */
  private async abandonInputs(
    id: idl.core.WorkflowExecutionIdentifier,
    location: InputsLocation,
    unsure: boolean,
  ): Promise<void> {
    try {
      if (unsure && (await this.store.getExecution(id))?.inputsUri === location.uri) return;
      await discardInputs(this.services.blob, location);
    } catch (error) {
      this.services.warn(`could not remove the inputs written for execution ${formatExecutionId(id)}`, error);
    }
  }

  /**
   * The execution of one fire of a schedule: named after (launch plan name, scheduled time), mode SCHEDULED with
   * the scheduled time, the kickoff input (if the schedule names one) set to the scheduled time. An execution of
   * that name existing already means this time was fired (by this or another engine, or before a crash): success.
   */
  private async fireScheduled(fire: ScheduledFire, options: { readonly signal?: AbortSignal | undefined }) {
    options.signal?.throwIfAborted();
    const id = create(idl.core.WorkflowExecutionIdentifierSchema, {
      project: fire.launchPlan.project,
      domain: fire.launchPlan.domain,
      name: fire.executionName,
      org: fire.launchPlan.org,
    });
    // Fired already (another engine, or before a crash): nothing to prepare.
    if ((await this.store.getExecution(id)) !== undefined) return;
    const kickoff = fire.schedule.kickoffTimeInputArg;
    const inputs = create(idl.core.LiteralMapSchema, {
      literals: kickoff === '' ? {} : { [kickoff]: datetimeLiteral(fire.scheduledTime) },
    });
    try {
      await this.launch(
        { launchPlan: fire.launchPlan, name: fire.executionName, inputs, principal: SCHEDULER_PRINCIPAL },
        { mode: Mode.SCHEDULED, scheduledAt: fire.scheduledTime },
      );
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }

  private scheduleSkipped(event: SkippedFires): void {
    const times =
      event.count === 1
        ? `the fire at ${event.first.toISOString()}`
        : `${event.count} fires from ${event.first.toISOString()} to ${event.last.toISOString()}`;
    const why =
      event.reason === 'catch-up-limit'
        ? 'more fires were missed than config.schedules.catchUpLimit'
        : 'its execution could not be created';
    this.services.warn(`launch plan ${formatIdentifier(event.launchPlan)}: skipped ${times}: ${why}`, event.error);
    this.emit('schedule-skipped', event);
  }

  private async targetLaunchPlan(target: ExecutionTarget): Promise<idl.admin.LaunchPlan> {
    if ('launchPlan' in target) return this.mustGetLaunchPlan(target.launchPlan);
    if ('workflow' in target) return this.defaultLaunchPlan(target.workflow);
    // A single task runs as a generated one-node workflow, as FlyteAdmin does (`.flytegen.<task>`).
    const task = await this.store.getTask(target.task);
    const template = task?.closure?.compiledTask?.template;
    if (template === undefined) {
      throw new NotFoundError(`task ${formatIdentifier(target.task)} is not registered`, {
        id: formatIdentifier(target.task),
      });
    }
    const workflowId = create(idl.core.IdentifierSchema, {
      ...target.task,
      resourceType: RT.WORKFLOW,
      name: `.flytegen.${target.task.name}`,
    });
    if ((await this.store.getWorkflow(workflowId)) === undefined) {
      try {
        await this.registrar.workflow(singleTaskWorkflow(workflowId, template));
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    return this.defaultLaunchPlan(workflowId);
  }

  /**
   * The default launch plan of a workflow: same name and version, and running that very workflow (a launch plan
   * of that id running another workflow, written before registration refused it, is never launched in its place).
   * @throws {ExecutorError} `LAUNCH_PLAN_MISMATCH` naming the workflow
   */
  private async defaultLaunchPlan(workflow: idl.core.Identifier): Promise<idl.admin.LaunchPlan> {
    const launchPlan = await this.mustGetLaunchPlan({ ...workflow, resourceType: RT.LAUNCH_PLAN });
    const runs = launchPlan.spec?.workflowId;
    if (!runsWorkflow(launchPlan, workflow)) {
      throw new ExecutorError(
        'LAUNCH_PLAN_MISMATCH',
        `${describeIdentifier(launchPlan.id)} runs ${describeIdentifier(runs)}, not workflow ${formatIdentifier(workflow)}: launch the workflow through a launch plan of its own, or register it under a new version`,
        { id: formatIdentifier(workflow) },
      );
    }
    return launchPlan;
  }

  private async countActive(project: string, domain: string, limit: number): Promise<number> {
    const page = await this.store.listExecutions({
      filters: [
        { fn: 'eq', field: 'project', values: [project] },
        { fn: 'eq', field: 'domain', values: [domain] },
        {
          fn: 'value_in',
          field: 'phase',
          values: ['UNDEFINED', 'QUEUED', 'RUNNING', 'SUCCEEDING', 'FAILING', 'ABORTING'],
        },
      ],
      limit: limit + 1,
    });
    return page.items.length;
  }

  /**
   * Drives an execution. `fresh` carries the project-domain settings of an execution just created: it has no
   * node executions to read back.
   */
  private async run(
    record: ExecutionRecord,
    fresh?: { readonly value: ProjectDomainSettings | undefined },
    replaces?: ExecutionRunner,
  ): Promise<void> {
    const key = executionKey(record.execution.id!);
    if (this.runners.has(key) || this.stopping) return;
    const nodes: NodeExecutionRecord[] = [];
    let token: string | undefined;
    if (fresh === undefined)
      do {
        const page = await this.store.listNodeExecutions(record.execution.id!, {
          limit: 1000,
          ...(token === undefined ? {} : { token }),
        });
        nodes.push(...page.items);
        token = page.nextToken;
      } while (token !== undefined);
    const runner = new ExecutionRunner(
      this.services,
      record,
      nodes,
      {
        emit: (events) => this.dispatch(events),
        ended: (r) => this.ended(r),
        conflicted: (r) => this.conflicted(r),
        ...(this.config.leases === undefined
          ? {}
          : { lease: (r: ExecutionRunner) => this.leases.get(executionKey(r.executionId)) }),
      },
      fresh,
      replaces,
    );
    this.runners.set(key, runner);
    try {
      await runner.start();
    } catch (error) {
      this.services.warn(`execution ${formatExecutionId(record.execution.id)} could not start`, error);
      this.runners.delete(key);
      await this.release(key);
    }
  }

  // ------------------------------------------------------------------ leases (engines sharing a Store)

  /**
   * Claims unclaimed executions soon, here (when started) and in the other engines sharing the Store: `id` was
   * created.
   */
  private requestAcquire(id: idl.core.WorkflowExecutionIdentifier): void {
    this.wakeClaims();
    this.wakeUps.publish('created', id);
  }

  /** Claims unclaimed executions soon. */
  private wakeClaims(): void {
    this.acquireRequested = true;
    this.wakeAcquire?.();
  }

  private async acquireLoop(config: Required<LeaseConfig>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.acquireRequested = false;
      try {
        await this.acquireOnce(config);
      } catch (error) {
        this.services.warn('claiming executions failed', error);
      }
      if (this.acquireRequested || signal.aborted) continue;
      const wake = new AbortController();
      this.wakeAcquire = () => wake.abort();
      // `AbortSignal.any` (Node ≥ 20.3) is the signal combinator, not the `any` type.
      await this.clock.sleep(config.pollIntervalMs, AbortSignal.any([signal, wake.signal])).catch(() => undefined);
      this.wakeAcquire = undefined;
    }
  }

  private async acquireOnce(config: Required<LeaseConfig>): Promise<void> {
    const limit = config.maxExecutions - this.leases.size;
    if (limit <= 0) return;
    const claimed = await this.store.acquireLeases(this.config.id, {
      limit,
      ttlMs: config.ttlMs,
      now: this.clock.now(),
    });
    for (const lease of claimed) {
      const key = executionKey(lease.execution);
      if (!this.started) {
        await this.store.releaseLease(lease);
        continue;
      }
      this.leases.set(key, lease);
      let record: ExecutionRecord | undefined;
      try {
        record = await this.store.getExecution(lease.execution);
      } catch (error) {
        // A record no reader can decode is left (and reported), not held: the other claims go on.
        if (!isFlyteError(error, 'UNREADABLE_RECORD')) throw error;
        this.services.warn(`execution ${formatExecutionId(lease.execution)} cannot be read`, error);
        await this.release(key);
        continue;
      }
      if (record === undefined || isTerminalWorkflowPhase(record.execution.closure?.phase ?? WP.UNDEFINED)) {
        await this.release(key);
        continue;
      }
      await this.run(record);
    }
  }

  private async renewLoop(config: Required<LeaseConfig>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.clock.sleep(config.renewIntervalMs, signal);
      } catch {
        return;
      }
      const held = [...this.leases.values()];
      if (held.length === 0) continue;
      let renewed: readonly Lease[];
      try {
        renewed = await this.store.renewLeases(held, { ttlMs: config.ttlMs, now: this.clock.now() });
      } catch (error) {
        this.services.warn('renewing leases failed', error);
        continue;
      }
      const kept = new Set<string>();
      for (const lease of renewed) {
        const key = executionKey(lease.execution);
        kept.add(key);
        if (this.leases.get(key)?.epoch === lease.epoch) this.leases.set(key, lease);
      }
      for (const lease of held) {
        const key = executionKey(lease.execution);
        if (kept.has(key) || this.leases.get(key)?.epoch !== lease.epoch) continue;
        // Lost (expired and claimed by another engine): stop driving it, without writing.
        this.leases.delete(key);
        const runner = this.runners.get(key);
        if (runner !== undefined) {
          this.runners.delete(key);
          this.services.warn(
            `lost the lease of execution ${formatExecutionId(lease.execution)}; another engine drives it`,
          );
          await runner.stop();
        }
      }
    }
  }

  private async release(key: string): Promise<void> {
    const lease = this.leases.get(key);
    if (lease === undefined) return;
    this.leases.delete(key);
    await this.store.releaseLease(lease).catch((e: unknown) => this.services.warn('could not release a lease', e));
  }

  /**
   * A runner's commit was refused: another writer changed the execution (a terminate from another engine), a
   * retried commit had in fact applied, or the lease was lost. Resume from the Store while this engine may.
   */
  private conflicted(runner: ExecutionRunner): void {
    const key = executionKey(runner.executionId);
    if (this.runners.get(key) === runner) this.runners.delete(key);
    if (!this.started) return;
    const count = (this.reloads.get(key) ?? 0) + 1;
    this.reloads.set(key, count);
    const resume = async () => {
      if (count > 5) {
        this.services.warn(
          `execution ${formatExecutionId(runner.executionId)} keeps conflicting; this engine leaves it`,
        );
        await this.release(key);
        return;
      }
      const lease = this.leases.get(key);
      if (this.config.leases !== undefined) {
        if (lease === undefined) return;
        const [renewed] = await this.store.renewLeases([lease], {
          ttlMs: this.config.leases.ttlMs,
          now: this.clock.now(),
        });
        if (renewed === undefined) {
          this.leases.delete(key);
          return;
        }
        this.leases.set(key, renewed);
      }
      const record = await this.store.getExecution(runner.executionId);
      if (record === undefined) return;
      if (isTerminalWorkflowPhase(record.execution.closure?.phase ?? WP.UNDEFINED)) {
        await this.release(key);
        this.notifyEnded(key);
        return;
      }
      await this.run(record, undefined, runner);
    };
    resume().catch((error: unknown) => this.services.warn('resuming after a conflict failed', error));
  }

  private dispatch(events: readonly ExecutionEvent[]): void {
    for (const event of events) {
      if (event.kind === 'workflow') this.emit('workflow', event.event);
      else if (event.kind === 'node') this.emit('node', event.event);
      else this.emit('task', event.event);
      for (const sink of this.sinks) {
        try {
          const result = sink.emit(event);
          if (result instanceof Promise) result.catch((e: unknown) => this.services.warn('event sink failed', e));
        } catch (error) {
          this.services.warn('event sink failed', error);
        }
      }
    }
  }

  private ended(runner: ExecutionRunner): void {
    const key = executionKey(runner.executionId);
    if (this.runners.get(key) === runner) this.runners.delete(key);
    if (!runner.halted && isTerminalWorkflowPhase(runner.phase)) {
      this.emit('execution-ended', runner.execution);
      this.notifyEnded(key);
      void this.release(key);
    }
  }

  private notifyEnded(key: string): void {
    const listeners = this.endListeners.get(key) ?? [];
    this.endListeners.delete(key);
    for (const fn of listeners) fn();
  }

  private onExecutionEnd(id: idl.core.WorkflowExecutionIdentifier, fn: () => void): void {
    const key = executionKey(id);
    const list = this.endListeners.get(key) ?? [];
    list.push(fn);
    this.endListeners.set(key, list);
  }

  private async launchChild(request: Parameters<EngineServices['children']['launchChild']>[0]) {
    const parentExecution = request.parent.executionId!;
    const id = create(idl.core.WorkflowExecutionIdentifierSchema, {
      project: parentExecution.project,
      domain: parentExecution.domain,
      name: request.name,
      org: parentExecution.org,
    });
    if ((await this.store.getExecution(id)) !== undefined) return id;
    const launchPlan = await this.mustGetLaunchPlan(request.launchPlan);
    const parentSpec = request.parentSpec;
    try {
      await this.launch(
        {
          launchPlan: request.launchPlan,
          name: request.name,
          project: id.project,
          domain: id.domain,
          ...(parentSpec?.labels?.values === undefined ? {} : { labels: parentSpec.labels.values }),
          ...(parentSpec?.annotations?.values === undefined ? {} : { annotations: parentSpec.annotations.values }),
          ...(parentSpec?.securityContext === undefined ? {} : { securityContext: parentSpec.securityContext }),
        },
        {
          mode: Mode.CHILD_WORKFLOW,
          parent: request.parent,
          nesting: (parentSpec?.metadata?.nesting ?? 0) + 1,
          inputs: resolveInputs(launchPlan, request.inputs),
        },
      );
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
    return id;
  }

  /** The execution, or undefined. */
  async getExecution(id: idl.core.WorkflowExecutionIdentifier): Promise<idl.admin.Execution | undefined> {
    return (await this.store.getExecution(id))?.execution;
  }

  /** Executions, newest first by default, with Flyte's filters, sort keys and pagination. */
  async listExecutions(query: ListQuery = {}): Promise<Page<idl.admin.Execution>> {
    return mapPage(await this.store.listExecutions(query), (r) => r.execution);
  }

  /** Resolves with the execution once it has ended. */
  async waitForExecution(
    id: idl.core.WorkflowExecutionIdentifier,
    options: WaitOptions = {},
  ): Promise<idl.admin.Execution> {
    const ended = new Promise<void>((resolve) => this.onExecutionEnd(id, resolve));
    const current = await this.store.getExecution(id);
    if (current === undefined) {
      throw new NotFoundError(`execution ${formatExecutionId(id)} does not exist`, { id: formatExecutionId(id) });
    }
    let phase = current.execution.closure?.phase ?? WP.UNDEFINED;
    const signal = options.signal;
    const leases = this.config.leases;
    while (!isTerminalWorkflowPhase(phase)) {
      await new Promise<void>((resolve, reject) => {
        const stopPolling = new AbortController();
        const onAbort = () => {
          stopPolling.abort();
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          signal?.removeEventListener('abort', onAbort);
          stopPolling.abort();
          resolve();
        };
        void ended.then(done);
        // With a shared Store, another engine may drive it: look at the Store now and then.
        if (leases !== undefined)
          this.clock.sleep(leases.pollIntervalMs, stopPolling.signal).then(done, () => undefined);
      });
      phase = (await this.store.getExecution(id))?.execution.closure?.phase ?? WP.UNDEFINED;
    }
    return (await this.store.getExecution(id))!.execution;
  }

  /** The outputs of a succeeded execution. */
  async getExecutionOutputs(id: idl.core.WorkflowExecutionIdentifier): Promise<idl.core.LiteralMap> {
    const execution = await this.mustGetExecution(id);
    const result = execution.execution.closure?.outputResult;
    if (result?.case !== 'outputs') {
      throw new ExecutorError(
        'INVALID_STATE',
        `execution ${formatExecutionId(id)} has no outputs (it has not succeeded)`,
        {
          id: formatExecutionId(id),
        },
      );
    }
    if (result.value.data.case === 'values') return result.value.data.value;
    if (result.value.data.case === 'uri') return this.services.data.readLiteralMap(result.value.data.value);
    return create(idl.core.LiteralMapSchema);
  }

  /** The inputs an execution ran with. */
  async getExecutionInputs(id: idl.core.WorkflowExecutionIdentifier): Promise<idl.core.LiteralMap> {
    const record = await this.mustGetExecution(id);
    return this.services.data.readLiteralMap(executionInputsUri(this.config.metadataPrefix, record));
  }

  private async mustGetExecution(id: idl.core.WorkflowExecutionIdentifier): Promise<ExecutionRecord> {
    const record = await this.store.getExecution(id);
    if (record === undefined) {
      throw new NotFoundError(`execution ${formatExecutionId(id)} does not exist`, { id: formatExecutionId(id) });
    }
    return record;
  }

  /**
   * Terminates an execution with a cause: every running node and plugin is aborted, then it is ABORTED.
   * A no-op for an execution that has ended.
   */
  async terminateExecution(id: idl.core.WorkflowExecutionIdentifier, cause: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const record = await this.mustGetExecution(id);
      const phase = record.execution.closure?.phase ?? WP.UNDEFINED;
      if (isTerminalWorkflowPhase(phase)) return;
      const runner = this.runners.get(executionKey(id));
      if (runner !== undefined) {
        await runner.abort(cause);
        return;
      }
      // Asked already: its driver is aborting it (told again, in case it missed the first notice).
      if (phase === WP.ABORTING) {
        this.wakeUps.publish('terminate', id);
        return;
      }
      // Driven by another engine sharing the Store, or by nobody yet: record the abort, and tell the driver at once
      // (the notice goes out only if the abort is recorded); whoever drives or resumes it finishes it.
      try {
        await this.store.commit({
          execution: {
            record: { execution: abortRequested(record.execution, cause, this.clock.now()) },
            expectedRevision: record.revision,
          },
          notices: [{ kind: 'terminate', execution: id }],
        });
        return;
      } catch (error) {
        // The driver wrote meanwhile: read it again (a few times; a driver commits far less often than that).
        if (!isFlyteError(error, 'CONFLICT') || attempt >= TERMINATE_ATTEMPTS) throw error;
      }
    }
  }

  /** Launches the same launch plan with the same inputs again, under a new name. */
  async relaunchExecution(
    id: idl.core.WorkflowExecutionIdentifier,
    options: { readonly name?: string } = {},
  ): Promise<idl.admin.Execution> {
    return this.launchAgain(await this.mustGetExecution(id), options.name, Mode.RELAUNCH);
  }

  /**
   * Runs a failed execution again, reusing the outputs of the nodes that succeeded in it (RECOVERED) and
   * running the rest.
   * @throws {ExecutorError} `INVALID_STATE` unless the execution has ended
   */
  async recoverExecution(
    id: idl.core.WorkflowExecutionIdentifier,
    options: { readonly name?: string } = {},
  ): Promise<idl.admin.Execution> {
    const record = await this.mustGetExecution(id);
    if (!isTerminalWorkflowPhase(record.execution.closure?.phase ?? WP.UNDEFINED)) {
      throw new ExecutorError('INVALID_STATE', `execution ${formatExecutionId(id)} is still running`, {
        id: formatExecutionId(id),
      });
    }
    return this.launchAgain(record, options.name, Mode.RECOVERED);
  }

  /** A new execution of the launch plan and inputs of `record`, referring to it. */
  private async launchAgain(
    record: ExecutionRecord,
    name: string | undefined,
    mode: idl.admin.ExecutionMetadata_ExecutionMode,
  ): Promise<idl.admin.Execution> {
    const id = record.execution.id!;
    const inputs = await this.getExecutionInputs(id);
    return this.launch(
      {
        launchPlan: record.execution.spec!.launchPlan!,
        project: id.project,
        domain: id.domain,
        ...(name === undefined ? {} : { name }),
      },
      { mode, reference: id, inputs },
    );
  }

  /** Node executions of an execution (top level by default; `parentNodeId` for a node's children). */
  async listNodeExecutions(
    id: idl.core.WorkflowExecutionIdentifier,
    query: ListQuery & { readonly parentNodeId?: string } = { parentNodeId: '' },
  ): Promise<Page<idl.admin.NodeExecution>> {
    return mapPage(await this.store.listNodeExecutions(id, query), (r) => r.nodeExecution);
  }

  /** A node execution, or undefined. */
  async getNodeExecution(id: idl.core.NodeExecutionIdentifier): Promise<idl.admin.NodeExecution | undefined> {
    return (await this.store.getNodeExecution(id))?.nodeExecution;
  }

  /** The task executions (attempts) of a node execution. */
  async listTaskExecutions(
    id: idl.core.NodeExecutionIdentifier,
    query: ListQuery = {},
  ): Promise<Page<idl.admin.TaskExecution>> {
    return mapPage(await this.store.listTaskExecutions(id, query), (r: TaskExecutionRecord) => r.taskExecution);
  }

  /** The event log of an execution. */
  listEvents(id: idl.core.WorkflowExecutionIdentifier, query: ListQuery = {}): Promise<Page<ExecutionEvent>> {
    return this.store.listEvents(id, query);
  }

  /** The outputs of a succeeded node execution. */
  async getNodeExecutionOutputs(id: idl.core.NodeExecutionIdentifier): Promise<idl.core.LiteralMap> {
    const node = await this.store.getNodeExecution(id);
    const result = node?.nodeExecution.closure?.outputResult;
    // Small outputs are kept inline in the record; larger ones are read from the blob store.
    if (result?.case === 'outputData') return result.value;
    if (result?.case !== 'outputUri') {
      throw new ExecutorError('INVALID_STATE', `node ${id.nodeId} has no outputs`, { id: id.nodeId });
    }
    return this.services.data.readLiteralMap(result.value);
  }

  /**
   * Sets a signal of an execution (what a `waitForInput` or `approve` gate waits for). Setting a signal twice
   * keeps the first value.
   * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` for a value nesting deeper than `MAX_NESTING_DEPTH`
   */
  async setSignal(id: idl.core.WorkflowExecutionIdentifier, signalId: string, value: idl.core.Literal): Promise<void> {
    checkLiteralNesting(value, `signal ${signalId}`);
    await this.mustGetExecution(id);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(signalId)) {
      throw new ExecutorError('INVALID_SIGNAL', `signal name ${JSON.stringify(signalId)} is invalid`, { id: signalId });
    }
    const uri = signalUri(this.config.metadataPrefix, id, signalId);
    if ((await this.services.blob.head(uri)) === undefined)
      await this.services.data.write(uri, idl.core.LiteralSchema, value);
    const runner = this.runners.get(executionKey(id));
    // Driven by another engine sharing the Store (or by nobody yet): tell it.
    if (runner === undefined) this.wakeUps.publish('signal', id);
    else runner.signalSet();
  }

  /** Approves (or rejects) the value an `approve` gate waits on. */
  approve(id: idl.core.WorkflowExecutionIdentifier, signalId: string, approved = true): Promise<void> {
    return this.setSignal(
      id,
      signalId,
      create(idl.core.LiteralSchema, {
        value: {
          case: 'scalar',
          value: { value: { case: 'primitive', value: { value: { case: 'boolean', value: approved } } } },
        },
      }),
    );
  }

  /** Number of executions this engine is driving now. */
  get activeExecutions(): number {
    return this.runners.size;
  }
}

/** Creates an engine; call `start()` on it before launching. */
export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** Tries of a terminate that races with the driver's own commits. */
const TERMINATE_ATTEMPTS = 5;

/** The execution as an engine not driving it records a terminate: ABORTING, with the cause. */
function abortRequested(execution: idl.admin.Execution, cause: string, now: Date): idl.admin.Execution {
  const closure: idl.admin.ExecutionClosure = {
    ...(execution.closure ?? create(idl.admin.ExecutionClosureSchema)),
    phase: WP.ABORTING,
    outputResult: { case: 'abortMetadata', value: create(idl.admin.AbortMetadataSchema, { cause }) },
    updatedAt: timestampFromMs(now.getTime()),
  };
  return { ...execution, closure };
}

/** The principal of scheduled executions. */
const SCHEDULER_PRINCIPAL = 'flyte:scheduler';

/** A datetime literal. */
function datetimeLiteral(time: Date): idl.core.Literal {
  return create(idl.core.LiteralSchema, {
    value: {
      case: 'scalar',
      value: {
        value: { case: 'primitive', value: { value: { case: 'datetime', value: timestampFromMs(time.getTime()) } } },
      },
    },
  });
}

function generateName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let name = alphabet[Math.floor(Math.random() * 26)]!;
  for (let i = 0; i < 19; i++) name += alphabet[Math.floor(Math.random() * alphabet.length)]!;
  return name;
}

/** Every node of a workflow spec: nested branch cases, array sub-nodes and subworkflows included. */
function allNodes(spec: idl.admin.WorkflowSpec): idl.core.Node[] {
  const out: idl.core.Node[] = [];
  const visit = (node: idl.core.Node | undefined) => {
    if (node === undefined) return;
    out.push(node);
    const target = node.target;
    if (target.case === 'branchNode') {
      const block = target.value.ifElse;
      visit(block?.case?.thenNode);
      for (const other of block?.other ?? []) visit(other.thenNode);
      if (block?.default.case === 'elseNode') visit(block.default.value);
    } else if (target.case === 'arrayNode') {
      visit(target.value.node);
    }
  };
  for (const template of [spec.template, ...spec.subWorkflows]) {
    for (const node of template?.nodes ?? []) visit(node);
    visit(template?.failureNode);
  }
  return out;
}

/** A launch plan named after the workflow, with the workflow's defaults (what flytekit registers). */
function defaultLaunchPlanOf(
  workflow: WorkflowLike,
  settings: SerializationSettings | undefined,
): idl.admin.LaunchPlan {
  const lp = dslLaunchPlan(workflow) as unknown as { toLaunchPlan(s: SerializationSettings): idl.admin.LaunchPlan };
  return lp.toLaunchPlan(settings ?? {});
}

function singleTaskWorkflow(id: idl.core.Identifier, task: idl.core.TaskTemplate): idl.admin.WorkflowSpec {
  const inputs = Object.keys(task.interface?.inputs?.variables ?? {});
  const outputs = Object.keys(task.interface?.outputs?.variables ?? {});
  const promise = (nodeId: string, v: string) =>
    create(idl.core.BindingSchema, { var: v, binding: { value: { case: 'promise', value: { nodeId, var: v } } } });
  const template = create(idl.core.WorkflowTemplateSchema, {
    id,
    interface: task.interface,
    metadata: {},
    nodes: [
      {
        id: 'n0',
        metadata: { name: task.id?.name ?? 'task', retries: task.metadata?.retries },
        inputs: inputs.map((v) => promise('start-node', v)),
        target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: task.id! } } },
      },
    ],
    outputs: outputs.map((v) => promise('n0', v)),
  });
  return create(idl.admin.WorkflowSpecSchema, { template });
}
