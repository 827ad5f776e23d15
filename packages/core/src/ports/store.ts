// The Store port: the control plane's repository (FlyteAdmin's tables). Records are the flyteidl admin
// messages, so what the engine stores is what FlyteAdmin would serve; queryable fields are derived by each
// adapter from those messages. Adapters: @flyte-ts/store-memory, @flyte-ts/store-postgres.
import type {
  Execution,
  LaunchPlan,
  LaunchPlanState,
  NodeExecution,
  Project,
  Task,
  TaskExecution,
  Workflow,
} from '../gen/flyteidl/admin/index.js';
import type {
  Identifier,
  NodeExecutionIdentifier,
  TaskExecutionIdentifier,
  WorkflowExecutionIdentifier,
} from '../gen/flyteidl/core/index.js';
import type { NodeExecutionEvent, TaskExecutionEvent, WorkflowExecutionEvent } from '../gen/flyteidl/event/index.js';
import type { OperationOptions } from './common.js';
import type { ListQuery, Page } from './list-query.js';
import type { ExecutionNotice, StoreNotifications } from './store-notifications.js';

/** A registered entity together with the digest of its content, which makes registration idempotent. */
export interface Registered<T> {
  /** The entity (admin message: id, spec or compiled closure, created_at). */
  readonly entity: T;
  /**
   * Digest of the entity's content computed by the engine. Registering the same id with the same digest is a
   * no-op; with a different digest it is an `ALREADY_EXISTS` error (versions are immutable).
   */
  readonly digest: string;
}

/** Result of a create operation on an immutable entity. */
export type CreateResult = 'created' | 'unchanged';

/** Limits and defaults of one project-domain (Flyte's matchable attributes, the subset the engine uses). */
export interface ProjectDomainSettings {
  /** The project. */
  readonly project: string;
  /** The domain. */
  readonly domain: string;
  /** Largest number of non-terminal executions at once; undefined means unlimited. */
  readonly maxConcurrentExecutions?: number | undefined;
  /** Task types that may run; undefined means all registered plugins. */
  readonly allowedTaskTypes?: readonly string[] | undefined;
  /** Resource requests applied to tasks that set none (`{ cpu: '500m', memory: '1Gi' }`). */
  readonly taskResourceDefaults?: { readonly [resource: string]: string } | undefined;
  /** Largest resource values a task may request. */
  readonly taskResourceLimits?: { readonly [resource: string]: string } | undefined;
}

/** A workflow execution as stored: the admin message plus the engine's bookkeeping. */
export interface ExecutionRecord {
  /** The execution: id, spec (launch plan, inputs, metadata) and closure (phase, timestamps, outputs or error). */
  readonly execution: Execution;
  /** Incremented by every update; updates name the revision they read (optimistic concurrency). Starts at 1. */
  readonly revision: number;
  /**
   * The executor's runtime state of this execution (node phases, plugin states), opaque to the Store:
   * it is written and read back byte for byte.
   */
  readonly state?: Uint8Array | undefined;
  /**
   * Where the execution's inputs (a LiteralMap) are stored: FlyteAdmin's `inputs_uri` column. Set when the row is
   * created (by `createExecution`, or a `commit` with expectedRevision 0) and never changed afterwards: later
   * commits keep it, whatever they give, so that no writer can point an execution at other inputs. Undefined for
   * executions created without one.
   */
  readonly inputsUri?: string | undefined;
}

/** A node execution as stored. */
export interface NodeExecutionRecord {
  /** The node execution: id, input URI, closure (phase, timestamps, output or error) and metadata. */
  readonly nodeExecution: NodeExecution;
  /** Id of the parent node (a branch, subworkflow or dynamic node) when nested; empty at the top level. */
  readonly parentNodeId: string;
  /** Incremented by every update. */
  readonly revision: number;
  /**
   * The executor's runtime state of this node (attempt counters, plugin state), opaque to the Store: written and
   * read back byte for byte. Kept per node so a transition writes only the nodes it changed.
   */
  readonly state?: Uint8Array | undefined;
}

/** A task execution (one attempt of a task node) as stored. */
export interface TaskExecutionRecord {
  /** The task execution: id (with retry attempt), input URI, closure (phase, logs, output or error). */
  readonly taskExecution: TaskExecution;
  /** Incremented by every update. */
  readonly revision: number;
}

