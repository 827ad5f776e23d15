// Container tasks run as pods through a real engine and the real Kubernetes client against the fake API server,
// whose pods run the container program as local processes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, t, task, workflow } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { MemoryStore } from '@flyte-ts/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { createPodPlugin, type K8sResourcePlugin, type PodPluginOptions } from '../src/index.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { NAMESPACE, processOptions, settings, startEngine, tempBlob } from './support/setup.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: Partial<PodPluginOptions> = {},
  fakeOptions = processOptions(),
): Promise<{
  fake: FakeApiServer;
  plugin: K8sResourcePlugin<never>;
  engine: Engine;
  dir: string;
  store: MemoryStore;
  restart: () => Promise<Engine>;
}> {
  const fake = await FakeApiServer.start(fakeOptions);
  cleanups.push(() => fake.close());
  const { dir, blob, cleanup } = tempBlob();
  cleanups.push(cleanup);
  const make = () => {
    const plugin = createPodPlugin({
      clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
      watchedPollMs: 10_000,
      pollMs: 100,
      logLinks: [{ name: 'Kubernetes Logs', uri: 'https://dash/#/log/{{.namespace}}/{{.podName}}/pod' }],
      ...options,
    });
    cleanups.push(() => plugin.close());
    return plugin;
  };
  const store = new MemoryStore();
  const plugin = make();
  const engine = await startEngine(blob, [plugin], store);
  cleanups.push(() => engine.stop());
  return {
    fake,
    plugin: plugin as unknown as K8sResourcePlugin<never>,
    engine,
    dir,
    store,
    restart: async () => {
      const next = await startEngine(blob, [make()], store);
      cleanups.push(() => next.stop());
      return next;
    },
  };
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

function errorOf(execution: idl.admin.Execution | undefined): idl.core.ExecutionError | undefined {
  const result = execution?.closure?.outputResult;
  return result?.case === 'error' ? result.value : undefined;
}

const unused = () => {
  throw new Error('runs in a pod');
};

const double = task(
  {
    name: 'k8s.double',
    inputs: { x: t.int() },
    outputs: { y: t.int() },
    taskType: 'container',
    image: 'example/double:1',
  },
  unused,
);
const greet = task(
  {
    name: 'k8s.greet',
    inputs: { name: t.string() },
    outputs: { greeting: t.string() },
    taskType: 'container',
    image: 'example/greet:1',
    env: { GREETING: 'hi' },
    secrets: [{ group: 'db', key: 'password' }],
  },
  unused,
);

describe('container tasks on Kubernetes', { timeout: 60_000 }, () => {
  it('run a workflow of pods whose processes read inputs and write outputs on the blob store', async () => {
    const { fake, engine } = await setup();
    fake.addSecret(NAMESPACE, 'db', { password: 's3cret' });
    const wf = workflow(
      { name: 'k8s.wf', inputs: { x: t.int(), name: t.string() }, outputs: { y: t.int(), greeting: t.string() } },
      ({ x, name }) => {
        const first = double({ x });
        const second = double({ x: first.y });
        return { y: second.y, greeting: greet({ name }).greeting };
      },
    );
    await engine.register([wf], settings);
    await engine.createExecution({
      workflow: wf.id(settings),
      name: 'e1',
      inputs: { x: 5, name: 'flyte' },
      labels: { team: 'data' },
      annotations: { owner: 'me' },
    });
    const done = await engine.waitForExecution(execId('e1'));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(
      { y: t.int(), greeting: t.string() },
      await engine.getExecutionOutputs(execId('e1')),
    );
    expect(outputs).toEqual({ y: 20, greeting: 'hi flyte (s3cret)' });
    expect(fake.created).toBe(3);
    // Finalize deletes the pods.
    expect(fake.pods.size).toBe(0);
    const nodes = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('e1'),
    } as idl.core.NodeExecutionIdentifier);
    const attempt = nodes.items[0]!;
    expect(attempt.closure?.logs.map((l) => l.uri)).toEqual([
      `https://dash/#/log/${NAMESPACE}/${attempt.closure?.metadata?.externalResources[0]?.externalId}/pod`,
    ]);
  });

  it('put labels, annotations, env, secrets, resources and the service account on the pod', async () => {
    const { fake, engine } = await setup(
      {
        interruptibleTolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }],
        interruptibleNodeSelector: { pool: 'spot' },
      },
      {},
    );
    const sized = task(
      {
        name: 'k8s.sized',
        inputs: { x: t.int() },
        outputs: { y: t.int() },
        taskType: 'container',
        image: 'example/double:1',
        interruptible: true,
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
        secrets: [{ group: 'db', key: 'password' }],
      },
      unused,
    );
    await engine.register([sized], settings);
    const securityContext = create(idl.core.SecurityContextSchema, {
      runAs: { k8sServiceAccount: 'runner', iamRole: 'arn:aws:iam::1:role/r' },
    });
    await engine.createExecution({
      task: sized.id(settings),
      name: 'e2',
      inputs: { x: 1 },
      labels: { team: 'data' },
      securityContext,
    });
    // Manual pods stay Pending: wait for the pod to exist, then inspect it.
    const pod = await new Promise<NonNullable<ReturnType<typeof fake.pod>>>((resolve) => {
      const look = setInterval(() => {
        const found = [...fake.pods.values()][0];
        if (found !== undefined) {
          clearInterval(look);
          resolve(found);
        }
      }, 10);
    });
    const container = pod.spec.containers[0]!;
    expect(pod.metadata.labels).toMatchObject({
      team: 'data',
      'app.kubernetes.io/managed-by': 'flyte-ts',
      interruptible: 'true',
    });
    expect(pod.metadata.annotations).toMatchObject({ 'iam.amazonaws.com/role': 'arn:aws:iam::1:role/r' });
    expect(pod.spec).toMatchObject({
      serviceAccountName: 'runner',
      restartPolicy: 'Never',
      nodeSelector: { pool: 'spot' },
      tolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }],
    });
    expect(container.image).toBe('example/double:1');
    expect(container['resources']).toEqual({
      requests: { cpu: '1', memory: '1Gi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
    expect(container.args?.[0]).toBe('flyte-ts-execute');
    expect(container.args?.[2]).toMatch(/^file:\/\/.*\/inputs\.pb$/);
    expect(container.env).toContainEqual({
      name: '_FSEC_DB_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
    });
    expect(container.env).toContainEqual({ name: 'FLYTE_INTERNAL_EXECUTION_ID', value: 'e2' });
    await engine.terminateExecution(execId('e2'), 'test over');
    await engine.waitForExecution(execId('e2'));
    expect(fake.pods.size).toBe(0);
  });

  it('fail the task with the exit code and message of the primary container', async () => {
    const { engine } = await setup();
    const crash = task({ name: 'k8s.crash', inputs: {}, outputs: {}, taskType: 'container', image: 'x' }, unused);
    await engine.register([crash], settings);
    await engine.createExecution({ task: crash.id(settings), name: 'e3', inputs: {} });
    const done = await engine.waitForExecution(execId('e3'));
    expect(phaseOf(done)).toBe('FAILED');
    const error = errorOf(done);
    expect(error?.code).toBe('Error');
    expect(error?.message).toContain('exit code (3)');
    expect(error?.message).toContain('boom: division by zero');
  });

  it('fail the task with the error document a container writes', async () => {
    const { engine } = await setup();
    const raise = task(
      { name: 'k8s.raise', inputs: {}, outputs: {}, taskType: 'container', image: 'x', retries: 2 },
      unused,
    );
    await engine.register([raise], settings);
    await engine.createExecution({ task: raise.id(settings), name: 'e4', inputs: {} });
    const done = await engine.waitForExecution(execId('e4'));
    expect(phaseOf(done)).toBe('FAILED');
    const error = errorOf(done);
    expect(error).toMatchObject({
      code: 'USER:ValueError',
      message: 'x must be positive',
      kind: idl.core.ExecutionError_ErrorKind.USER,
    });
    // NON_RECOVERABLE: no retry despite retries: 2.
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('e4'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items).toHaveLength(1);
  });

  it('fail image pull back-off after the grace period, and retry an OOMKilled pod with a new pod', async () => {
    const { fake, engine } = await setup({ imagePullBackoffGraceMs: 0 }, {});
    const flaky = task(
      { name: 'k8s.flaky', inputs: {}, outputs: {}, taskType: 'container', image: 'x', retries: 1 },
      unused,
    );
    await engine.register([flaky], settings);
    await engine.createExecution({ task: flaky.id(settings), name: 'e5', inputs: {} });
    const podNamed = async (n: number) =>
      new Promise<string>((resolve) => {
        const look = setInterval(() => {
          if (fake.created >= n) {
            const pod = [...fake.pods.values()].at(-1);
            if (pod !== undefined) {
              clearInterval(look);
              resolve(pod.metadata.name);
            }
          }
        }, 10);
      });
    const first = await podNamed(1);
    fake.markRunning(NAMESPACE, first);
    fake.terminate(NAMESPACE, first, { exitCode: 137, reason: 'OOMKilled' });
    const second = await podNamed(2);
    expect(second).not.toBe(first);
    fake.setWaiting(NAMESPACE, second, 'ImagePullBackOff', 'Back-off pulling image "x"');
    const done = await engine.waitForExecution(execId('e5'));
    expect(phaseOf(done)).toBe('FAILED');
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('e5'),
    } as idl.core.NodeExecutionIdentifier);
    expect(
      attempts.items.map((a) => (a.closure?.outputResult.case === 'error' ? a.closure.outputResult.value.code : '')),
    ).toEqual(['OOMKilled', 'ContainersNotReady|ImagePullBackOff']);
  });

  it('re-attach to a running pod after an engine restart, without creating another', async () => {
    const { fake, engine, dir, restart } = await setup();
    const gate = join(dir, 'release');
    const slow = task(
      {
        name: 'k8s.wait',
        inputs: { x: t.int() },
        outputs: { y: t.int() },
        taskType: 'container',
        image: 'x',
        env: { GATE: gate },
      },
      unused,
    );
    await engine.register([slow], settings);
    await engine.createExecution({ task: slow.id(settings), name: 'e6', inputs: { x: 21 } });
    await new Promise<void>((resolve) => {
      const look = setInterval(() => {
        if ([...fake.pods.values()].some((p) => p.status['phase'] === 'Running')) {
          clearInterval(look);
          resolve();
        }
      }, 10);
    });
    await engine.stop();
    // Watches of the new engine start from a compacted history (410 Gone on resume): they relist.
    fake.expireWatches();
    const next = await restart();
    writeFileSync(gate, 'go');
    const done = await next.waitForExecution(execId('e6'));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
    expect(fromLiteralMap({ y: t.int() }, await next.getExecutionOutputs(execId('e6')))).toEqual({ y: 42 });
    expect(fake.created).toBe(1);
  });
});
