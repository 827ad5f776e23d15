// Registration is all or nothing, and a workflow's default launch plan always runs that workflow: a package that
// fails anywhere leaves nothing registered, and a launch plan named like a workflow but running another one is
// refused at registration and never launched in its place.
import { clone } from '@bufbuild/protobuf';
import {
  formatIdentifier,
  idl,
  launchPlan,
  referenceTask,
  serialize,
  t,
  task,
  workflow,
  type SerializedEntities,
} from '@flyte-ts/core';
import type { MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { settings, startEngine } from './support.js';

const RT = idl.core.ResourceType;

const good = task({ name: 'reg.good', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));
const missing = referenceTask({ ...settings, name: 'reg.never_registered', inputs: { y: t.int() } });
/** Compiles only against a task nobody registered: the package fails after its good task was checked. */
const broken = workflow({ name: 'reg.broken', inputs: { x: t.int() } }, ({ x }) => {
  missing({ y: good({ x }).y });
  return undefined;
});

/** What of `pkg` the store holds. */
async function registered(store: MemoryStore, pkg: SerializedEntities): Promise<string[]> {
  const found: string[] = [];
  for (const spec of pkg.tasks)
    if (await store.getTask(spec.template!.id!)) found.push(formatIdentifier(spec.template!.id));
  for (const spec of pkg.workflows) {
    if (await store.getWorkflow(spec.template!.id!)) found.push(formatIdentifier(spec.template!.id));
    const lpId = { ...spec.template!.id!, resourceType: RT.LAUNCH_PLAN };
    if (await store.getLaunchPlan(lpId)) found.push(formatIdentifier(lpId));
  }
  for (const lp of pkg.launchPlans) if (await store.getLaunchPlan(lp.id!)) found.push(formatIdentifier(lp.id));
  return found;
}

describe('registering a package', () => {
  it('registers nothing of a DSL package whose workflow fails, not even its good task', async () => {
    const { engine, store } = await startEngine();
    await expect(engine.register([broken], settings)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await registered(store, serialize([broken], settings))).toEqual([]);
    await engine.stop();
  });

  it('registers nothing of a serialized package whose workflow does not compile', async () => {
    const { engine, store } = await startEngine();
    const wf = workflow({ name: 'reg.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: good({ x }).y,
    }));
    const pkg = serialize([wf], settings);
    const spec = clone(idl.admin.WorkflowSpecSchema, pkg.workflows[0]!);
    const binding = spec.template!.nodes[0]!.inputs[0]!.binding!.value;
    if (binding.case !== 'promise') throw new Error('expected a promise binding');
    binding.value.var = 'no_such_input';
    const bad = { ...pkg, workflows: [spec] };
    await expect(engine.register(bad)).rejects.toMatchObject({ code: 'COMPILE_FAILED' });
    expect(await registered(store, bad)).toEqual([]);
    await engine.stop();
  });

  it('registers nothing when the Store refuses one entity after the others were written', async () => {
    const { engine, store } = await startEngine();
    const other = task({ name: 'reg.other', inputs: { s: t.string() } }, () => undefined);
    // A different task under the id the package's second task will take: the Store refuses it.
    const taken = task({ name: 'reg.other', inputs: { n: t.int() } }, () => undefined);
    await engine.register([taken], settings);
    const pkg = serialize([good, other], settings);
    await expect(engine.register(pkg)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await store.getTask(pkg.tasks[0]!.template!.id!), 'the first task is not left behind').toBeUndefined();
    await engine.stop();
  });

  it('keeps registration idempotent entity by entity: a package adding one workflow next to registered ones', async () => {
    const { engine, store } = await startEngine();
    const first = workflow({ name: 'reg.first', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: good({ x }).y,
    }));
    const second = workflow({ name: 'reg.second', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: good({ x }).y,
    }));
    await engine.register([first], settings);
    const before = await store.getWorkflow(first.id(settings));
    await engine.register([first, second], settings);
    expect(await store.getWorkflow(first.id(settings)), 'the registered workflow is unchanged').toBe(before);
    expect(await store.getWorkflow(second.id(settings))).toBeDefined();
    await engine.stop();
  });
});