/** An execution event, as recorded in the execution's event log. */
export type ExecutionEvent =
  | { readonly kind: 'workflow'; readonly event: WorkflowExecutionEvent }
  | { readonly kind: 'node'; readonly event: NodeExecutionEvent }
  | { readonly kind: 'task'; readonly event: TaskExecutionEvent };

/** A write guarded by optimistic concurrency: the revision the writer read (0: the row must be new). */
export interface Guarded<T> {
  /** The row to write (its revision is assigned by the Store). */
  readonly record: Omit<T, 'revision'>;
  /** The revision read; `CONFLICT` if the stored one differs. 0 means the row must not exist. */
  readonly expectedRevision: number;
}

/** The right of one process to advance an execution, until it expires. */
export interface Lease {
  /** The execution. */
  readonly execution: WorkflowExecutionIdentifier;
  /** Who holds it (an engine process id). */
  readonly owner: string;
  /** Incremented at every claim: a write carrying an older epoch is refused. */
  readonly epoch: number;
  /** When it expires unless renewed. */
  readonly expiresAt: Date;
}

/** Everything one transition of an execution writes (see {@link Store.commit}). */
export interface ExecutionTransition {
  /** The execution's new closure and state. */
  readonly execution?: Guarded<ExecutionRecord> | undefined;
  /** Node executions created or changed. */
  readonly nodeExecutions?: readonly Guarded<NodeExecutionRecord>[] | undefined;
  /** Task executions (attempts) created or changed. */
  readonly taskExecutions?: readonly Guarded<TaskExecutionRecord>[] | undefined;
  /** Events to append, in order. */
  readonly events?: readonly ExecutionEvent[] | undefined;
  /** The lease the writer holds, and the time to check it at (omitted by single-process engines). */
  readonly lease?: { readonly lease: Lease; readonly now: Date } | undefined;
  /**
   * Notices to publish if, and only if, this transition applies, once it is visible (see
   * {@link Store.notifications}; a Store without that capability ignores them).
   */
  readonly notices?: readonly ExecutionNotice[] | undefined;
}

/** The rows a commit wrote, with their new revisions. */
export interface CommitResult {
  /** The execution, when written. */
  readonly execution?: ExecutionRecord | undefined;
  /** Node executions written, in the order given. */
  readonly nodeExecutions: readonly NodeExecutionRecord[];
  /** Task executions written, in the order given. */
  readonly taskExecutions: readonly TaskExecutionRecord[];
}

/** Tasks, workflows and launch plans registered together (see {@link Store.createEntities}). */
export interface EntityBatch {
  /** Task versions. */
  readonly tasks?: readonly Registered<Task>[] | undefined;
  /** Workflow versions (with their compiled closures). */
  readonly workflows?: readonly Registered<Workflow>[] | undefined;
  /** Launch plan versions. */
  readonly launchPlans?: readonly Registered<LaunchPlan>[] | undefined;
}

/** What {@link Store.createEntities} did with each entity of a batch, in the order given. */
export interface EntityBatchResult {
  /** One result per task. */
  readonly tasks: readonly CreateResult[];
  /** One result per workflow. */
  readonly workflows: readonly CreateResult[];
  /** One result per launch plan. */
  readonly launchPlans: readonly CreateResult[];
}

/** Bookkeeping of one schedule: the last scheduled time that was fired. */
export interface ScheduleState {
  /** Key of the schedule (launch plan project/domain/name). */
  readonly key: string;
  /** Scheduled time of the last fire, if any. */
  readonly lastFireTime?: Date | undefined;
}

/**
 * The control plane's repository. Every method is atomic: it either fully applies or leaves nothing
 * behind. Methods reject with `NOT_FOUND`, `ALREADY_EXISTS`, `CONFLICT`, `INVALID_ARGUMENT` (bad filter, sort
 * key or token) or `UNAVAILABLE` (transient; safe to retry) errors from `@flyte-ts/core`.
 *
 * Writes refuse a record nested deeper than protobuf readers accept (`checkMessageDepth`, `checkTransitionDepth`)
 * with `NESTING_TOO_DEEP`, writing nothing. A stored record that cannot be decoded (written by an older version)
 * fails only the read of that record with `UNREADABLE_RECORD`; lists leave it out and report it in
 * `Page.unreadable`.
 *
 * List methods accept Flyte's filters (see {@link ListQuery}); each documents its fields. Unknown fields are
 * `INVALID_ARGUMENT`, never ignored.
 */
