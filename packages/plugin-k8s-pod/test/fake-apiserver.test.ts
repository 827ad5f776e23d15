// Custom objects in the fake API server, through the real CustomObjectsApi and Watch of @kubernetes/client-node,
// and the Kubernetes-resource machinery running a task whose object is a custom resource.
import { create } from '@bufbuild/protobuf';
import { idl, t, task, type PluginPhase } from '@flyte-ts/core';
import { ApiException, CoreV1Api, CustomObjectsApi, Watch, type V1ObjectMeta } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { customObjectApi, K8sResourcePlugin, MANAGED_BY_LABEL, type K8sResourceHandler } from '../src/index.js';
import { FakeApiServer, type FakeCustomObject } from './support/fake-apiserver.js';
import { NAMESPACE, settings, startEngine, tempBlob } from './support/setup.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const widgets = { group: 'example.com', version: 'v1', plural: 'widgets' } as const;
const ns = 'team-a';

async function start(): Promise<{ fake: FakeApiServer; api: CustomObjectsApi }> {
  const fake = await FakeApiServer.start();
  cleanups.push(() => fake.close());
  return { fake, api: fake.kubeConfig().makeApiClient(CustomObjectsApi) };
}

function widget(name: string, labels: Record<string, string> = {}): object {
  return { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, labels }, spec: { size: 3 } };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; reason: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    return { code: error.code, reason: (JSON.parse(error.body as string) as { reason: string }).reason };
  }
  throw new Error('the request succeeded');
}

interface WatchEvent {
  readonly type: string;
  readonly object: FakeCustomObject;
}

/** Watches widgets until `count` events arrived; resolves them. */
async function watchEvents(
  fake: FakeApiServer,
  count: number,
  query: Record<string, string>,
): Promise<{ events: Promise<WatchEvent[]>; abort: () => void }> {
  const received: WatchEvent[] = [];
  let done: (events: WatchEvent[]) => void = () => {};
  const events = new Promise<WatchEvent[]>((resolve) => (done = resolve));
  const controller = await new Watch(fake.kubeConfig()).watch(
    `/apis/example.com/v1/namespaces/${ns}/widgets`,
    query,
    (type: string, object: unknown) => {
      received.push({ type, object: object as FakeCustomObject });
      if (received.length === count) done(received);
    },
    () => done(received),
  );
  cleanups.push(() => controller.abort());
  return { events, abort: () => controller.abort() };
}

