// MemoryStore: the Store port in process memory. It is the engine's test and benchmark store, so it is built for
// speed: one Map lookup per get by id, per-execution indexes of nodes, attempts and events, and no copies.
import { create } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import {
  AlreadyExistsError,
  checkExecutionNotices,
  checkMessageDepth,
  checkTransitionDepth,
  ConflictError,
  formatExecutionId,
  formatIdentifier,
  formatNodeExecutionId,
  formatTaskExecutionId,
  idl,
  InProcessNotifications,
  InvalidArgumentError,
  NotFoundError,
  type CommitResult,
  type CreateResult,
  type EntityBatch,
  type EntityBatchResult,
  type ExecutionEvent,
  type ExecutionRecord,
  type ExecutionTransition,
  type Lease,
  type ListQuery,
  type NodeExecutionRecord,
  type OperationOptions,
  type Page,
  type ProjectDomainSettings,
  type Registered,
  type ScheduleState,
  type Store,
  type TaskExecutionRecord,
} from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';
import { EventIndex, type EventIdentity } from './event-index.js';
import { entityKey, executionKey, launchPlanNameKey, projectDomainKey, taskExecutionKey } from './keys.js';
import { listPage, type Row } from './list-engine.js';
import { isTerminalExecutionPhase } from './phases.js';
import {
  EVENT_LIST,
  EXECUTION_LIST,
  LAUNCH_PLAN_LIST,
  NODE_EXECUTION_LIST,
  PROJECT_LIST,
  TASK_EXECUTION_LIST,
  TASK_LIST,
  WORKFLOW_LIST,
} from './record-fields.js';

type Project = idl.admin.Project;
type Task = idl.admin.Task;
type Workflow = idl.admin.Workflow;
type LaunchPlan = idl.admin.LaunchPlan;
type WorkflowExecutionIdentifier = idl.core.WorkflowExecutionIdentifier;

const { LaunchPlanState } = idl.admin;

/** A registered version and the digest it was registered with. */
interface EntityRow<T> extends Row<T> {
  readonly digest: string;
}

/** The lease currently recorded on an execution. */
interface HeldLease {
  readonly owner: string;
  readonly epoch: number;
  readonly expiresAtMs: number;
}

/** An execution and everything that hangs off it. */
interface ExecutionRow extends Row<ExecutionRecord> {
  /** Node executions by node id. */
  readonly nodes: Map<string, Row<NodeExecutionRecord>>;
  /** The same rows in creation order (sequence numbers ascending), for paging by binary search. */
  readonly nodeOrder: Row<NodeExecutionRecord>[];
  /** Task executions by {@link taskExecutionKey}. */
  readonly tasks: Map<string, Row<TaskExecutionRecord>>;
  /** Task executions of each node, in creation order. */
  readonly tasksByNode: Map<string, Row<TaskExecutionRecord>[]>;
  /** The event log; a row's seq is its position. */
  readonly events: Row<ExecutionEvent>[];
  /** Identity of every logged event (entity, phase, occurred_at), to skip repeats. */
  readonly eventKeys: EventIndex;
  /** The current lease, if any (released leases are removed; expired ones stay until claimed). */
  lease: HeldLease | undefined;
  /** Epoch of the last claim. */
  epoch: number;
}

/**
 * The Store port in memory: the store of unit tests, examples and benchmarks, and of single-process apps that
 * need no durability.
 *
 * Records are **shared, not copied**: the messages given to the store are the ones it returns, and the ones it
 * returns are the ones it keeps. Treat every record given to or returned by it as immutable (the engine only
 * ever writes fresh objects). A record replaced by a later write stays as it was; the store never mutates a
 * message it was given.
 *
 * Every method is atomic (JavaScript runs it to completion before any other call), rejects with the reason of
 * an already-aborted `options.signal`, and validates everything before writing anything.
 */
