// Tasks as Kubernetes pods: two TypeScript tasks declared with `taskType: 'container'` run as pods through
// @flyte-ts/plugin-k8s-pod. Each pod runs `flyte-ts-execute`, which loads the task from this module (`module:
// import.meta.url`) by name, reads its inputs.pb from the blob store and writes outputs.pb — as flytekit's
// pyflyte-execute does in a real cluster. Here the cluster is the plugin's fake API server, whose pods run their
// command as local processes, and the blob store is a local directory every process shares.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { t, task, workflow } from '@flyte-ts/core';
import { createEngine } from '@flyte-ts/executor';
import { createPodPlugin } from '@flyte-ts/plugin-k8s-pod';
import { flyteTsExecuteCommand, startFakeApiServer } from '@flyte-ts/plugin-k8s-pod/testing';
import { LocalFsBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { runToEnd, settings, type RunResult } from './engine.js';

/** The image the tasks' pods would use on a real cluster (one with this package and `flyte-ts-execute`). */
export const IMAGE = 'ghcr.io/example/orders:1';

/** Exports the orders of a region as a CSV file, uploaded by the pod to the raw-output prefix. */
export const exportOrders = task(
  {
    name: 'examples.pods.export_orders',
    inputs: { region: t.string(), count: t.int() },
    outputs: { orders: t.file({ format: 'csv' }) },
    taskType: 'container',
    image: IMAGE,
    module: import.meta.url,
  },
  ({ region, count }) => {
    const rows = Array.from({ length: count }, (_, i) => `${region}-${i + 1},${region},${(i + 1) * 10}`);
    return { orders: { body: ['id,region,amount', ...rows].join('\n'), name: 'orders.csv' } };
  },
);

/** Reads the CSV file in another pod and totals it. */
export const totalOrders = task(
  {
    name: 'examples.pods.total_orders',
    inputs: { orders: t.file({ format: 'csv' }) },
    outputs: { total: t.int(), report: t.string() },
    taskType: 'container',
    image: IMAGE,
    module: import.meta.url,
  },
  async ({ orders }, { execution }) => {
    const lines = (await orders.text()).split('\n').slice(1);
    const total = lines.reduce((sum, line) => sum + Number(line.split(',')[2]), 0);
    return { total, report: `${lines.length} orders, ${total} in total (execution ${execution?.name ?? '?'})` };
  },
);

/** The workflow: export, then total, each in its own pod. */
export const orderReport = workflow(
  {
    name: 'examples.pods.order_report',
    inputs: { region: t.string(), count: t.int() },
    outputs: { total: t.int(), report: t.string() },
  },
  ({ region, count }) => {
    const exported = exportOrders({ region, count });
    const totals = totalOrders({ orders: exported.orders });
    return { total: totals.total, report: totals.report };
  },
);

/** A run of {@link orderReport} on the simulated cluster. */
export interface PodsRun extends RunResult<typeof orderReport.outputs> {
  /** Pods the cluster created (one per task attempt). */
  readonly pods: number;
  /** Pods left once the run ended (the plugin deletes finished pods). */
  readonly podsLeft: number;
}

/**
 * Runs {@link orderReport} with its tasks as pods on a fake cluster whose pods are local `flyte-ts-execute`
 * processes; everything it starts is stopped and removed before it resolves.
 */
export async function runPods(region = 'emea', count = 4, name = 'pods'): Promise<PodsRun> {
  const dir = await mkdtemp(join(tmpdir(), 'flyte-pods-'));
  const cluster = await startFakeApiServer({
    runProcesses: true,
    binaries: { 'flyte-ts-execute': flyteTsExecuteCommand() },
  });
  const pods = createPodPlugin({ clusters: [{ name: 'local', kubeConfig: cluster.kubeConfig() }] });
  const blob = new LocalFsBlobStore({ root: join(dir, 'data') });
  const engine = createEngine({
    store: new MemoryStore(),
    blob,
    catalog: new MemoryCatalog(),
    plugins: [pods],
    config: { metadataPrefix: `${blob.rootUri}/metadata`, rawOutputPrefix: `${blob.rootUri}/raw` },
  });
  try {
    await engine.start();
    await engine.register([orderReport], settings);
    const result = await runToEnd(engine, orderReport, name, { region, count });
    return { ...result, pods: cluster.created, podsLeft: cluster.pods.size };
  } finally {
    await engine.stop();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}
