// The Kubernetes-resource machinery: cluster selection, quotas, adoption of existing objects.
import { idl, t, task, workflow } from '@flyte-ts/core';
import { MemoryResourceManager, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { createPodPlugin, kubeConfigFor, NoClusterError, selectCluster, type K8sCluster } from '../src/index.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { processOptions, settings, startEngine, tempBlob } from './support/setup.js';

describe('execution cluster selection', () => {
  const kubeConfig = kubeConfigFor('http://127.0.0.1:1');
  const clusters: K8sCluster[] = [
    { name: 'a', kubeConfig, weight: 3 },
    { name: 'b', kubeConfig, weight: 1, labels: ['gpu'] },
    { name: 'c', kubeConfig, weight: 0, labels: ['secure'] },
  ];

  it('is stable per attempt and follows the weights', () => {
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 4000; i++) {
      const name = `exec-${i}-n0-0`;
      const chosen = selectCluster(clusters, name).name;
      expect(selectCluster(clusters, name).name).toBe(chosen);
      counts[chosen]!++;
    }
    expect(counts['c']).toBe(0);
    expect(counts['a']! / 4000).toBeGreaterThan(0.65);
    expect(counts['a']! / 4000).toBeLessThan(0.85);
  });

  it('sends labelled work only to clusters serving the label', () => {
    expect(selectCluster(clusters, 'x', 'secure').name).toBe('c');
    expect(selectCluster(clusters, 'x', 'gpu').name).toBe('b');
    expect(() => selectCluster(clusters, 'x', 'tpu')).toThrow(NoClusterError);
  });
});

describe('resource quotas', () => {
  it('run at most quota pods at once; the others wait for resources and then run', async () => {
    const fake = await FakeApiServer.start(processOptions());
    const { blob, cleanup } = tempBlob();
    const resourceManager = new MemoryResourceManager();
    await resourceManager.setQuota('pods', 1);
    const plugin = createPodPlugin({
      clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
      quota: { pool: () => 'pods' },
      pollMs: 50,
      watchedPollMs: 10_000,
    });
    const engine = await startEngine(blob, [plugin], new MemoryStore(), resourceManager);
    try {
      const double = task(
        { name: 'q.double', inputs: { x: t.int() }, outputs: { y: t.int() }, taskType: 'container', image: 'x' },
        () => {
          throw new Error('runs in a pod');
        },
      );
      const wf = workflow({ name: 'q.wf', inputs: { x: t.int() }, outputs: { a: t.int(), b: t.int() } }, ({ x }) => ({
        a: double({ x }).y,
        b: double({ x }).y,
      }));
      await engine.register([wf], settings);
      const { id } = await engine.createExecution({ workflow: wf.id(settings), inputs: { x: 2 } });
      const done = await engine.waitForExecution(id!);
      expect(done?.closure?.phase).toBe(idl.core.WorkflowExecution_Phase.SUCCEEDED);
      expect(fake.created).toBe(2);
      expect(fake.peak).toBe(1);
      // Finalize released the tokens.
      expect(await resourceManager.allocate('pods', 'someone-else')).toBe('granted');
    } finally {
      await engine.stop();
      await plugin.close();
      await fake.close();
      cleanup();
    }
  });
});

describe('several execution clusters', () => {
  it('create the pod of each attempt in the cluster its execution label selects, and only there', async () => {
    const general = await FakeApiServer.start(processOptions());
    const gpu = await FakeApiServer.start(processOptions());
    const { blob, cleanup } = tempBlob();
    const plugin = createPodPlugin({
      clusters: [
        { name: 'general', kubeConfig: general.kubeConfig(), weight: 1 },
        // Weight 0: only work labelled for it goes there.
        { name: 'gpu', kubeConfig: gpu.kubeConfig(), weight: 0, labels: ['gpu'] },
      ],
      pollMs: 50,
      watchedPollMs: 10_000,
    });
    const engine = await startEngine(blob, [plugin]);
    try {
      const double = task(
        { name: 'mc.double', inputs: { x: t.int() }, outputs: { y: t.int() }, taskType: 'container', image: 'x' },
        () => {
          throw new Error('runs in a pod');
        },
      );
      const wf = workflow({ name: 'mc.wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
        y: double({ x }).y,
      }));
      await engine.register([wf], settings);
      const plain = await engine.createExecution({ workflow: wf.id(settings), inputs: { x: 2 } });
      expect((await engine.waitForExecution(plain.id!)).closure?.phase).toBe(
        idl.core.WorkflowExecution_Phase.SUCCEEDED,
      );
      expect([general.created, gpu.created]).toEqual([1, 0]);
      const labelled = await engine.createExecution({
        workflow: wf.id(settings),
        inputs: { x: 3 },
        labels: { 'execution-cluster': 'gpu' },
      });
      expect((await engine.waitForExecution(labelled.id!)).closure?.phase).toBe(
        idl.core.WorkflowExecution_Phase.SUCCEEDED,
      );
      expect([general.created, gpu.created]).toEqual([1, 1]);
    } finally {
      await engine.stop();
      await plugin.close();
      await Promise.all([general.close(), gpu.close()]);
      cleanup();
    }
  });
});
