// PostgresStore: the Store port on PostgreSQL through Kysely. Every method is one statement or one transaction;
// a commit locks the rows of the executions it touches (in key order, so commits never deadlock each other),
// checks every revision and the lease, then writes everything, so it applies fully or not at all.
import { create, toBinary } from '@bufbuild/protobuf';
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
  type StoreNotifications,
  type TaskExecutionRecord,
} from '@flyte-ts/core';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import { sql, type Kysely, type Transaction } from 'kysely';
import { compositeKey, int8Number, taskKey } from './codec.js';
import { throwIfAborted, translateError } from './errors.js';
import {
  EVENT_LIST,
  EXECUTION_LIST,
  LAUNCH_PLAN_LIST,
  NODE_EXECUTION_LIST,
  PROJECT_LIST,
  TASK_EXECUTION_LIST,
  TASK_LIST,
  WORKFLOW_LIST,
} from './list-definitions.js';
import { listPage, type SqlListDefinition } from './list-engine.js';
import { TERMINAL_PHASES } from './migrations.js';
import {
  decode,
  eventFromRow,
  eventRow,
  executionColumns,
  executionKey,
  executionRecord,
  nanosColumn,
  nodeColumns,
  nodeRecord,
  readRows,
  requireExecutionId,
  taskColumns,
  taskRecord,
} from './records.js';
import type { PostgresNotifications } from './notifications.js';
import type { PostgresDatabase } from './schema.js';

type Project = idl.admin.Project;
type Task = idl.admin.Task;
type Workflow = idl.admin.Workflow;
type LaunchPlan = idl.admin.LaunchPlan;
type WorkflowExecutionIdentifier = idl.core.WorkflowExecutionIdentifier;
type Db = Kysely<PostgresDatabase>;
type Trx = Transaction<PostgresDatabase>;

const { LaunchPlanState } = idl.admin;

/** Rows per INSERT statement: far below PostgreSQL's 65,535 bound parameters. */
const CHUNK = 500;

/** The phases no lease claims, as SQL (constants of this package, the same text as the partial index). */
const TERMINAL_SQL = sql.raw(TERMINAL_PHASES.join(', '));

/** The row of an execution locked by a commit. */
interface LockedExecution {
  readonly pk: string;
  readonly revision: number;
  readonly leaseOwner: string | null;
  readonly leaseEpoch: number;
  readonly leaseExpiresMs: number | null;
}

/**
 * The Store port on PostgreSQL (a server through `pg`, or embedded PGlite), on a Kysely instance whose schema
 * {@link migrateToLatest} created. Create it with `createPostgresStore` or `createPgliteStore`, or directly on
 * a Kysely instance of your own.
 *
 * Records are decoded from their stored protobuf payloads: each read returns fresh messages. List filters,
 * sort keys, page sizes and tokens behave exactly as in `MemoryStore`; values are always bound parameters.
 * Times (leases, schedules) come from the caller, never from the database clock. Errors: `NOT_FOUND`,
 * `ALREADY_EXISTS`, `CONFLICT`, `INVALID_ARGUMENT`, and `UNAVAILABLE` when the database cannot be reached or
 * asks for a retry (lost connection, shutdown, deadlock, serialization failure); `NESTING_TOO_DEEP` for a record
 * no protobuf reader could read back (refused before it is written); `UNREADABLE_RECORD` for a stored payload
 * that cannot be decoded (such as one an earlier version wrote too deep): only the read of that record fails, and
 * lists return the other records with it in `Page.unreadable`.
 */
export class PostgresStore implements Store {
  readonly #db: Db;
  readonly #notifications: PostgresNotifications | undefined;
  /**
   * Execution notices among the engines sharing this database: LISTEN/NOTIFY on a server, in process on PGlite
   * (see the Store port). Undefined when the store was created without them.
   */
  readonly notifications: StoreNotifications | undefined;

  /**
   * @param db a Kysely instance on a database migrated by {@link migrateToLatest}
   * @param options `notifications`: how execution notices travel (`createPostgresStore` and `createPgliteStore`
   *   set it; without it the store has no `notifications` capability and commits ignore their notices)
   */
  constructor(db: Kysely<PostgresDatabase>, options: { readonly notifications?: PostgresNotifications } = {}) {
    this.#db = db;
    this.#notifications = options.notifications;
    this.notifications = options.notifications;
  }

  async putProject(project: Project, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (project.id === '') throw new InvalidArgumentError('a project needs an id', { id: project.name });
    await this.#transaction(`put project ${project.id}`, options, async (trx) => {
      const inserted = await trx
        .insertInto('projects')
        .values({
          id: project.id,
          name: project.name,
          state: project.state,
          payload: toBinary(idl.admin.ProjectSchema, project),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted !== undefined) return;
      const row = await trx
        .selectFrom('projects')
        .select('payload')
        .where('id', '=', project.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      // An update changes the name, description, labels and state; the rest stays as first put.
      const { name, description, labels, state } = project;
      const stored = decode(idl.admin.ProjectSchema, row.payload, 'project', project.id);
      const merged = { ...stored, name, description, labels, state };
      await trx
        .updateTable('projects')
        .set({ name, state, payload: toBinary(idl.admin.ProjectSchema, merged) })
        .where('id', '=', project.id)
        .execute();
    });
  }

