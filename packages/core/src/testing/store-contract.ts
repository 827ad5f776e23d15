// The Store contract: every guarantee the Store port documents, as a vitest suite any adapter runs against
// itself. One adapter instance serves the whole suite (a database may be slow to create), so each test works in
// its own project (or under its own names) and never assumes the store is empty.
import { create, equals, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecutionClosureSchema,
  ExecutionMetadata_ExecutionMode,
  LiteralMapBlobSchema,
  ExecutionSchema,
  LaunchPlanSchema,
  LaunchPlanState,
  NodeExecutionSchema,
  Project_ProjectState,
  ProjectSchema,
  TaskExecutionSchema,
  TaskSchema,
  WorkflowSchema,
  type Execution,
  type ExecutionClosure,
  type LaunchPlan,
  type Project,
  type Task,
  type Workflow,
} from '../gen/flyteidl/admin/index.js';
import {
  NodeExecution_Phase,
  TaskExecution_Phase,
  WorkflowExecution_Phase,
  type Identifier,
  type Literal,
  type LiteralMap,
  type WorkflowExecutionIdentifier,
} from '../gen/flyteidl/core/index.js';
import {
  NodeExecutionEventSchema,
  TaskExecutionEventSchema,
  WorkflowExecutionEventSchema,
} from '../gen/flyteidl/event/index.js';
import { launchPlanId, nodeExecutionId } from '../identifiers.js';
import { MAX_MESSAGE_DEPTH } from '../nesting/limits.js';
import { messageDepth } from '../nesting/message-depth.js';
import { parseFilters, type ListQuery, type Page } from '../ports/list-query.js';
import type {
  CreateResult,
  ExecutionEvent,
  ExecutionRecord,
  Lease,
  NodeExecutionRecord,
  Store,
  TaskExecutionRecord,
} from '../ports/store.js';
import {
  execId,
  makeExecution,
  makeLaunchPlan,
  makeNodeExecution,
  makeTask,
  makeTaskExecution,
  makeTaskExecutionId,
  makeWorkflow,
  nodeEvent,
  rfc3339,
  taskEvent,
  workflowEvent,
  type EntityName,
  type ExecutionShape,
} from './store-fixtures.js';
import { notificationsContract } from './store-notifications-contract.js';
import {
  abortedSignal,
  allByteValues,
  BASE_MS,
  byteList,
  collectPages,
  expectAbortReason,
  expectCode,
  unique,
} from './support.js';

