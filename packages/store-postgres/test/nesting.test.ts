// Deep nesting never poisons the Postgres store: values, types and branches nesting up to MAX_NESTING_DEPTH run and
// read back through every list and get, also after a restart; one level more is refused where it enters (task
// outputs fail the node, inputs and registrations are refused) with NESTING_TOO_DEEP; and a record an earlier
// version wrote too deep fails only the call reading it (UNREADABLE_RECORD), never a whole list, nor engine start.
import { create, toBinary, type JsonObject } from '@bufbuild/protobuf';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conditional,
  executionId,
  fromLiteralMap,
  idl,
  launchPlan,
  MAX_MESSAGE_DEPTH,
  MAX_NESTING_DEPTH,
  messageDepth,
  serialize,
  t,
  task,
  workflow,
  type Page,
  type SerializedEntities,
} from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import { createPgliteStore, createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase, DATABASE_URL } from './support.js';

const N = MAX_NESTING_DEPTH;
const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;
const WP = idl.core.WorkflowExecution_Phase;
const NP = idl.core.NodeExecution_Phase;

/** A JSON object nested `levels` objects deep, built without recursion. */
function nested(levels: number): JsonObject {
  let value: JsonObject = { leaf: levels };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const deepStruct = task(
  { name: 'nest.deep', inputs: { n: t.int() }, outputs: { s: t.struct() }, retries: 2 },
  ({ n }) => ({ s: nested(n) }),
);
const structs = workflow({ name: 'nest.structs', inputs: { n: t.int() }, outputs: { s: t.struct() } }, ({ n }) => ({
  s: deepStruct({ n }).s,
}));
const cachedStruct = task(
  { name: 'nest.cached', inputs: { n: t.int() }, outputs: { s: t.struct() }, cache: { version: '1' } },
  ({ n }) => ({ s: nested(n) }),
);
const cached = workflow({ name: 'nest.cached-wf', inputs: { n: t.int() }, outputs: { s: t.struct() } }, ({ n }) => ({
  s: cachedStruct({ n }).s,
}));
const echo = task({ name: 'nest.echo', inputs: { s: t.struct() }, outputs: { o: t.int() } }, () => ({ o: 1 }));
const inputs = workflow({ name: 'nest.inputs', inputs: { s: t.struct() }, outputs: { o: t.int() } }, ({ s }) => ({
  o: echo({ s }).o,
}));
const withDefault = launchPlan(inputs, { name: 'nest.inputs-default', defaultInputs: { s: nested(N) } });
const leaf = task({ name: 'nest.leaf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
/** `depth` nested conditionals, each taking its case when x is large enough; the innermost runs `leaf`. */
function branches(name: string, depth: number) {
  return workflow({ name, inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
    const nest = (level: number): ReturnType<typeof leaf> => {
      if (level === depth) return leaf({ x });
      return conditional(`c${level}`)
        .if(x.gt(level))
        .then(() => nest(level + 1))
        .else(() => leaf({ x }));
    };
    return { y: nest(0).y };
  });
}
const deepestBranches = branches('nest.branches', N);
const tasks = [deepStruct, cachedStruct, echo, leaf];

/** `pkg` with its one workflow's top branch wrapped in `levels` more branches (as an older client could send). */
function wrapped(pkg: SerializedEntities, levels: number): SerializedEntities {
  const spec = pkg.workflows[0]!;
  const template = spec.template!;
  const top = template.nodes.find((node) => node.target.case === 'branchNode')!;
  if (top.target.case !== 'branchNode') throw new Error('the workflow has no branch');
  const branch = top.target.value;
  const ifElse = branch.ifElse!;
  let node: idl.core.Node = top;
  for (let i = 0; i < levels; i++) {
    node = {
      ...top,
      id: `w${i}`,
      target: {
        case: 'branchNode',
        value: { ...branch, ifElse: { ...ifElse, case: { ...ifElse.case!, thenNode: node }, other: [] } },
      },
    };
  }
  const outer: idl.core.WorkflowTemplate = {
    ...template,
    nodes: template.nodes.map((n) => (n === top ? node : n)),
    outputs: template.outputs.map((o) => rebound(o, top.id, node.id)),
  };
  return { ...pkg, workflows: [{ ...spec, template: outer }] };
}

/** An output binding of node `from` bound to node `to` instead. */
function rebound(binding: idl.core.Binding, from: string, to: string): idl.core.Binding {
  const data = binding.binding;
  if (data?.value.case !== 'promise' || data.value.value.nodeId !== from) return binding;
  return { ...binding, binding: { ...data, value: { case: 'promise', value: { ...data.value.value, nodeId: to } } } };
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; id?: string | undefined }> {
  try {
    await promise;
    return { code: 'none' };
  } catch (error) {
    const { code, id } = error as { code?: unknown; id?: string };
    return typeof code === 'string' ? { code, id } : { code: `uncoded: ${String(error)}` };
  }
}

function id(name: string): idl.core.WorkflowExecutionIdentifier {
  return executionId({ project: settings.project, domain: settings.domain, name });
}

/** Every item of a list, page after page; fails on a page that reports unreadable records. */
async function readAll<T>(list: (token: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    expect(page.unreadable ?? [], 'unreadable records').toEqual([]);
    items.push(...page.items);
    token = page.nextToken;
  } while (token !== undefined);
  return items;
}

/** A database the tests can close and open again, as a restarted process would. */
interface Database {
  open(): Promise<PostgresBackend>;
  dispose(): Promise<void>;
}

const DATABASES: readonly { readonly name: string; readonly create: () => Promise<Database> }[] = [
  {
    name: 'on PGlite',
    create: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'flyte-ts-nesting-'));
      return {
        open: () => createPgliteStore({ dataDir: join(dir, 'db') }),
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  ...(DATABASE_URL === undefined
    ? []
    : [
        {
          name: 'on a PostgreSQL server',
          create: async (): Promise<Database> => {
            const database = await createServerDatabase('nesting');
            return {
              open: () => createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 }),
              dispose: () => database.drop(),
            };
          },
        },
      ]),
];

for (const { name, create: createDatabase } of DATABASES) {
  describe(`deep nesting ${name}`, () => {
    let database: Database;
    let backend: PostgresBackend;
    let engine: Engine;
    const blob = new MemoryBlobStore();
    const warnings: string[] = [];

    async function start(): Promise<void> {
      backend = await database.open();
      engine = createEngine({
        store: backend.store,
        catalog: backend.catalog,
        blob,
        tasks,
        config: { retryBackoff: { baseMs: 0, maxMs: 0 } },
      });
      engine.on('warning', (message) => warnings.push(message));
      await engine.start();
    }

    async function restart(): Promise<void> {
      await engine.stop();
      await backend.close();
      await start();
    }

    /** Every list and get of the store and the engine reads every record: none is unreadable. */
    async function everythingReads(): Promise<idl.admin.Execution[]> {
      const store = backend.store;
      const executions = await readAll((token) => engine.listExecutions({ limit: 7, token }));
      await readAll((token) => store.listExecutions({ limit: 7, token, includeState: true }));
      const workflows = await readAll((token) => store.listWorkflows({ limit: 7, token }));
      await readAll((token) => store.listTasks({ token }));
      await readAll((token) => store.listLaunchPlans({ token }));
      for (const workflow of workflows) {
        expect(messageDepth(idl.admin.WorkflowSchema, workflow)).toBeLessThanOrEqual(MAX_MESSAGE_DEPTH);
        expect((await store.getWorkflow(workflow.id!))?.id?.name).toBe(workflow.id?.name);
      }
      for (const execution of executions) {
        expect(messageDepth(idl.admin.ExecutionSchema, execution)).toBeLessThanOrEqual(MAX_MESSAGE_DEPTH);
        expect((await store.getExecution(execution.id!))?.execution.id?.name).toBe(execution.id?.name);
        const nodes = await readAll((token) => store.listNodeExecutions(execution.id!, { token }));
        for (const node of nodes) {
          expect(messageDepth(idl.admin.NodeExecutionSchema, node.nodeExecution)).toBeLessThanOrEqual(
            MAX_MESSAGE_DEPTH,
          );
          await store.getNodeExecution(node.nodeExecution.id!);
          await readAll((token) => store.listTaskExecutions(node.nodeExecution.id!, { token }));
        }
        await readAll((token) => store.listEvents(execution.id!, { token }));
      }
      return executions;
    }

    beforeAll(async () => {
      database = await createDatabase();
      await start();
      await engine.register([structs, cached, inputs, withDefault, deepestBranches], settings);
    }, 120_000);

    afterAll(async () => {
      await engine.stop();
      await backend.close();
      await database.dispose();
    }, 120_000);

    it('fails a task returning a struct nested 50 levels with NESTING_TOO_DEEP, once; every list still reads, after a restart too', async () => {
      await engine.createExecution({ workflow: structs.id(settings), name: 'out50', inputs: { n: 50 } });
      const done = await engine.waitForExecution(id('out50'));
      expect(WP[done.closure!.phase]).toBe('FAILED');
      const node = await engine.getNodeExecution(executionNode('out50', 'n0'));
      expect(NP[node!.closure!.phase]).toBe('FAILED');
      const error = node!.closure!.outputResult;
      expect(error.case === 'error' ? error.value.code : error.case).toBe('NESTING_TOO_DEEP');
      // Not retried: another attempt would return the same.
      expect((await engine.listTaskExecutions(executionNode('out50', 'n0'))).items).toHaveLength(1);
      await everythingReads();
      await restart();
      expect((await everythingReads()).map((e) => e.id?.name)).toContain('out50');
    }, 120_000);

    it('refuses execution inputs nested 48 levels with NESTING_TOO_DEEP, leaving no execution behind', async () => {
      const refused = await codeOf(
        engine.createExecution({ workflow: inputs.id(settings), name: 'in48', inputs: { s: nested(48) } }),
      );
      expect(refused).toEqual({ code: 'NESTING_TOO_DEEP', id: 'inputs.s' });
      expect(await engine.getExecution(id('in48'))).toBeUndefined();
      const literal = t.struct().toLiteral(nested(N));
      const deeper = create(idl.core.LiteralSchema, {
        value: { case: 'collection', value: { literals: [literal] } },
      });
      const asLiterals = await codeOf(
        engine.createExecution({
          workflow: inputs.id(settings),
          name: 'in-literal',
          inputs: create(idl.core.LiteralMapSchema, { literals: { s: deeper } }),
        }),
      );
      expect(asLiterals.code).toBe('NESTING_TOO_DEEP');
      expect(await engine.getExecution(id('in-literal'))).toBeUndefined();
      await everythingReads();
    }, 120_000);

    it('refuses a workflow of 25 nested branches at registration, naming the node; listWorkflows still reads', async () => {
      const pkg = wrapped(serialize([deepestBranches], { ...settings, version: 'v25' }), 25 - N);
      const refused = await codeOf(engine.register(pkg));
      expect(refused.code).toBe('NESTING_TOO_DEEP');
      expect(refused.id).toMatch(/^w\d+(-\w+)*$/);
      expect(await backend.store.getWorkflow(deepestBranches.id({ ...settings, version: 'v25' }))).toBeUndefined();
      expect(codeOfSync(() => branches('nest.too-deep', N + 1))).toBe('NESTING_TOO_DEEP');
      await everythingReads();
    }, 120_000);

    it('runs values, types and branches nesting MAX_NESTING_DEPTH levels, and refuses one more where they enter', async () => {
      await engine.createExecution({ workflow: structs.id(settings), name: 'out-limit', inputs: { n: N } });
      await engine.createExecution({ workflow: inputs.id(settings), name: 'in-limit', inputs: { s: nested(N) } });
      await engine.createExecution({ launchPlan: withDefault.id(settings), name: 'default-limit' });
      await engine.createExecution({
        workflow: deepestBranches.id(settings),
        name: 'branches-limit',
        inputs: { x: 99 },
      });
      for (const name of ['out-limit', 'in-limit', 'default-limit', 'branches-limit']) {
        expect(WP[(await engine.waitForExecution(id(name))).closure!.phase], name).toBe('SUCCEEDED');
      }
      const outputs = await engine.getExecutionOutputs(id('out-limit'));
      expect(fromLiteralMap(structs.outputs, outputs).s).toEqual(nested(N));
      expect(fromLiteralMap(deepestBranches.outputs, await engine.getExecutionOutputs(id('branches-limit')))).toEqual({
        y: 99,
      });

      await engine.createExecution({ workflow: structs.id(settings), name: 'out-beyond', inputs: { n: N + 1 } });
      expect(WP[(await engine.waitForExecution(id('out-beyond'))).closure!.phase]).toBe('FAILED');
      expect(
        await codeOf(
          engine.createExecution({ workflow: inputs.id(settings), name: 'in-beyond', inputs: { s: nested(N + 1) } }),
        ),
      ).toEqual({ code: 'NESTING_TOO_DEEP', id: 'inputs.s' });
      const lp = (await backend.store.getLaunchPlan(withDefault.id(settings)))!;
      const deepDefault = create(idl.admin.LaunchPlanSchema, {
        id: { ...lp.id!, version: 'beyond' },
        spec: {
          workflowId: lp.spec!.workflowId,
          defaultInputs: {
            parameters: {
              s: {
                var: lp.spec!.defaultInputs!.parameters['s']!.var,
                behavior: { case: 'default', value: structLiteral({ a: nested(N) }) },
              },
            },
          },
        },
      });
      expect((await codeOf(engine.registerLaunchPlan(deepDefault))).code).toBe('NESTING_TOO_DEEP');

      await everythingReads();
      await restart();
      const names = (await everythingReads()).map((e) => e.id?.name);
      expect(names).toEqual(expect.arrayContaining(['out-limit', 'in-limit', 'default-limit', 'branches-limit']));
    }, 180_000);

    it('reads a record an earlier version wrote too deep as UNREADABLE_RECORD: lists return the others, engine start goes on', async () => {
      await engine.createExecution({ workflow: structs.id(settings), name: 'old-done', inputs: { n: 2 } });
      await engine.waitForExecution(id('old-done'));
      await engine.stop();
      await engine.createExecution({ workflow: inputs.id(settings), name: 'old-queued', inputs: { s: nested(2) } });
      // What an earlier version could write: 60 levels of struct inline in the records.
      const deepOutputs = create(idl.core.LiteralMapSchema, { literals: { s: structLiteral(nested(60)) } });
      const originals = new Map<string, Uint8Array>();
      for (const name of ['old-done', 'old-queued']) {
        const record = (await backend.store.getExecution(id(name)))!;
        originals.set(name, toBinary(idl.admin.ExecutionSchema, record.execution));
        const closure = create(idl.admin.ExecutionClosureSchema, record.execution.closure);
        const poisoned = create(idl.admin.ExecutionSchema, {
          id: record.execution.id,
          spec: { ...record.execution.spec!, inputs: deepOutputs },
          closure: {
            ...closure,
            outputResult: {
              case: 'outputs',
              value: create(idl.admin.LiteralMapBlobSchema, { data: { case: 'values', value: deepOutputs } }),
            },
          },
        });
        await backend.db
          .updateTable('executions')
          .set({ payload: toBinary(idl.admin.ExecutionSchema, poisoned) })
          .where('name', '=', name)
          .execute();
      }
      const workflowId = structs.id(settings);
      const stored = (await backend.store.getWorkflow(workflowId))!;
      const poisonedWorkflow = create(idl.admin.WorkflowSchema, {
        id: { ...workflowId, version: 'old' },
        closure: {
          createdAt: stored.closure!.createdAt,
          compiledWorkflow: { tasks: [{ template: { custom: nested(60) } }] },
        },
      });
      await backend.db
        .insertInto('workflows')
        .values({
          org: '',
          project: settings.project,
          domain: settings.domain,
          name: workflowId.name,
          version: 'old',
          created_at_ns: '1',
          digest: 'old',
          payload: toBinary(idl.admin.WorkflowSchema, poisonedWorkflow),
        })
        .execute();

      const unreadable = ['old-done', 'old-queued'].map((n) => `${settings.project}/${settings.domain}/${n}`);
      for (let round = 0; round < 2; round++) {
        // Engine start lists the unfinished executions: the unreadable one is reported, the others resumed.
        warnings.length = 0;
        await (round === 0 ? engine.start() : restart());
        expect(warnings).toContain(`execution ${unreadable[1]} cannot be read`);
        const page = await engine.listExecutions({ limit: 100 });
        expect(page.items.map((e) => e.id?.name)).toContain('out-limit');
        expect(page.items.map((e) => e.id?.name)).not.toContain('old-done');
        expect(page.unreadable?.map((e) => [e.code, e.id]).sort()).toEqual(
          unreadable.map((u) => ['UNREADABLE_RECORD', u]),
        );
        expect(await codeOf(backend.store.getExecution(id('old-done')))).toEqual({
          code: 'UNREADABLE_RECORD',
          id: unreadable[0],
        });
        const workflows = await backend.store.listWorkflows({ limit: 100 });
        expect(workflows.items.map((w) => w.id?.version)).toContain('v1');
        expect(workflows.unreadable?.map((e) => e.id)).toEqual([
          `${settings.project}/${settings.domain}/${workflowId.name}/old`,
        ]);
        expect((await codeOf(backend.store.getWorkflow({ ...workflowId, version: 'old' }))).code).toBe(
          'UNREADABLE_RECORD',
        );
        // The other records of a poisoned execution still read.
        expect(
          (await readAll((token) => backend.store.listNodeExecutions(id('old-done'), { token }))).length,
        ).toBeGreaterThan(0);
      }

      // Rewritten readable, the queued execution runs.
      for (const [name, payload] of originals) {
        await backend.db.updateTable('executions').set({ payload }).where('name', '=', name).execute();
      }
      await backend.db.deleteFrom('workflows').where('version', '=', 'old').execute();
      await restart();
      expect(WP[(await engine.waitForExecution(id('old-queued'))).closure!.phase]).toBe('SUCCEEDED');
    }, 240_000);

    it('claims past an unreadable execution when engines share the store through leases', async () => {
      await engine.stop();
      await engine.createExecution({ workflow: inputs.id(settings), name: 'lease-bad', inputs: { s: nested(2) } });
      await engine.createExecution({ workflow: inputs.id(settings), name: 'lease-good', inputs: { s: nested(2) } });
      const record = (await backend.store.getExecution(id('lease-bad')))!;
      const original = toBinary(idl.admin.ExecutionSchema, record.execution);
      const poisoned = create(idl.admin.ExecutionSchema, {
        id: record.execution.id,
        spec: { inputs: { literals: { s: structLiteral(nested(60)) } } },
        closure: record.execution.closure,
      });
      await backend.db
        .updateTable('executions')
        .set({ payload: toBinary(idl.admin.ExecutionSchema, poisoned) })
        .where('name', '=', 'lease-bad')
        .execute();
      // Claims last an hour and nobody polls: only the claims this engine makes at start can run the good one.
      const leased = createEngine({
        store: backend.store,
        catalog: backend.catalog,
        blob,
        tasks,
        config: { leases: { ttlMs: 3_600_000, pollIntervalMs: 3_600_000 } },
      });
      const seen: string[] = [];
      leased.on('warning', (message) => seen.push(message));
      await leased.start();
      expect(WP[(await leased.waitForExecution(id('lease-good'))).closure!.phase]).toBe('SUCCEEDED');
      expect(seen).toContain(`execution ${settings.project}/${settings.domain}/lease-bad cannot be read`);
      await leased.stop();
      await backend.db.updateTable('executions').set({ payload: original }).where('name', '=', 'lease-bad').execute();
      await engine.start();
      expect(WP[(await engine.waitForExecution(id('lease-bad'))).closure!.phase]).toBe('SUCCEEDED');
    }, 120_000);

    it('runs a cached task again when its cached outputs cannot be read', async () => {
      await engine.createExecution({ workflow: cached.id(settings), name: 'cache-1', inputs: { n: 2 } });
      expect(WP[(await engine.waitForExecution(id('cache-1'))).closure!.phase]).toBe('SUCCEEDED');
      // The cached artifact as an earlier version could write it: outputs 60 levels deep.
      const artifact = create(idl.datacatalog.ArtifactSchema, {
        data: [{ name: 's', value: structLiteral(nested(60)) }],
      });
      const poisoned = await backend.db
        .updateTable('catalog_artifacts')
        .set({ payload: toBinary(idl.datacatalog.ArtifactSchema, artifact) })
        .executeTakeFirst();
      expect(poisoned.numUpdatedRows).toBe(1n);
      warnings.length = 0;
      await engine.createExecution({ workflow: cached.id(settings), name: 'cache-2', inputs: { n: 2 } });
      expect(WP[(await engine.waitForExecution(id('cache-2'))).closure!.phase]).toBe('SUCCEEDED');
      expect(fromLiteralMap(cached.outputs, await engine.getExecutionOutputs(id('cache-2'))).s).toEqual(nested(2));
      expect(warnings).toContain('the cached outputs of n0 cannot be used; the task runs again');
    }, 120_000);

    it('fails at start an execution whose inputs an earlier version wrote too deep, instead of leaving it QUEUED', async () => {
      await engine.stop();
      // An execution created while no engine runs it, whose inputs.pb an earlier version wrote 60 levels deep.
      await engine.createExecution({ workflow: inputs.id(settings), name: 'queued-deep', inputs: { s: nested(2) } });
      const uri = (await backend.store.getExecution(id('queued-deep')))!.inputsUri!;
      expect(await blob.head(uri)).toBeDefined();
      await blob.put(
        uri,
        toBinary(
          idl.core.LiteralMapSchema,
          create(idl.core.LiteralMapSchema, { literals: { s: structLiteral(nested(60)) } }),
        ),
      );
      await engine.start();
      const done = await engine.waitForExecution(id('queued-deep'));
      expect(WP[done.closure!.phase]).toBe('FAILED');
      const error = done.closure!.outputResult;
      expect(error.case === 'error' ? error.value.code : error.case).toBe('NESTING_TOO_DEEP');
      await everythingReads();
    }, 120_000);
  });
}

function executionNode(name: string, nodeId: string): idl.core.NodeExecutionIdentifier {
  return create(idl.core.NodeExecutionIdentifierSchema, { executionId: id(name), nodeId });
}

function structLiteral(value: JsonObject): idl.core.Literal {
  return {
    $typeName: 'flyteidl.core.Literal',
    value: { case: 'scalar', value: { $typeName: 'flyteidl.core.Scalar', value: { case: 'generic', value } } },
    hash: '',
    metadata: {},
  };
}

function codeOfSync(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `uncoded: ${String(error)}`;
  }
}