export interface Store {
  /**
   * Optional capability: notices between the engines sharing this Store (see {@link StoreNotifications}), so a
   * terminate or a signal asked through one engine reaches the engine driving the execution at once. Engines
   * sharing a Store without it poll for the same facts.
   */
  readonly notifications?: StoreNotifications | undefined;

  /** Creates a project, or updates its name, description, labels and state. */
  putProject(project: Project, options?: OperationOptions): Promise<void>;
  /** The project with that id, or undefined. */
  getProject(id: string, options?: OperationOptions): Promise<Project | undefined>;
  /** Projects sorted by id; filters on `name`, `state`. */
  listProjects(query?: ListQuery, options?: OperationOptions): Promise<Page<Project>>;
  /** Replaces the settings of one project-domain. */
  putProjectDomainSettings(settings: ProjectDomainSettings, options?: OperationOptions): Promise<void>;
  /** The settings of one project-domain, or undefined when none were set. */
  getProjectDomainSettings(
    project: string,
    domain: string,
    options?: OperationOptions,
  ): Promise<ProjectDomainSettings | undefined>;

  /** Registers a task version; idempotent for the same digest, `ALREADY_EXISTS` for a different one. */
  createTask(task: Registered<Task>, options?: OperationOptions): Promise<CreateResult>;
  /** The task with that exact id (version included), or undefined. */
  getTask(id: Identifier, options?: OperationOptions): Promise<Task | undefined>;
  /** Tasks, newest first by default; filters on `project`, `domain`, `name`, `version`, `created_at`. */
  listTasks(query?: ListQuery, options?: OperationOptions): Promise<Page<Task>>;

  /** Registers a workflow version (with its compiled closure); idempotent for the same digest. */
  createWorkflow(workflow: Registered<Workflow>, options?: OperationOptions): Promise<CreateResult>;
  /** The workflow with that exact id, or undefined. */
  getWorkflow(id: Identifier, options?: OperationOptions): Promise<Workflow | undefined>;
  /** Workflows, newest first by default; filters as for tasks. */
  listWorkflows(query?: ListQuery, options?: OperationOptions): Promise<Page<Workflow>>;

  /** Registers a launch plan version, INACTIVE unless its closure says otherwise; idempotent for the same digest. */
  createLaunchPlan(launchPlan: Registered<LaunchPlan>, options?: OperationOptions): Promise<CreateResult>;
  /** The launch plan with that exact id, or undefined. */
  getLaunchPlan(id: Identifier, options?: OperationOptions): Promise<LaunchPlan | undefined>;
  /** Launch plans, newest first by default; filters as for tasks plus `state`, `workflow.name`. */
  listLaunchPlans(query?: ListQuery, options?: OperationOptions): Promise<Page<LaunchPlan>>;
  /**
   * Sets a launch plan version ACTIVE or INACTIVE. Activating a version deactivates the previously active
   * version of the same project/domain/name in the same atomic step (at most one ACTIVE version per name).
   * Resolves to the launch plans whose state changed.
   */
  setLaunchPlanState(
    id: Identifier,
    state: LaunchPlanState,
    options?: OperationOptions,
  ): Promise<readonly LaunchPlan[]>;
  /** The ACTIVE version of a launch plan name, or undefined. */
  getActiveLaunchPlan(
    project: string,
    domain: string,
    name: string,
    options?: OperationOptions,
  ): Promise<LaunchPlan | undefined>;

  /**
   * Registers tasks, workflows and launch plans in one atomic step (a package): each entity is created, or
   * unchanged when its version is registered with the same digest. If any one is refused (`ALREADY_EXISTS`: its
   * version is registered with another digest, by an earlier or a concurrent registration, or appears twice in the
   * batch with two digests; `INVALID_ARGUMENT`: an incomplete id), none of the batch is written. Launch plans are
   * stored as by {@link Store.createLaunchPlan}.
   */
  createEntities(batch: EntityBatch, options?: OperationOptions): Promise<EntityBatchResult>;

