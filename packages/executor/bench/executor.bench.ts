// `npm run bench` (executor): the engine on the in-memory adapters with no-op tasks, as built for publishing (the
// script builds the packages first, and this file imports them by name). Prints four figures and asserts nothing:
// task executions per minute, a 100,000-node fan-out/fan-in (time and memory), launch → first task running
// latency, and the engine's overhead per node (p50/p99).
import { performance } from 'node:perf_hooks';
import { idl, t, task, workflow, type SerializationSettings } from '@flyte-ts/core';
import { MemoryBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { createEngine, type Engine } from '@flyte-ts/executor';

const settings: SerializationSettings = { project: 'flytesnacks', domain: 'development', version: 'bench' };
const noop = task({ name: 'bench.noop', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
const gather = task({ name: 'bench.gather', inputs: { xs: t.list(t.int()) }, outputs: { n: t.int() } }, ({ xs }) => ({
  n: xs.length,
}));

function fan(name: string, width: number) {
  return workflow({ name, inputs: { x: t.int() }, outputs: { n: t.int() } }, ({ x }) => {
    const parts = Array.from({ length: width }, () => noop({ x }).y);
    return { n: gather({ xs: parts }).n };
  });
}

function chain(name: string, length: number) {
  return workflow({ name, inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
    let y = noop({ x }).y;
    for (let i = 1; i < length; i++) y = noop({ x: y }).y;
    return { y };
  });
}

async function engine(): Promise<Engine> {
  const e = createEngine({
    store: new MemoryStore(),
    blob: new MemoryBlobStore(),
    catalog: new MemoryCatalog(),
    config: { defaultMaxParallelism: 0, id: 'bench' },
  });
  await e.start();
  return e;
}

function id(name: string): idl.core.WorkflowExecutionIdentifier {
  return {
    $typeName: 'flyteidl.core.WorkflowExecutionIdentifier',
    project: 'flytesnacks',
    domain: 'development',
    name,
    org: '',
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function throughput(): Promise<void> {
  const e = await engine();
  const wf = fan('bench.throughput', 1000);
  await e.register([wf], settings);
  const executions = 20;
  let tasks = 0;
  e.on('task', (event) => {
    if (event.phase === idl.core.TaskExecution_Phase.SUCCEEDED) tasks++;
  });
  // One run: 20 executions of 1,001 tasks at once, on the engine's memory adapters (which keep every record).
  const run = async (label: string): Promise<number> => {
    tasks = 0;
    const started = performance.now();
    const names = Array.from({ length: executions }, (_, i) => `${label}-${i}`);
    await Promise.all(names.map((name) => e.createExecution({ workflow: wf.id(settings), name, inputs: { x: 1 } })));
    await Promise.all(names.map((name) => e.waitForExecution(id(name))));
    const perMinute = (tasks / (performance.now() - started)) * 60_000;
    if (tasks !== executions * 1001)
      throw new Error(`run ${label}: ${tasks} tasks succeeded, not ${executions * 1001}`);
    return perMinute;
  };
  const format = (n: number) => Math.round(n).toLocaleString('en-US');
  // The first run includes the JIT compiling the engine's code; an engine serving for minutes runs warm.
  const cold = await run('cold');
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push(await run(`warm${i}`));
  const sorted = [...warm].sort((a, b) => a - b);
  console.log(
    `throughput: no-op task executions per minute (${executions} executions × 1,001 tasks per run): ` +
      `median ${format(percentile(sorted, 50))} over 5 warm runs (${warm.map(format).join(', ')}); first run ${format(cold)}`,
  );
  await e.stop();
}

async function bigFan(width: number): Promise<void> {
  const before = process.memoryUsage();
  let t0 = performance.now();
  const wf = fan(`bench.fan_${width}`, width);
  const defined = performance.now() - t0;
  const e = await engine();
  t0 = performance.now();
  await e.register([wf], settings);
  const registered = performance.now() - t0;
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  t0 = performance.now();
  await e.createExecution({ workflow: wf.id(settings), name: 'fan', inputs: { x: 1 } });
  const done = await e.waitForExecution(id('fan'));
  const ran = performance.now() - t0;
  clearInterval(sampler);
  const after = process.memoryUsage();
  console.log(
    `fan-out/fan-in of ${width.toLocaleString('en-US')} nodes: ${idl.core.WorkflowExecution_Phase[done.closure!.phase]}; ` +
      `define ${defined.toFixed(0)} ms, register (compile) ${registered.toFixed(0)} ms, run ${ran.toFixed(0)} ms; ` +
      `heap peak ${mb(peakHeap)} (from ${mb(before.heapUsed)}), rss ${mb(after.rss)}`,
  );
  await e.stop();
}

async function launchLatency(): Promise<void> {
  const e = await engine();
  const wf = chain('bench.one', 1);
  await e.register([wf], settings);
  const samples: number[] = [];
  for (let i = 0; i < 300; i++) {
    const name = `l${i}`;
    let start = 0;
    const running = new Promise<void>((resolve) => {
      const onTask = (event: idl.event.TaskExecutionEvent) => {
        if (event.parentNodeExecutionId?.executionId?.name !== name) return;
        e.off('task', onTask);
        resolve();
      };
      e.on('task', onTask);
    });
    const onNode = (event: idl.event.NodeExecutionEvent) => {
      if (
        event.id?.executionId?.name === name &&
        event.id.nodeId === 'n0' &&
        event.phase === idl.core.NodeExecution_Phase.QUEUED
      ) {
        e.off('node', onNode);
        samples.push(performance.now() - start);
      }
    };
    e.on('node', onNode);
    start = performance.now();
    await e.createExecution({ workflow: wf.id(settings), name, inputs: { x: 1 } });
    await running;
    await e.waitForExecution(id(name));
  }
  samples.sort((a, b) => a - b);
  console.log(
    `launch → first task running (its node queued, committed): p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (${samples.length} launches)`,
  );
  await e.stop();
}

async function overhead(): Promise<void> {
  const e = await engine();
  const length = 2000;
  const wf = chain('bench.chain', length);
  await e.register([wf], settings);
  const ready = new Map<string, number>();
  const perNode: number[] = [];
  let last = 0;
  e.on('node', (event) => {
    const now = performance.now();
    const node = event.id?.nodeId ?? '';
    if (!node.startsWith('n')) return;
    if (event.phase === idl.core.NodeExecution_Phase.SUCCEEDED) {
      // From the previous node's end (this one became ready) to this node's end, committed.
      perNode.push(now - (ready.get(node) ?? last));
      last = now;
    } else if (event.phase === idl.core.NodeExecution_Phase.QUEUED && !ready.has(node)) {
      ready.set(node, last || now);
    }
  });
  const started = performance.now();
  await e.createExecution({ workflow: wf.id(settings), name: 'chain', inputs: { x: 1 } });
  await e.waitForExecution(id('chain'));
  const total = performance.now() - started;
  perNode.sort((a, b) => a - b);
  console.log(
    `engine overhead per node (chain of ${length} no-op tasks, ready → succeeded and committed): p50 ${percentile(perNode, 50).toFixed(3)} ms, p99 ${percentile(perNode, 99).toFixed(3)} ms; whole chain ${total.toFixed(0)} ms`,
  );
  await e.stop();
}

await throughput();
await launchLatency();
await overhead();
await bigFan(Number(process.env.FAN_WIDTH ?? 100_000));
