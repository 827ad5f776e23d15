// Scenarios of an execution resumed while ABORTING, for any Store: an engine drives tasks of an asynchronous plugin
// and stops (leaving them running), another engine that is not started records a terminate, and a third engine
// resumes the execution. It must abort every running attempt through its plugin, with the plugin state persisted
// for it, end the node and task executions ABORTED, and only then the execution, each terminal event once.
import {
  conditional,
  dynamic,
  idl,
  launchPlan,
  map,
  t,
  task,
  workflow,
  type BlobStore,
  type ExecutionEvent,
  type ExecutionTransition,
  type OperationOptions,
  type PluginTransition,
  type Store,
  type TaskContext,
  type TaskPlugin,
} from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { execId, settings, storeWith } from './support.js';

const HOUR = 3_600_000;
const NP = idl.core.NodeExecution_Phase;
const TP = idl.core.TaskExecution_Phase;
const WP = idl.core.WorkflowExecution_Phase;

/** The plugin state of a holding attempt: the external job it started. */
interface HoldingState {
  readonly [key: string]: string;
  readonly job: string;
}

/** An abort a plugin was asked for. */
interface AbortCall {
  readonly name: string;
  readonly state: HoldingState | undefined;
  readonly reason: string;
}

/** A job of the external system: the attempt that started it, and whether it runs. */
interface Job {
  readonly execution: string;
  readonly attempt: string;
  status: 'running' | 'deleted';
}

/**
 * A plugin whose attempts start a job in an external system (`jobs`, shared by the plugins of every engine) that
 * runs until `abort` deletes it; `handle` finds the job again by its plugin state.
 */
class HoldingPlugin implements TaskPlugin<HoldingState> {
  readonly id = 'holding';
  readonly taskTypes = ['holding'];
  readonly aborts: AbortCall[] = [];
  readonly finalized: string[] = [];
  readonly #jobs: Map<string, Job>;
  readonly #started: ((ctx: TaskContext<HoldingState>) => Promise<void>) | undefined;

  /**
   * @param jobs the external system
   * @param started awaited after a job is started, before `handle` returns (a slow external API)
   */
  constructor(jobs: Map<string, Job>, started?: (ctx: TaskContext<HoldingState>) => Promise<void>) {
    this.#jobs = jobs;
    this.#started = started;
  }

  async handle(ctx: TaskContext<HoldingState>): Promise<PluginTransition<HoldingState>> {
    const job = ctx.state?.job ?? `job-${ctx.metadata.generatedName}`;
    const found = this.#jobs.get(job);
    if (found?.status === 'deleted') {
      return { phase: 'permanent-failure', error: { code: 'JobDeleted', message: job, kind: 'system' } };
    }
    if (found === undefined) {
      this.#jobs.set(job, {
        execution: ctx.metadata.execution.name,
        attempt: ctx.metadata.generatedName,
        status: 'running',
      });
      await this.#started?.(ctx);
    }
    return { phase: 'running', state: { job }, checkAgainAfterMs: HOUR };
  }

  async abort(ctx: TaskContext<HoldingState>, reason: string): Promise<void> {
    this.aborts.push({ name: ctx.metadata.generatedName, state: ctx.state, reason });
    // Without state, the job the attempt may have started is found by the attempt's name.
    const job = this.#jobs.get(ctx.state?.job ?? `job-${ctx.metadata.generatedName}`);
    if (job !== undefined) job.status = 'deleted';
  }

  async finalize(ctx: TaskContext<HoldingState>): Promise<void> {
    this.finalized.push(ctx.metadata.generatedName);
  }
}

const hold = task(
  { name: 'resume_abort.hold', inputs: { x: t.int() }, outputs: { y: t.int() }, taskType: 'holding' },
  () => {
    throw new Error('runs in the holding plugin');
  },
);
const single = workflow({ name: 'resume_abort.single', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: hold({ x }).y,
}));
const inner = workflow({ name: 'resume_abort.inner', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: hold({ x }).y,
}));
const innerPlan = launchPlan(inner, { name: 'resume_abort.inner_lp' });
/** A holding task in a subworkflow. */
const wrapped = workflow(
  { name: 'resume_abort.wrapped', inputs: { x: t.int() }, outputs: { y: t.int() } },
  ({ x }) => ({
    y: inner({ x }).y,
  }),
);
const fan = dynamic({ name: 'resume_abort.fan', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: hold({ x }).y,
}));
/**
 * Holding tasks in a subworkflow, a dynamic workflow, a child execution (a launch plan), the items of a map and
 * the chosen case of a branch.
 */