  async getProject(id: string, options?: OperationOptions): Promise<Project | undefined> {
    return this.#run(`get project ${id}`, options, async () => {
      const row = await this.#db.selectFrom('projects').select('payload').where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : decode(idl.admin.ProjectSchema, row.payload, 'project', id);
    });
  }

  async listProjects(query?: ListQuery, options?: OperationOptions): Promise<Page<Project>> {
    return this.#run('list projects', options, async () => {
      const page = await listPage(PROJECT_LIST, query, {}, (p) =>
        this.#db
          .selectFrom('projects')
          .select(['id', 'payload'])
          .select(p.keys)
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      return {
        ...readRows(page.rows, (row) => decode(idl.admin.ProjectSchema, row.payload, 'project', row.id)),
        nextToken: page.nextToken,
      };
    });
  }

  async putProjectDomainSettings(settings: ProjectDomainSettings, options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (settings.project === '' || settings.domain === '') {
      throw new InvalidArgumentError('project-domain settings need a project and a domain', {
        id: `${settings.project}/${settings.domain}`,
      });
    }
    await this.#run(`put settings of ${settings.project}/${settings.domain}`, options, async () => {
      const json = JSON.stringify(settings);
      await this.#db
        .insertInto('project_domain_settings')
        .values({ project: settings.project, domain: settings.domain, settings: json })
        .onConflict((oc) => oc.columns(['project', 'domain']).doUpdateSet({ settings: json }))
        .execute();
    });
  }

  async getProjectDomainSettings(
    project: string,
    domain: string,
    options?: OperationOptions,
  ): Promise<ProjectDomainSettings | undefined> {
    return this.#run(`get settings of ${project}/${domain}`, options, async () => {
      const row = await this.#db
        .selectFrom('project_domain_settings')
        .select('settings')
        .where('project', '=', project)
        .where('domain', '=', domain)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const value: unknown = typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings;
      return value as ProjectDomainSettings;
    });
  }

  async createTask(task: Registered<Task>, options?: OperationOptions): Promise<CreateResult> {
    return this.#register('tasks', 'task', task, idl.admin.TaskSchema, options);
  }

  async getTask(id: idl.core.Identifier, options?: OperationOptions): Promise<Task | undefined> {
    return this.#getEntity('tasks', id, idl.admin.TaskSchema, options);
  }

  async listTasks(query?: ListQuery, options?: OperationOptions): Promise<Page<Task>> {
    return this.#listEntities('tasks', TASK_LIST, idl.admin.TaskSchema, query, options);
  }

  async createWorkflow(workflow: Registered<Workflow>, options?: OperationOptions): Promise<CreateResult> {
    return this.#register('workflows', 'workflow', workflow, idl.admin.WorkflowSchema, options);
  }

  async getWorkflow(id: idl.core.Identifier, options?: OperationOptions): Promise<Workflow | undefined> {
    return this.#getEntity('workflows', id, idl.admin.WorkflowSchema, options);
  }

  async listWorkflows(query?: ListQuery, options?: OperationOptions): Promise<Page<Workflow>> {
    return this.#listEntities('workflows', WORKFLOW_LIST, idl.admin.WorkflowSchema, query, options);
  }

  async createLaunchPlan(launchPlan: Registered<LaunchPlan>, options?: OperationOptions): Promise<CreateResult> {
    return this.#register('launch_plans', 'launch plan', launchPlan, idl.admin.LaunchPlanSchema, options);
  }

  async getLaunchPlan(id: idl.core.Identifier, options?: OperationOptions): Promise<LaunchPlan | undefined> {
    return this.#getEntity('launch_plans', id, idl.admin.LaunchPlanSchema, options);
  }

  async listLaunchPlans(query?: ListQuery, options?: OperationOptions): Promise<Page<LaunchPlan>> {
    return this.#listEntities('launch_plans', LAUNCH_PLAN_LIST, idl.admin.LaunchPlanSchema, query, options);
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
    return this.#transaction(`set state of launch plan ${formatIdentifier(id)}`, options, async (trx) => {
      await lockLaunchPlanName(trx, id.project, id.domain, id.name);
      const row = await trx
        .selectFrom('launch_plans')
        .select(['seq', 'state', 'payload'])
        .where('org', '=', id.org)
        .where('project', '=', id.project)
        .where('domain', '=', id.domain)
        .where('name', '=', id.name)
        .where('version', '=', id.version)
        .forUpdate()
        .executeTakeFirst();
      if (row === undefined) {
        throw new NotFoundError(`launch plan ${formatIdentifier(id)} is not registered: register it first`, {
          id: formatIdentifier(id),
        });
      }
      if (state === LaunchPlanState.ACTIVE) return activate(trx, id, row);
      if (row.state !== LaunchPlanState.ACTIVE) return [];
      return [await writeLaunchPlanState(trx, row, LaunchPlanState.INACTIVE)];
    });
  }

  async getActiveLaunchPlan(
    project: string,
    domain: string,
    name: string,
    options?: OperationOptions,
  ): Promise<LaunchPlan | undefined> {
    return this.#run(`get active launch plan ${project}/${domain}/${name}`, options, async () => {
      const row = await this.#db
        .selectFrom('launch_plans')
        .select(['version', 'payload'])
        .where('project', '=', project)
        .where('domain', '=', domain)
        .where('name', '=', name)
        .where('state', '=', LaunchPlanState.ACTIVE)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : decode(idl.admin.LaunchPlanSchema, row.payload, 'launch plan', `${project}/${domain}/${name}/${row.version}`);
    });
  }

  async createEntities(batch: EntityBatch, options?: OperationOptions): Promise<EntityBatchResult> {
    throwIfAborted(options?.signal);
    // Checked and encoded before the transaction; written in one, so that a refused entity rolls the batch back.
    const tasks = (batch.tasks ?? []).map((task) => entityWrite('tasks', 'task', task, idl.admin.TaskSchema));
    const workflows = (batch.workflows ?? []).map((workflow) =>
      entityWrite('workflows', 'workflow', workflow, idl.admin.WorkflowSchema),
    );
    const launchPlans = (batch.launchPlans ?? []).map((launchPlan) =>
      entityWrite('launch_plans', 'launch plan', launchPlan, idl.admin.LaunchPlanSchema),
    );
    const writes: EntityWrite[] = [...tasks, ...workflows, ...launchPlans];
    if (writes.length === 0) return { tasks: [], workflows: [], launchPlans: [] };
    // Rows are inserted in one order (table, then key) whatever the batch's: two batches sharing entities wait for
    // each other instead of deadlocking. The first occurrence of an id comes first, as in the batch.
    const order = writes.map((_, i) => i).sort((a, b) => compareWrites(writes[a]!, writes[b]!) || a - b);
    const results = await this.#transaction(`register ${writes.length} entities`, options, async (trx) => {
      const byIndex: CreateResult[] = [];
      for (const i of order) byIndex[i] = await insertEntity(trx, writes[i]!);
      return byIndex;
    });
    return {
      tasks: results.slice(0, tasks.length),
      workflows: results.slice(tasks.length, tasks.length + workflows.length),
      launchPlans: results.slice(tasks.length + workflows.length),
    };
  }

  async createExecution(
    record: Omit<ExecutionRecord, 'revision'>,
    options?: OperationOptions,
  ): Promise<ExecutionRecord> {
    throwIfAborted(options?.signal);
    const id = requireExecutionId(record.execution.id, 'execution');
    checkMessageDepth(idl.admin.ExecutionSchema, record.execution, `execution ${formatExecutionId(id)}`);
    const columns = executionColumns(record);
    return this.#run(`create execution ${formatExecutionId(id)}`, options, async () => {
      const inserted = await this.#db
        .insertInto('executions')
        .values({
          ...columns,
          project: id.project,
          domain: id.domain,
          name: id.name,
          revision: 1,
          inputs_uri: record.inputsUri ?? null,
        })
        .onConflict((oc) => oc.columns(['project', 'domain', 'name']).doNothing())
        .returning('pk')
        .executeTakeFirst();
      if (inserted === undefined) {
        throw new AlreadyExistsError(
          `execution ${formatExecutionId(id)} exists already: execution names are unique within a project and domain`,
          { id: formatExecutionId(id) },
        );
      }
      return withRevision(record, 1, record.inputsUri);
    });
  }

  async getExecution(
    id: WorkflowExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<ExecutionRecord | undefined> {
    return this.#run(`get execution ${formatExecutionId(id)}`, options, async () => {
      const row = await this.#db
        .selectFrom('executions')
        .select(['project', 'domain', 'name', 'payload', 'revision', 'state', 'inputs_uri'])
        .where('project', '=', id.project)
        .where('domain', '=', id.domain)
        .where('name', '=', id.name)
        .executeTakeFirst();
      return row === undefined ? undefined : executionRecord(row);
    });
  }

  async listExecutions(
    query?: ListQuery & { readonly includeState?: boolean },
    options?: OperationOptions,
  ): Promise<Page<ExecutionRecord>> {
    return this.#run('list executions', options, async () => {
      const includeState = query?.includeState === true;
      const page = await listPage(EXECUTION_LIST, query, {}, (p) =>
        this.#db
          .selectFrom('executions')
          .select(['project', 'domain', 'name', 'payload', 'revision', 'inputs_uri'])
          .$if(includeState, (qb) => qb.select('state'))
          .select(p.keys)
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      return { ...readRows(page.rows, (row) => executionRecord(row)), nextToken: page.nextToken };
    });
  }

  async commit(transition: ExecutionTransition, options?: OperationOptions): Promise<CommitResult> {
    throwIfAborted(options?.signal);
    const plan = planCommit(transition);
    const notices = transition.notices ?? [];
    checkExecutionNotices(notices);
    const notifications = notices.length === 0 ? undefined : this.#notifications;
    const result = await this.#transaction('commit', options, async (trx) => {
      const locked = await lockExecutions(trx, plan.keys);
      const pks = new Map<string, string>();
      for (const [key, row] of locked) pks.set(key, row.pk);

      // Checks first: the execution's revision, then the lease, then every node and task row.
      const write = plan.execution;
      if (write !== undefined) {
        checkRevision(write.what, locked.get(write.key)?.revision ?? 0, write.expectedRevision);
      }
      const lease = transition.lease;
      if (lease !== undefined) {
        const held = locked.get(executionKey(lease.lease.execution));
        if (held === undefined || !isCurrent(held, lease.lease, plan.leaseNowMs!)) {
          throw new ConflictError(
            `the lease of ${lease.lease.owner} (epoch ${lease.lease.epoch}) on execution ${formatExecutionId(lease.lease.execution)} is not current at ${lease.now.toISOString()}: it expired or another process claimed the execution`,
            { id: formatExecutionId(lease.lease.execution) },
          );
        }
      }
      const resolve = (key: string, id: WorkflowExecutionIdentifier, what: string): void => {
        if (!pks.has(key) && write?.key !== key) {
          throw new NotFoundError(
            `execution ${formatExecutionId(id)} does not exist: create it before writing its ${what}`,
            { id: formatExecutionId(id) },
          );
        }
      };
      for (const node of plan.nodes) resolve(node.key, node.executionId, node.what);
      for (const task of plan.tasks) resolve(task.key, task.executionId, task.what);
      for (const event of plan.events) resolve(event.key, event.executionId, event.what);

      const nodeRevisions = await currentNodeRevisions(trx, plan.nodes, pks);
      const staged = new Map<string, number>();
      for (const node of plan.nodes) {
        const rowKey = compositeKey(['n', node.key, node.columns.node_id]);
        const current = staged.get(rowKey) ?? nodeRevisions.get(rowKey) ?? 0;
        checkRevision(node.what, current, node.expectedRevision);
        staged.set(rowKey, node.expectedRevision + 1);
      }
      const taskRevisions = await currentTaskRevisions(trx, plan.tasks, pks);
      for (const task of plan.tasks) {
        const c = task.columns;
        const rowKey = compositeKey(['t', task.key, c.node_id, c.retry_attempt, c.task_key]);
        const current = staged.get(rowKey) ?? taskRevisions.get(rowKey) ?? 0;
        checkRevision(task.what, current, task.expectedRevision);
        staged.set(rowKey, task.expectedRevision + 1);
      }

      // Writes.
      let inputsUri: string | null = null;
      if (write !== undefined) {
        const revision = write.expectedRevision + 1;
        if (write.expectedRevision === 0) {
          inputsUri = write.record.inputsUri ?? null;
          const inserted = await trx
            .insertInto('executions')
            .values({
              ...write.columns,
              project: write.id.project,
              domain: write.id.domain,
              name: write.id.name,
              revision,
              inputs_uri: inputsUri,
            })
            .onConflict((oc) => oc.columns(['project', 'domain', 'name']).doNothing())
            .returning('pk')
            .executeTakeFirst();
          // Created by a concurrent commit since the lock query found nothing.
          if (inserted === undefined) throw raced(write.what);
          pks.set(write.key, String(inserted.pk));
        } else {
          // inputs_uri is not among the columns set: it stays the creator's.
          const updated = await trx
            .updateTable('executions')
            .set({ ...write.columns, revision })
            .where('pk', '=', pks.get(write.key)!)
            .where('revision', '=', write.expectedRevision)
            .returning('inputs_uri')
            .executeTakeFirst();
          // The row is locked, so this holds; checked anyway, so that no isolation setting can lose an update.
          if (updated === undefined) throw raced(write.what);
          inputsUri = updated.inputs_uri;
        }
      }
      await writeNodes(trx, plan.nodes, pks);
      await writeTasks(trx, plan.tasks, pks);
      await writeEvents(trx, plan.events, pks);
      await notifications?.inTransaction(trx, notices);

      return {
        execution:
          write === undefined
            ? undefined
            : withRevision(write.record, write.expectedRevision + 1, inputsUri ?? undefined),
        nodeExecutions: plan.nodes.map((node) => ({ ...node.record, revision: node.expectedRevision + 1 })),
        taskExecutions: plan.tasks.map((task) => ({ ...task.record, revision: task.expectedRevision + 1 })),
      };
    });
    notifications?.afterCommit(notices);
    return result;
  }

  async getNodeExecution(
    id: idl.core.NodeExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<NodeExecutionRecord | undefined> {
    return this.#run(`get node execution ${formatNodeExecutionId(id)}`, options, async () => {
      const execution = id.executionId;
      if (execution === undefined) return undefined;
      const row = await this.#db
        .selectFrom('node_executions')
        .select(['node_id', 'payload', 'parent_node_id', 'revision', 'state'])
        .where('execution_pk', '=', executionPk(this.#db, execution))
        .where('node_id', '=', id.nodeId)
        .executeTakeFirst();
      return row === undefined ? undefined : nodeRecord(row, execution);
    });
  }

  async listNodeExecutions(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery & { readonly parentNodeId?: string },
    options?: OperationOptions,
  ): Promise<Page<NodeExecutionRecord>> {
    return this.#run(`list node executions of ${formatExecutionId(execution)}`, options, async () => {
      const parent = query?.parentNodeId;
      const scope = `${executionKey(execution)}\u0001${JSON.stringify(parent ?? null)}`;
      const page = await listPage(NODE_EXECUTION_LIST, query, { scope }, (p) =>
        this.#db
          .selectFrom('node_executions')
          .select(['node_id', 'payload', 'parent_node_id', 'revision', 'state'])
          .select(p.keys)
          .where('execution_pk', '=', executionPk(this.#db, execution))
          .$if(parent !== undefined, (qb) => qb.where('parent_node_id', '=', parent!))
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      return { ...readRows(page.rows, (row) => nodeRecord(row, execution)), nextToken: page.nextToken };
    });
  }

  async getTaskExecution(
    id: idl.core.TaskExecutionIdentifier,
    options?: OperationOptions,
  ): Promise<TaskExecutionRecord | undefined> {
    return this.#run(`get task execution ${formatTaskExecutionId(id)}`, options, async () => {
      const node = id.nodeExecutionId;
      if (node?.executionId === undefined) return undefined;
      const row = await this.#db
        .selectFrom('task_executions')
        .select(['node_id', 'retry_attempt', 'payload', 'revision'])
        .where('execution_pk', '=', executionPk(this.#db, node.executionId))
        .where('node_id', '=', node.nodeId)
        .where('retry_attempt', '=', id.retryAttempt)
        .where('task_key', '=', taskKey(id.taskId))
        .executeTakeFirst();
      return row === undefined ? undefined : taskRecord(row, node.executionId);
    });
  }

  async listTaskExecutions(
    nodeExecution: idl.core.NodeExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<TaskExecutionRecord>> {
    return this.#run(`list task executions of ${formatNodeExecutionId(nodeExecution)}`, options, async () => {
      const execution = nodeExecution.executionId;
      const scope = `${execution === undefined ? '' : executionKey(execution)}\u0001${nodeExecution.nodeId}`;
      const page = await listPage(TASK_EXECUTION_LIST, query, { scope }, (p) =>
        this.#db
          .selectFrom('task_executions')
          .select(['node_id', 'retry_attempt', 'payload', 'revision'])
          .select(p.keys)
          .$if(execution === undefined, (qb) => qb.where(sql<boolean>`false`))
          .$if(execution !== undefined, (qb) => qb.where('execution_pk', '=', executionPk(this.#db, execution!)))
          .where('node_id', '=', nodeExecution.nodeId)
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      return { ...readRows(page.rows, (row) => taskRecord(row, execution)), nextToken: page.nextToken };
    });
  }

  async listEvents(
    execution: WorkflowExecutionIdentifier,
    query?: ListQuery,
    options?: OperationOptions,
  ): Promise<Page<ExecutionEvent>> {
    return this.#run(`list events of ${formatExecutionId(execution)}`, options, async () => {
      const page = await listPage(EVENT_LIST, query, { scope: executionKey(execution) }, (p) =>
        this.#db
          .selectFrom('execution_events')
          .select(['kind', 'payload'])
          .select(p.keys)
          .where('execution_pk', '=', executionPk(this.#db, execution))
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      const id = formatExecutionId(execution);
      return {
        ...readRows(page.rows, (row) => eventFromRow(row, `${id} #${String(row.list_seq)}`)),
        nextToken: page.nextToken,
      };
    });
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
    if (request.limit === 0) return [];
    return this.#run(`acquire leases for ${owner}`, options, async () => {
      // SKIP LOCKED: concurrent claimers (and commits in flight) never wait on each other, and never share a row.
      const { rows } = await sql<{
        pk: string | number | bigint;
        org: string;
        project: string;
        domain: string;
        name: string;
        lease_epoch: string | number | bigint;
      }>`
        with claimable as (
          select pk from executions
          where phase not in (${TERMINAL_SQL})
            and (lease_owner is null or lease_expires_ms <= ${String(nowMs)})
          order by pk
          limit ${request.limit}
          for update skip locked
        )
        update executions as e
        set lease_owner = ${owner}, lease_epoch = e.lease_epoch + 1, lease_expires_ms = ${String(expiresAtMs)}
        from claimable
        where e.pk = claimable.pk
        returning e.pk, e.org, e.project, e.domain, e.name, e.lease_epoch`.execute(this.#db);
      return rows
        .map((row) => ({ row, pk: int8Number(row.pk, 'executions.pk') }))
        .sort((a, b) => a.pk - b.pk)
        .map(({ row }) => ({
          execution: create(idl.core.WorkflowExecutionIdentifierSchema, {
            org: row.org,
            project: row.project,
            domain: row.domain,
            name: row.name,
          }),
          owner,
          epoch: int8Number(row.lease_epoch, 'lease_epoch'),
          expiresAt: new Date(expiresAtMs),
        }));
    });
  }

  async renewLeases(
    leases: readonly Lease[],
    request: { readonly ttlMs: number; readonly now: Date },
    options?: OperationOptions,
  ): Promise<readonly Lease[]> {
    throwIfAborted(options?.signal);
    const nowMs = timeOf(request.now, 'now');
    const expiresAtMs = nowMs + ttlOf(request.ttlMs);
    if (leases.length === 0) return [];
    return this.#run('renew leases', options, async () => {
      const renewed = new Set<string>();
      for (let i = 0; i < leases.length; i += CHUNK) {
        const values = leases
          .slice(i, i + CHUNK)
          .map(
            (lease) =>
              sql`(${lease.execution.project}, ${lease.execution.domain}, ${lease.execution.name}, ${lease.owner}, cast(${String(lease.epoch)} as bigint))`,
          );
        const { rows } = await sql<{
          project: string;
          domain: string;
          name: string;
          lease_owner: string;
          lease_epoch: string | number | bigint;
        }>`
          update executions as e
          set lease_expires_ms = ${String(expiresAtMs)}
          from (values ${sql.join(values)}) as v (project, domain, name, owner, epoch)
          where e.project = v.project and e.domain = v.domain and e.name = v.name
            and e.lease_owner = v.owner and e.lease_epoch = v.epoch
            and e.lease_expires_ms > ${String(nowMs)}
          returning e.project, e.domain, e.name, e.lease_owner, e.lease_epoch`.execute(this.#db);
        for (const row of rows) {
          renewed.add(compositeKey([row.project, row.domain, row.name, row.lease_owner, String(row.lease_epoch)]));
        }
      }
      return leases
        .filter((lease) => {
          const { project, domain, name } = lease.execution;
          return renewed.has(compositeKey([project, domain, name, lease.owner, String(lease.epoch)]));
        })
        .map((lease) => ({ ...lease, expiresAt: new Date(expiresAtMs) }));
    });
  }

  async releaseLease(lease: Lease, options?: OperationOptions): Promise<void> {
    await this.#run(`release lease of ${formatExecutionId(lease.execution)}`, options, async () => {
      await this.#db
        .updateTable('executions')
        .set({ lease_owner: null, lease_expires_ms: null })
        .where('project', '=', lease.execution.project)
        .where('domain', '=', lease.execution.domain)
        .where('name', '=', lease.execution.name)
        .where('lease_owner', '=', lease.owner)
        .where('lease_epoch', '=', String(lease.epoch))
        .execute();
    });
  }

  async getScheduleState(key: string, options?: OperationOptions): Promise<ScheduleState | undefined> {
    return this.#run(`get schedule ${key}`, options, async () => {
      const row = await this.#db
        .selectFrom('schedule_state')
        .select('last_fire_ms')
        .where('key', '=', key)
        .executeTakeFirst();
      return row === undefined ? undefined : { key, lastFireTime: new Date(int8Number(row.last_fire_ms, key)) };
    });
  }

  async recordScheduleFire(
    key: string,
    fireTime: Date,
    expectedLast: Date | undefined,
    options?: OperationOptions,
  ): Promise<boolean> {
    throwIfAborted(options?.signal);
    const fireMs = String(timeOf(fireTime, 'fireTime'));
    const expectedMs = expectedLast === undefined ? undefined : String(timeOf(expectedLast, 'expectedLast'));
    return this.#run(`record fire of schedule ${key}`, options, async () => {
      if (expectedMs === undefined) {
        const inserted = await this.#db
          .insertInto('schedule_state')
          .values({ key, last_fire_ms: fireMs })
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst();
        return inserted.numInsertedOrUpdatedRows === 1n;
      }
      const updated = await this.#db
        .updateTable('schedule_state')
        .set({ last_fire_ms: fireMs })
        .where('key', '=', key)
        .where('last_fire_ms', '=', expectedMs)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    });
  }

  /** Runs one database operation, mapping database errors to flyte-ts errors. */
  async #run<T>(what: string, options: OperationOptions | undefined, fn: () => Promise<T>): Promise<T> {
    throwIfAborted(options?.signal);
    try {
      return await fn();
    } catch (error) {
      throw translateError(error, what);
    }
  }

  /** Runs `fn` in one transaction (rolled back when it throws), mapping database errors to flyte-ts errors. */
  async #transaction<T>(what: string, options: OperationOptions | undefined, fn: (trx: Trx) => Promise<T>): Promise<T> {
    return this.#run(what, options, () =>
      this.#db.transaction().execute(async (trx) => {
        // Waiting for a connection may take a while: honour an abort that came meanwhile, before any write.
        throwIfAborted(options?.signal);
        return fn(trx);
      }),
    );
  }

  async #register<T extends Task | Workflow | LaunchPlan>(
    table: EntityTableName,
    kind: string,
    registered: Registered<T>,
    schema: GenMessage<T>,
    options: OperationOptions | undefined,
  ): Promise<CreateResult> {
    throwIfAborted(options?.signal);
    const write = entityWrite(table, kind, registered, schema);
    return this.#transaction(`register ${kind} ${formatIdentifier(write.id)}`, options, (trx) =>
      insertEntity(trx, write),
    );
  }

  async #getEntity<T extends Task | Workflow | LaunchPlan>(
    table: 'tasks' | 'workflows' | 'launch_plans',
    id: idl.core.Identifier,
    schema: GenMessage<T>,
    options: OperationOptions | undefined,
  ): Promise<T | undefined> {
    return this.#run(`get ${formatIdentifier(id)}`, options, async () => {
      const row = await this.#db
        .selectFrom(table as 'tasks')
        .select('payload')
        .where('org', '=', id.org)
        .where('project', '=', id.project)
        .where('domain', '=', id.domain)
        .where('name', '=', id.name)
        .where('version', '=', id.version)
        .executeTakeFirst();
      return row === undefined ? undefined : decode(schema, row.payload, kindOf(table), formatIdentifier(id));
    });
  }

  async #listEntities<T extends Task | Workflow | LaunchPlan>(
    table: 'tasks' | 'workflows' | 'launch_plans',
    definition: SqlListDefinition,
    schema: GenMessage<T>,
    query: ListQuery | undefined,
    options: OperationOptions | undefined,
  ): Promise<Page<T>> {
    return this.#run(`list ${definition.name}`, options, async () => {
      const page = await listPage(definition, query, {}, (p) =>
        this.#db
          .selectFrom(table as 'tasks')
          .select(['project', 'domain', 'name', 'version', 'payload'])
          .select(p.keys)
          .where(p.where)
          .orderBy(p.orderBy)
          .limit(p.limit)
          .execute(),
      );
      const kind = kindOf(table);
      const read = (row: { project: string; domain: string; name: string; version: string; payload: Uint8Array }) =>
        decode(schema, row.payload, kind, `${row.project}/${row.domain}/${row.name}/${row.version}`);
      return { ...readRows(page.rows, read), nextToken: page.nextToken };
    });
  }
}

