// Sidecar and pod tasks (a full pod spec with a primary container) and secrets mounted as files, through a real
// engine and the real Kubernetes client against the fake API server.
import { create, type JsonObject } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, serialize, t, task } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { afterEach, describe, expect, it } from 'vitest';
import { createPodPlugin, PRIMARY_CONTAINER_KEY, type PodPluginOptions } from '../src/index.js';
import { FakeApiServer, type FakePod } from './support/fake-apiserver.js';
import { NAMESPACE, processOptions, settings, startEngine, tempBlob } from './support/setup.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: Partial<PodPluginOptions> = {},
  fakeOptions = processOptions(),
): Promise<{ fake: FakeApiServer; engine: Engine }> {
  const fake = await FakeApiServer.start(fakeOptions);
  cleanups.push(() => fake.close());
  const { blob, cleanup } = tempBlob();
  cleanups.push(cleanup);
  const plugin = createPodPlugin({
    clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
    pollMs: 100,
    watchedPollMs: 10_000,
    ...options,
  });
  const engine = await startEngine(blob, [plugin]);
  cleanups.push(() => engine.stop());
  return { fake, engine };
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

function podAppears(fake: FakeApiServer, count = 1): Promise<FakePod> {
  return new Promise((resolve) => {
    const look = setInterval(() => {
      const pods = [...fake.pods.values()];
      if (fake.created >= count && pods.length > 0) {
        clearInterval(look);
        resolve(pods.at(-1)!);
      }
    }, 10);
  });
}

const unused = () => {
  throw new Error('runs in a pod');
};

/** A pod spec: a proxy sidecar that never ends, and the primary container running the container program. */
const podSpec = (taskName: string): JsonObject => ({
  containers: [
    { name: 'proxy', image: 'example/proxy:1', command: ['proxy', '--port', '8080'] },
    {
      name: 'main',
      image: 'example/double:1',
      args: [
        'flyte-ts-execute',
        '--inputs',
        '{{.input}}',
        '--output-prefix',
        '{{.outputPrefix}}',
        '--',
        'task-name',
        taskName,
      ],
      resources: { limits: { 'example.com/widget': '1' } },
    },
  ],
  serviceAccountName: 'spec-account',
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
});

describe('sidecar and pod tasks', { timeout: 60_000 }, () => {
  it('run a sidecar task whose primary container decides while the sidecar keeps running', async () => {
    const { fake, engine } = await setup();
    const sidecar = task(
      {
        name: 'k8s.sidecar',
        inputs: { x: t.int() },
        outputs: { y: t.int() },
        taskType: 'sidecar',
        taskTypeVersion: 1,
        custom: podSpec('pods.double'),
        config: { [PRIMARY_CONTAINER_KEY]: 'main' },
      },
      unused,
    );
    await engine.register([sidecar], settings);
    await engine.createExecution({ task: sidecar.id(settings), name: 's1', inputs: { x: 21 } });
    const pod = await podAppears(fake);
    expect(pod.metadata.annotations?.[PRIMARY_CONTAINER_KEY]).toBe('main');
    expect(pod.spec.containers.map((c) => c.name)).toEqual(['proxy', 'main']);
    const done = await engine.waitForExecution(execId('s1'));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
    expect(fromLiteralMap({ y: t.int() }, await engine.getExecutionOutputs(execId('s1')))).toEqual({ y: 42 });
    // The sidecar never ended; finalize deleted the pod anyway.
    expect(fake.pods.size).toBe(0);
  });

  it('build a pod task from TaskTemplate.k8s_pod, merging metadata, secrets and interruptible settings', async () => {
    const { fake, engine } = await setup(
      {
        interruptibleTolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }],
        interruptibleNodeSelector: { pool: 'spot' },
      },
      {},
    );
    const base = task(
      {
        name: 'k8s.pod',
        inputs: {},
        outputs: {},
        taskType: 'pod',
        interruptible: true,
        secrets: [
          { group: 'db', key: 'password' },
          { group: 'tls', key: 'cert', mount: 'file' },
          { group: 'tls', key: 'key', mount: 'file' },
          { group: 'api', key: 'token', mount: 'env', envVar: 'API_TOKEN' },
        ],
      },
      unused,
    );
    const serialized = serialize([base], settings);
    const template = serialized.tasks[0]!.template!;
    template.target = {
      case: 'k8sPod',
      value: create(idl.core.K8sPodSchema, {
        metadata: { labels: { app: 'trainer' }, annotations: { 'sidecar.istio.io/inject': 'false' } },
        podSpec: podSpec('pods.unused'),
        primaryContainerName: 'main',
      }),
    };
    await engine.register(serialized);
    await engine.createExecution({ task: base.id(settings), name: 'p1', inputs: {}, labels: { team: 'data' } });
    const pod = await podAppears(fake);
    expect(pod.metadata.labels).toMatchObject({ app: 'trainer', team: 'data', interruptible: 'true' });
    expect(pod.metadata.annotations).toMatchObject({
      'sidecar.istio.io/inject': 'false',
      [PRIMARY_CONTAINER_KEY]: 'main',
    });
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Never',
      serviceAccountName: 'spec-account',
      nodeSelector: { pool: 'spot' },
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
        { key: 'spot', operator: 'Exists', effect: 'NoSchedule' },
      ],
    });
    // FILE secrets: one volume per secret group, mounted at /etc/flyte/secrets/<group> in every container.
    const volumes = pod.spec['volumes'] as { name: string; secret: { secretName: string; items: object[] } }[];
    expect(volumes).toHaveLength(1);
    expect(volumes[0]!.secret).toEqual({
      secretName: 'tls',
      items: [
        { key: 'cert', path: 'cert' },
        { key: 'key', path: 'key' },
      ],
    });
    const [proxy, main] = pod.spec.containers;
    for (const container of [proxy!, main!]) {
      expect(container['volumeMounts']).toEqual([
        { name: volumes[0]!.name, mountPath: '/etc/flyte/secrets/tls', readOnly: true },
      ]);
      // ANY (the default) and ENV_VAR secrets are env vars, as before.
      expect(container.env).toContainEqual({
        name: '_FSEC_DB_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
      });
      expect(container.env).toContainEqual({
        name: 'API_TOKEN',
        valueFrom: { secretKeyRef: { name: 'api', key: 'token' } },
      });
      expect(container.env).toContainEqual({ name: 'FLYTE_SECRETS_DEFAULT_DIR', value: '/etc/flyte/secrets' });
      expect(container.env).toContainEqual({ name: 'FLYTE_INTERNAL_EXECUTION_ID', value: 'p1' });
    }
    // The containers keep their resources (the template has no TaskTemplate.container to take others from).
    expect(main!['resources']).toEqual({ limits: { 'example.com/widget': '1' } });
    expect(proxy!['resources']).toEqual({});
    expect(main!.args?.[2]).toMatch(/^file:\/\/.*\/inputs\.pb$/);
    // A failing sidecar does not fail the task; the pod ends Failed, but its primary succeeded.
    fake.markRunning(NAMESPACE, pod.metadata.name);
    fake.terminateContainer(NAMESPACE, pod.metadata.name, 'proxy', { exitCode: 1, message: 'proxy crashed' });
    fake.terminateContainer(NAMESPACE, pod.metadata.name, 'main', { exitCode: 0 });
    expect(fake.pod(NAMESPACE, pod.metadata.name)?.status['phase']).toBe('Failed');
    const done = await engine.waitForExecution(execId('p1'));
    expect(phaseOf(done), errorOf(done)?.message).toBe('SUCCEEDED');
  });

  it("fail a pod task with its primary container's exit while the sidecar runs, and reject a missing primary", async () => {
    const { fake, engine } = await setup({}, {});
    const failing = task(
      {
        name: 'k8s.failing',
        inputs: {},
        outputs: {},
        taskType: 'sidecar',
        taskTypeVersion: 0,
        custom: { podSpec: podSpec('pods.unused'), primaryContainerName: 'main', labels: { legacy: 'yes' } },
        resources: { requests: { cpu: '2' } },
      },
      unused,
    );
    const orphan = task(
      {
        name: 'k8s.orphan',
        inputs: {},
        outputs: {},
        taskType: 'sidecar',
        taskTypeVersion: 1,
        custom: podSpec('pods.unused'),
        config: { [PRIMARY_CONTAINER_KEY]: 'trainer' },
      },
      unused,
    );
    await engine.register([failing, orphan], settings);
    await engine.createExecution({ task: failing.id(settings), name: 'f1', inputs: {} });
    const pod = await podAppears(fake);
    expect(pod.metadata.labels).toMatchObject({ legacy: 'yes' });
    // The task's resources go to the primary container, over its own; the sidecar keeps its own.
    expect(pod.spec.containers.map((c) => c['resources'])).toEqual([
      {},
      { requests: { cpu: '2' }, limits: { cpu: '2', 'example.com/widget': '1' } },
    ]);
    fake.markRunning(NAMESPACE, pod.metadata.name);
    fake.terminateContainer(NAMESPACE, pod.metadata.name, 'main', { exitCode: 2, message: 'bad input' });
    const done = await engine.waitForExecution(execId('f1'));
    expect(phaseOf(done)).toBe('FAILED');
    expect(errorOf(done)?.code).toBe('Error');
    expect(errorOf(done)?.message).toBe('[main] terminated with exit code (2). Reason [Error]. Message: bad input');
    await engine.createExecution({ task: orphan.id(settings), name: 'f2', inputs: {} });
    const rejected = await engine.waitForExecution(execId('f2'));
    expect(phaseOf(rejected)).toBe('FAILED');
    expect(errorOf(rejected)?.code).toBe('BadTaskSpecification');
    expect(errorOf(rejected)?.message).toContain('"trainer" is not among the pod\'s containers');
    expect(fake.created).toBe(1);
  });

  it("mount secrets requested as ANY as files when configured to (as Flyte's secret webhook does)", async () => {
    const { fake, engine } = await setup({ anySecretMount: 'file' }, {});
    const reader = task(
      {
        name: 'k8s.reader',
        inputs: {},
        outputs: {},
        taskType: 'container',
        image: 'x',
        secrets: [{ group: 'db', key: 'password' }],
      },
      unused,
    );
    await engine.register([reader], settings);
    await engine.createExecution({ task: reader.id(settings), name: 'a1', inputs: {} });
    const pod = await podAppears(fake);
    const container = pod.spec.containers[0]!;
    expect(container.env?.some((e) => e.name === '_FSEC_DB_PASSWORD')).toBe(false);
    expect(container['volumeMounts']).toMatchObject([{ mountPath: '/etc/flyte/secrets/db', readOnly: true }]);
    expect(pod.spec['volumes']).toMatchObject([
      { secret: { secretName: 'db', items: [{ key: 'password', path: 'password' }] } },
    ]);
    await engine.terminateExecution(execId('a1'), 'test over');
    await engine.waitForExecution(execId('a1'));
  });
});
