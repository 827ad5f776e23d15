// The machinery's lifecycle against the fake API server: adopting a pod that already exists, being woken by the
// watch rather than by polling, relisting after 410 Gone, the pending timeout, pods deleted behind the plugin's
// back, and closing the watches when the engine stops.
import { create } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, t, task, type TaskContext, type TaskPlugin } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPodPlugin,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PodHandler,
  podApi,
  type K8sResourcePlugin,
  type K8sResourceState,
  type PodPluginOptions,
} from '../src/index.js';
import { FakeApiServer, type FakePod } from './support/fake-apiserver.js';
import { NAMESPACE, processOptions, settings, startEngine, tempBlob } from './support/setup.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Longer than any test runs: a task that completes was woken by the watch, not by a poll. */
const NEVER_MS = 10 * 60_000;

async function setup(
  options: Partial<PodPluginOptions> = {},
  fakeOptions = processOptions(),
  wrap: (plugin: K8sResourcePlugin<V1Pod>, fake: FakeApiServer) => TaskPlugin = (plugin) => plugin,
): Promise<{ fake: FakeApiServer; engine: Engine; plugin: K8sResourcePlugin<V1Pod> }> {
  const fake = await FakeApiServer.start(fakeOptions);
  cleanups.push(() => fake.close());
  const { blob, cleanup } = tempBlob();
  cleanups.push(cleanup);
  const plugin = createPodPlugin({
    clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
    pollMs: NEVER_MS,
    watchedPollMs: NEVER_MS,
    ...options,
  });
  cleanups.push(() => plugin.close());
  const engine = await startEngine(blob, [wrap(plugin, fake)]);
  cleanups.push(() => engine.stop());
  return { fake, engine, plugin };
}

function execId(name: string): idl.core.WorkflowExecutionIdentifier {
  return create(idl.core.WorkflowExecutionIdentifierSchema, {
    project: settings.project,
    domain: settings.domain,
    name,
  });
}

function phaseOf(execution: idl.admin.Execution | undefined): string {
  return idl.core.WorkflowExecution_Phase[execution?.closure?.phase ?? 0] ?? '?';
}

async function attemptErrors(engine: Engine, name: string): Promise<{ code: string; kind: string }[]> {
  const page = await engine.listTaskExecutions({
    nodeId: 'n0',
    executionId: execId(name),
  } as idl.core.NodeExecutionIdentifier);
  return page.items.map((a) => {
    const result = a.closure?.outputResult;
    return result?.case === 'error'
      ? { code: result.value.code, kind: idl.core.ExecutionError_ErrorKind[result.value.kind] ?? '?' }
      : { code: '', kind: '' };
  });
}

/** Resolves once `condition` holds (checked every 10 ms); the test's timeout bounds the wait. */
function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const look = setInterval(() => {
      if (condition()) {
        clearInterval(look);
        resolve();
      }
    }, 10);
  });
}

async function podNumber(fake: FakeApiServer, n: number): Promise<FakePod> {
  await until(() => fake.created >= n && fake.pods.size > 0);
  return [...fake.pods.values()].at(-1)!;
}

const unused = () => {
  throw new Error('runs in a pod');
};
const double = task(
  { name: 'life.double', inputs: { x: t.int() }, outputs: { y: t.int() }, taskType: 'container', image: 'x' },
  unused,
);
const idle = task(
  { name: 'life.idle', inputs: {}, outputs: {}, taskType: 'container', image: 'x', retries: 0 },
  unused,
);

