// Opt-in: container tasks through a real engine on a real Kubernetes cluster. Runs only when KUBECONFIG is set
// (`KubeConfig.loadFromDefault()`), in the namespace FLYTE_TS_K8S_NAMESPACE (default `default`), pulling the public
// image `busybox`. Raw containers cannot write outputs to this machine's local blob store, so the tasks have none.
// Everything created is deleted afterwards (pods are found by their execution-id label).
import { create } from '@bufbuild/protobuf';
import { idl, serialize, task } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { MemoryStore } from '@flyte-ts/store-memory';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPodPlugin, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type PodPluginOptions } from '../src/index.js';
import { settings, startEngine, tempBlob } from './support/setup.js';

const kubeconfigSet = (process.env['KUBECONFIG'] ?? '') !== '';
const namespace = process.env['FLYTE_TS_K8S_NAMESPACE'] || 'default';
// Unique per run, so that runs sharing a cluster (and leftovers of an interrupted one) do not collide.
const run = `rc${Date.now().toString(36)}`;

// Skipped without KUBECONFIG: there is no cluster to talk to (set it, and optionally FLYTE_TS_K8S_NAMESPACE, to run).
describe.skipIf(!kubeconfigSet)('container tasks on a real cluster (KUBECONFIG)', { timeout: 300_000 }, () => {
  let kubeConfig: KubeConfig;
  let core: CoreV1Api;
  const executions: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(() => {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    core = kubeConfig.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    // Whatever a failed test left behind.
    for (const name of executions) {
      await core.deleteCollectionNamespacedPod({ namespace, labelSelector: `execution-id=${name}` });
    }
  });

  function execId(name: string): idl.core.WorkflowExecutionIdentifier {
    return create(idl.core.WorkflowExecutionIdentifierSchema, {
      project: settings.project,
      domain: settings.domain,
      name,
    });
  }

  /** A fresh execution name, remembered for the cleanup. */
  function executionName(suffix: string): string {
    const name = `${run}${suffix}`;
    executions.push(name);
    return name;
  }

  /** A raw `container` task on busybox running `sh -c <script>` (no inputs, no outputs). */
  function shellTask(name: string, script: string): ReturnType<typeof serialize> {
    const base = task({ name, inputs: {}, outputs: {}, taskType: 'container', image: 'busybox:1.36' }, () => {
      throw new Error('runs in a pod');
    });
    const serialized = serialize([base], settings);
    const target = serialized.tasks[0]!.template!.target;
    if (target.case !== 'container') throw new Error('a container task has TaskTemplate.container');
    // Not flyte-ts-execute: a plain command of the image.
    target.value.command = ['sh', '-c', script];
    target.value.args = [];
    return serialized;
  }

  async function setup(
    options: Partial<PodPluginOptions> = {},
  ): Promise<{ restart: () => Promise<Engine>; engine: Engine }> {
    const { blob, cleanup } = tempBlob();
    cleanups.push(cleanup);
    const store = new MemoryStore();
    const start = async () => {
      const plugin = createPodPlugin({
        clusters: [{ name: 'real', kubeConfig }],
        namespace: () => namespace,
        pollMs: 1000,
        ...options,
      });
      cleanups.push(() => plugin.close());
      const engine = await startEngine(blob, [plugin], store);
      cleanups.push(() => engine.stop());
      return engine;
    };
    return { engine: await start(), restart: start };
  }

  async function podsOf(execution: string): Promise<V1Pod[]> {
    const list = await core.listNamespacedPod({
      namespace,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},execution-id=${execution}`,
    });
    return list.items;
  }

  /** Polls the cluster until the execution has a pod for which `ready` holds (the test's timeout bounds it). */
  async function podWhere(execution: string, ready: (pod: V1Pod) => boolean): Promise<V1Pod> {
    for (;;) {
      const pod = (await podsOf(execution)).find(ready);
      if (pod !== undefined) return pod;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  function phaseOf(execution: idl.admin.Execution): string {
    return idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0] ?? '?';
  }

  function errorOf(execution: idl.admin.Execution): idl.core.ExecutionError | undefined {
    const result = execution.closure?.outputResult;
    return result?.case === 'error' ? result.value : undefined;
  }

  it('succeed with a container that exits 0, and delete its pod', async () => {
    const { engine } = await setup();
    const serialized = shellTask('realcluster.ok', 'exit 0');
    await engine.register(serialized);
    const name = executionName('ok');
    await engine.createExecution({ task: serialized.tasks[0]!.template!.id!, name, inputs: {} });
    const done = await engine.waitForExecution(execId(name));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
    // Finalize deleted the pod: it is gone or terminating.
    for (const pod of await podsOf(name)) expect(pod.metadata?.deletionTimestamp).toBeDefined();
  });

  it('fail with the user error and exit code of a container that exits 3', async () => {
    const { engine } = await setup();
    const serialized = shellTask('realcluster.exit3', 'echo failing on purpose; exit 3');
    await engine.register(serialized);
    const name = executionName('fail');
    await engine.createExecution({ task: serialized.tasks[0]!.template!.id!, name, inputs: {} });
    const done = await engine.waitForExecution(execId(name));
    expect(phaseOf(done)).toBe('FAILED');
    const error = errorOf(done);
    expect(error?.kind).toBe(idl.core.ExecutionError_ErrorKind.USER);
    expect(error?.code).toBe('Error');
    expect(error?.message).toContain('exit code (3)');
  });

  it('re-attach to the running pod after an engine restart, without creating another', async () => {
    // Keep the pod after the end so that the test can count the execution's pods; the afterAll deletes it.
    const { engine, restart } = await setup({ deleteOnFinalize: false });
    const serialized = shellTask('realcluster.sleep', 'sleep 20');
    await engine.register(serialized);
    const name = executionName('restart');
    await engine.createExecution({ task: serialized.tasks[0]!.template!.id!, name, inputs: {} });
    const running = await podWhere(name, (pod) => pod.status?.phase === 'Running');
    await engine.stop();
    const next = await restart();
    const done = await next.waitForExecution(execId(name));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
    const pods = await podsOf(name);
    expect(pods.map((p) => p.metadata?.uid)).toEqual([running.metadata?.uid]);
    expect(pods[0]?.status?.phase).toBe('Succeeded');
  });
});