const nested = workflow(
  {
    name: 'resume_abort.nested',
    inputs: { x: t.int(), xs: t.list(t.int()) },
    outputs: { a: t.int(), b: t.int(), c: t.int(), d: t.list(t.int()), e: t.int() },
  },
  ({ x, xs }) => {
    const a = inner({ x }).y;
    const b = fan({ x }).y;
    const c = innerPlan({ x }).y;
    const d = map(hold)({ x: xs }).y;
    const e = conditional('pick')
      .if(x.gt(0))
      .then(() => hold({ x }))
      .else(() => hold({ x: 0 })).y;
    return { a, b, c, d, e };
  },
);

/** Options of {@link resumeAbortSuite}. */
export interface ResumeAbortOptions {
  /** The Store of a test (the same one for every call of a test; a test file may share one between its tests). */
  readonly store: () => Promise<Store>;
}

/** Registers the scenarios for one Store. */
export function resumeAbortSuite(title: string, options: ResumeAbortOptions): void {
  describe(title, () => {
    const blob = new MemoryBlobStore();
    const jobs = new Map<string, Job>();
    const engines: Engine[] = [];
    let serial = 0;

    afterEach(async () => {
      await Promise.all(engines.splice(0).map((engine) => engine.stop()));
    });

    function engine(store: Store, plugin: HoldingPlugin, id: string, blobs: BlobStore = blob): Engine {
      const created = createEngine({
        store,
        blob: blobs,
        plugins: [plugin],
        tasks: [fan],
        config: { id, retryBackoff: { baseMs: 0, maxMs: 0 }, pollInterval: { baseMs: HOUR, maxMs: HOUR } },
      });
      engines.push(created);
      return created;
    }

    /**
     * Engine `driver` runs `wf` until `running` holding attempts are RUNNING (committed) and stops, leaving them
     * running; an engine that is not started then terminates the execution, which records ABORTING.
     */
    async function leftAborting(
      store: Store,
      wf: typeof single | typeof nested,
      running: number,
    ): Promise<{ name: string; plugin: HoldingPlugin }> {
      const { name, plugin } = await leftRunning(store, wf, running);
      const other = engine(store, new HoldingPlugin(jobs), `${name}-other`);
      await other.terminateExecution(execId(name), `stopped ${name}`);
      expect(phaseName(await store.getExecution(execId(name)))).toBe('ABORTING');
      return { name, plugin };
    }

    /** Engine `driver` runs `wf` until `running` holding attempts are RUNNING (committed) and stops. */
    async function leftRunning(
      store: Store,
      wf: typeof single | typeof nested | typeof wrapped,
      running: number,
    ): Promise<{ name: string; plugin: HoldingPlugin }> {
      const name = `ra${++serial}-${Math.random().toString(36).slice(2, 8)}`;
      const plugin = new HoldingPlugin(jobs);
      const driver = engine(store, plugin, `${name}-driver`);
      await driver.start();
      await driver.register([wf], settings);
      const started = new Promise<void>((resolve) => {
        let seen = 0;
        driver.on('task', (event) => {
          if (event.taskType === 'holding' && event.phase === TP.RUNNING && ++seen === running) resolve();
        });
      });
      const inputs = wf === nested ? { x: 3, xs: [1, 2] } : { x: 3 };
      await driver.createExecution({ workflow: wf.id(settings), name, inputs });
      await started;
      await driver.stop();
      return { name, plugin };
    }

    it(
      'aborts the running task of an execution resumed ABORTING, with the plugin state persisted for it',
      { timeout: 60_000 },
      async () => {
        const store = await options.store();
        const { name, plugin: before } = await leftAborting(store, single, 1);
        const [attempt] = jobsOf(jobs, [name]);
        expect(before.aborts).toEqual([]);
        // A new engine (a restarted process) with a plugin that remembers nothing.
        const plugin = new HoldingPlugin(jobs);
        const resumed = engine(store, plugin, `${name}-resumed`);
        await resumed.start();
        const execution = await resumed.waitForExecution(execId(name));

        expect(phaseName(execution)).toBe('ABORTED');
        expect(abortCause(execution)).toBe(`stopped ${name}`);
        expect(plugin.aborts).toEqual([
          { name: attempt!.name, state: { job: attempt!.job }, reason: `stopped ${name}` },
        ]);
        expect(plugin.finalized).toEqual([attempt!.name]);
        expect(jobs.get(attempt!.job)?.status).toBe('deleted');
        await expectAllAborted(store, name, ['n0']);
      },
    );

    it(
      'aborts the tasks running in a subworkflow, a dynamic workflow, a child execution, a map and a branch of an execution resumed ABORTING',
      { timeout: 60_000 },
      async () => {
        const store = await options.store();
        const { name } = await leftAborting(store, nested, 6);
        const lpNode = await store.getNodeExecution(nodeId(name, 'n2'));
        const target = lpNode?.nodeExecution.closure?.targetMetadata;
        const child = target?.case === 'workflowNodeMetadata' ? target.value.executionId : undefined;
        expect(child).toBeDefined();
        const started = jobsOf(jobs, [name, child!.name]);
        expect(started).toHaveLength(6);
        const plugin = new HoldingPlugin(jobs);
        const resumed = engine(store, plugin, `${name}-resumed`);
        await resumed.start();
        const execution = await resumed.waitForExecution(execId(name));
        expect(phaseName(execution)).toBe('ABORTED');
        expect(abortCause(execution)).toBe(`stopped ${name}`);
        // The nodes of the subworkflow (n0), the dynamic workflow (n1), the map (n3) and the branch (n4), and
        // their parents; the launch plan node (n2).
        const nestedNodes = ['n0-0-n0', 'n1-0-n0', 'n3-0-0', 'n3-0-1', 'n4-0-n4-n0'];
        await expectAllAborted(store, name, ['n0', 'n1', 'n2', 'n3', 'n4', ...nestedNodes]);

        // The child execution was terminated with its parent (and is aborted by its own runner).
        expect(['ABORTING', 'ABORTED']).toContain(phaseName(await store.getExecution(child!)));
        const childExecution = await resumed.waitForExecution(child!);
        expect(phaseName(childExecution)).toBe('ABORTED');
        await expectAllAborted(store, child!.name, ['n0']);
        // Each attempt was aborted with its persisted plugin state: no job is left running.
        expect(plugin.aborts.map((a) => a.name).sort()).toEqual(started.map((s) => s.name).sort());
        for (const call of plugin.aborts) expect(call.state).toEqual({ job: `job-${call.name}` });
        for (const { job } of started) expect(jobs.get(job)?.status).toBe('deleted');
      },
    );

    it(
      'aborts what a plugin started just before a crash that lost its plugin state, when resumed ABORTING',
      { timeout: 60_000 },
      async () => {
        const store = await options.store();
        const name = `ra${++serial}-${Math.random().toString(36).slice(2, 8)}`;
        // The driver crashes in the commit that would have recorded the attempt RUNNING with its plugin state.
        const crashing = storeWith(store, {
          commit: async (transition: ExecutionTransition) => {
            const running = transition.taskExecutions?.some(
              ({ record }) =>
                record.taskExecution.id?.nodeExecutionId?.executionId?.name === name &&
                record.taskExecution.closure?.phase === TP.RUNNING,
            );
            if (running === true) throw new Error('crashed before the attempt was recorded RUNNING');
            return store.commit(transition);
          },
        });
        // The plugin's call to start the job returns once the node is recorded QUEUED (a slow API).
        let queued!: () => void;
        const recorded = new Promise<void>((resolve) => (queued = resolve));
        const driver = engine(crashing, new HoldingPlugin(jobs, () => recorded), `${name}-driver`);
        driver.on('node', (event) => {
          if (event.id?.executionId?.name === name && event.id.nodeId === 'n0' && event.phase === NP.QUEUED) queued();
        });
        const crashed = new Promise<void>((resolve) =>
          driver.on('warning', (message) => {
            if (message.includes('commit failed')) resolve();
          }),
        );
        await driver.start();
        await driver.register([single], settings);
        await driver.createExecution({ workflow: single.id(settings), name, inputs: { x: 3 } });
        await crashed;
        await driver.stop();
        const [attempt] = jobsOf(jobs, [name]);
        expect(jobs.get(attempt!.job)?.status).toBe('running');
        const stored = await store.getNodeExecution(nodeId(name, 'n0'));
        expect(NP[stored?.nodeExecution.closure?.phase ?? NP.UNDEFINED]).toBe('QUEUED');
        await engine(store, new HoldingPlugin(jobs), `${name}-other`).terminateExecution(execId(name), 'stopped');

        const plugin = new HoldingPlugin(jobs);
        const resumed = engine(store, plugin, `${name}-resumed`);
        await resumed.start();
        expect(phaseName(await resumed.waitForExecution(execId(name)))).toBe('ABORTED');
        expect(plugin.aborts).toEqual([{ name: attempt!.name, state: undefined, reason: 'stopped' }]);
        expect(jobs.get(attempt!.job)?.status).toBe('deleted');
        // No attempt was ever recorded, and none is made up.
        expect((await store.listTaskExecutions(nodeId(name, 'n0'))).items).toEqual([]);
        await expectAllAborted(store, name, ['n0']);
      },
    );

    it(
      'aborts the nested nodes of a resumed execution terminated before they were rebuilt',
      { timeout: 60_000 },
      async () => {
        const store = await options.store();
        const { name } = await leftRunning(store, wrapped, 1);
        const [attempt] = jobsOf(jobs, [name]);
        // The resumed subworkflow node rebuilds its graph once it has read its inputs: held until the abort is done.
        let reading!: () => void;
        const read = new Promise<void>((resolve) => (reading = resolve));
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        const held = storeWith(blob, {
          get: async (uri: string, options?: OperationOptions) => {
            if (uri.includes(`/${name}/n0/0/inputs.pb`)) {
              reading();
              await released;
            }
            return blob.get(uri, options);
          },
        });
        const plugin = new HoldingPlugin(jobs);
        const resumed = engine(store, plugin, `${name}-resumed`, held);
        await resumed.start();
        await read;
        await resumed.terminateExecution(execId(name), 'stopped early');
        release();

        expect(phaseName(await store.getExecution(execId(name)))).toBe('ABORTED');
        expect(plugin.aborts).toEqual([{ name: attempt!.name, state: { job: attempt!.job }, reason: 'stopped early' }]);
        expect(jobs.get(attempt!.job)?.status).toBe('deleted');
        await expectAllAborted(store, name, ['n0', 'n0-0-n0']);
      },
    );

    // What of the last commit of the abort was written before the crash (an abort of many nodes may commit them in
    // several rounds), and what the engine that resumes it must still do.
    const crashes: readonly {
      what: string;
      kept: (transition: ExecutionTransition) => ExecutionTransition | undefined;
      again: boolean;
    }[] = [
      { what: 'nothing', kept: () => undefined, again: true },
      {
        what: 'the task execution',
        kept: (t) => ({ taskExecutions: t.taskExecutions, events: t.events?.filter((e) => e.kind === 'task') }),
        again: true,
      },
      {
        what: 'the node and task executions',
        kept: (t) => ({ ...t, execution: undefined, events: t.events?.filter((e) => e.kind !== 'workflow') }),
        again: false,
      },
    ];
    for (const { what, kept, again } of crashes) {
      it(
        `finishes an abort cut short by a crash that had committed ${what} of its end, once`,
        { timeout: 60_000 },
        async () => {
          const store = await options.store();
          const { name } = await leftAborting(store, single, 1);
          const [attempt] = jobsOf(jobs, [name]);
          // The first engine to resume it crashes in its commit of ABORTED, having written only part of it.
          const crashing = storeWith(store, {
            commit: async (transition: ExecutionTransition) => {
              const execution = transition.execution?.record.execution;
              if (execution?.id?.name !== name || execution.closure?.phase !== WP.ABORTED)
                return store.commit(transition);
              const written = kept(transition);
              if (written !== undefined) await store.commit(written);
              throw new Error('crashed in the commit of ABORTED');
            },
          });
          const first = new HoldingPlugin(jobs);
          const crashed = engine(crashing, first, `${name}-crashed`);
          const stopped = new Promise<void>((resolve) =>
            crashed.on('warning', (message) => {
              if (message.includes('commit failed')) resolve();
            }),
          );
          const starting = crashed.start();
          await stopped;
          await crashed.stop();
          expect(phaseName(await store.getExecution(execId(name)))).toBe('ABORTING');
          expect(first.aborts.map((a) => a.name)).toEqual([attempt!.name]);
          // The engine's start ends although the abort it resumed did not.
          await starting;

          const plugin = new HoldingPlugin(jobs);
          const resumed = engine(store, plugin, `${name}-resumed`);
          await resumed.start();
          const execution = await resumed.waitForExecution(execId(name));
          expect(phaseName(execution)).toBe('ABORTED');
          expect(abortCause(execution)).toBe(`stopped ${name}`);
          // Asked again while its node was not ABORTED (plugin aborts are idempotent), with its state.
          const expected = again
            ? [{ name: attempt!.name, state: { job: attempt!.job }, reason: `stopped ${name}` }]
            : [];
          expect(plugin.aborts).toEqual(expected);
          expect(jobs.get(attempt!.job)?.status).toBe('deleted');
          await expectAllAborted(store, name, ['n0']);
        },
      );
    }
  });
}