/** What a transition writes, checked and encoded before the transaction starts. */
interface CommitPlan {
  /** Keys of every execution the transition touches, sorted: the lock order. */
  readonly keys: readonly { readonly key: string; readonly id: WorkflowExecutionIdentifier }[];
  readonly execution:
    | {
        readonly key: string;
        readonly id: WorkflowExecutionIdentifier;
        readonly what: string;
        readonly expectedRevision: number;
        readonly record: Omit<ExecutionRecord, 'revision'>;
        readonly columns: ReturnType<typeof executionColumns>;
      }
    | undefined;
  readonly leaseNowMs: number | undefined;
  readonly nodes: readonly NodeWrite[];
  readonly tasks: readonly TaskWrite[];
  readonly events: readonly EventWrite[];
}

interface RowWrite {
  readonly key: string;
  readonly executionId: WorkflowExecutionIdentifier;
  readonly what: string;
  readonly expectedRevision: number;
}

interface NodeWrite extends RowWrite {
  readonly record: Omit<NodeExecutionRecord, 'revision'>;
  readonly columns: ReturnType<typeof nodeColumns>;
}

interface TaskWrite extends RowWrite {
  readonly record: Omit<TaskExecutionRecord, 'revision'>;
  readonly columns: ReturnType<typeof taskColumns>;
}