export class MemoryStore implements Store {
  /**
   * Notices among the engines sharing this object (its data lives in this process only), delivered in process;
   * a commit's notices go out once it applied.
   */
  readonly notifications = new InProcessNotifications();
  #seq = 0;
  readonly #projects = new Map<string, Row<Project>>();
  readonly #settings = new Map<string, ProjectDomainSettings>();
  readonly #tasks = new Map<string, EntityRow<Task>>();
  readonly #workflows = new Map<string, EntityRow<Workflow>>();
  readonly #launchPlans = new Map<string, EntityRow<LaunchPlan>>();
  /** Launch plan name → entity key of its ACTIVE version. */
  readonly #activeLaunchPlans = new Map<string, string>();
  readonly #executions = new Map<string, ExecutionRow>();
  /** Executions not in a terminal phase, in creation order: the only ones leases may claim. */
  readonly #live = new Set<ExecutionRow>();
  /** Schedule key → last fire time (ms). */
  readonly #schedules = new Map<string, number>();

  /** Creates an empty store. */
  constructor() {}

  async putProject(project: Project, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (project.id === '') throw new InvalidArgumentError('a project needs an id', { id: project.name });
    const row = this.#projects.get(project.id);
    if (row === undefined) {
      this.#projects.set(project.id, { seq: this.#next(), value: project });
      return;
    }
    const { name, description, labels, state } = project;
    row.value = { ...row.value, name, description, labels, state };
  }

  async getProject(id: string, options?: OperationOptions): Promise<Project | undefined> {
    throwIfAborted(options?.signal);
    return this.#projects.get(id)?.value;
  }