  /** Creates an execution; `ALREADY_EXISTS` if its name is taken in that project/domain. Revision 1. */
  createExecution(record: Omit<ExecutionRecord, 'revision'>, options?: OperationOptions): Promise<ExecutionRecord>;
  /** The execution (with its runtime state), or undefined. */
  getExecution(id: WorkflowExecutionIdentifier, options?: OperationOptions): Promise<ExecutionRecord | undefined>;
  /**
   * Executions, newest first by default, without their runtime `state` unless `includeState`; filters on
   * `project`, `domain`, `name`, `phase`, `created_at`, `execution_created_at`, `duration` (seconds),
   * `workflow.name`, `launch_plan.name`, `task.name`, `mode`.
   */
  listExecutions(
    query?: ListQuery & { readonly includeState?: boolean },
    options?: OperationOptions,
  ): Promise<Page<ExecutionRecord>>;

  /**
   * Applies one transition of an execution atomically: the execution row, node and task execution rows, and
   * events are all written, or none is. Each row names the revision it read (0: the row must not exist yet);
   * any mismatch is `CONFLICT` and nothing is written. With `lease`, the transition is also refused (`CONFLICT`)
   * unless that lease is still the current one of the execution at `lease.now` (fencing: a process whose lease
   * expired and was taken over cannot write). Events identical to recorded ones (same entity, phase and
   * occurred_at) are skipped, so a retried commit does not duplicate them. Its `notices` are published only if it
   * applies (Stores with `notifications`).
   * Resolves to the written rows with their new revisions.
   */
  commit(transition: ExecutionTransition, options?: OperationOptions): Promise<CommitResult>;

  /** The node execution, or undefined. */
  getNodeExecution(id: NodeExecutionIdentifier, options?: OperationOptions): Promise<NodeExecutionRecord | undefined>;
  /**
   * Node executions of an execution, oldest first by default; `parentNodeId` restricts to the children of a
   * node (empty string: top level; undefined: all). Filters on `phase`, `node_id`, `created_at`, `duration`.
   */
  listNodeExecutions(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery & { readonly parentNodeId?: string },
    options?: OperationOptions,
  ): Promise<Page<NodeExecutionRecord>>;
  /** The task execution, or undefined. */
  getTaskExecution(id: TaskExecutionIdentifier, options?: OperationOptions): Promise<TaskExecutionRecord | undefined>;
  /** Task executions (attempts) of a node execution, by retry attempt. Filters on `phase`, `retry_attempt`. */
  listTaskExecutions(
    nodeExecution: NodeExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<TaskExecutionRecord>>;
  /** The event log of an execution, in commit order. */
  listEvents(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<ExecutionEvent>>;

  /**
   * Claims up to `limit` non-terminal executions that no live lease holds at `now` (never leased, released, or
   * expired), for `owner`, until `now + ttlMs`. Two owners never hold the same execution at once; each claim
   * gets a new epoch. Times come from the caller's Clock, never from the database, so every adapter agrees.
   */
  acquireLeases(
    owner: string,
    request: { readonly limit: number; readonly ttlMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<readonly Lease[]>;
  /** Extends leases still held at `now` until `now + ttlMs`; resolves to those extended (the others were lost). */
  renewLeases(
    leases: readonly Lease[],
    request: { readonly ttlMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<readonly Lease[]>;
  /** Releases a lease; a no-op if it is no longer current. */
  releaseLease(lease: Lease, options?: OperationOptions): Promise<void>;

  /** The bookkeeping of a schedule, or undefined when it never fired. */
  getScheduleState(key: string, options?: OperationOptions): Promise<ScheduleState | undefined>;
  /**
   * Records that the schedule fired at `fireTime`, only if its last fire is still `expectedLast` (undefined:
   * never fired). Resolves false when another process recorded first: that fire is theirs.
   */
  recordScheduleFire(
    key: string,
    fireTime: Date,
    expectedLast: Date | undefined,
    options?: OperationOptions,
  ): Promise<boolean>;
}