interface EventWrite {
  readonly key: string;
  readonly executionId: WorkflowExecutionIdentifier;
  readonly what: string;
  readonly kind: ExecutionEvent['kind'];
  readonly identity: string;
  readonly payload: Uint8Array;
}

/** Validates a transition and encodes its rows, without touching the database. */
function planCommit(transition: ExecutionTransition): CommitPlan {
  // Nothing of a transition holding a record no reader could read back is written.
  checkTransitionDepth(transition);
  const keys = new Map<string, WorkflowExecutionIdentifier>();
  const touch = (id: WorkflowExecutionIdentifier): string => {
    const key = executionKey(id);
    if (!keys.has(key)) keys.set(key, id);
    return key;
  };

  let execution: CommitPlan['execution'];
  if (transition.execution !== undefined) {
    const { record, expectedRevision } = transition.execution;
    const id = requireExecutionId(record.execution.id, 'execution');
    checkExpectedRevision(expectedRevision, formatExecutionId(id));
    execution = {
      key: touch(id),
      id,
      what: `execution ${formatExecutionId(id)}`,
      expectedRevision,
      record,
      columns: executionColumns(record),
    };
  }
  let leaseNowMs: number | undefined;
  if (transition.lease !== undefined) {
    leaseNowMs = timeOf(transition.lease.now, 'lease.now');
    touch(requireExecutionId(transition.lease.lease.execution, 'a lease'));
  }

  const nodes = (transition.nodeExecutions ?? []).map(({ record, expectedRevision }): NodeWrite => {
    const id = record.nodeExecution.id;
    if (id === undefined || id.nodeId === '') {
      throw new InvalidArgumentError('a node execution needs an id with a node id', {
        id: formatNodeExecutionId(id),
      });
    }
    const executionId = requireExecutionId(id.executionId, `node execution ${id.nodeId}`);
    checkExpectedRevision(expectedRevision, formatNodeExecutionId(id));
    return {
      key: touch(executionId),
      executionId,
      what: `node execution ${formatNodeExecutionId(id)}`,
      expectedRevision,
      record,
      columns: nodeColumns(record),
    };
  });

  const tasks = (transition.taskExecutions ?? []).map(({ record, expectedRevision }): TaskWrite => {
    const id = record.taskExecution.id;
    const node = id?.nodeExecutionId;
    if (id === undefined || node === undefined || node.nodeId === '') {
      throw new InvalidArgumentError('a task execution needs an id with a node execution id', {
        id: formatTaskExecutionId(id),
      });
    }
    const executionId = requireExecutionId(node.executionId, `task execution ${node.nodeId}/${id.retryAttempt}`);
    checkExpectedRevision(expectedRevision, formatTaskExecutionId(id));
    return {
      key: touch(executionId),
      executionId,
      what: `task execution ${formatTaskExecutionId(id)}`,
      expectedRevision,
      record,
      columns: taskColumns(record),
    };
  });

  const seen = new Set<string>();
  const events: EventWrite[] = [];
  for (const event of transition.events ?? []) {
    const row = eventRow(event);
    const executionId = requireExecutionId(row.execution, `${event.kind} event`);
    const key = touch(executionId);
    const scoped = compositeKey([key, row.identity]);
    if (seen.has(scoped)) continue;
    seen.add(scoped);
    events.push({
      key,
      executionId,
      what: `${event.kind} event`,
      kind: event.kind,
      identity: row.identity,
      payload: row.payload,
    });
  }

  const sortedKeys = [...keys.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, id]) => ({ key, id }));
  return { keys: sortedKeys, execution, leaseNowMs, nodes, tasks, events };
}