describe('the Kubernetes-resource lifecycle', { timeout: 60_000 }, () => {
  it('adopts a pod that already exists under the attempt name (409 at create) instead of duplicating it', async () => {
    let precreated = 0;
    const { fake, engine } = await setup({}, processOptions(), (plugin, fake) => ({
      id: plugin.id,
      taskTypes: plugin.taskTypes,
      // Before the plugin's first handle, create the attempt's pod as an earlier engine would have.
      handle: async (ctx: TaskContext<K8sResourceState>) => {
        if (ctx.state === undefined && precreated === 0) {
          precreated++;
          const target = plugin.target(ctx);
          const pod = await new PodHandler({ clusters: [] }).build(ctx, target);
          pod.metadata!.labels = { ...pod.metadata!.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
          await podApi(fake.kubeConfig()).create(target.namespace, pod);
        }
        return plugin.handle(ctx);
      },
      abort: (ctx: TaskContext<K8sResourceState>) => plugin.abort(ctx),
      finalize: (ctx: TaskContext<K8sResourceState>) => plugin.finalize(ctx),
    }));
    await engine.register([double], settings);
    await engine.createExecution({ task: double.id(settings), name: 'adopt', inputs: { x: 4 } });
    const done = await engine.waitForExecution(execId('adopt'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap({ y: t.int() }, await engine.getExecutionOutputs(execId('adopt')))).toEqual({ y: 8 });
    expect(precreated).toBe(1);
    expect(fake.created).toBe(1);
    expect(fake.requests.filter((r) => r === `POST /api/v1/namespaces/${NAMESPACE}/pods`)).toHaveLength(2);
  });

  it('is woken by the watch when the pod changes: every poll hint is 10 minutes', async () => {
    const { engine } = await setup();
    await engine.register([double], settings);
    await engine.createExecution({ task: double.id(settings), name: 'woken', inputs: { x: 5 } });
    const done = await engine.waitForExecution(execId('woken'));
    expect(phaseOf(done)).toBe('SUCCEEDED');
    expect(fromLiteralMap({ y: t.int() }, await engine.getExecutionOutputs(execId('woken')))).toEqual({ y: 10 });
  });

  it('relists after 410 Gone and keeps following the pod', async () => {
    const { fake, engine } = await setup({}, {});
    await engine.register([idle], settings);
    await engine.createExecution({ task: idle.id(settings), name: 'gone', inputs: {} });
    const pod = await podNumber(fake, 1);
    await until(() => fake.lists >= 1);
    const lists = fake.lists;
    fake.expireWatches();
    await until(() => fake.lists > lists);
    fake.markRunning(NAMESPACE, pod.metadata.name);
    fake.terminate(NAMESPACE, pod.metadata.name, { exitCode: 0 });
    expect(phaseOf(await engine.waitForExecution(execId('gone')))).toBe('SUCCEEDED');
  });

  it('fails a pod pending longer than pendingTimeoutMs as a system error, without polling, retried with a new pod', async () => {
    const { fake, engine } = await setup({ pendingTimeoutMs: 100 }, {});
    await engine.register([idle], settings);
    await engine.createExecution({ task: idle.id(settings), name: 'pending', inputs: {} });
    const first = await podNumber(fake, 1);
    fake.setUnschedulable(NAMESPACE, first.metadata.name, '0/3 nodes are available');
    // The system retry makes a second pod; let that one run.
    const second = await podNumber(fake, 2);
    expect(second.metadata.name).not.toBe(first.metadata.name);
    fake.markRunning(NAMESPACE, second.metadata.name);
    fake.terminate(NAMESPACE, second.metadata.name, { exitCode: 0 });
    expect(phaseOf(await engine.waitForExecution(execId('pending')))).toBe('SUCCEEDED');
    expect(await attemptErrors(engine, 'pending')).toEqual([
      { code: 'PodPendingTimeout', kind: 'SYSTEM' },
      { code: '', kind: '' },
    ]);
  });

  it('fails an attempt whose pod was deleted behind its back as ResourceDeletedExternally (system)', async () => {
    const { fake, engine } = await setup({}, {});
    await engine.register([idle], settings);
    await engine.createExecution({ task: idle.id(settings), name: 'deleted', inputs: {} });
    const first = await podNumber(fake, 1);
    fake.markRunning(NAMESPACE, first.metadata.name);
    fake.deletePod(NAMESPACE, first.metadata.name);
    const second = await podNumber(fake, 2);
    fake.markRunning(NAMESPACE, second.metadata.name);
    fake.terminate(NAMESPACE, second.metadata.name, { exitCode: 0 });
    expect(phaseOf(await engine.waitForExecution(execId('deleted')))).toBe('SUCCEEDED');
    expect(await attemptErrors(engine, 'deleted')).toEqual([
      { code: 'ResourceDeletedExternally', kind: 'SYSTEM' },
      { code: '', kind: '' },
    ]);
  });

  it('ends its watches when the engine stops, and watches again when used after', async () => {
    const { fake, engine, plugin } = await setup({}, {});
    await engine.register([idle], settings);
    await engine.createExecution({ task: idle.id(settings), name: 'closing', inputs: {} });
    const pod = await podNumber(fake, 1);
    expect(plugin.watches).toBe(1);
    await engine.stop();
    expect(plugin.watches).toBe(0);
    // A restarted engine re-attaches through the same plugin, which watches again.
    await engine.start();
    await until(() => plugin.watches === 1);
    fake.markRunning(NAMESPACE, pod.metadata.name);
    fake.terminate(NAMESPACE, pod.metadata.name, { exitCode: 0 });
    expect(phaseOf(await engine.waitForExecution(execId('closing')))).toBe('SUCCEEDED');
    expect(fake.created).toBe(1);
  });
});