/** A Store to run the contract against, and how to dispose of it. */
export interface StoreUnderTest {
  /** The adapter. It may hold data of earlier runs: the suite only relies on names it creates itself. */
  readonly store: Store;
  /** Called once after the suite (close connections, remove temporary files). */
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/** Creates the Store under test; called once per suite. */
export type StoreFactory = () => Promise<StoreUnderTest>;

/** How long the factory and cleanup may take (an embedded database may need seconds to start). */
const SETUP_TIMEOUT_MS = 120_000;
const DOMAIN = 'development';
const SECOND = 1000;

/** One kind of immutable registered entity, seen uniformly. */
interface RegisteredKind {
  readonly kind: 'task' | 'workflow' | 'launch plan';
  make(id: EntityName, createdAtMs?: number): Task | Workflow | LaunchPlan;
  register(store: Store, entity: Task | Workflow | LaunchPlan, digest: string): Promise<CreateResult>;
  get(store: Store, id: Identifier): Promise<Task | Workflow | LaunchPlan | undefined>;
  list(store: Store, query: ListQuery): Promise<Page<Task | Workflow | LaunchPlan>>;
  same(a: Task | Workflow | LaunchPlan | undefined, b: Task | Workflow | LaunchPlan): boolean;
}

const REGISTERED_KINDS: readonly RegisteredKind[] = [
  {
    kind: 'task',
    make: makeTask,
    register: (store, entity, digest) => store.createTask({ entity: entity as Task, digest }),
    get: (store, id) => store.getTask(id),
    list: (store, query) => store.listTasks(query),
    same: (a, b) => a !== undefined && equals(TaskSchema, a as Task, b as Task),
  },
  {
    kind: 'workflow',
    make: makeWorkflow,
    register: (store, entity, digest) => store.createWorkflow({ entity: entity as Workflow, digest }),
    get: (store, id) => store.getWorkflow(id),
    list: (store, query) => store.listWorkflows(query),
    same: (a, b) => a !== undefined && equals(WorkflowSchema, a as Workflow, b as Workflow),
  },
  {
    kind: 'launch plan',
    make: (id, createdAtMs) => makeLaunchPlan(id, { createdAtMs }),
    register: (store, entity, digest) => store.createLaunchPlan({ entity: entity as LaunchPlan, digest }),
    get: (store, id) => store.getLaunchPlan(id),
    list: (store, query) => store.listLaunchPlans(query),
    same: (a, b) => a !== undefined && equals(LaunchPlanSchema, a as LaunchPlan, b as LaunchPlan),
  },
];

function names(items: readonly { readonly id?: { readonly name: string } | undefined }[]): string[] {
  return items.map((item) => item.id?.name ?? '<no id>');
}

function executionNames(records: readonly ExecutionRecord[]): string[] {
  return records.map((record) => record.execution.id?.name ?? '<no id>');
}

function nodeIds(records: readonly NodeExecutionRecord[]): string[] {
  return records.map((record) => record.nodeExecution.id?.nodeId ?? '<no id>');
}

function sameEvent(a: ExecutionEvent | undefined, b: ExecutionEvent): boolean {
  if (a === undefined || a.kind !== b.kind) return false;
  switch (b.kind) {
    case 'workflow':
      return equals(WorkflowExecutionEventSchema, a.event as typeof b.event, b.event);
    case 'node':
      return equals(NodeExecutionEventSchema, a.event as typeof b.event, b.event);
    case 'task':
      return equals(TaskExecutionEventSchema, a.event as typeof b.event, b.event);
  }
}

function expectEvents(actual: readonly ExecutionEvent[], expected: readonly ExecutionEvent[]): void {
  expect(actual.length, 'number of events').toBe(expected.length);
  expected.forEach((event, i) => {
    expect(sameEvent(actual[i], event), `event ${i} (${event.kind}) is the one committed at that position`).toBe(true);
  });
}

function filters(text: string): ListQuery['filters'] {
  return parseFilters(text);
}

/**
 * Registers the Store contract suite: a `describe` block whose tests check every guarantee of the Store port
 * (registration, list queries and pagination, launch plan activation, executions, atomic commits with
 * optimistic concurrency and lease fencing, leases, execution notices when the Store has them, events, schedules,
 * cancellation).
 * @param name the adapter's name, shown in the test report
 * @param factory creates the adapter once for the whole suite
 */
export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} (Store contract)`, () => {
    let subject: StoreUnderTest | undefined;
    let store: Store;

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await subject?.cleanup?.();
    }, SETUP_TIMEOUT_MS);

    /** Creates an execution and returns its id. */
    async function newExecution(shape: Partial<ExecutionShape> = {}, state?: Uint8Array): Promise<ExecutionRecord> {
      const execution = makeExecution({
        project: shape.project ?? unique('proj'),
        domain: shape.domain ?? DOMAIN,
        name: shape.name ?? unique('exec'),
        ...shape,
      });
      return store.createExecution(state === undefined ? { execution } : { execution, state });
    }

    function idOf(record: ExecutionRecord): WorkflowExecutionIdentifier {
      const id = record.execution.id;
      if (id === undefined) throw new Error('the store returned an execution without id');
      return id;
    }

    /** The execution with a new phase (a fresh message: the store's records are never mutated). */
    function withPhase(execution: Execution, phase: WorkflowExecution_Phase): Execution {
      return { ...execution, closure: { ...(execution.closure ?? create(ExecutionClosureSchema)), phase } };
    }

    describe('projects and project-domain settings', () => {
      function project(
        id: string,
        init: { name?: string; description?: string; team?: string; state?: Project_ProjectState } = {},
      ): Project {
        return create(ProjectSchema, {
          id,
          name: init.name ?? `${id} name`,
          description: init.description ?? 'a project',
          domains: [{ id: DOMAIN, name: DOMAIN }],
          labels: { values: { team: init.team ?? 'contract' } },
          state: init.state ?? Project_ProjectState.ACTIVE,
        });
      }

      it('reads a project back as put, and a second put updates its name, description, labels and state', async () => {
        const id = unique('proj');
        const first = project(id);
        await store.putProject(first);
        expect(equals(ProjectSchema, (await store.getProject(id))!, first)).toBe(true);

        const second = project(id, {
          name: 'renamed',
          description: 'updated',
          team: 'other',
          state: Project_ProjectState.ARCHIVED,
        });
        await store.putProject(second);
        const read = await store.getProject(id);
        expect(read?.name).toBe('renamed');
        expect(read?.description).toBe('updated');
        expect(read?.labels?.values).toEqual({ team: 'other' });
        expect(read?.state).toBe(Project_ProjectState.ARCHIVED);
      });

      it('resolves undefined for an unknown project', async () => {
        expect(await store.getProject(unique('missing'))).toBeUndefined();
      });

      it('lists projects sorted by id, filtered on name and state', async () => {
        const tag = unique('plist');
        await store.putProject(project(`${tag}-b`, { name: `${tag} beta` }));
        await store.putProject(project(`${tag}-a`, { name: `${tag} alpha`, state: Project_ProjectState.ARCHIVED }));
        await store.putProject(project(`${tag}-c`, { name: `${tag} gamma` }));

        const all = await store.listProjects({ filters: filters(`contains(name,${tag})`) });
        expect(all.items.map((p) => p.id)).toEqual([`${tag}-a`, `${tag}-b`, `${tag}-c`]);
        const archived = await store.listProjects({ filters: filters(`contains(name,${tag})+eq(state,ARCHIVED)`) });
        expect(archived.items.map((p) => p.id)).toEqual([`${tag}-a`]);
        const active = await store.listProjects({ filters: filters(`contains(name,${tag})+ne(state,ARCHIVED)`) });
        expect(active.items.map((p) => p.id)).toEqual([`${tag}-b`, `${tag}-c`]);
        const named = await store.listProjects({ filters: filters(`value_in(name,${tag} alpha;${tag} gamma)`) });
        expect(named.items.map((p) => p.id)).toEqual([`${tag}-a`, `${tag}-c`]);
        const exact = await store.listProjects({ filters: filters(`eq(name,${tag} beta)`) });
        expect(exact.items.map((p) => p.id)).toEqual([`${tag}-b`]);
      });

      it('rejects a filter on an unknown project field with INVALID_ARGUMENT', async () => {
        await expectCode(store.listProjects({ filters: filters('eq(colour,blue)') }), 'INVALID_ARGUMENT');
      });

      it('reads settings back as put, replaces them on a second put, and resolves undefined when none were set', async () => {
        const projectId = unique('proj');
        expect(await store.getProjectDomainSettings(projectId, DOMAIN)).toBeUndefined();
        const settings = {
          project: projectId,
          domain: DOMAIN,
          maxConcurrentExecutions: 3,
          allowedTaskTypes: ['python-task', 'container'],
          taskResourceDefaults: { cpu: '500m', memory: '1Gi' },
          taskResourceLimits: { cpu: '4', memory: '8Gi' },
        };
        await store.putProjectDomainSettings(settings);
        expect(await store.getProjectDomainSettings(projectId, DOMAIN)).toEqual(settings);
        expect(await store.getProjectDomainSettings(projectId, 'production')).toBeUndefined();

        const replaced = { project: projectId, domain: DOMAIN, maxConcurrentExecutions: 1 };
        await store.putProjectDomainSettings(replaced);
        const read = await store.getProjectDomainSettings(projectId, DOMAIN);
        expect(read?.maxConcurrentExecutions).toBe(1);
        expect(read?.allowedTaskTypes).toBeUndefined();
        expect(read?.taskResourceDefaults).toBeUndefined();
      });
    });

    for (const kind of REGISTERED_KINDS) {
      describe(`${kind.kind} registration`, () => {
        it('registers a version once: the same digest again is unchanged', async () => {
          const id = { project: unique('proj'), domain: DOMAIN, name: 'entity', version: 'v1' };
          const entity = kind.make(id);
          expect(await kind.register(store, entity, 'digest-1')).toBe('created');
          expect(await kind.register(store, kind.make(id), 'digest-1')).toBe('unchanged');
          expect(kind.same(await kind.get(store, entity.id!), entity)).toBe(true);
        });

        it('refuses a different digest for the same version with ALREADY_EXISTS naming the id', async () => {
          const id = { project: unique('proj'), domain: DOMAIN, name: 'entity', version: 'v7' };
          const entity = kind.make(id);
          await kind.register(store, entity, 'digest-1');
          const error = await expectCode(
            kind.register(store, kind.make(id, BASE_MS + SECOND), 'digest-2'),
            'ALREADY_EXISTS',
          );
          expect(`${error.id ?? ''} ${error.message}`).toContain(id.project);
          expect(`${error.id ?? ''} ${error.message}`).toContain('v7');
          expect(kind.same(await kind.get(store, entity.id!), entity), 'the first registration stays').toBe(true);
          // Another version of the same name is a different entity.
          expect(await kind.register(store, kind.make({ ...id, version: 'v8' }), 'digest-2')).toBe('created');
        });

        it('resolves undefined for an unknown id or version', async () => {
          const id = { project: unique('proj'), domain: DOMAIN, name: 'entity', version: 'v1' };
          const entity = kind.make(id);
          expect(await kind.get(store, entity.id!)).toBeUndefined();
          await kind.register(store, entity, 'd');
          expect(await kind.get(store, kind.make({ ...id, version: 'v2' }).id!)).toBeUndefined();
        });

        it('lists newest first by default, filtered on project, domain, name, version and created_at', async () => {
          const project = unique('proj');
          const at = (s: number) => BASE_MS + s * SECOND;
          const entities = [
            kind.make({ project, domain: DOMAIN, name: 'a', version: 'v1' }, at(1)),
            kind.make({ project, domain: DOMAIN, name: 'b', version: 'v1' }, at(2)),
            kind.make({ project, domain: DOMAIN, name: 'a', version: 'v2' }, at(3)),
            kind.make({ project, domain: 'staging', name: 'a', version: 'v1' }, at(4)),
          ];
          // Registered out of time order: the default order is by created_at, not by insertion.
          for (const i of [2, 0, 3, 1]) await kind.register(store, entities[i]!, `d${i}`);
          const list = async (text: string) =>
            (await kind.list(store, { filters: filters(text) })).items.map(
              (e) => `${e.id?.domain}/${e.id?.name}/${e.id?.version}`,
            );

          expect(await list(`eq(project,${project})`)).toEqual([
            'staging/a/v1',
            `${DOMAIN}/a/v2`,
            `${DOMAIN}/b/v1`,
            `${DOMAIN}/a/v1`,
          ]);
          expect(await list(`eq(project,${project})+eq(domain,${DOMAIN})`)).toEqual([
            `${DOMAIN}/a/v2`,
            `${DOMAIN}/b/v1`,
            `${DOMAIN}/a/v1`,
          ]);
          expect(await list(`eq(project,${project})+eq(name,a)+eq(version,v2)`)).toEqual([`${DOMAIN}/a/v2`]);
          expect(await list(`eq(project,${project})+gte(created_at,${rfc3339(at(2))})`)).toEqual([
            'staging/a/v1',
            `${DOMAIN}/a/v2`,
            `${DOMAIN}/b/v1`,
          ]);
          expect(await list(`eq(project,${project})+lt(created_at,${rfc3339(at(2))})`)).toEqual([`${DOMAIN}/a/v1`]);
        });

        it('rejects a filter on an unknown field with INVALID_ARGUMENT', async () => {
          await expectCode(kind.list(store, { filters: filters('eq(flavour,vanilla)') }), 'INVALID_ARGUMENT');
        });
      });
    }

    describe('registering a batch of entities', () => {
      /** A task, a workflow and a launch plan of a new project, with their digests. */
      function batchOf(project: string, digest = 'd1') {
        const id = (name: string) => ({ project, domain: DOMAIN, name, version: 'v1' });
        return {
          tasks: [{ entity: makeTask(id('t')), digest }],
          workflows: [{ entity: makeWorkflow(id('wf')), digest }],
          launchPlans: [{ entity: makeLaunchPlan(id('lp'), { workflowName: 'wf' }), digest }],
        };
      }

      /** Which entities of a batch the store holds. */
      async function stored(batch: ReturnType<typeof batchOf>): Promise<string[]> {
        const found: string[] = [];
        for (const { entity } of batch.tasks)
          if (await store.getTask(entity.id!)) found.push(`task ${entity.id!.name}`);
        for (const { entity } of batch.workflows) {
          if (await store.getWorkflow(entity.id!)) found.push(`workflow ${entity.id!.name}`);
        }
        for (const { entity } of batch.launchPlans) {
          if (await store.getLaunchPlan(entity.id!)) found.push(`launch plan ${entity.id!.name}`);
        }
        return found;
      }

      it('creates each new entity and leaves each one registered with the same digest unchanged', async () => {
        const project = unique('proj');
        const batch = batchOf(project);
        expect(await store.createEntities({ tasks: batch.tasks })).toEqual({
          tasks: ['created'],
          workflows: [],
          launchPlans: [],
        });
        expect(await store.createEntities(batch)).toEqual({
          tasks: ['unchanged'],
          workflows: ['created'],
          launchPlans: ['created'],
        });
        const workflow = await store.getWorkflow(batch.workflows[0]!.entity.id!);
        expect(workflow !== undefined && equals(WorkflowSchema, workflow, batch.workflows[0]!.entity)).toBe(true);
        expect((await store.getLaunchPlan(batch.launchPlans[0]!.entity.id!))?.closure?.state).toBe(
          LaunchPlanState.INACTIVE,
        );
        expect(await store.createEntities(batch)).toEqual({
          tasks: ['unchanged'],
          workflows: ['unchanged'],
          launchPlans: ['unchanged'],
        });
        expect(await store.createEntities({})).toEqual({ tasks: [], workflows: [], launchPlans: [] });
      });

      it('writes nothing of a batch when one entity is registered with another digest', async () => {
        const project = unique('proj');
        const batch = batchOf(project);
        const taken = batch.launchPlans[0]!;
        await store.createLaunchPlan({ entity: taken.entity, digest: 'earlier' });
        const error = await expectCode(store.createEntities(batch), 'ALREADY_EXISTS');
        expect(`${error.id ?? ''} ${error.message}`).toContain(project);
        expect(await stored(batch)).toEqual(['launch plan lp']);
      });

      it('writes nothing of a batch that holds one version twice with two digests', async () => {
        const project = unique('proj');
        const batch = batchOf(project);
        const twice = { ...batch, tasks: [...batch.tasks, { entity: batch.tasks[0]!.entity, digest: 'other' }] };
        await expectCode(store.createEntities(twice), 'ALREADY_EXISTS');
        expect(await stored(batch)).toEqual([]);
        const same = { ...batch, tasks: [...batch.tasks, batch.tasks[0]!] };
        expect((await store.createEntities(same)).tasks).toEqual(['created', 'unchanged']);
      });

      it('lets exactly one of two batches racing with one entity in two versions write, whole', async () => {
        const project = unique('proj');
        const shared = batchOf(project);
        const mine = { ...shared, workflows: [] };
        const theirs = {
          tasks: [{ entity: makeTask({ project, domain: DOMAIN, name: 'theirs', version: 'v1' }), digest: 'd' }],
          workflows: [{ entity: shared.workflows[0]!.entity, digest: 'their digest' }],
          launchPlans: [{ entity: shared.launchPlans[0]!.entity, digest: 'their digest' }],
        };
        const results = await Promise.allSettled([store.createEntities(mine), store.createEntities(theirs)]);
        expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
        const refused = results.find((result) => result.status === 'rejected')!;
        expect((refused.reason as { code?: unknown }).code).toBe('ALREADY_EXISTS');
        const theirsTask = await store.getTask(theirs.tasks[0]!.entity.id!);
        const mineTask = await store.getTask(shared.tasks[0]!.entity.id!);
        if (results[0]!.status === 'fulfilled') {
          expect([mineTask !== undefined, theirsTask !== undefined]).toEqual([true, false]);
          expect(await store.getWorkflow(shared.workflows[0]!.entity.id!)).toBeUndefined();
        } else {
          expect([mineTask !== undefined, theirsTask !== undefined]).toEqual([false, true]);
        }
      });

      it('refuses an entity without a complete id with INVALID_ARGUMENT, writing nothing', async () => {
        const project = unique('proj');
        const batch = batchOf(project);
        const incomplete = makeWorkflow({ project, domain: DOMAIN, name: 'wf2', version: '' });
        await expectCode(
          store.createEntities({ ...batch, workflows: [...batch.workflows, { entity: incomplete, digest: 'd' }] }),
          'INVALID_ARGUMENT',
        );
        expect(await stored(batch)).toEqual([]);
      });

      it('activates a launch plan registered ACTIVE, as createLaunchPlan does', async () => {
        const project = unique('proj');
        const active = makeLaunchPlan(
          { project, domain: DOMAIN, name: 'lp', version: 'v1' },
          { state: LaunchPlanState.ACTIVE },
        );
        expect(await store.createEntities({ launchPlans: [{ entity: active, digest: 'd' }] })).toEqual({
          tasks: [],
          workflows: [],
          launchPlans: ['created'],
        });
        expect((await store.getActiveLaunchPlan(project, DOMAIN, 'lp'))?.id?.version).toBe('v1');
      });
    });

    describe('list queries (filters, sort keys, pagination)', () => {
      const project = unique('proj-list');
      const at = (i: number) => BASE_MS + i * SECOND;
      const COUNT = 7;

      beforeAll(async () => {
        // Tasks n0..n6 created one second apart; versions alternate v1/v2.
        for (let i = 0; i < COUNT; i++) {
          await store.createTask({
            entity: makeTask({ project, domain: DOMAIN, name: `n${i}`, version: `v${(i % 2) + 1}` }, at(i)),
            digest: `d${i}`,
          });
        }
      }, SETUP_TIMEOUT_MS);

      const list = (query: ListQuery = {}) => store.listTasks(query);
      const inProject = (text: string) => filters(`eq(project,${project})${text === '' ? '' : `+${text}`}`);

      it.each([
        ['eq', 'eq(name,n3)', ['n3']],
        ['ne', 'ne(version,v1)', ['n5', 'n3', 'n1']],
        ['gt on a timestamp', `gt(created_at,${rfc3339(at(4))})`, ['n6', 'n5']],
        ['gte on a timestamp', `gte(created_at,${rfc3339(at(4))})`, ['n6', 'n5', 'n4']],
        ['lt on a timestamp', `lt(created_at,${rfc3339(at(2))})`, ['n1', 'n0']],
        ['lte on a timestamp', `lte(created_at,${rfc3339(at(2))})`, ['n2', 'n1', 'n0']],
        ['gt on text', 'gt(name,n4)', ['n6', 'n5']],
        ['lte on text', 'lte(name,n1)', ['n1', 'n0']],
        ['contains', 'contains(name,5)', ['n5']],
        ['value_in', 'value_in(name,n1;n4;n9)', ['n4', 'n1']],
        ['several filters (AND)', 'eq(version,v1)+gte(created_at,' + rfc3339(at(2)) + ')', ['n6', 'n4', 'n2']],
      ])('filters with %s', async (_fn, text, expected) => {
        expect(names((await list({ filters: inProject(text) })).items)).toEqual(expected);
      });

      it('rejects an unknown filter field with INVALID_ARGUMENT', async () => {
        await expectCode(list({ filters: inProject('eq(colour,blue)') }), 'INVALID_ARGUMENT');
      });

      it('rejects a value its field cannot hold (a created_at that is not RFC 3339) with INVALID_ARGUMENT', async () => {
        await expectCode(list({ filters: inProject('gt(created_at,yesterday)') }), 'INVALID_ARGUMENT');
      });

      it('sorts by a named key in either direction', async () => {
        const ascending = await list({ filters: inProject(''), sortBy: { key: 'name', direction: 'asc' } });
        expect(names(ascending.items)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
        const descending = await list({ filters: inProject(''), sortBy: { key: 'created_at', direction: 'desc' } });
        expect(names(descending.items)).toEqual(['n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
      });

      it('rejects an unknown sort key with INVALID_ARGUMENT', async () => {
        await expectCode(
          list({ filters: inProject(''), sortBy: { key: 'colour', direction: 'asc' } }),
          'INVALID_ARGUMENT',
        );
      });

      it.each([
        ['the default order', undefined, ['n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']],
        ['a sort key', { key: 'name', direction: 'asc' } as const, ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']],
      ])('pages with limit and nextToken in %s, visiting every item exactly once', async (_order, sortBy, expected) => {
        for (const limit of [1, 2, 3, COUNT, COUNT + 1]) {
          const { items, pages } = await collectPages(
            (token) =>
              list({
                filters: inProject(''),
                limit,
                ...(sortBy === undefined ? {} : { sortBy }),
                ...(token === undefined ? {} : { token }),
              }),
            limit,
          );
          expect(names(items), `limit ${limit}`).toEqual(expected);
          expect(pages, `limit ${limit}`).toBeGreaterThanOrEqual(Math.ceil(COUNT / limit));
        }
      });

      it('rejects a page token it did not issue with INVALID_ARGUMENT', async () => {
        for (const token of ['not a token', 'bm90LWEtdG9rZW4', '{"offset":1}', '-1']) {
          await expectCode(list({ filters: inProject(''), limit: 2, token }), 'INVALID_ARGUMENT');
        }
      });
    });

    describe('launch plan activation', () => {
      const lpId = (project: string, version: string) => launchPlanId({ project, domain: DOMAIN, name: 'lp', version });

      it('activating a version deactivates the active one of the same name, resolving to the plans that changed', async () => {
        const project = unique('proj');
        for (const version of ['v1', 'v2']) {
          const result = await store.createLaunchPlan({
            entity: makeLaunchPlan({ project, domain: DOMAIN, name: 'lp', version }),
            digest: version,
          });
          expect(result).toBe('created');
        }
        // Registered INACTIVE.
        expect(await store.getActiveLaunchPlan(project, DOMAIN, 'lp')).toBeUndefined();
        expect((await store.getLaunchPlan(lpId(project, 'v1')))?.closure?.state).toBe(LaunchPlanState.INACTIVE);

        const first = await store.setLaunchPlanState(lpId(project, 'v1'), LaunchPlanState.ACTIVE);
        expect(first.map((lp) => [lp.id?.version, lp.closure?.state])).toEqual([['v1', LaunchPlanState.ACTIVE]]);
        expect((await store.getActiveLaunchPlan(project, DOMAIN, 'lp'))?.id?.version).toBe('v1');

        const second = await store.setLaunchPlanState(lpId(project, 'v2'), LaunchPlanState.ACTIVE);
        const changed = second.map((lp) => [lp.id?.version, lp.closure?.state]).sort();
        expect(changed).toEqual([
          ['v1', LaunchPlanState.INACTIVE],
          ['v2', LaunchPlanState.ACTIVE],
        ]);
        expect((await store.getActiveLaunchPlan(project, DOMAIN, 'lp'))?.id?.version).toBe('v2');
        expect((await store.getLaunchPlan(lpId(project, 'v1')))?.closure?.state).toBe(LaunchPlanState.INACTIVE);
        expect((await store.getLaunchPlan(lpId(project, 'v2')))?.closure?.state).toBe(LaunchPlanState.ACTIVE);

        expect(await store.setLaunchPlanState(lpId(project, 'v2'), LaunchPlanState.ACTIVE)).toEqual([]);
        expect(await store.setLaunchPlanState(lpId(project, 'v1'), LaunchPlanState.INACTIVE)).toEqual([]);
        const off = await store.setLaunchPlanState(lpId(project, 'v2'), LaunchPlanState.INACTIVE);
        expect(off.map((lp) => [lp.id?.version, lp.closure?.state])).toEqual([['v2', LaunchPlanState.INACTIVE]]);
        expect(await store.getActiveLaunchPlan(project, DOMAIN, 'lp')).toBeUndefined();
      });

      it('keeps one ACTIVE version per name when a version is registered ACTIVE', async () => {
        const project = unique('proj');
        await store.createLaunchPlan({
          entity: makeLaunchPlan(
            { project, domain: DOMAIN, name: 'lp', version: 'v1' },
            { state: LaunchPlanState.ACTIVE },
          ),
          digest: 'v1',
        });
        expect((await store.getActiveLaunchPlan(project, DOMAIN, 'lp'))?.id?.version).toBe('v1');
        await store.createLaunchPlan({
          entity: makeLaunchPlan(
            { project, domain: DOMAIN, name: 'lp', version: 'v2' },
            { state: LaunchPlanState.ACTIVE },
          ),
          digest: 'v2',
        });
        const active = await store.listLaunchPlans({ filters: filters(`eq(project,${project})+eq(state,ACTIVE)`) });
        expect(active.items.map((lp) => lp.id?.version)).toEqual(['v2']);
        expect((await store.getActiveLaunchPlan(project, DOMAIN, 'lp'))?.id?.version).toBe('v2');
      });

      it('rejects setLaunchPlanState of an unknown launch plan with NOT_FOUND', async () => {
        await expectCode(store.setLaunchPlanState(lpId(unique('proj'), 'v1'), LaunchPlanState.ACTIVE), 'NOT_FOUND');
      });

      it('lists launch plans filtered on state and workflow.name', async () => {
        const project = unique('proj');
        const at = (s: number) => BASE_MS + s * SECOND;
        await store.createLaunchPlan({
          entity: makeLaunchPlan(
            { project, domain: DOMAIN, name: 'x', version: 'v1' },
            { workflowName: 'wf-x', createdAtMs: at(1) },
          ),
          digest: 'x',
        });
        await store.createLaunchPlan({
          entity: makeLaunchPlan(
            { project, domain: DOMAIN, name: 'y', version: 'v1' },
            { workflowName: 'wf-y', createdAtMs: at(2) },
          ),
          digest: 'y',
        });
        await store.setLaunchPlanState(
          launchPlanId({ project, domain: DOMAIN, name: 'y', version: 'v1' }),
          LaunchPlanState.ACTIVE,
        );
        const list = async (text: string) =>
          names((await store.listLaunchPlans({ filters: filters(`eq(project,${project})+${text}`) })).items);
        expect(await list('eq(state,ACTIVE)')).toEqual(['y']);
        expect(await list('eq(state,INACTIVE)')).toEqual(['x']);
        expect(await list('eq(workflow.name,wf-x)')).toEqual(['x']);
        expect(await list('value_in(workflow.name,wf-x;wf-y)')).toEqual(['y', 'x']);
      });
    });

    describe('executions', () => {
      it('creates an execution at revision 1 and reads back its opaque state byte for byte', async () => {
        const state = allByteValues();
        const created = await newExecution({}, state);
        expect(created.revision).toBe(1);
        const read = await store.getExecution(idOf(created));
        expect(read?.revision).toBe(1);
        expect(equals(ExecutionSchema, read!.execution, created.execution)).toBe(true);
        expect(byteList(read?.state)).toEqual(byteList(state));
      });

      it('refuses a name already taken in the same project/domain with ALREADY_EXISTS', async () => {
        const created = await newExecution({ phase: WorkflowExecution_Phase.RUNNING });
        const { project, domain, name } = idOf(created);
        await expectCode(
          store.createExecution({ execution: makeExecution({ project, domain, name, workflowName: 'other' }) }),
          'ALREADY_EXISTS',
        );
        expect(equals(ExecutionSchema, (await store.getExecution(idOf(created)))!.execution, created.execution)).toBe(
          true,
        );
        // The same name in another domain is another execution.
        const elsewhere = await store.createExecution({
          execution: makeExecution({ project, domain: 'staging', name }),
        });
        expect(elsewhere.revision).toBe(1);
      });

      it('resolves undefined for an unknown execution', async () => {
        expect(await store.getExecution(execId(unique('proj'), DOMAIN, 'missing'))).toBeUndefined();
      });

      it('keeps the inputs reference an execution was created with: later commits neither change nor drop it', async () => {
        const project = unique('proj');
        const execution = makeExecution({ project, domain: DOMAIN, name: 'with-inputs' });
        const inputsUri = `mem://contract/${project}/inputs-1.pb`;
        const created = await store.createExecution({ execution, inputsUri });
        expect(created.inputsUri).toBe(inputsUri);
        expect((await store.getExecution(idOf(created)))?.inputsUri).toBe(inputsUri);

        const running = withPhase(execution, WorkflowExecution_Phase.RUNNING);
        const first = await store.commit({ execution: { record: { execution: running }, expectedRevision: 1 } });
        expect(first.execution?.inputsUri).toBe(inputsUri);
        const other = `mem://contract/${project}/inputs-2.pb`;
        const second = await store.commit({
          execution: { record: { execution: running, inputsUri: other }, expectedRevision: 2 },
        });
        expect(second.execution?.inputsUri).toBe(inputsUri);
        expect((await store.getExecution(idOf(created)))?.inputsUri).toBe(inputsUri);
        for (const includeState of [false, true]) {
          const page = await store.listExecutions({ filters: filters(`eq(project,${project})`), includeState });
          expect(page.items.map((record) => record.inputsUri)).toEqual([inputsUri]);
        }

        // Created by a commit, and created without one.
        const byCommit = makeExecution({ project, domain: DOMAIN, name: 'by-commit' });
        await store.commit({ execution: { record: { execution: byCommit, inputsUri: other }, expectedRevision: 0 } });
        expect((await store.getExecution(byCommit.id!))?.inputsUri).toBe(other);
        const without = await newExecution({ project });
        expect((await store.getExecution(idOf(without)))?.inputsUri).toBeUndefined();
      });

      describe('listExecutions', () => {
        const project = unique('proj-exec');
        const at = (s: number) => BASE_MS + s * SECOND;
        const shapes: ExecutionShape[] = [
          {
            project,
            domain: DOMAIN,
            name: 'e1',
            phase: WorkflowExecution_Phase.RUNNING,
            createdAtMs: at(1),
            durationSeconds: 10,
            workflowName: 'wf-a',
            launchPlanName: 'lp-a',
          },
          {
            project,
            domain: DOMAIN,
            name: 'e2',
            phase: WorkflowExecution_Phase.SUCCEEDED,
            createdAtMs: at(2),
            durationSeconds: 100,
            workflowName: 'wf-a',
            launchPlanName: 'lp-b',
            mode: ExecutionMetadata_ExecutionMode.SCHEDULED,
          },
          {
            project,
            domain: DOMAIN,
            name: 'e3',
            phase: WorkflowExecution_Phase.FAILED,
            createdAtMs: at(3),
            durationSeconds: 200.5,
            workflowName: 'wf-b',
            launchPlanName: 'lp-b',
          },
          {
            project,
            domain: DOMAIN,
            name: 'e4',
            phase: WorkflowExecution_Phase.RUNNING,
            createdAtMs: at(4),
            durationSeconds: 50,
            taskName: 'single-task',
          },
          {
            project,
            domain: DOMAIN,
            name: 'e5',
            phase: WorkflowExecution_Phase.QUEUED,
            createdAtMs: at(5),
            durationSeconds: 0,
            workflowName: 'wf-b',
            launchPlanName: 'lp-a',
            mode: ExecutionMetadata_ExecutionMode.RELAUNCH,
          },
        ];

        beforeAll(async () => {
          // Created out of time order: the default order is by created_at.
          for (const i of [2, 0, 4, 1, 3]) {
            await store.createExecution({ execution: makeExecution(shapes[i]!), state: new Uint8Array([i, 255, 0]) });
          }
        }, SETUP_TIMEOUT_MS);

        const list = async (text: string, query: Omit<ListQuery, 'filters'> & { includeState?: boolean } = {}) =>
          store.listExecutions({
            ...query,
            filters: filters(`eq(project,${project})${text === '' ? '' : `+${text}`}`),
          });

        it('lists newest first, without runtime state unless includeState', async () => {
          const page = await list('');
          expect(executionNames(page.items)).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
          for (const record of page.items) {
            expect(record.state).toBeUndefined();
            expect(record.revision).toBe(1);
          }
          const withState = await list('', { includeState: true });
          expect(withState.items.map((r) => byteList(r.state))).toEqual([
            [4, 255, 0],
            [3, 255, 0],
            [2, 255, 0],
            [1, 255, 0],
            [0, 255, 0],
          ]);
        });

        it.each([
          ['eq(phase,RUNNING)', ['e4', 'e1']],
          ['ne(phase,RUNNING)', ['e5', 'e3', 'e2']],
          ['value_in(phase,SUCCEEDED;FAILED)', ['e3', 'e2']],
          ['gte(duration,100)', ['e3', 'e2']],
          ['gt(duration,100)', ['e3']],
          ['gt(duration,200.25)', ['e3']],
          ['lt(duration,50)', ['e5', 'e1']],
          ['lte(duration,50)', ['e5', 'e4', 'e1']],
          ['eq(phase,RUNNING)+gte(duration,50)', ['e4']],
          ['eq(workflow.name,wf-a)', ['e2', 'e1']],
          ['eq(launch_plan.name,lp-b)', ['e3', 'e2']],
          ['eq(task.name,single-task)', ['e4']],
          ['eq(mode,SCHEDULED)', ['e2']],
          ['value_in(mode,RELAUNCH;SCHEDULED)', ['e5', 'e2']],
          [`gte(created_at,${rfc3339(at(3))})`, ['e5', 'e4', 'e3']],
          [`lt(execution_created_at,${rfc3339(at(3))})`, ['e2', 'e1']],
          ['eq(name,e3)', ['e3']],
          ['contains(name,e)+ne(name,e1)', ['e5', 'e4', 'e3', 'e2']],
          [`eq(domain,${DOMAIN})+eq(phase,QUEUED)`, ['e5']],
        ])('filters on %s', async (text, expected) => {
          expect(executionNames((await list(text)).items)).toEqual(expected);
        });

        it('rejects an unknown phase name, an unknown field and a non-numeric duration with INVALID_ARGUMENT', async () => {
          await expectCode(list('eq(phase,SPRINTING)'), 'INVALID_ARGUMENT');
          await expectCode(list('eq(colour,blue)'), 'INVALID_ARGUMENT');
          await expectCode(list('gt(duration,long)'), 'INVALID_ARGUMENT');
        });

        it('sorts by duration and pages through every execution exactly once', async () => {
          const sortBy = { key: 'duration', direction: 'desc' } as const;
          expect(executionNames((await list('', { sortBy })).items)).toEqual(['e3', 'e2', 'e4', 'e1', 'e5']);
          const { items } = await collectPages(
            (token) => list('', { sortBy, limit: 2, ...(token === undefined ? {} : { token }) }),
            2,
          );
          expect(executionNames(items)).toEqual(['e3', 'e2', 'e4', 'e1', 'e5']);
        });
      });
    });

    describe('commit', () => {
      /** An execution with one node execution n0, one task attempt and one event, all at revision 1 or 2. */
      async function seeded() {
        const record = await newExecution({ phase: WorkflowExecution_Phase.QUEUED });
        const id = idOf(record);
        const n0 = makeNodeExecution(id, 'n0', { phase: NodeExecution_Phase.RUNNING });
        const t0 = makeTaskExecution(id, 'n0', 0, TaskExecution_Phase.RUNNING);
        const events = [workflowEvent(id, WorkflowExecution_Phase.RUNNING, BASE_MS)];
        const result = await store.commit({
          execution: {
            record: {
              execution: withPhase(record.execution, WorkflowExecution_Phase.RUNNING),
              state: new Uint8Array([1]),
            },
            expectedRevision: 1,
          },
          nodeExecutions: [{ record: { nodeExecution: n0, parentNodeId: '' }, expectedRevision: 0 }],
          taskExecutions: [{ record: { taskExecution: t0 }, expectedRevision: 0 }],
          events,
        });
        return { id, result, events };
      }

      it('writes the execution, node and task executions and events together, incrementing revisions', async () => {
        const { id, result, events } = await seeded();
        expect(result.execution?.revision).toBe(2);
        expect(result.nodeExecutions.map((r) => r.revision)).toEqual([1]);
        expect(result.taskExecutions.map((r) => r.revision)).toEqual([1]);

        const execution = await store.getExecution(id);
        expect(execution?.revision).toBe(2);
        expect(execution?.execution.closure?.phase).toBe(WorkflowExecution_Phase.RUNNING);
        expect(byteList(execution?.state)).toEqual([1]);
        const node = await store.getNodeExecution(nodeExecutionId(id, 'n0'));
        expect(node?.revision).toBe(1);
        expect(node?.parentNodeId).toBe('');
        expect(equals(NodeExecutionSchema, node!.nodeExecution, result.nodeExecutions[0]!.nodeExecution)).toBe(true);
        const task = await store.getTaskExecution(makeTaskExecutionId(id, 'n0', 0));
        expect(task?.revision).toBe(1);
        expect(equals(TaskExecutionSchema, task!.taskExecution, result.taskExecutions[0]!.taskExecution)).toBe(true);
        expectEvents((await store.listEvents(id)).items, events);

        // A second transition names the revisions it read.
        const n0 = makeNodeExecution(id, 'n0', { phase: NodeExecution_Phase.SUCCEEDED });
        const next = await store.commit({
          execution: {
            record: { execution: withPhase(execution!.execution, WorkflowExecution_Phase.SUCCEEDING) },
            expectedRevision: 2,
          },
          nodeExecutions: [{ record: { nodeExecution: n0, parentNodeId: '' }, expectedRevision: 1 }],
        });
        expect(next.execution?.revision).toBe(3);
        expect(next.nodeExecutions[0]?.revision).toBe(2);
        expect(next.taskExecutions).toEqual([]);
        expect((await store.getNodeExecution(nodeExecutionId(id, 'n0')))?.nodeExecution.closure?.phase).toBe(
          NodeExecution_Phase.SUCCEEDED,
        );
        // The state of a row is replaced with the row: a write without state clears it.
        expect((await store.getExecution(id))?.state).toBeUndefined();
      });

      it.each(['execution', 'node execution', 'task execution', 'new node execution'] as const)(
        'writes nothing at all, events included, when the %s row is CONFLICT',
        async (stale) => {
          const { id, events } = await seeded();
          const before = await store.getExecution(id);
          const newNode = makeNodeExecution(id, 'n1');
          if (stale === 'new node execution') {
            // n1 exists already: a second creation (expectedRevision 0) must fail.
            await store.commit({
              nodeExecutions: [{ record: { nodeExecution: newNode, parentNodeId: '' }, expectedRevision: 0 }],
            });
          }
          const error = await expectCode(
            store.commit({
              execution: {
                record: {
                  execution: withPhase(before!.execution, WorkflowExecution_Phase.FAILED),
                  state: new Uint8Array([9]),
                },
                expectedRevision: stale === 'execution' ? 1 : 2,
              },
              nodeExecutions: [
                {
                  record: {
                    nodeExecution: makeNodeExecution(id, 'n0', { phase: NodeExecution_Phase.FAILED }),
                    parentNodeId: '',
                  },
                  expectedRevision: stale === 'node execution' ? 5 : 1,
                },
                { record: { nodeExecution: newNode, parentNodeId: '' }, expectedRevision: 0 },
                { record: { nodeExecution: makeNodeExecution(id, 'n2'), parentNodeId: '' }, expectedRevision: 0 },
              ],
              taskExecutions: [
                {
                  record: { taskExecution: makeTaskExecution(id, 'n0', 0, TaskExecution_Phase.FAILED) },
                  expectedRevision: stale === 'task execution' ? 0 : 1,
                },
                { record: { taskExecution: makeTaskExecution(id, 'n0', 1) }, expectedRevision: 0 },
              ],
              events: [
                workflowEvent(id, WorkflowExecution_Phase.FAILED, BASE_MS + SECOND),
                nodeEvent(nodeExecutionId(id, 'n2'), NodeExecution_Phase.QUEUED, BASE_MS),
              ],
            }),
            'CONFLICT',
          );
          expect(error.message.length).toBeGreaterThan(0);

          const after = await store.getExecution(id);
          expect(after?.revision).toBe(2);
          expect(after?.execution.closure?.phase).toBe(WorkflowExecution_Phase.RUNNING);
          expect(byteList(after?.state)).toEqual([1]);
          const n0 = await store.getNodeExecution(nodeExecutionId(id, 'n0'));
          expect(n0?.revision).toBe(1);
          expect(n0?.nodeExecution.closure?.phase).toBe(NodeExecution_Phase.RUNNING);
          expect(await store.getNodeExecution(nodeExecutionId(id, 'n2'))).toBeUndefined();
          if (stale !== 'new node execution')
            expect(await store.getNodeExecution(nodeExecutionId(id, 'n1'))).toBeUndefined();
          const t0 = await store.getTaskExecution(makeTaskExecutionId(id, 'n0', 0));
          expect(t0?.revision).toBe(1);
          expect(t0?.taskExecution.closure?.phase).toBe(TaskExecution_Phase.RUNNING);
          expect(await store.getTaskExecution(makeTaskExecutionId(id, 'n0', 1))).toBeUndefined();
          expectEvents((await store.listEvents(id)).items, events);
        },
      );

      it('treats expectedRevision 0 as "must not exist" and any other revision of a missing row as CONFLICT', async () => {
        const id = execId(unique('proj'), DOMAIN, unique('exec'));
        // A commit may create the execution row itself.
        const created = await store.commit({
          execution: { record: { execution: makeExecution(id) }, expectedRevision: 0 },
        });
        expect(created.execution?.revision).toBe(1);
        await expectCode(
          store.commit({ execution: { record: { execution: makeExecution(id) }, expectedRevision: 0 } }),
          'CONFLICT',
        );

        const node = { nodeExecution: makeNodeExecution(id, 'n0'), parentNodeId: '' };
        await expectCode(store.commit({ nodeExecutions: [{ record: node, expectedRevision: 1 }] }), 'CONFLICT');
        expect(
          (await store.commit({ nodeExecutions: [{ record: node, expectedRevision: 0 }] })).nodeExecutions[0]?.revision,
        ).toBe(1);
        await expectCode(store.commit({ nodeExecutions: [{ record: node, expectedRevision: 0 }] }), 'CONFLICT');

        const missing = execId(unique('proj'), DOMAIN, 'missing');
        await expectCode(
          store.commit({ execution: { record: { execution: makeExecution(missing) }, expectedRevision: 3 } }),
          'CONFLICT',
        );
        expect(await store.getExecution(missing)).toBeUndefined();
      });

      it('rejects rows of an execution that does not exist with NOT_FOUND, writing nothing', async () => {
        const missing = execId(unique('proj'), DOMAIN, 'missing');
        await expectCode(
          store.commit({
            nodeExecutions: [
              { record: { nodeExecution: makeNodeExecution(missing, 'n0'), parentNodeId: '' }, expectedRevision: 0 },
            ],
          }),
          'NOT_FOUND',
        );
        expect(await store.getNodeExecution(nodeExecutionId(missing, 'n0'))).toBeUndefined();
      });

      it('reads back the opaque state of a node execution byte for byte', async () => {
        const { id } = await seeded();
        const state = allByteValues();
        await store.commit({
          nodeExecutions: [
            { record: { nodeExecution: makeNodeExecution(id, 'n9'), parentNodeId: '', state }, expectedRevision: 0 },
          ],
        });
        expect(byteList((await store.getNodeExecution(nodeExecutionId(id, 'n9')))?.state)).toEqual(byteList(state));
        const listed = await store.listNodeExecutions(id, { filters: filters('eq(node_id,n9)') });
        expect(byteList(listed.items[0]?.state)).toEqual(byteList(state));
      });

      it('skips events identical to recorded ones (same entity, phase and occurred_at)', async () => {
        const { id, events } = await seeded();
        const node = nodeExecutionId(id, 'n0');
        const attempt = makeTaskExecutionId(id, 'n0', 0);
        const batch = [
          nodeEvent(node, NodeExecution_Phase.RUNNING, BASE_MS + SECOND),
          taskEvent(attempt, TaskExecution_Phase.RUNNING, BASE_MS + SECOND),
        ];
        await store.commit({ events: batch });
        // A retried commit: the same events again, plus the workflow event of the seed.
        await store.commit({ events: [...events, ...batch] });
        expectEvents((await store.listEvents(id)).items, [...events, ...batch]);

        // Another phase at the same time, or the same phase at another time, is a new event.
        const more = [
          nodeEvent(node, NodeExecution_Phase.SUCCEEDED, BASE_MS + SECOND),
          nodeEvent(node, NodeExecution_Phase.RUNNING, BASE_MS + 2 * SECOND),
          taskEvent(makeTaskExecutionId(id, 'n0', 1), TaskExecution_Phase.RUNNING, BASE_MS + SECOND),
          workflowEvent(id, WorkflowExecution_Phase.SUCCEEDED, BASE_MS),
        ];
        await store.commit({ events: more });
        expectEvents((await store.listEvents(id)).items, [...events, ...batch, ...more]);
      });

      it('lists events in commit order, page by page', async () => {
        const { id, events } = await seeded();
        const node = nodeExecutionId(id, 'n0');
        const later = [
          nodeEvent(node, NodeExecution_Phase.SUCCEEDED, BASE_MS + 5 * SECOND),
          // Earlier occurred_at, later commit: the log keeps commit order.
          taskEvent(makeTaskExecutionId(id, 'n0', 0), TaskExecution_Phase.SUCCEEDED, BASE_MS + 4 * SECOND),
        ];
        await store.commit({ events: later });
        const last = [workflowEvent(id, WorkflowExecution_Phase.SUCCEEDED, BASE_MS + 3 * SECOND)];
        await store.commit({ events: last });
        const { items } = await collectPages(
          (token) => store.listEvents(id, { limit: 2, ...(token === undefined ? {} : { token }) }),
          2,
        );
        expectEvents(items, [...events, ...later, ...last]);
        // Events of another execution are not in this log.
        const other = await seeded();
        expect((await store.listEvents(other.id)).items).toHaveLength(1);
        expect((await store.listEvents(id)).items).toHaveLength(4);
      });

      it('gets node and task executions by id, and resolves undefined for unknown ones', async () => {
        const { id, result } = await seeded();
        const node = await store.getNodeExecution(nodeExecutionId(id, 'n0'));
        expect(equals(NodeExecutionSchema, node!.nodeExecution, result.nodeExecutions[0]!.nodeExecution)).toBe(true);
        const task = await store.getTaskExecution(makeTaskExecutionId(id, 'n0', 0));
        expect(equals(TaskExecutionSchema, task!.taskExecution, result.taskExecutions[0]!.taskExecution)).toBe(true);
        expect(await store.getNodeExecution(nodeExecutionId(id, 'nope'))).toBeUndefined();
        expect(
          await store.getNodeExecution(nodeExecutionId(execId(unique('proj'), DOMAIN, 'x'), 'n0')),
        ).toBeUndefined();
        expect(await store.getTaskExecution(makeTaskExecutionId(id, 'n0', 1))).toBeUndefined();
        expect(await store.getTaskExecution(makeTaskExecutionId(id, 'nope', 0))).toBeUndefined();
      });

      it('lists node executions oldest first: all, top level (parentNodeId ""), or the children of a node', async () => {
        const { id } = await seeded();
        const at = (s: number) => BASE_MS + s * SECOND;
        const rows: [string, string][] = [
          ['n1', ''],
          ['n1-0', 'n1'],
          ['n1-1', 'n1'],
          ['n1-1-0', 'n1-1'],
          ['n2', ''],
        ];
        for (const [i, [nodeId, parentNodeId]] of rows.entries()) {
          await store.commit({
            nodeExecutions: [
              {
                record: { nodeExecution: makeNodeExecution(id, nodeId, { createdAtMs: at(i + 1) }), parentNodeId },
                expectedRevision: 0,
              },
            ],
          });
        }
        expect(nodeIds((await store.listNodeExecutions(id)).items)).toEqual([
          'n0',
          'n1',
          'n1-0',
          'n1-1',
          'n1-1-0',
          'n2',
        ]);
        expect(nodeIds((await store.listNodeExecutions(id, { parentNodeId: '' })).items)).toEqual(['n0', 'n1', 'n2']);
        expect(nodeIds((await store.listNodeExecutions(id, { parentNodeId: 'n1' })).items)).toEqual(['n1-0', 'n1-1']);
        expect(nodeIds((await store.listNodeExecutions(id, { parentNodeId: 'n1-1' })).items)).toEqual(['n1-1-0']);
        expect((await store.listNodeExecutions(id, { parentNodeId: 'n2' })).items).toEqual([]);
        const children = await store.listNodeExecutions(id, { parentNodeId: 'n1' });
        expect(children.items.map((r) => r.parentNodeId)).toEqual(['n1', 'n1']);
        const { items } = await collectPages(
          (token) => store.listNodeExecutions(id, { limit: 4, ...(token === undefined ? {} : { token }) }),
          4,
        );
        expect(nodeIds(items)).toEqual(['n0', 'n1', 'n1-0', 'n1-1', 'n1-1-0', 'n2']);
      });

      it('filters node executions on phase, node_id, created_at and duration', async () => {
        const { id } = await seeded();
        const at = (s: number) => BASE_MS + s * SECOND;
        await store.commit({
          nodeExecutions: [
            {
              record: {
                nodeExecution: makeNodeExecution(id, 'a', {
                  phase: NodeExecution_Phase.SUCCEEDED,
                  createdAtMs: at(1),
                  durationSeconds: 30,
                }),
                parentNodeId: '',
              },
              expectedRevision: 0,
            },
            {
              record: {
                nodeExecution: makeNodeExecution(id, 'b', {
                  phase: NodeExecution_Phase.FAILED,
                  createdAtMs: at(2),
                  durationSeconds: 5,
                }),
                parentNodeId: '',
              },
              expectedRevision: 0,
            },
            {
              record: {
                nodeExecution: makeNodeExecution(id, 'c', {
                  phase: NodeExecution_Phase.SUCCEEDED,
                  createdAtMs: at(3),
                  durationSeconds: 60,
                }),
                parentNodeId: 'a',
              },
              expectedRevision: 0,
            },
          ],
        });
        const list = async (text: string, parentNodeId?: string) =>
          nodeIds(
            (
              await store.listNodeExecutions(id, {
                filters: filters(text),
                ...(parentNodeId === undefined ? {} : { parentNodeId }),
              })
            ).items,
          );
        expect(await list('eq(phase,SUCCEEDED)')).toEqual(['a', 'c']);
        expect(await list('eq(phase,SUCCEEDED)', '')).toEqual(['a']);
        expect(await list('value_in(phase,FAILED;RUNNING)')).toEqual(['n0', 'b']);
        expect(await list('eq(node_id,b)')).toEqual(['b']);
        expect(await list(`gte(created_at,${rfc3339(at(2))})`)).toEqual(['b', 'c']);
        expect(await list('gt(duration,10)')).toEqual(['a', 'c']);
        await expectCode(store.listNodeExecutions(id, { filters: filters('eq(colour,blue)') }), 'INVALID_ARGUMENT');
      });

      it('lists the task executions of a node by retry attempt, filtered on phase and retry_attempt', async () => {
        const { id } = await seeded();
        // Attempt 0 exists (RUNNING); attempts 2 and 1 are written out of order.
        await store.commit({
          taskExecutions: [
            {
              record: { taskExecution: makeTaskExecution(id, 'n0', 2, TaskExecution_Phase.RUNNING) },
              expectedRevision: 0,
            },
            {
              record: { taskExecution: makeTaskExecution(id, 'n0', 1, TaskExecution_Phase.FAILED) },
              expectedRevision: 0,
            },
            { record: { taskExecution: makeTaskExecution(id, 'other', 0) }, expectedRevision: 0 },
          ],
        });
        const attempts = async (query?: ListQuery) =>
          (await store.listTaskExecutions(nodeExecutionId(id, 'n0'), query)).items.map(
            (r: TaskExecutionRecord) => r.taskExecution.id?.retryAttempt,
          );
        expect(await attempts()).toEqual([0, 1, 2]);
        expect(await attempts({ filters: filters('eq(phase,RUNNING)') })).toEqual([0, 2]);
        expect(await attempts({ filters: filters('gte(retry_attempt,1)') })).toEqual([1, 2]);
        expect(await attempts({ filters: filters('eq(retry_attempt,1)') })).toEqual([1]);
        const { items } = await collectPages(
          (token) =>
            store.listTaskExecutions(nodeExecutionId(id, 'n0'), {
              limit: 1,
              ...(token === undefined ? {} : { token }),
            }),
          1,
        );
        expect(items.map((r) => r.taskExecution.id?.retryAttempt)).toEqual([0, 1, 2]);
        expect((await store.listTaskExecutions(nodeExecutionId(id, 'missing'))).items).toEqual([]);
        await expectCode(
          store.listTaskExecutions(nodeExecutionId(id, 'n0'), { filters: filters('eq(colour,blue)') }),
          'INVALID_ARGUMENT',
        );
      });
    });

    describe('records no protobuf reader could read back', () => {
      /** A JSON object nested `levels` objects deep, built without recursion. */
      function deepObject(levels: number, leaf: JsonValue = 1): JsonObject {
        let value: JsonObject = { leaf };
        for (let i = 1; i < levels; i++) value = { a: value };
        return value;
      }

      /** Outputs holding one struct: `execution → closure → outputs → values → entry → literal → scalar → struct`. */
      function structOutputs(struct: JsonObject): LiteralMap {
        const literal: Literal = {
          $typeName: 'flyteidl.core.Literal',
          value: {
            case: 'scalar',
            value: { $typeName: 'flyteidl.core.Scalar', value: { case: 'generic', value: struct } },
          },
          hash: '',
          metadata: {},
        };
        return { $typeName: 'flyteidl.core.LiteralMap', literals: { o: literal } };
      }

      /** A copy of the execution whose closure holds `outputs` (the records of a store are never mutated). */
      function withOutputs(execution: Execution, outputs: LiteralMap): Execution {
        const closure: ExecutionClosure = {
          ...(execution.closure ?? create(ExecutionClosureSchema)),
          outputResult: {
            case: 'outputs',
            value: create(LiteralMapBlobSchema, { data: { case: 'values', value: outputs } }),
          },
        };
        return { ...execution, closure };
      }

      // Far deeper than the 100 messages protobuf readers decode (protobuf-es, Python, C++).
      const TOO_DEEP = deepObject(200);

      it('refuses such an execution with NESTING_TOO_DEEP and keeps nothing of it', async () => {
        const id = execId(unique('proj'), DOMAIN, unique('exec'));
        const error = await expectCode(
          store.createExecution({ execution: withOutputs(makeExecution(id), structOutputs(TOO_DEEP)) }),
          'NESTING_TOO_DEEP',
        );
        expect(error.id).toContain(id.name);
        expect(await store.getExecution(id)).toBeUndefined();
        expect(
          executionNames((await store.listExecutions({ filters: filters(`eq(project,${id.project})`) })).items),
        ).toEqual([]);
      });

      it('refuses a commit holding such a row or event with NESTING_TOO_DEEP, writing nothing of it', async () => {
        const record = await newExecution({ phase: WorkflowExecution_Phase.RUNNING });
        const id = idOf(record);
        const deepNode = makeNodeExecution(id, 'n0', { phase: NodeExecution_Phase.SUCCEEDED });
        deepNode.closure!.outputResult = { case: 'outputData', value: structOutputs(TOO_DEEP) };
        const deepEvent = nodeEvent(nodeExecutionId(id, 'n1'), NodeExecution_Phase.SUCCEEDED, BASE_MS);
        if (deepEvent.kind === 'node') {
          deepEvent.event.outputResult = { case: 'outputData', value: structOutputs(TOO_DEEP) };
        }
        const transitions = [
          {
            execution: {
              record: { execution: withOutputs(record.execution, structOutputs(TOO_DEEP)) },
              expectedRevision: 1,
            },
          },
          { nodeExecutions: [{ record: { nodeExecution: deepNode, parentNodeId: '' }, expectedRevision: 0 }] },
          {
            execution: { record: { execution: record.execution }, expectedRevision: 1 },
            events: [workflowEvent(id, WorkflowExecution_Phase.RUNNING, BASE_MS), deepEvent],
          },
        ];
        for (const transition of transitions) await expectCode(store.commit(transition), 'NESTING_TOO_DEEP');
        expect((await store.getExecution(id))?.revision).toBe(1);
        expect(await store.getNodeExecution(nodeExecutionId(id, 'n0'))).toBeUndefined();
        expect((await store.listNodeExecutions(id)).items).toEqual([]);
        expect((await store.listEvents(id)).items).toEqual([]);
      });

      it.each(REGISTERED_KINDS.map((k) => [k.kind, k] as const))(
        'refuses such a %s with NESTING_TOO_DEEP and keeps nothing of it',
        async (_kind, kind) => {
          const id = { project: unique('proj'), domain: DOMAIN, name: unique('deep'), version: 'v1' };
          const entity = kind.make(id);
          // Fixed inputs of a launch plan, the custom configuration of a (compiled) task: deep in any case.
          const template = { custom: TOO_DEEP };
          const deep: Task | Workflow | LaunchPlan =
            kind.kind === 'launch plan'
              ? create(LaunchPlanSchema, { id: entity.id, spec: { fixedInputs: structOutputs(TOO_DEEP) } })
              : kind.kind === 'task'
                ? create(TaskSchema, { id: entity.id, closure: { compiledTask: { template } } })
                : create(WorkflowSchema, { id: entity.id, closure: { compiledWorkflow: { tasks: [{ template }] } } });
          await expectCode(kind.register(store, deep, 'd1'), 'NESTING_TOO_DEEP');
          expect(await kind.get(store, { ...entity.id!, version: 'v1' })).toBeUndefined();
          expect(names((await kind.list(store, { filters: filters(`eq(project,${id.project})`) })).items)).toEqual([]);
        },
      );

      it(`stores and reads back an execution exactly ${MAX_MESSAGE_DEPTH} messages deep, and refuses one more`, async () => {
        // Execution, closure, LiteralMapBlob, LiteralMap, entry, Literal, Scalar: 7; then a Struct, its entry and
        // a Value per object level: 31 levels reach 100.
        const deepest = withOutputs(
          makeExecution(execId(unique('proj'), DOMAIN, unique('exec'))),
          structOutputs(deepObject(31)),
        );
        expect(messageDepth(ExecutionSchema, deepest)).toBe(MAX_MESSAGE_DEPTH);
        const created = await store.createExecution({ execution: deepest });
        const read = await store.getExecution(idOf(created));
        expect(equals(ExecutionSchema, read!.execution, deepest)).toBe(true);
        // The innermost value holding an empty list: one ListValue more.
        const beyond = withOutputs(
          makeExecution(execId(unique('proj'), DOMAIN, unique('exec'))),
          structOutputs(deepObject(31, [])),
        );
        expect(messageDepth(ExecutionSchema, beyond)).toBe(MAX_MESSAGE_DEPTH + 1);
        await expectCode(store.createExecution({ execution: beyond }), 'NESTING_TOO_DEEP');
        expect(await store.getExecution(beyond.id!)).toBeUndefined();
      });
    });

    describe('leases', () => {
      const TTL = 10 * SECOND;
      const FAR = BASE_MS + 50 * 365 * 24 * 3600 * SECOND;

      /**
       * Takes every execution claimable now or later (other tests' executions share the store) for a drain owner,
       * with a lease that outlives every time these tests use, so each test sees only its own executions.
       */
      async function drain(): Promise<void> {
        for (;;) {
          const leases = await store.acquireLeases(unique('drain'), {
            limit: 1000,
            ttlMs: 100 * 365 * 24 * 3600 * SECOND,
            now: new Date(FAR),
          });
          if (leases.length === 0) return;
        }
      }

      function keyOf(lease: Lease): string {
        const id = lease.execution;
        return `${id.project}/${id.domain}/${id.name}`;
      }

      async function running(count: number): Promise<WorkflowExecutionIdentifier[]> {
        const ids: WorkflowExecutionIdentifier[] = [];
        for (let i = 0; i < count; i++) ids.push(idOf(await newExecution({ phase: WorkflowExecution_Phase.RUNNING })));
        return ids;
      }

      it('claims up to limit non-terminal, unleased executions, never terminal ones, each once', async () => {
        await drain();
        const ids = await running(3);
        await newExecution({ phase: WorkflowExecution_Phase.SUCCEEDED });
        await newExecution({ phase: WorkflowExecution_Phase.ABORTED });
        const now = new Date(BASE_MS);
        const a = await store.acquireLeases('owner-a', { limit: 2, ttlMs: TTL, now });
        expect(a).toHaveLength(2);
        for (const lease of a) {
          expect(lease.owner).toBe('owner-a');
          expect(lease.expiresAt.getTime()).toBe(BASE_MS + TTL);
        }
        const b = await store.acquireLeases('owner-b', { limit: 10, ttlMs: TTL, now });
        expect(b).toHaveLength(1);
        expect(await store.acquireLeases('owner-c', { limit: 10, ttlMs: TTL, now })).toEqual([]);
        const claimed = [...a, ...b].map(keyOf).sort();
        expect(claimed).toEqual(ids.map((id) => `${id.project}/${id.domain}/${id.name}`).sort());
      });

      it('never gives one execution to two owners, even when they ask at once', async () => {
        await drain();
        const ids = await running(6);
        const now = new Date(BASE_MS);
        const batches = await Promise.all(
          ['w1', 'w2', 'w3', 'w4'].map((owner) => store.acquireLeases(owner, { limit: 3, ttlMs: TTL, now })),
        );
        const rest = await store.acquireLeases('w5', { limit: 10, ttlMs: TTL, now });
        const claimed = [...batches.flat(), ...rest].map(keyOf);
        expect(new Set(claimed).size, 'no execution is claimed twice').toBe(claimed.length);
        expect(claimed.sort()).toEqual(ids.map((id) => `${id.project}/${id.domain}/${id.name}`).sort());
      });

      it('lets another owner claim an expired lease with a newer epoch, and fences the old holder out of commit', async () => {
        await drain();
        const [id] = await running(1);
        const [a] = await store.acquireLeases('owner-a', { limit: 1, ttlMs: TTL, now: new Date(BASE_MS) });
        expect(a).toBeDefined();
        expect(
          await store.acquireLeases('owner-b', { limit: 1, ttlMs: TTL, now: new Date(BASE_MS + TTL - 1) }),
        ).toEqual([]);
        // The holder may write while its lease is current.
        const node = { nodeExecution: makeNodeExecution(id!, 'n0'), parentNodeId: '' };
        await store.commit({
          nodeExecutions: [{ record: node, expectedRevision: 0 }],
          lease: { lease: a!, now: new Date(BASE_MS + 1) },
        });

        const [b] = await store.acquireLeases('owner-b', { limit: 1, ttlMs: TTL, now: new Date(BASE_MS + TTL) });
        expect(b?.owner).toBe('owner-b');
        expect(b!.epoch).toBeGreaterThan(a!.epoch);
        expect(keyOf(b!)).toBe(keyOf(a!));

        const stale = {
          nodeExecution: makeNodeExecution(id!, 'n0', { phase: NodeExecution_Phase.FAILED }),
          parentNodeId: '',
        };
        await expectCode(
          store.commit({
            nodeExecutions: [{ record: stale, expectedRevision: 1 }],
            events: [workflowEvent(id!, WorkflowExecution_Phase.FAILED, BASE_MS)],
            lease: { lease: a!, now: new Date(BASE_MS + TTL + 1) },
          }),
          'CONFLICT',
        );
        expect((await store.getNodeExecution(nodeExecutionId(id!, 'n0')))?.revision).toBe(1);
        expect((await store.listEvents(id!)).items).toEqual([]);
        expect(await store.renewLeases([a!], { ttlMs: TTL, now: new Date(BASE_MS + TTL + 1) })).toEqual([]);

        const written = await store.commit({
          nodeExecutions: [{ record: stale, expectedRevision: 1 }],
          lease: { lease: b!, now: new Date(BASE_MS + TTL + 1) },
        });
        expect(written.nodeExecutions[0]?.revision).toBe(2);
      });

      it('refuses a commit under a lease that expired, even when nobody took it over', async () => {
        await drain();
        const [id] = await running(1);
        const [a] = await store.acquireLeases('owner-a', { limit: 1, ttlMs: TTL, now: new Date(BASE_MS) });
        const node = { nodeExecution: makeNodeExecution(id!, 'n0'), parentNodeId: '' };
        await expectCode(
          store.commit({
            nodeExecutions: [{ record: node, expectedRevision: 0 }],
            lease: { lease: a!, now: new Date(BASE_MS + TTL) },
          }),
          'CONFLICT',
        );
        expect(await store.getNodeExecution(nodeExecutionId(id!, 'n0'))).toBeUndefined();
      });

      it('renews held leases until now + ttl and resolves to those it extended', async () => {
        await drain();
        await running(2);
        const [a1, a2] = await store.acquireLeases('owner-a', { limit: 2, ttlMs: TTL, now: new Date(BASE_MS) });
        // a2 expires; a1 is renewed first.
        const renewed = await store.renewLeases([a1!], { ttlMs: TTL, now: new Date(BASE_MS + TTL / 2) });
        expect(renewed).toHaveLength(1);
        expect(renewed[0]!.expiresAt.getTime()).toBe(BASE_MS + TTL / 2 + TTL);
        expect(renewed[0]!.owner).toBe('owner-a');
        expect(keyOf(renewed[0]!)).toBe(keyOf(a1!));

        const takeover = await store.acquireLeases('owner-b', { limit: 10, ttlMs: TTL, now: new Date(BASE_MS + TTL) });
        expect(takeover.map(keyOf)).toEqual([keyOf(a2!)]);
        const both = await store.renewLeases([renewed[0]!, a2!], { ttlMs: TTL, now: new Date(BASE_MS + TTL + 1) });
        expect(both.map(keyOf)).toEqual([keyOf(a1!)]);
        // The renewed lease still fences: committing under it works.
        const node = { nodeExecution: makeNodeExecution(a1!.execution, 'n0'), parentNodeId: '' };
        await store.commit({
          nodeExecutions: [{ record: node, expectedRevision: 0 }],
          lease: { lease: both[0]!, now: new Date(BASE_MS + TTL + 2) },
        });
      });

      it('frees a released execution at once; releasing a lease that is no longer current changes nothing', async () => {
        await drain();
        await running(1);
        const now = new Date(BASE_MS);
        const [a] = await store.acquireLeases('owner-a', { limit: 1, ttlMs: TTL, now });
        await store.releaseLease(a!);
        const [b] = await store.acquireLeases('owner-b', { limit: 1, ttlMs: TTL, now });
        expect(keyOf(b!)).toBe(keyOf(a!));
        await store.releaseLease(a!);
        expect(await store.acquireLeases('owner-c', { limit: 1, ttlMs: TTL, now })).toEqual([]);
        expect(await store.renewLeases([b!], { ttlMs: TTL, now })).toHaveLength(1);
      });

      it('does not claim an execution that became terminal', async () => {
        await drain();
        const [id] = await running(1);
        const now = new Date(BASE_MS);
        const [a] = await store.acquireLeases('owner-a', { limit: 1, ttlMs: TTL, now });
        const current = await store.getExecution(id!);
        await store.commit({
          execution: {
            record: { execution: withPhase(current!.execution, WorkflowExecution_Phase.SUCCEEDED) },
            expectedRevision: current!.revision,
          },
          lease: { lease: a!, now },
        });
        await store.releaseLease(a!);
        expect(await store.acquireLeases('owner-b', { limit: 10, ttlMs: TTL, now })).toEqual([]);
      });
    });

    describe('execution notices (optional capability)', () => notificationsContract(() => store));

    describe('schedule bookkeeping', () => {
      it('records a fire only over the last fire it expects, so one of two racing processes wins', async () => {
        const key = `${unique('proj')}/${DOMAIN}/nightly`;
        expect(await store.getScheduleState(key)).toBeUndefined();
        const t1 = new Date(BASE_MS);
        const t2 = new Date(BASE_MS + 3600 * SECOND);
        const t3 = new Date(BASE_MS + 7200 * SECOND);

        expect(await store.recordScheduleFire(key, t1, undefined)).toBe(true);
        expect((await store.getScheduleState(key))?.lastFireTime?.getTime()).toBe(t1.getTime());
        expect((await store.getScheduleState(key))?.key).toBe(key);
        expect(await store.recordScheduleFire(key, t2, undefined)).toBe(false);
        expect(await store.recordScheduleFire(key, t2, t3)).toBe(false);

        const race = await Promise.all([store.recordScheduleFire(key, t2, t1), store.recordScheduleFire(key, t2, t1)]);
        expect(race.filter(Boolean)).toHaveLength(1);
        expect((await store.getScheduleState(key))?.lastFireTime?.getTime()).toBe(t2.getTime());
        expect(await store.recordScheduleFire(key, t3, t2)).toBe(true);
        expect((await store.getScheduleState(key))?.lastFireTime?.getTime()).toBe(t3.getTime());
      });

      it('records the first fire for exactly one of several processes racing to', async () => {
        const key = `${unique('proj')}/${DOMAIN}/first`;
        const times = Array.from({ length: 8 }, (_, i) => new Date(BASE_MS + i * SECOND));
        const results = await Promise.all(times.map((t) => store.recordScheduleFire(key, t, undefined)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = times[results.indexOf(true)]!;
        expect((await store.getScheduleState(key))?.lastFireTime?.getTime()).toBe(winner.getTime());
      });

      it('lets processes advancing one schedule together record each fire exactly once, none skipped', async () => {
        const key = `${unique('proj')}/${DOMAIN}/shared`;
        const steps = 40;
        const end = BASE_MS + steps * 60 * SECOND;
        const wins = new Map<number, number>();
        expect(await store.recordScheduleFire(key, new Date(BASE_MS), undefined)).toBe(true);
        // Each process reads the last fire and records the next one over it, as a scheduler does.
        const process = async () => {
          for (;;) {
            const last = (await store.getScheduleState(key))?.lastFireTime;
            if (last === undefined || last.getTime() >= end) return;
            const next = new Date(last.getTime() + 60 * SECOND);
            if (await store.recordScheduleFire(key, next, last))
              wins.set(next.getTime(), (wins.get(next.getTime()) ?? 0) + 1);
          }
        };
        await Promise.all(Array.from({ length: 4 }, process));
        expect([...wins.keys()].sort((a, b) => a - b)).toEqual(
          Array.from({ length: steps }, (_, i) => BASE_MS + (i + 1) * 60 * SECOND),
        );
        expect([...wins.values()].every((n) => n === 1)).toBe(true);
        expect((await store.getScheduleState(key))?.lastFireTime?.getTime()).toBe(end);
      });

      it('keeps schedules apart by key', async () => {
        const a = `${unique('proj')}/${DOMAIN}/a`;
        const b = `${unique('proj')}/${DOMAIN}/b`;
        expect(await store.recordScheduleFire(a, new Date(BASE_MS), undefined)).toBe(true);
        expect(await store.getScheduleState(b)).toBeUndefined();
        expect(await store.recordScheduleFire(b, new Date(BASE_MS), undefined)).toBe(true);
      });
    });

    describe('cancellation', () => {
      it('rejects with the reason of an already-aborted signal, and writes nothing', async () => {
        const { signal, reason } = abortedSignal();
        const project = unique('proj');
        const id = execId(project, DOMAIN, 'aborted');
        await expectAbortReason(store.createExecution({ execution: makeExecution(id) }, { signal }), reason);
        expect(await store.getExecution(id)).toBeUndefined();
        await expectAbortReason(
          store.commit({ execution: { record: { execution: makeExecution(id) }, expectedRevision: 0 } }, { signal }),
          reason,
        );
        expect(await store.getExecution(id)).toBeUndefined();
        await expectAbortReason(store.getExecution(id, { signal }), reason);
        await expectAbortReason(store.listExecutions({}, { signal }), reason);
        await expectAbortReason(
          store.createTask(
            { entity: makeTask({ project, domain: DOMAIN, name: 't', version: 'v1' }), digest: 'd' },
            { signal },
          ),
          reason,
        );
        expect(
          await store.getTask(makeTask({ project, domain: DOMAIN, name: 't', version: 'v1' }).id!),
        ).toBeUndefined();
        const batch = {
          tasks: [{ entity: makeTask({ project, domain: DOMAIN, name: 'b', version: 'v1' }), digest: 'd' }],
        };
        await expectAbortReason(store.createEntities(batch, { signal }), reason);
        expect(await store.getTask(batch.tasks[0]!.entity.id!)).toBeUndefined();
        await expectAbortReason(
          store.acquireLeases('x', { limit: 1, ttlMs: 1, now: new Date(BASE_MS) }, { signal }),
          reason,
        );
      });
    });
  });
}