/** Locks the rows of the executions a commit touches, in key order, and reads their revision and lease. */
async function lockExecutions(trx: Trx, keys: CommitPlan['keys']): Promise<Map<string, LockedExecution>> {
  const locked = new Map<string, LockedExecution>();
  if (keys.length === 0) return locked;
  const rows = await trx
    .selectFrom('executions')
    .select(['pk', 'project', 'domain', 'name', 'revision', 'lease_owner', 'lease_epoch', 'lease_expires_ms'])
    .where((eb) =>
      eb.or(
        keys.map(({ id }) =>
          eb.and([eb('project', '=', id.project), eb('domain', '=', id.domain), eb('name', '=', id.name)]),
        ),
      ),
    )
    .orderBy('project')
    .orderBy('domain')
    .orderBy('name')
    .forUpdate()
    .execute();
  for (const row of rows) {
    locked.set(executionKey(row), {
      pk: String(row.pk),
      revision: row.revision,
      leaseOwner: row.lease_owner,
      leaseEpoch: int8Number(row.lease_epoch, 'lease_epoch'),
      leaseExpiresMs: row.lease_expires_ms === null ? null : int8Number(row.lease_expires_ms, 'lease_expires_ms'),
    });
  }
  return locked;
}

/**
 * The node ids of `writes` per execution primary key, in chunks of at most {@link CHUNK}: the revision reads look
 * rows up as `execution_pk = $1 and node_id in (...)`, planned in under a millisecond. (An OR of one
 * `(execution_pk = ... and node_id = ...)` term per row took PostgreSQL about 90 ms to plan per 500 rows.)
 */