/** The jobs started by attempts of these executions: the attempt's name and the job's. */
function jobsOf(jobs: ReadonlyMap<string, Job>, executions: readonly string[]): { name: string; job: string }[] {
  return [...jobs.entries()]
    .filter(([, job]) => executions.includes(job.execution))
    .map(([job, { attempt }]) => ({ name: attempt, job }));
}

function nodeId(name: string, node: string): idl.core.NodeExecutionIdentifier {
  return { $typeName: 'flyteidl.core.NodeExecutionIdentifier', nodeId: node, executionId: execId(name) };
}

function phaseName(record: { readonly execution: idl.admin.Execution } | idl.admin.Execution | undefined): string {
  const execution = record === undefined ? undefined : 'execution' in record ? record.execution : record;
  return WP[execution?.closure?.phase ?? WP.UNDEFINED];
}

function abortCause(execution: idl.admin.Execution): string | undefined {
  const result = execution.closure?.outputResult;
  return result?.case === 'abortMetadata' ? result.value.cause : undefined;
}

/**
 * Every node and task execution of `name` ended, those of `aborted` (nodes) ABORTED with their attempts; the
 * event log holds each terminal event once, and one ABORTED event of the execution.
 */
async function expectAllAborted(store: Store, name: string, aborted: readonly string[]): Promise<void> {
  const id = execId(name);
  const nodes = (await store.listNodeExecutions(id, { limit: 1000 })).items;
  const phases = Object.fromEntries(
    nodes.map((n) => [n.nodeExecution.id!.nodeId, NP[n.nodeExecution.closure?.phase ?? NP.UNDEFINED]]),
  );
  for (const node of aborted) expect({ node, phase: phases[node] }).toEqual({ node, phase: 'ABORTED' });
  for (const [node, phase] of Object.entries(phases)) {
    expect({ node, phase }).toEqual({ node, phase: expect.stringMatching(/^(SUCCEEDED|SKIPPED|ABORTED)$/) });
  }
  for (const node of nodes) {
    const attempts = (await store.listTaskExecutions(node.nodeExecution.id!, { limit: 100 })).items;
    for (const attempt of attempts) {
      const phase = TP[attempt.taskExecution.closure?.phase ?? TP.UNDEFINED];
      // A dynamic parent's own attempt succeeded (it returned its workflow); every other one was aborted.
      const expected = node.nodeExecution.metadata?.isDynamic === true ? 'SUCCEEDED' : 'ABORTED';
      expect({ node: node.nodeExecution.id!.nodeId, phase }).toEqual({
        node: node.nodeExecution.id!.nodeId,
        phase: expected,
      });
    }
  }
  const events = (await store.listEvents(id, { limit: 10_000 })).items;
  const terminal = events.filter(isTerminalEvent).map(eventKey);
  expect(terminal.filter((key, i) => terminal.indexOf(key) !== i)).toEqual([]);
  expect(terminal.filter((key) => key === 'workflow ABORTED')).toHaveLength(1);
  for (const node of aborted) expect(terminal).toContain(`node ${node} ABORTED`);
}

function isTerminalEvent(event: ExecutionEvent): boolean {
  switch (event.kind) {
    case 'workflow':
      return [WP.SUCCEEDED, WP.FAILED, WP.ABORTED, WP.TIMED_OUT].includes(event.event.phase);
    case 'node':
      return [NP.SUCCEEDED, NP.FAILED, NP.ABORTED, NP.TIMED_OUT, NP.SKIPPED, NP.RECOVERED].includes(event.event.phase);
    default:
      return [TP.SUCCEEDED, TP.FAILED, TP.ABORTED].includes(event.event.phase);
  }
}

function eventKey(event: ExecutionEvent): string {
  switch (event.kind) {
    case 'workflow':
      return `workflow ${WP[event.event.phase]}`;
    case 'node':
      return `node ${event.event.id?.nodeId} ${NP[event.event.phase]}`;
    default:
      return `task ${event.event.parentNodeExecutionId?.nodeId}/${event.event.retryAttempt} ${TP[event.event.phase]}`;
  }
}
