import { create } from '@bufbuild/protobuf';
import {
  FUNCTION_TASK_TYPE,
  idl,
  t,
  task,
  workflow,
  type PluginTransition,
  type TaskContext,
  type TaskPlugin,
} from '@flyte-ts/core';
import { FunctionTaskPlugin } from '@flyte-ts/executor';
import { describe, expect, it, vi } from 'vitest';
import { execId, phaseOf, settings, startEngine } from './support.js';

/** A plugin that records what it is given and succeeds on its second call (an asynchronous plugin). */
class RecordingPlugin implements TaskPlugin<{ calls: number }> {
  readonly id = 'recording';
  readonly taskTypes = ['recording'];
  readonly seen: TaskContext<{ calls: number }>[] = [];
  finalized = 0;

  async handle(ctx: TaskContext<{ calls: number }>): Promise<PluginTransition<{ calls: number }>> {
    this.seen.push(ctx);
    const calls = (ctx.state?.calls ?? 0) + 1;
    if (calls < 2) return { phase: 'running', state: { calls }, checkAgainAfterMs: 0 };
    await ctx.outputs.write(await ctx.inputs.read());
    return { phase: 'success', state: { calls } };
  }

  async abort(): Promise<void> {}

  async finalize(): Promise<void> {
    this.finalized++;
  }
}