function nodeIdChunks(
  writes: readonly { readonly key: string; readonly columns: { readonly node_id: string } }[],
  pks: ReadonlyMap<string, string>,
): { readonly pk: string; readonly nodeIds: string[] }[] {
  const byPk = new Map<string, Set<string>>();
  for (const write of writes) {
    const pk = pks.get(write.key);
    if (pk === undefined) continue;
    let ids = byPk.get(pk);
    if (ids === undefined) byPk.set(pk, (ids = new Set()));
    ids.add(write.columns.node_id);
  }
  const chunks: { pk: string; nodeIds: string[] }[] = [];
  for (const [pk, ids] of byPk) {
    const all = [...ids];
    for (let i = 0; i < all.length; i += CHUNK) chunks.push({ pk, nodeIds: all.slice(i, i + CHUNK) });
  }
  return chunks;
}

async function currentNodeRevisions(
  trx: Trx,
  nodes: readonly NodeWrite[],
  pks: ReadonlyMap<string, string>,
): Promise<Map<string, number>> {
  const revisions = new Map<string, number>();
  const byPk = new Map<string, string>();
  for (const [key, pk] of pks) byPk.set(pk, key);
  for (const { pk, nodeIds } of nodeIdChunks(nodes, pks)) {
    const rows = await trx
      .selectFrom('node_executions')
      .select(['execution_pk', 'node_id', 'revision'])
      .where('execution_pk', '=', pk)
      .where('node_id', 'in', nodeIds)
      .execute();
    for (const row of rows) {
      revisions.set(compositeKey(['n', byPk.get(String(row.execution_pk))!, row.node_id]), row.revision);
    }
  }
  return revisions;
}