describe('default launch plans', () => {
  const otherTask = task({ name: 'p3.other_task', outputs: { who: t.string() } }, () => ({ who: 'other' }));
  const other = workflow({ name: 'p3.other', outputs: { who: t.string() } }, () => ({ who: otherTask().who }));
  const victimTask = task({ name: 'p3.victim_task', outputs: { who: t.string() } }, () => ({ who: 'victim' }));
  const victim = workflow({ name: 'p3.victim', outputs: { who: t.string() } }, () => ({ who: victimTask().who }));
  /** A launch plan named like the victim workflow that runs the other one. */
  const squatter = launchPlan(other, { name: 'p3.victim' });

  it('refuse a launch plan named like the workflow that runs another one, registering nothing of it', async () => {
    const { engine, store } = await startEngine();
    await engine.register([squatter], settings);
    const error = await engine.register([victim], settings).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect((error as Error).message).toContain(formatIdentifier(victim.id(settings)));
    expect((error as Error).message).toContain(formatIdentifier(other.id(settings)));
    expect(await registered(store, serialize([victim], settings))).toEqual([
      formatIdentifier({ ...victim.id(settings), resourceType: RT.LAUNCH_PLAN }),
    ]);
    expect(await store.getTask(victimTask.id(settings)), 'the package left nothing behind').toBeUndefined();
    await expect(engine.createExecution({ workflow: victim.id(settings) })).rejects.toMatchObject({
      code: 'LAUNCH_PLAN_MISMATCH',
    });
    await engine.stop();
  });

  it('refuse such a launch plan in the same package as the workflow', async () => {
    const { engine, store } = await startEngine();
    await expect(engine.register([victim, squatter], settings)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await registered(store, serialize([victim, squatter], settings))).toEqual([]);
    await engine.stop();
  });

  it('never launch another workflow than the one asked for, whatever the Store holds', async () => {
    // A Store written before registration checked default launch plans: the victim's slot runs the other workflow.
    const { engine: elsewhere, store: clean } = await startEngine();
    await elsewhere.register([victim], settings);
    const { engine, store } = await startEngine();
    await engine.register([squatter], settings);
    await store.createTask({ entity: (await clean.getTask(victimTask.id(settings)))!, digest: 'copied' });
    await store.createWorkflow({ entity: (await clean.getWorkflow(victim.id(settings)))!, digest: 'copied' });
    const error = await engine.createExecution({ workflow: victim.id(settings) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LAUNCH_PLAN_MISMATCH', id: formatIdentifier(victim.id(settings)) });
    expect((error as Error).message).toContain(formatIdentifier(other.id(settings)));
    expect((await engine.listExecutions()).items).toEqual([]);
    await engine.stop();
    await elsewhere.stop();
  });

  it('stay the workflow’s when the package brings its own launch plan of the same name', async () => {
    const { engine, store } = await startEngine();
    const own = launchPlan(victim, { labels: { team: 'p3' } });
    await engine.register([victim, own], settings);
    const lp = await store.getLaunchPlan({ ...victim.id(settings), resourceType: RT.LAUNCH_PLAN });
    expect(lp?.spec?.labels?.values).toEqual({ team: 'p3' });
    const execution = await engine.createExecution({ workflow: victim.id(settings) });
    expect(execution.closure?.workflowId?.name).toBe('p3.victim');
    await engine.stop();
  });

  it('are registered with their workflow in one step by registerWorkflow', async () => {
    const { engine, store } = await startEngine();
    await engine.register([squatter, victimTask], settings);
    const spec = serialize([victim], settings).workflows[0]!;
    await expect(engine.registerWorkflow(spec)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await store.getWorkflow(victim.id(settings))).toBeUndefined();
    const lpId = { ...victim.id(settings), resourceType: RT.LAUNCH_PLAN };
    expect((await store.getLaunchPlan(lpId))?.spec?.workflowId?.name).toBe('p3.other');
    await engine.stop();
  });
});