describe('task plugins', () => {
  it('get the execution metadata, persisted plugin state and a stable generated name', async () => {
    const plugin = new RecordingPlugin();
    const remote = task(
      {
        name: 'plugins.remote',
        inputs: { x: t.int() },
        outputs: { x: t.int() },
        taskType: 'recording',
        interruptible: true,
      },
      () => {
        throw new Error('runs in the plugin');
      },
    );
    const wf = workflow({ name: 'plugins.wf', inputs: { x: t.int() }, outputs: { x: t.int() } }, ({ x }) => ({
      x: remote({ x }).x,
    }));
    const { engine } = await startEngine({ plugins: [plugin] });
    await engine.register([wf], settings);
    await engine.createExecution({
      workflow: wf.id(settings),
      name: 'p1',
      inputs: { x: 4 },
      labels: { team: 'data' },
      annotations: { note: 'hi' },
      envs: { MODE: 'test' },
    });
    expect(phaseOf(await engine.waitForExecution(execId('p1')))).toBe('SUCCEEDED');
    expect(plugin.seen).toHaveLength(2);
    const [first, second] = plugin.seen;
    expect(first!.state).toBeUndefined();
    expect(second!.state).toEqual({ calls: 1 });
    expect(second!.metadata.generatedName).toBe(first!.metadata.generatedName);
    expect(first!.metadata.generatedName).toMatch(/^[a-z0-9-]{1,63}$/);
    expect(first!.metadata).toMatchObject({
      attempt: 0,
      interruptible: true,
      labels: { team: 'data' },
      annotations: { note: 'hi' },
      environment: { MODE: 'test' },
    });
    expect(first!.metadata.id.nodeExecutionId?.nodeId).toBe('n0');
    expect(plugin.finalized).toBe(1);
    const attempts = await engine.listTaskExecutions({
      nodeId: 'n0',
      executionId: execId('p1'),
    } as idl.core.NodeExecutionIdentifier);
    expect(attempts.items.map((a) => idl.core.TaskExecution_Phase[a.closure!.phase])).toEqual(['SUCCEEDED']);
    expect(attempts.items[0]!.closure?.metadata?.pluginIdentifier).toBe('recording');
    await engine.stop();
  });

  it('get the security context, and resources after the project-domain defaults and limits', async () => {
    const plugin = new RecordingPlugin();
    const big = task(
      {
        name: 'plugins.big',
        inputs: { x: t.int() },
        outputs: { x: t.int() },
        taskType: 'recording',
        resources: { requests: { cpu: '3', gpu: '1' }, limits: { gpu: '2' } },
      },
      () => {
        throw new Error('runs in the plugin');
      },
    );
    const { engine } = await startEngine({ plugins: [plugin] });
    await engine.setProjectDomainSettings({
      project: settings.project,
      domain: settings.domain,
      taskResourceDefaults: { cpu: '500m', memory: '1Gi' },
      taskResourceLimits: { cpu: '2', memory: '4Gi', gpu: '1' },
    });
    await engine.register([big], settings);
    const securityContext = create(idl.core.SecurityContextSchema, {
      runAs: { k8sServiceAccount: 'runner', iamRole: 'arn:aws:iam::123456789012:role/runner' },
      secrets: [{ group: 'db', key: 'password' }],
    });
    await engine.createExecution({ task: big.id(settings), name: 'p2', inputs: { x: 1 }, securityContext });
    expect(phaseOf(await engine.waitForExecution(execId('p2')))).toBe('SUCCEEDED');
    const metadata = plugin.seen[0]!.metadata;
    expect(metadata.securityContext?.runAs?.k8sServiceAccount).toBe('runner');
    expect(metadata.securityContext?.runAs?.iamRole).toBe('arn:aws:iam::123456789012:role/runner');
    expect(metadata.securityContext?.secrets.map((x) => `${x.group}/${x.key}`)).toEqual(['db/password']);
    const named = (entries: readonly idl.core.Resources_ResourceEntry[] | undefined) =>
      Object.fromEntries((entries ?? []).map((e) => [idl.core.Resources_ResourceName[e.name], e.value]));
    // cpu: asked 3, capped at 2 (request and limit); gpu: asked 1..2, limit capped at 1; memory: the default.
    expect(named(metadata.resources?.requests)).toEqual({ CPU: '2', GPU: '1', MEMORY: '1Gi' });
    expect(named(metadata.resources?.limits)).toEqual({ CPU: '2', GPU: '1', MEMORY: '1Gi' });
    await engine.stop();
  });

  it('refuse resource settings that are not quantities, naming the setting', async () => {
    const { engine } = await startEngine();
    await expect(
      engine.setProjectDomainSettings({
        project: settings.project,
        domain: settings.domain,
        taskResourceLimits: { memory: 'lots' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', id: 'flytesnacks/development.taskResourceLimits.memory' });
    await expect(
      engine.setProjectDomainSettings({
        project: settings.project,
        domain: settings.domain,
        taskResourceDefaults: { disk: '1Gi' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await engine.stop();
  });

  it("are closed once by engine.stop(), the application's and the engine's own, and stay usable", async () => {
    const closing = new ClosingPlugin('closing', ['closing']);
    const functions = new FunctionTaskPlugin();
    const closeFunctions = vi.spyOn(functions, 'close');
    const failing = new ClosingPlugin('failing', ['failing'], new Error('watch would not end'));
    const { engine } = await startEngine({ plugins: [closing, functions, failing] });
    const warnings: string[] = [];
    engine.on('warning', (message) => warnings.push(message));
    await engine.stop();
    expect(closing.closed).toBe(1);
    expect(failing.closed).toBe(1);
    expect(closeFunctions).toHaveBeenCalledTimes(1);
    expect(warnings).toEqual(['could not close plugin failing']);
    // Started again, the engine runs tasks through the same (closed) plugins, and closes them again on stop.
    await engine.start();
    const echo = task({ name: 'plugins.echo', inputs: { x: t.int() }, outputs: { x: t.int() } }, ({ x }) => ({ x }));
    await engine.register([echo], settings);
    functions.add(echo);
    await engine.createExecution({ task: echo.id(settings), name: 'p3', inputs: { x: 7 } });
    expect(phaseOf(await engine.waitForExecution(execId('p3')))).toBe('SUCCEEDED');
    await engine.stop();
    expect(closing.closed).toBe(2);
    expect(closeFunctions).toHaveBeenCalledTimes(2);
  });

  it("close the engine's own function plugin when another plugin took its task type", async () => {
    const taker = new ClosingPlugin('taker', [FUNCTION_TASK_TYPE]);
    const { engine } = await startEngine({ plugins: [taker] });
    const closeOwn = vi.spyOn(engine.functions, 'close');
    await engine.stop();
    expect(taker.closed).toBe(1);
    expect(closeOwn).toHaveBeenCalledTimes(1);
  });
});

/** A plugin that counts its `close` calls (and optionally fails them). */
class ClosingPlugin implements TaskPlugin {
  closed = 0;

  constructor(
    readonly id: string,
    readonly taskTypes: readonly string[],
    private readonly failure?: Error,
  ) {}

  async handle(): Promise<PluginTransition> {
    return { phase: 'permanent-failure', error: { code: 'Unused', message: 'not run here', kind: 'system' } };
  }

  async abort(): Promise<void> {}

  async finalize(): Promise<void> {}

  async close(): Promise<void> {
    this.closed++;
    if (this.failure !== undefined) throw this.failure;
  }
}