describe('custom objects in the fake API server', () => {
  it('create, get, list by label and delete, with 409 on duplicates, 404 and 400', async () => {
    const { fake, api } = await start();
    const created = (await api.createNamespacedCustomObject({
      ...widgets,
      namespace: ns,
      body: widget('w1', { app: 'a' }),
    })) as FakeCustomObject;
    expect(created.metadata).toMatchObject({ name: 'w1', namespace: ns, labels: { app: 'a' } });
    expect(created.metadata.uid).not.toBe('');
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('w2', { app: 'b' }) });
    // Another namespace and another kind do not mix with these.
    await api.createNamespacedCustomObject({ ...widgets, namespace: 'other', body: widget('w1', { app: 'a' }) });
    await api.createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      plural: 'gadgets',
      namespace: ns,
      body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1' } },
    });

    expect(await apiError(api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('w1') }))).toEqual(
      { code: 409, reason: 'AlreadyExists' },
    );
    expect(
      await apiError(
        api.createNamespacedCustomObject({
          ...widgets,
          namespace: ns,
          body: { apiVersion: 'example.com/v2', kind: 'Widget', metadata: { name: 'w3' } },
        }),
      ),
    ).toEqual({ code: 400, reason: 'BadRequest' });
    expect(
      await apiError(api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('Not_A_Name') })),
    ).toEqual({ code: 422, reason: 'Invalid' });

    const got = (await api.getNamespacedCustomObject({ ...widgets, namespace: ns, name: 'w1' })) as FakeCustomObject;
    expect(got).toMatchObject({ kind: 'Widget', spec: { size: 3 }, metadata: { uid: created.metadata.uid } });

    const all = (await api.listNamespacedCustomObject({ ...widgets, namespace: ns })) as {
      kind: string;
      items: FakeCustomObject[];
      metadata: { resourceVersion: string };
    };
    expect(all.kind).toBe('WidgetList');
    expect(all.items.map((w) => w.metadata.name)).toEqual(['w1', 'w2']);
    expect(Number(all.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(got.metadata.resourceVersion));
    const labelled = (await api.listNamespacedCustomObject({ ...widgets, namespace: ns, labelSelector: 'app=b' })) as {
      items: FakeCustomObject[];
    };
    expect(labelled.items.map((w) => w.metadata.name)).toEqual(['w2']);

    await api.deleteNamespacedCustomObject({ ...widgets, namespace: ns, name: 'w1' });
    expect(await apiError(api.getNamespacedCustomObject({ ...widgets, namespace: ns, name: 'w1' }))).toEqual({
      code: 404,
      reason: 'NotFound',
    });
    expect(await apiError(api.deleteNamespacedCustomObject({ ...widgets, namespace: ns, name: 'w1' }))).toEqual({
      code: 404,
      reason: 'NotFound',
    });
    expect(fake.customObject(widgets, 'other', 'w1')).toBeDefined();
    expect(fake.customObject(widgets, ns, 'w2')).toBeDefined();
  });

  it('watch from a resource version: additions, a status change and the deletion, of that kind only', async () => {
    const { fake, api } = await start();
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('before') });
    const list = (await api.listNamespacedCustomObject({ ...widgets, namespace: ns })) as {
      metadata: { resourceVersion: string };
    };
    const { events } = await watchEvents(fake, 3, { resourceVersion: list.metadata.resourceVersion });
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('w1') });
    // A pod in the same namespace is not a widget: the watch does not see it.
    await fake
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p1' }, spec: { containers: [] } } });
    fake.setCustomObjectStatus(widgets, ns, 'w1', { phase: 'Running' });
    await api.deleteNamespacedCustomObject({ ...widgets, namespace: ns, name: 'w1' });
    const seen = await events;
    expect(seen.map((e) => [e.type, e.object.kind, e.object.metadata.name, e.object.status?.['phase']])).toEqual([
      ['ADDED', 'Widget', 'w1', undefined],
      ['MODIFIED', 'Widget', 'w1', 'Running'],
      ['DELETED', 'Widget', 'w1', 'Running'],
    ]);
    const versions = seen.map((e) => Number(e.object.metadata.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(3);
  });

  it('watch without a resource version starts with the current objects as ADDED, filtered by label', async () => {
    const { fake, api } = await start();
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('mine', { team: 'x' }) });
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('theirs', { team: 'y' }) });
    const { events } = await watchEvents(fake, 2, { labelSelector: 'team=x' });
    fake.setCustomObjectStatus(widgets, ns, 'theirs', { phase: 'Done' });
    fake.setCustomObjectStatus(widgets, ns, 'mine', { phase: 'Done' });
    expect((await events).map((e) => [e.type, e.object.metadata.name, e.object.status?.['phase']])).toEqual([
      ['ADDED', 'mine', undefined],
      ['MODIFIED', 'mine', 'Done'],
    ]);
  });

  it('answer a watch from a compacted resource version with 410 Gone', async () => {
    const { fake, api } = await start();
    const first = (await api.createNamespacedCustomObject({
      ...widgets,
      namespace: ns,
      body: widget('w1'),
    })) as FakeCustomObject;
    fake.setCustomObjectStatus(widgets, ns, 'w1', { phase: 'Running' });
    fake.compact();
    const { events } = await watchEvents(fake, 1, { resourceVersion: first.metadata.resourceVersion });
    const [event] = await events;
    expect(event?.type).toBe('ERROR');
    expect(event?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('end open custom-object watches with 410 Gone when they expire', async () => {
    const { fake, api } = await start();
    await api.createNamespacedCustomObject({ ...widgets, namespace: ns, body: widget('w1') });
    const { events } = await watchEvents(fake, 2, {});
    // The watch is open (its headers arrived) and got the current object; then it expires.
    fake.expireWatches();
    expect((await events).map((e) => [e.type, (e.object as unknown as { code?: number }).code])).toEqual([
      ['ADDED', undefined],
      ['ERROR', 410],
    ]);
  });
});

/** A custom resource whose operator reports `status.phase` Pending, Running, Done or Failed. */
interface Widget {
  apiVersion: string;
  kind: string;
  metadata?: V1ObjectMeta | undefined;
  spec: { size: number };
  status?: { phase?: string; message?: string };
}

const PHASES: Record<string, PluginPhase> = { Pending: 'queued', Running: 'running', Done: 'success' };

const widgetHandler: K8sResourceHandler<Widget> = {
  api: (cluster) =>
    customObjectApi<Widget>(cluster.kubeConfig, {
      group: 'example.com',
      version: 'v1',
      plural: 'widgets',
      kind: 'Widget',
    }),
  build: (ctx) =>
    Promise.resolve({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { labels: { task: ctx.template.id?.name ?? '' } },
      spec: { size: Number(ctx.template.custom?.['size'] ?? 1) },
    }),
  status: (object) => {
    const phase = object.status?.phase ?? 'Pending';
    if (phase === 'Failed') {
      const message = object.status?.message ?? 'failed';
      return Promise.resolve({
        phase: 'permanent-failure',
        reason: message,
        error: { code: 'WidgetFailed', message, kind: 'user' },
      });
    }
    return Promise.resolve({ phase: PHASES[phase] ?? 'running', reason: `widget ${phase}` });
  },
};

function execId(name: string): idl.core.WorkflowExecutionIdentifier {
  return create(idl.core.WorkflowExecutionIdentifierSchema, {
    project: settings.project,
    domain: settings.domain,
    name,
  });
}

function widgetAppears(fake: FakeApiServer): Promise<FakeCustomObject> {
  return new Promise((resolve) => {
    const look = setInterval(() => {
      const found = [...(fake.customObjects.get('example.com/v1/widgets')?.values() ?? [])][0];
      if (found !== undefined) {
        clearInterval(look);
        resolve(found);
      }
    }, 10);
  });
}

describe('the Kubernetes-resource machinery on custom objects', { timeout: 60_000 }, () => {
  async function setup(): Promise<{
    fake: FakeApiServer;
    run: (name: string) => Promise<{ object: FakeCustomObject; done: Promise<idl.admin.Execution> }>;
  }> {
    const fake = await FakeApiServer.start();
    cleanups.push(() => fake.close());
    const { blob, cleanup } = tempBlob();
    cleanups.push(cleanup);
    const plugin = new K8sResourcePlugin<Widget>({
      id: 'widgets',
      taskTypes: ['widget'],
      handler: widgetHandler,
      clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
      pollMs: 100,
      watchedPollMs: 10_000,
    });
    cleanups.push(() => plugin.close());
    const engine = await startEngine(blob, [plugin]);
    cleanups.push(() => engine.stop());
    const build = task(
      { name: 'widgets.build', inputs: { n: t.int() }, outputs: {}, taskType: 'widget', custom: { size: 5 } },
      () => {
        throw new Error('runs as a widget');
      },
    );
    await engine.register([build], settings);
    return {
      fake,
      run: async (name) => {
        await engine.createExecution({ task: build.id(settings), name, inputs: { n: 1 } });
        const object = await widgetAppears(fake);
        expect(object.metadata.labels).toMatchObject({ [MANAGED_BY_LABEL]: 'flyte-ts', task: 'widgets.build' });
        expect(object.spec).toEqual({ size: 5 });
        return { object, done: engine.waitForExecution(execId(name)) as Promise<idl.admin.Execution> };
      },
    };
  }

  it('create the custom object, follow its status to success through the watch and delete it', async () => {
    const { fake, run } = await setup();
    const { object, done } = await run('w1');
    const name = object.metadata.name;
    fake.setCustomObjectStatus(widgets, NAMESPACE, name, { phase: 'Running' });
    fake.setCustomObjectStatus(widgets, NAMESPACE, name, { phase: 'Done' });
    const execution = await done;
    expect(idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0]).toBe('SUCCEEDED');
    // Observed through the custom-object API (list and watch of widgets), then deleted by finalize.
    expect(fake.requests).toContain(`GET /apis/example.com/v1/namespaces/${NAMESPACE}/widgets`);
    expect(fake.requests).toContain(`DELETE /apis/example.com/v1/namespaces/${NAMESPACE}/widgets/${name}`);
    expect(fake.customObject(widgets, NAMESPACE, name)).toBeUndefined();
  });

  it('fail the task with the error the handler maps from the object status', async () => {
    const { fake, run } = await setup();
    const { object, done } = await run('w2');
    fake.setCustomObjectStatus(widgets, NAMESPACE, object.metadata.name, { phase: 'Failed', message: 'too big' });
    const execution = await done;
    expect(idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0]).toBe('FAILED');
    const error = execution.closure?.outputResult.case === 'error' ? execution.closure.outputResult.value : undefined;
    expect(error).toMatchObject({ code: 'WidgetFailed', message: 'too big' });
  });
});