  async listProjects(query?: ListQuery, options?: OperationOptions): Promise<Page<Project>> {
    throwIfAborted(options?.signal);
    return listPage(PROJECT_LIST, Array.from(this.#projects.values()), query, { map: identity });
  }

  async putProjectDomainSettings(settings: ProjectDomainSettings, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (settings.project === '' || settings.domain === '') {
      throw new InvalidArgumentError('project-domain settings need a project and a domain', {
        id: `${settings.project}/${settings.domain}`,
      });
    }
    this.#settings.set(projectDomainKey(settings.project, settings.domain), settings);
  }

  async getProjectDomainSettings(
    project: string,
    domain: string,
    options?: OperationOptions,
  ): Promise<ProjectDomainSettings | undefined> {
    throwIfAborted(options?.signal);
    return this.#settings.get(projectDomainKey(project, domain));
  }

  async createTask(task: Registered<Task>, options?: OperationOptions): Promise<CreateResult> {
    throwIfAborted(options?.signal);
    return this.#register(this.#tasks, task, 'task', idl.admin.TaskSchema);
  }

  async getTask(id: idl.core.Identifier, options?: OperationOptions): Promise<Task | undefined> {
    throwIfAborted(options?.signal);
    return this.#tasks.get(entityKey(id))?.value;
  }

  async listTasks(query?: ListQuery, options?: OperationOptions): Promise<Page<Task>> {
    throwIfAborted(options?.signal);
    return listPage(TASK_LIST, Array.from(this.#tasks.values()), query, { map: identity });
  }

  async createWorkflow(workflow: Registered<Workflow>, options?: OperationOptions): Promise<CreateResult> {
    throwIfAborted(options?.signal);
    return this.#register(this.#workflows, workflow, 'workflow', idl.admin.WorkflowSchema);
  }

  async getWorkflow(id: idl.core.Identifier, options?: OperationOptions): Promise<Workflow | undefined> {
    throwIfAborted(options?.signal);
    return this.#workflows.get(entityKey(id))?.value;
  }

  async listWorkflows(query?: ListQuery, options?: OperationOptions): Promise<Page<Workflow>> {
    throwIfAborted(options?.signal);
    return listPage(WORKFLOW_LIST, Array.from(this.#workflows.values()), query, { map: identity });
  }

  async createLaunchPlan(launchPlan: Registered<LaunchPlan>, options?: OperationOptions): Promise<CreateResult> {
    throwIfAborted(options?.signal);
    const result = this.#register(this.#launchPlans, launchPlan, 'launch plan', idl.admin.LaunchPlanSchema);
    if (result === 'created' && launchPlan.entity.closure?.state === LaunchPlanState.ACTIVE) {
      this.#activate(launchPlan.entity.id!);
    }
    return result;
  }

  async getLaunchPlan(id: idl.core.Identifier, options?: OperationOptions): Promise<LaunchPlan | undefined> {
    throwIfAborted(options?.signal);
    return this.#launchPlans.get(entityKey(id))?.value;
  }

  async listLaunchPlans(query?: ListQuery, options?: OperationOptions): Promise<Page<LaunchPlan>> {
    throwIfAborted(options?.signal);
    return listPage(LAUNCH_PLAN_LIST, Array.from(this.#launchPlans.values()), query, { map: identity });
  }

  async setLaunchPlanState(
    id: idl.core.Identifier,
    state: idl.admin.LaunchPlanState,
    options?: OperationOptions,
  ): Promise<readonly LaunchPlan[]> {
    throwIfAborted(options?.signal);
    if (state !== LaunchPlanState.ACTIVE && state !== LaunchPlanState.INACTIVE) {
      throw new InvalidArgumentError(`unknown launch plan state ${String(state)}: use ACTIVE or INACTIVE`, {
        id: formatIdentifier(id),
      });
    }
    const row = this.#launchPlans.get(entityKey(id));
    if (row === undefined) {
      throw new NotFoundError(`launch plan ${formatIdentifier(id)} is not registered: register it first`, {
        id: formatIdentifier(id),
      });
    }
    if (state === LaunchPlanState.ACTIVE) return this.#activate(id);
    const nameKey = launchPlanNameKey(id.project, id.domain, id.name);
    if (this.#activeLaunchPlans.get(nameKey) !== entityKey(id)) return [];
    this.#activeLaunchPlans.delete(nameKey);
    row.value = withLaunchPlanState(row.value, LaunchPlanState.INACTIVE);
    return [row.value];
  }

  async getActiveLaunchPlan(
    project: string,
    domain: string,
    name: string,
    options?: OperationOptions,
  ): Promise<LaunchPlan | undefined> {
    throwIfAborted(options?.signal);
    const key = this.#activeLaunchPlans.get(launchPlanNameKey(project, domain, name));
    return key === undefined ? undefined : this.#launchPlans.get(key)?.value;
  }

  async createEntities(batch: EntityBatch, options?: OperationOptions): Promise<EntityBatchResult> {
    throwIfAborted(options?.signal);
    // Every entity is checked before the first write: a refused one leaves the whole batch unwritten.
    const tasks = this.#planRegistrations(this.#tasks, batch.tasks, 'task', idl.admin.TaskSchema);
    const workflows = this.#planRegistrations(this.#workflows, batch.workflows, 'workflow', idl.admin.WorkflowSchema);
    const launchPlans = this.#planRegistrations(
      this.#launchPlans,
      batch.launchPlans,
      'launch plan',
      idl.admin.LaunchPlanSchema,
    );
    for (const write of tasks) this.#insertEntity(write.rows, write.key, write.registered);
    for (const write of workflows) this.#insertEntity(write.rows, write.key, write.registered);
    for (const write of launchPlans) {
      this.#insertEntity(write.rows, write.key, write.registered);
      if (write.result === 'created' && write.registered.entity.closure?.state === LaunchPlanState.ACTIVE) {
        this.#activate(write.registered.entity.id!);
      }
    }
    const results = (plan: readonly { readonly result: CreateResult }[]) => plan.map((write) => write.result);
    return { tasks: results(tasks), workflows: results(workflows), launchPlans: results(launchPlans) };
  }

  async createExecution(
    record: Omit<ExecutionRecord, 'revision'>,
    options?: OperationOptions,
  ): Promise<ExecutionRecord> {
    throwIfAborted(options?.signal);
    const id = requireExecutionId(record.execution.id, 'execution');
    const key = executionKey(id);
    if (this.#executions.has(key)) {
      throw new AlreadyExistsError(
        `execution ${formatExecutionId(id)} exists already: execution names are unique within a project and domain`,
        { id: formatExecutionId(id) },
      );
    }
    checkMessageDepth(idl.admin.ExecutionSchema, record.execution, `execution ${formatExecutionId(id)}`);
    const stored = executionRecord(record, 1, record.inputsUri);
    this.#insertExecution(key, stored);
    return stored;
  }

  async getExecution(
    id: WorkflowExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<ExecutionRecord | undefined> {
    throwIfAborted(options?.signal);
    return this.#executions.get(executionKey(id))?.value;
  }

  async listExecutions(
    query?: ListQuery & { readonly includeState?: boolean },
    options?: OperationOptions,
  ): Promise<Page<ExecutionRecord>> {
    throwIfAborted(options?.signal);
    return listPage(EXECUTION_LIST, Array.from(this.#executions.values()), query, {
      map: query?.includeState === true ? identity : withoutState,
    });
  }

  async commit(transition: ExecutionTransition, options?: OperationOptions): Promise<CommitResult> {
    throwIfAborted(options?.signal);
    // Everything is checked before the first write: once writing starts, nothing below can throw.
    const plan = this.#planCommit(transition);
    const notices = transition.notices ?? [];
    checkExecutionNotices(notices);

    let execution: ExecutionRecord | undefined;
    if (plan.execution !== undefined) {
      const { key, record } = plan.execution;
      const row = this.#executions.get(key);
      if (row === undefined) {
        this.#insertExecution(key, record);
      } else {
        row.value = record;
        if (isTerminalExecutionPhase(record.execution.closure?.phase)) this.#live.delete(row);
        else this.#live.add(row);
      }
      execution = record;
    }
    for (const { key, nodeId, record } of plan.nodes) {
      const row = this.#executions.get(key)!;
      const node = row.nodes.get(nodeId);
      if (node !== undefined) {
        node.value = record;
      } else {
        const created = { seq: this.#next(), value: record };
        row.nodes.set(nodeId, created);
        row.nodeOrder.push(created);
      }
    }
    for (const { key, nodeId, taskKey, record } of plan.tasks) {
      const row = this.#executions.get(key)!;
      const task = row.tasks.get(taskKey);
      if (task !== undefined) {
        task.value = record;
      } else {
        const created = { seq: this.#next(), value: record };
        row.tasks.set(taskKey, created);
        const ofNode = row.tasksByNode.get(nodeId);
        if (ofNode === undefined) row.tasksByNode.set(nodeId, [created]);
        else ofNode.push(created);
      }
    }
    for (const { key, identity: eventIdentity, event } of plan.events) {
      const row = this.#executions.get(key)!;
      row.events.push({ seq: row.events.length, value: event });
      row.eventKeys.add(eventIdentity);
    }
    this.notifications.deliver(notices);
    return {
      execution,
      nodeExecutions: plan.nodes.map((write) => write.record),
      taskExecutions: plan.tasks.map((write) => write.record),
    };
  }

  async getNodeExecution(
    id: idl.core.NodeExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<NodeExecutionRecord | undefined> {
    throwIfAborted(options?.signal);
    if (id.executionId === undefined) return undefined;
    return this.#executions.get(executionKey(id.executionId))?.nodes.get(id.nodeId)?.value;
  }

  async listNodeExecutions(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery & { readonly parentNodeId?: string },
    options?: OperationOptions,
  ): Promise<Page<NodeExecutionRecord>> {
    throwIfAborted(options?.signal);
    const key = executionKey(execution);
    const parent = query?.parentNodeId;
    return listPage(NODE_EXECUTION_LIST, this.#executions.get(key)?.nodeOrder ?? [], query, {
      scope: `${key}\u0001${JSON.stringify(parent ?? null)}`,
      where: parent === undefined ? undefined : (record) => record.parentNodeId === parent,
      map: identity,
    });
  }

  async getTaskExecution(
    id: idl.core.TaskExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<TaskExecutionRecord | undefined> {
    throwIfAborted(options?.signal);
    const node = id.nodeExecutionId;
    if (node?.executionId === undefined) return undefined;
    return this.#executions
      .get(executionKey(node.executionId))
      ?.tasks.get(taskExecutionKey(node.nodeId, id.retryAttempt, id.taskId))?.value;
  }

  async listTaskExecutions(
    nodeExecution: idl.core.NodeExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<TaskExecutionRecord>> {
    throwIfAborted(options?.signal);
    const key = nodeExecution.executionId === undefined ? '' : executionKey(nodeExecution.executionId);
    const rows = this.#executions.get(key)?.tasksByNode.get(nodeExecution.nodeId) ?? [];
    return listPage(TASK_EXECUTION_LIST, rows, query, {
      scope: `${key}\u0001${nodeExecution.nodeId}`,
      map: identity,
    });
  }

  async listEvents(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<ExecutionEvent>> {
    throwIfAborted(options?.signal);
    const key = executionKey(execution);
    return listPage(EVENT_LIST, this.#executions.get(key)?.events ?? [], query, { scope: key, map: identity });
  }

  async acquireLeases(
    owner: string,
    request: { readonly limit: number; readonly ttlMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<readonly Lease[]> {
    throwIfAborted(options?.signal);
    if (owner === '') throw new InvalidArgumentError('a lease owner must not be empty', { id: owner });
    if (!Number.isInteger(request.limit) || request.limit < 0) {
      throw new InvalidArgumentError(`lease limit must be a non-negative integer, got ${request.limit}`, { id: owner });
    }
    const nowMs = timeOf(request.now, 'now');
    const expiresAtMs = nowMs + ttlOf(request.ttlMs);
    const leases: Lease[] = [];
    for (const row of this.#live) {
      if (leases.length >= request.limit) break;
      if (row.lease !== undefined && nowMs < row.lease.expiresAtMs) continue;
      row.epoch += 1;
      row.lease = { owner, epoch: row.epoch, expiresAtMs };
      leases.push({ execution: row.value.execution.id!, owner, epoch: row.epoch, expiresAt: new Date(expiresAtMs) });
    }
    return leases;
  }

  async renewLeases(
    leases: readonly Lease[],
    request: { readonly ttlMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<readonly Lease[]> {
    throwIfAborted(options?.signal);
    const nowMs = timeOf(request.now, 'now');
    const expiresAtMs = nowMs + ttlOf(request.ttlMs);
    const renewed: Lease[] = [];
    for (const lease of leases) {
      const row = this.#executions.get(executionKey(lease.execution));
      if (row === undefined || !isCurrent(row, lease, nowMs)) continue;
      row.lease = { owner: lease.owner, epoch: lease.epoch, expiresAtMs };
      renewed.push({ ...lease, expiresAt: new Date(expiresAtMs) });
    }
    return renewed;
  }

  async releaseLease(lease: Lease, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const row = this.#executions.get(executionKey(lease.execution));
    if (row?.lease !== undefined && row.lease.owner === lease.owner && row.lease.epoch === lease.epoch) {
      row.lease = undefined;
    }
  }

  async getScheduleState(key: string, options?: OperationOptions): Promise<ScheduleState | undefined> {
    throwIfAborted(options?.signal);
    const last = this.#schedules.get(key);
    return last === undefined ? undefined : { key, lastFireTime: new Date(last) };
  }

  async recordScheduleFire(
    key: string,
    fireTime: Date,
    expectedLast: Date | undefined,
    options?: OperationOptions,
  ): Promise<boolean> {
    throwIfAborted(options?.signal);
    const fireMs = timeOf(fireTime, 'fireTime');
    const expectedMs = expectedLast === undefined ? undefined : timeOf(expectedLast, 'expectedLast');
    if (this.#schedules.get(key) !== expectedMs) return false;
    this.#schedules.set(key, fireMs);
    return true;
  }

  #next(): number {
    this.#seq += 1;
    return this.#seq;
  }

  #register<T extends Task | Workflow | LaunchPlan>(
    rows: Map<string, EntityRow<T>>,
    registered: Registered<T>,
    kind: string,
    schema: GenMessage<T>,
  ): CreateResult {
    const [write] = this.#planRegistrations(rows, [registered], kind, schema);
    this.#insertEntity(rows, write!.key, write!.registered);
    return write!.result;
  }

  /**
   * Checks registrations of one kind against the stored versions and each other, without writing: each is
   * created, or unchanged (the same digest is stored, or comes earlier in the list).
   */
  #planRegistrations<T extends Task | Workflow | LaunchPlan>(
    rows: Map<string, EntityRow<T>>,
    list: readonly Registered<T>[] | undefined,
    kind: string,
    schema: GenMessage<T>,
  ): RegistrationWrite<T>[] {
    const planned = new Map<string, string>();
    return (list ?? []).map((registered) => {
      const id = registered.entity.id;
      if (id === undefined || id.project === '' || id.domain === '' || id.name === '' || id.version === '') {
        throw new InvalidArgumentError(`a ${kind} needs an id with project, domain, name and version`, {
          id: formatIdentifier(id),
        });
      }
      const key = entityKey(id);
      const digest = planned.get(key) ?? rows.get(key)?.digest;
      if (digest === undefined) {
        // What the Postgres store could not read back is refused here too: the stores accept the same records.
        checkMessageDepth(schema, registered.entity, `${kind} ${formatIdentifier(id)}`);
        planned.set(key, registered.digest);
        return { rows, key, registered, result: 'created' };
      }
      if (digest === registered.digest) return { rows, key, registered, result: 'unchanged' };
      throw new AlreadyExistsError(
        `${kind} ${formatIdentifier(id)} is already registered with different content: versions are immutable, register a new version`,
        { id: formatIdentifier(id) },
      );
    });
  }

  #insertEntity<T>(rows: Map<string, EntityRow<T>>, key: string, registered: Registered<T>): void {
    if (rows.has(key)) return;
    rows.set(key, { seq: this.#next(), value: registered.entity, digest: registered.digest });
  }

  /** Makes a registered launch plan version the ACTIVE one of its name; resolves to the versions that changed. */
  #activate(id: idl.core.Identifier): LaunchPlan[] {
    const key = entityKey(id);
    const row = this.#launchPlans.get(key)!;
    const nameKey = launchPlanNameKey(id.project, id.domain, id.name);
    const previous = this.#activeLaunchPlans.get(nameKey);
    if (previous === key) {
      if (row.value.closure?.state === LaunchPlanState.ACTIVE) return [];
      row.value = withLaunchPlanState(row.value, LaunchPlanState.ACTIVE);
      return [row.value];
    }
    const changed: LaunchPlan[] = [];
    if (row.value.closure?.state !== LaunchPlanState.ACTIVE) {
      row.value = withLaunchPlanState(row.value, LaunchPlanState.ACTIVE);
      changed.push(row.value);
    }
    if (previous !== undefined) {
      const old = this.#launchPlans.get(previous)!;
      old.value = withLaunchPlanState(old.value, LaunchPlanState.INACTIVE);
      changed.push(old.value);
    }
    this.#activeLaunchPlans.set(nameKey, key);
    return changed;
  }

  #insertExecution(key: string, record: ExecutionRecord): ExecutionRow {
    const row: ExecutionRow = {
      seq: this.#next(),
      value: record,
      nodes: new Map(),
      nodeOrder: [],
      tasks: new Map(),
      tasksByNode: new Map(),
      events: [],
      eventKeys: new EventIndex(),
      lease: undefined,
      epoch: 0,
    };
    this.#executions.set(key, row);
    if (!isTerminalExecutionPhase(record.execution.closure?.phase)) this.#live.add(row);
    return row;
  }

  /** Checks a transition and computes what it writes, without writing anything. */
  #planCommit(transition: ExecutionTransition): CommitPlan {
    checkTransitionDepth(transition);
    let execution: CommitPlan['execution'];
    if (transition.execution !== undefined) {
      const { record, expectedRevision } = transition.execution;
      const id = requireExecutionId(record.execution.id, 'execution');
      const key = executionKey(id);
      const stored = this.#executions.get(key)?.value;
      checkRevision(`execution ${formatExecutionId(id)}`, stored?.revision ?? 0, expectedRevision);
      // The inputs reference is the creator's: an update keeps it.
      const inputsUri = stored === undefined ? record.inputsUri : stored.inputsUri;
      execution = { key, record: executionRecord(record, expectedRevision + 1, inputsUri) };
    }

    const lease = transition.lease;
    if (lease !== undefined) {
      const nowMs = timeOf(lease.now, 'lease.now');
      const row = this.#executions.get(executionKey(lease.lease.execution));
      if (row === undefined || !isCurrent(row, lease.lease, nowMs)) {
        throw new ConflictError(
          `the lease of ${lease.lease.owner} (epoch ${lease.lease.epoch}) on execution ${formatExecutionId(lease.lease.execution)} is not current at ${lease.now.toISOString()}: it expired or another process claimed the execution`,
          { id: formatExecutionId(lease.lease.execution) },
        );
      }
    }

    // Most transitions write rows of one execution: its key and row are looked up once.
    let lastId: WorkflowExecutionIdentifier | undefined;
    let last: { key: string; row: ExecutionRow | undefined } | undefined;
    /** The execution a row belongs to: stored, or created by this very transition. */
    const resolve = (
      id: WorkflowExecutionIdentifier | undefined,
      what: () => string,
    ): { key: string; row: ExecutionRow | undefined } => {
      if (id !== undefined && id === lastId) return last!;
      const executionId = requireExecutionId(id, what());
      const key = executionKey(executionId);
      const row = this.#executions.get(key);
      if (row === undefined && execution?.key !== key) {
        throw new NotFoundError(
          `execution ${formatExecutionId(executionId)} does not exist: create it before writing its ${what()}`,
          { id: formatExecutionId(executionId) },
        );
      }
      lastId = executionId;
      last = { key, row };
      return last;
    };
    // Revisions written earlier in this same transition (a row may appear twice), per execution key.
    const staged = { n: new Map<string, Map<string, number>>(), t: new Map<string, Map<string, number>>() };
    const stagedOf = (kind: 'n' | 't', key: string): Map<string, number> => {
      let map = staged[kind].get(key);
      if (map === undefined) staged[kind].set(key, (map = new Map()));
      return map;
    };

    const nodes = (transition.nodeExecutions ?? []).map(({ record, expectedRevision }) => {
      const id = record.nodeExecution.id;
      if (id === undefined || id.nodeId === '') {
        throw new InvalidArgumentError('a node execution needs an id with a node id', {
          id: formatNodeExecutionId(id),
        });
      }
      const { key, row } = resolve(id.executionId, () => `node execution ${id.nodeId}`);
      const revisions = stagedOf('n', key);
      const current = revisions.get(id.nodeId) ?? row?.nodes.get(id.nodeId)?.value.revision ?? 0;
      if (current !== expectedRevision) {
        throw conflict(`node execution ${formatNodeExecutionId(id)}`, current, expectedRevision);
      }
      revisions.set(id.nodeId, expectedRevision + 1);
      // Made field by field (a spread plus a field makes the object grow out of line).
      const written: NodeExecutionRecord =
        record.state === undefined
          ? { nodeExecution: record.nodeExecution, parentNodeId: record.parentNodeId, revision: expectedRevision + 1 }
          : {
              nodeExecution: record.nodeExecution,
              parentNodeId: record.parentNodeId,
              revision: expectedRevision + 1,
              state: record.state,
            };
      return { key, nodeId: id.nodeId, record: written };
    });

    const tasks = (transition.taskExecutions ?? []).map(({ record, expectedRevision }) => {
      const id = record.taskExecution.id;
      const node = id?.nodeExecutionId;
      if (id === undefined || node === undefined || node.nodeId === '') {
        throw new InvalidArgumentError('a task execution needs an id with a node execution id', {
          id: formatTaskExecutionId(id),
        });
      }
      const { key, row } = resolve(node.executionId, () => `task execution ${node.nodeId}/${id.retryAttempt}`);
      const taskKey = taskExecutionKey(node.nodeId, id.retryAttempt, id.taskId);
      const revisions = stagedOf('t', key);
      const current = revisions.get(taskKey) ?? row?.tasks.get(taskKey)?.value.revision ?? 0;
      if (current !== expectedRevision) {
        throw conflict(`task execution ${formatTaskExecutionId(id)}`, current, expectedRevision);
      }
      revisions.set(taskKey, expectedRevision + 1);
      return {
        key,
        nodeId: node.nodeId,
        taskKey,
        record: { taskExecution: record.taskExecution, revision: expectedRevision + 1 } as TaskExecutionRecord,
      };
    });

    // Events repeated within this transition are skipped too.
    const seen = new Map<string, EventIndex>();
    const events: { key: string; identity: EventIdentity; event: ExecutionEvent }[] = [];
    for (const event of transition.events ?? []) {
      const target = eventTarget(event);
      const { key, row } = resolve(target.execution, () => `${event.kind} event`);
      if (row?.eventKeys.has(target.identity) === true) continue;
      let pending = seen.get(key);
      if (pending === undefined) seen.set(key, (pending = new EventIndex()));
      if (pending.has(target.identity)) continue;
      pending.add(target.identity);
      events.push({ key, identity: target.identity, event });
    }
    return { execution, nodes, tasks, events };
  }
}

/** A checked registration: the entity, where it goes, and whether it is new. */
interface RegistrationWrite<T> {
  readonly rows: Map<string, EntityRow<T>>;
  readonly key: string;
  readonly registered: Registered<T>;
  readonly result: CreateResult;
}

/** What a checked transition writes. */
interface CommitPlan {
  readonly execution: { readonly key: string; readonly record: ExecutionRecord } | undefined;
  readonly nodes: readonly { readonly key: string; readonly nodeId: string; readonly record: NodeExecutionRecord }[];
  readonly tasks: readonly {
    readonly key: string;
    readonly nodeId: string;
    readonly taskKey: string;
    readonly record: TaskExecutionRecord;
  }[];
  readonly events: readonly {
    readonly key: string;
    readonly identity: EventIdentity;
    readonly event: ExecutionEvent;
  }[];
}

function identity<T>(value: T): T {
  return value;
}

function withoutState(record: ExecutionRecord): ExecutionRecord {
  return record.state === undefined ? record : executionRecord({ ...record, state: undefined }, record.revision);
}

function executionRecord(
  record: Omit<ExecutionRecord, 'revision'>,
  revision: number,
  inputsUri = record.inputsUri,
): ExecutionRecord {
  const written: { -readonly [K in keyof ExecutionRecord]: ExecutionRecord[K] } = {
    execution: record.execution,
    revision,
  };
  if (record.state !== undefined) written.state = record.state;
  if (inputsUri !== undefined) written.inputsUri = inputsUri;
  return written;
}

function withLaunchPlanState(launchPlan: LaunchPlan, state: idl.admin.LaunchPlanState): LaunchPlan {
  const closure = launchPlan.closure ?? create(idl.admin.LaunchPlanClosureSchema);
  return { ...launchPlan, closure: { ...closure, state } };
}

function requireExecutionId(id: WorkflowExecutionIdentifier | undefined, what: string): WorkflowExecutionIdentifier {
  if (id === undefined || id.project === '' || id.domain === '' || id.name === '') {
    throw new InvalidArgumentError(`${what} needs an execution id with project, domain and name`, {
      id: formatExecutionId(id),
    });
  }
  return id;
}

function checkRevision(what: string, current: number, expected: number): void {
  if (current !== expected) throw conflict(what, current, expected);
}

/** The error of a write that expected revision `expected` of a row at `current`. */
function conflict(what: string, current: number, expected: number): ConflictError {
  return new ConflictError(
    current === 0
      ? `${what} does not exist, but the write expected revision ${expected}: read it again`
      : expected === 0
        ? `${what} exists already (revision ${current}), but the write expected a new row: read it again and retry`
        : `${what} is at revision ${current}, not ${expected}: it changed since it was read; read it again and retry`,
    { id: what },
  );
}

function isCurrent(row: ExecutionRow, lease: Lease, nowMs: number): boolean {
  const held = row.lease;
  return held !== undefined && held.owner === lease.owner && held.epoch === lease.epoch && nowMs < held.expiresAtMs;
}

function timeOf(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${what} must be a valid Date`, { id: what });
  return ms;
}

function ttlOf(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`, { id: 'ttlMs' });
  }
  return ttlMs;
}

/** The execution an event belongs to, and its identity (entity, phase, occurred_at) within that execution. */
function eventTarget(event: ExecutionEvent): {
  execution: WorkflowExecutionIdentifier | undefined;
  identity: EventIdentity;
} {
  switch (event.kind) {
    case 'workflow':
      return {
        execution: event.event.executionId,
        identity: identityOf('workflow', '', event.event.phase, event.event.occurredAt),
      };
    case 'node':
      return {
        execution: event.event.id?.executionId,
        identity: identityOf('node', event.event.id?.nodeId ?? '', event.event.phase, event.event.occurredAt),
      };
    case 'task': {
      const e = event.event;
      const task = taskExecutionKey(e.parentNodeExecutionId?.nodeId ?? '', e.retryAttempt, e.taskId);
      return {
        execution: e.parentNodeExecutionId?.executionId,
        identity: identityOf('task', task, e.phase, e.occurredAt),
      };
    }
    default:
      throw new InvalidArgumentError(`unknown event kind ${JSON.stringify((event as { kind: unknown }).kind)}`);
  }
}

function identityOf(
  kind: EventIdentity['kind'],
  entity: string,
  phase: number,
  occurredAt: idl.wkt.Timestamp | undefined,
): EventIdentity {
  return occurredAt === undefined
    ? { kind, entity, phase, seconds: Number.NaN, nanos: Number.NaN }
    : { kind, entity, phase, seconds: Number(occurredAt.seconds), nanos: occurredAt.nanos };
}