async function currentTaskRevisions(
  trx: Trx,
  tasks: readonly TaskWrite[],
  pks: ReadonlyMap<string, string>,
): Promise<Map<string, number>> {
  const revisions = new Map<string, number>();
  const byPk = new Map<string, string>();
  for (const [key, pk] of pks) byPk.set(pk, key);
  // Every attempt of the nodes is read (a few rows more at most); the revisions are looked up by their whole key.
  for (const { pk, nodeIds } of nodeIdChunks(tasks, pks)) {
    const rows = await trx
      .selectFrom('task_executions')
      .select(['execution_pk', 'node_id', 'retry_attempt', 'task_key', 'revision'])
      .where('execution_pk', '=', pk)
      .where('node_id', 'in', nodeIds)
      .execute();
    for (const row of rows) {
      const key = byPk.get(String(row.execution_pk))!;
      revisions.set(compositeKey(['t', key, row.node_id, row.retry_attempt, row.task_key]), row.revision);
    }
  }
  return revisions;
}

/** Keeps the last write of each row (a transition may write a row twice; the revisions were checked in order). */
function lastWrites<W>(writes: readonly W[], rowKey: (write: W) => string): W[] {
  const last = new Map<string, W>();
  for (const write of writes) {
    const key = rowKey(write);
    last.delete(key);
    last.set(key, write);
  }
  return [...last.values()];
}

async function writeNodes(trx: Trx, nodes: readonly NodeWrite[], pks: ReadonlyMap<string, string>): Promise<void> {
  const rows = lastWrites(nodes, (n) => compositeKey([n.key, n.columns.node_id])).map((node) => ({
    ...node.columns,
    execution_pk: pks.get(node.key)!,
    revision: node.expectedRevision + 1,
  }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('node_executions')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['execution_pk', 'node_id']).doUpdateSet((eb) => ({
          parent_node_id: eb.ref('excluded.parent_node_id'),
          phase: eb.ref('excluded.phase'),
          created_at_ns: eb.ref('excluded.created_at_ns'),
          duration: eb.ref('excluded.duration'),
          revision: eb.ref('excluded.revision'),
          payload: eb.ref('excluded.payload'),
          state: eb.ref('excluded.state'),
        })),
      )
      .execute();
  }
}

async function writeTasks(trx: Trx, tasks: readonly TaskWrite[], pks: ReadonlyMap<string, string>): Promise<void> {
  const rows = lastWrites(tasks, (t) =>
    compositeKey([t.key, t.columns.node_id, t.columns.retry_attempt, t.columns.task_key]),
  ).map((task) => ({ ...task.columns, execution_pk: pks.get(task.key)!, revision: task.expectedRevision + 1 }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('task_executions')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['execution_pk', 'node_id', 'retry_attempt', 'task_key']).doUpdateSet((eb) => ({
          phase: eb.ref('excluded.phase'),
          revision: eb.ref('excluded.revision'),
          payload: eb.ref('excluded.payload'),
        })),
      )
      .execute();
  }
}

async function writeEvents(trx: Trx, events: readonly EventWrite[], pks: ReadonlyMap<string, string>): Promise<void> {
  const rows = events.map((event) => ({
    execution_pk: pks.get(event.key)!,
    kind: event.kind,
    identity: event.identity,
    payload: event.payload,
  }));
  // Rows are numbered in VALUES order; an event already logged (same identity) is skipped.
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('execution_events')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['execution_pk', 'identity']).doNothing())
      .execute();
  }
}

/** The primary key of an execution, as a subquery. */
function executionPk(db: Db, id: WorkflowExecutionIdentifier) {
  return db
    .selectFrom('executions')
    .select('pk')
    .where('project', '=', id.project)
    .where('domain', '=', id.domain)
    .where('name', '=', id.name);
}

/** The tables of registered entities. */
type EntityTableName = 'tasks' | 'workflows' | 'launch_plans';

/** A registration, checked and encoded. */
interface EntityWrite {
  readonly table: EntityTableName;
  readonly kind: string;
  readonly id: idl.core.Identifier;
  /** The row's key columns, joined: the order rows are inserted in. */
  readonly key: string;
  readonly digest: string;
  readonly columns: {
    readonly org: string;
    readonly project: string;
    readonly domain: string;
    readonly name: string;
    readonly version: string;
    readonly created_at_ns: string;
    readonly digest: string;
    readonly payload: Uint8Array;
  };
  /** Launch plans only: the workflow's name, and whether the closure asks for ACTIVE. */
  readonly launchPlan?: { readonly workflowName: string; readonly active: boolean } | undefined;
}

/** Checks an entity's id and encodes its row, without touching the database. */
function entityWrite<T extends Task | Workflow | LaunchPlan>(
  table: EntityTableName,
  kind: string,
  registered: Registered<T>,
  schema: GenMessage<T>,
): EntityWrite {
  const entity = registered.entity;
  const id = entity.id;
  if (id === undefined || id.project === '' || id.domain === '' || id.name === '' || id.version === '') {
    throw new InvalidArgumentError(`a ${kind} needs an id with project, domain, name and version`, {
      id: formatIdentifier(id),
    });
  }
  // What no protobuf reader could read back is refused before it is written.
  checkMessageDepth(schema, entity, `${kind} ${formatIdentifier(id)}`);
  const launchPlan = table === 'launch_plans' ? (entity as LaunchPlan) : undefined;
  return {
    table,
    kind,
    id,
    key: compositeKey([id.project, id.domain, id.name, id.version, id.org]),
    digest: registered.digest,
    columns: {
      org: id.org,
      project: id.project,
      domain: id.domain,
      name: id.name,
      version: id.version,
      created_at_ns: nanosColumn(entity.closure?.createdAt, `${kind} ${formatIdentifier(id)} created_at`),
      digest: registered.digest,
      payload: toBinary(schema, entity),
    },
    launchPlan:
      launchPlan === undefined
        ? undefined
        : {
            workflowName: launchPlan.spec?.workflowId?.name ?? '',
            active: launchPlan.closure?.state === LaunchPlanState.ACTIVE,
          },
  };
}

function compareWrites(a: EntityWrite, b: EntityWrite): number {
  if (a.table !== b.table) return a.table < b.table ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Inserts a registered version, or finds it registered: `unchanged` for the same digest, `ALREADY_EXISTS` for
 * another. A version inserted by a concurrent transaction is waited for (the unique index), then compared.
 */
async function insertEntity(trx: Trx, write: EntityWrite): Promise<CreateResult> {
  const { id, table, columns } = write;
  const registerActive = write.launchPlan?.active === true;
  if (registerActive) await lockLaunchPlanName(trx, id.project, id.domain, id.name);
  const inserted =
    write.launchPlan === undefined
      ? await trx
          .insertInto(table as 'tasks')
          .values(columns)
          .onConflict((oc) => oc.columns(['project', 'domain', 'name', 'version', 'org']).doNothing())
          .returning('seq')
          .executeTakeFirst()
      : await trx
          .insertInto('launch_plans')
          .values({ ...columns, state: LaunchPlanState.INACTIVE, workflow_name: write.launchPlan.workflowName })
          .onConflict((oc) => oc.columns(['project', 'domain', 'name', 'version', 'org']).doNothing())
          .returning('seq')
          .executeTakeFirst();
  if (inserted === undefined) {
    const existing = await trx
      .selectFrom(table as 'tasks')
      .select('digest')
      .where('org', '=', id.org)
      .where('project', '=', id.project)
      .where('domain', '=', id.domain)
      .where('name', '=', id.name)
      .where('version', '=', id.version)
      .executeTakeFirstOrThrow();
    if (existing.digest === write.digest) return 'unchanged';
    throw new AlreadyExistsError(
      `${write.kind} ${formatIdentifier(id)} is already registered with different content: versions are immutable, register a new version`,
      { id: formatIdentifier(id) },
    );
  }
  if (registerActive) {
    await activate(trx, id, { seq: inserted.seq, state: LaunchPlanState.INACTIVE, payload: columns.payload });
  }
  return 'created';
}

/** Serializes changes of the active version of one launch plan name (a transaction-scoped advisory lock). */
async function lockLaunchPlanName(trx: Trx, project: string, domain: string, name: string): Promise<void> {
  const key = compositeKey(['launch plan', project, domain, name]);
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

interface LaunchPlanRow {
  readonly seq: string | number | bigint;
  readonly state: number;
  readonly payload: Uint8Array;
}

/** Makes a version ACTIVE and the previously active one INACTIVE; resolves to the versions that changed. */
async function activate(trx: Trx, id: idl.core.Identifier, row: LaunchPlanRow): Promise<LaunchPlan[]> {
  if (row.state === LaunchPlanState.ACTIVE) return [];
  const previous = await trx
    .selectFrom('launch_plans')
    .select(['seq', 'state', 'payload'])
    .where('project', '=', id.project)
    .where('domain', '=', id.domain)
    .where('name', '=', id.name)
    .where('state', '=', LaunchPlanState.ACTIVE)
    .forUpdate()
    .executeTakeFirst();
  const changed: LaunchPlan[] = [];
  // The previous version first: the partial unique index allows one ACTIVE row per name at any moment.
  const deactivated =
    previous === undefined ? undefined : await writeLaunchPlanState(trx, previous, LaunchPlanState.INACTIVE);
  changed.push(await writeLaunchPlanState(trx, row, LaunchPlanState.ACTIVE));
  if (deactivated !== undefined) changed.push(deactivated);
  return changed;
}

/** Sets a launch plan row's state, in its column and in its payload's closure; resolves to the new launch plan. */
async function writeLaunchPlanState(
  trx: Trx,
  row: LaunchPlanRow,
  state: idl.admin.LaunchPlanState,
): Promise<LaunchPlan> {
  const launchPlan = decode(idl.admin.LaunchPlanSchema, row.payload, 'launch plan', `row ${String(row.seq)}`);
  const closure = launchPlan.closure ?? create(idl.admin.LaunchPlanClosureSchema);
  const updated: LaunchPlan = { ...launchPlan, closure: { ...closure, state } };
  await trx
    .updateTable('launch_plans')
    .set({ state, payload: toBinary(idl.admin.LaunchPlanSchema, updated) })
    .where('seq', '=', String(row.seq))
    .execute();
  return updated;
}

/** The kind of entity a table holds, for messages. */
function kindOf(table: 'tasks' | 'workflows' | 'launch_plans'): string {
  return table === 'tasks' ? 'task' : table === 'workflows' ? 'workflow' : 'launch plan';
}

function withRevision(
  record: Omit<ExecutionRecord, 'revision'>,
  revision: number,
  inputsUri: string | undefined,
): ExecutionRecord {
  const written: { -readonly [K in keyof ExecutionRecord]: ExecutionRecord[K] } = {
    execution: record.execution,
    revision,
  };
  if (record.state !== undefined) written.state = record.state;
  if (inputsUri !== undefined) written.inputsUri = inputsUri;
  return written;
}

function checkExpectedRevision(expected: number, id: string): void {
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new InvalidArgumentError(`expectedRevision must be a non-negative integer, got ${expected}`, { id });
  }
}

function checkRevision(what: string, current: number, expected: number): void {
  if (current === expected) return;
  throw new ConflictError(
    current === 0
      ? `${what} does not exist, but the write expected revision ${expected}: read it again`
      : expected === 0
        ? `${what} exists already (revision ${current}), but the write expected a new row: read it again and retry`
        : `${what} is at revision ${current}, not ${expected}: it changed since it was read; read it again and retry`,
    { id: what },
  );
}

function raced(what: string): ConflictError {
  return new ConflictError(`${what} changed while this commit ran: read it again and retry`, { id: what });
}

function isCurrent(row: LockedExecution, lease: Lease, nowMs: number): boolean {
  return (
    row.leaseOwner !== null &&
    row.leaseExpiresMs !== null &&
    row.leaseOwner === lease.owner &&
    row.leaseEpoch === lease.epoch &&
    nowMs < row.leaseExpiresMs
  );
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
