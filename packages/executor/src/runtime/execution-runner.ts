// ExecutionRunner: drives one workflow execution (flytepropeller's workflow and node executors in one). It is
// event-driven: a node is evaluated the moment its last upstream ends, or when a plugin, child or timer asks.
// Every transition is staged and committed through the Store (several transitions per commit under load)
// before its side effects continue, so a new engine resumes from the Store after a crash.
import { create } from '@bufbuild/protobuf';
import {
  idl,
  isFlyteError,
  timestampFromMs,
  durationFromMs,
  msFromTimestamp,
  type ExecutionEvent,
  type ExecutionRecord,
  type Guarded,
  type Lease,
  type NodeDataPaths,
  type NodeExecutionRecord,
  type ProjectDomainSettings,
  type TaskExecutionRecord,
} from '@flyte-ts/core';
import { handlerFor } from '../nodes/index.js';
import type { Runtime, Transition } from '../nodes/handler.js';
import { resolveBindings } from './bindings.js';
import { Dag, indexClosure, type ClosureIndex } from './dag.js';
import { executionError, failureFrom, NodeFailure, TIMEOUT_CODE } from './failure.js';
import {
  decodeNodeState,
  encodeNodeState,
  isDonePhase,
  isTerminalNodePhase,
  nodeExecutionIdOf,
  NodeRun,
  taskExecutionIdOf,
  type TaskAttempt,
} from './node-run.js';
import { executionDir, executionInputsUri } from './execution-inputs.js';
import { childExecutionName } from './names.js';
import { isTerminalWorkflowPhase } from './phases.js';
import { storeOutputs, type StoredOutputs } from './outputs.js';
import { platformResources, type PlatformResources } from './resources.js';
import type { EngineServices } from './services.js';

const NP = idl.core.NodeExecution_Phase;
const WP = idl.core.WorkflowExecution_Phase;
const START = 'start-node';
/** The unset case of a oneof, shared by the records and events the engine builds (which are never mutated). */
const NO_CASE: { readonly case: undefined; readonly value?: undefined } = Object.freeze({ case: undefined });
const END = 'end-node';

/** What a runner tells the engine. */
export interface RunnerHooks {
  /** Events just committed, in order. */
  emit(events: readonly ExecutionEvent[], runner: ExecutionRunner): void;
  /** The execution reached a terminal phase (committed) or the runner stopped for good. */
  ended(runner: ExecutionRunner): void;
  /** The lease commits must carry (engines that share their Store), if any. */
  lease?(runner: ExecutionRunner): Lease | undefined;
  /**
   * A commit was refused (`CONFLICT`): someone else wrote the execution, or the lease was lost. The runner has
   * stopped without writing; the engine decides whether to resume from the Store.
   */
  conflicted?(runner: ExecutionRunner): void;
}

/** Drives one execution. */
export class ExecutionRunner implements Runtime {
  readonly services: EngineServices;
  readonly executionId: idl.core.WorkflowExecutionIdentifier;
  execution: idl.admin.Execution;
  platformResources: PlatformResources | undefined;
  private settingsLoaded: boolean;
  private revision: number;
  private readonly hooks: RunnerHooks;
  /** Where the execution's inputs are: fixed by its record when it was created. */
  private readonly inputsUri: string;
  private readonly runs = new Map<string, NodeRun>();
  private readonly persisted = new Map<string, NodeExecutionRecord>();
  /**
   * The attempt signals of the runner this one replaces after a commit conflict, by node key: an attempt still in
   * flight in this process keeps its signal, so that aborting it here reaches what the earlier runner started.
   */
  private readonly inherited = new Map<string, { readonly signal: AbortController; readonly attempt: unknown }>();
  private readonly childDags = new Map<string, Dag>();
  private top: Dag | undefined;
  private failureRun: NodeRun | undefined;
  private readonly dirtyNodes = new Set<NodeRun>();
  private readonly dirtyTasks = new Map<TaskAttempt, NodeRun>();
  private events: ExecutionEvent[] = [];
  private execDirty = false;
  private continuations: (() => void)[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private aborting: string | undefined;
  private slotsUsed = 0;
  private readonly slotQueue: NodeRun[] = [];
  private readonly maxParallelism: number;
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private readonly lifetime = new AbortController();
  private readonly stamps = new Map<number, idl.wkt.Timestamp>();

  /**
   * @param services the engine's ports and settings
   * @param record the execution as stored
   * @param persisted its node executions as stored (resume), or none (new execution)
   * @param hooks how to tell the engine
   * @param settings the project-domain's settings when the caller has them (read at start otherwise)
   */
  constructor(
    services: EngineServices,
    record: ExecutionRecord,
    persisted: readonly NodeExecutionRecord[],
    hooks: RunnerHooks,
    settings?: { readonly value: ProjectDomainSettings | undefined },
    replaces?: ExecutionRunner,
  ) {
    this.services = services;
    for (const [key, run] of replaces?.runs ?? []) {
      if (run.attemptSignal !== undefined && !run.attemptSignal.signal.aborted) {
        this.inherited.set(key, { signal: run.attemptSignal, attempt: run.memo.signalFor });
      }
    }
    this.platformResources = platformResources(settings?.value);
    this.settingsLoaded = settings !== undefined;
    this.execution = record.execution;
    this.executionId = record.execution.id!;
    this.revision = record.revision;
    this.hooks = hooks;
    this.inputsUri = executionInputsUri(services.config.metadataPrefix, record);
    for (const r of persisted) this.persisted.set(r.nodeExecution.id!.nodeId, r);
    const max = record.execution.spec?.maxParallelism ?? 0;
    this.maxParallelism = max > 0 ? max : services.config.defaultMaxParallelism;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** The execution this one recovers (the outputs of its succeeded nodes are reused), if it is a recovery. */
  private get recovering(): idl.core.WorkflowExecutionIdentifier | undefined {
    const metadata = this.execution.spec?.metadata;
    return metadata?.mode === idl.admin.ExecutionMetadata_ExecutionMode.RECOVERED
      ? metadata.referenceExecution
      : undefined;
  }

  /** Whether the runner stopped before the execution ended (shutdown, lost lease, conflict, broken Store). */
  get halted(): boolean {
    return this.stopped;
  }

  /** The execution's phase. */
  get phase(): idl.core.WorkflowExecution_Phase {
    return this.execution.closure?.phase ?? WP.UNDEFINED;
  }

  /** Resolves when the runner is done (terminal phase committed, or stopped). */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** The current time of the engine's clock. */
  now(): Date {
    return this.services.clock.now();
  }

  /** The current time of the engine's clock, in milliseconds. */
  nowMs(): number {
    const clock = this.services.clock;
    return clock.nowMs === undefined ? clock.now().getTime() : clock.nowMs();
  }

  /** Starts (or resumes) the execution. */
  async start(): Promise<void> {
    const phase = this.phase;
    if (isTerminalWorkflowPhase(phase)) {
      this.finish();
      return;
    }
    if (phase === WP.ABORTING) {
      await this.abort(abortCauseOf(this.execution));
      return;
    }
    const workflowId = this.execution.closure?.workflowId;
    const workflow = workflowId === undefined ? undefined : await this.services.store.getWorkflow(workflowId);
    // Aborted (or stopped) while starting: the abort took over.
    if (this.aborting !== undefined || this.stopped) return;
    const compiled = workflow?.closure?.compiledWorkflow;
    if (compiled?.primary === undefined) {
      this.failExecution(
        new NodeFailure(
          'WorkflowNotFound',
          `workflow of execution ${this.executionId.name} is not registered`,
          'system',
        ),
      );
      return;
    }
    let inputs: idl.core.LiteralMap;
    try {
      inputs = await this.executionInputs();
    } catch (error) {
      // Inputs no reader can decode (nested too deep by an older version, corrupt) never become readable: the
      // execution fails rather than staying QUEUED. Other errors (an unreachable blob store) leave it to a resume.
      if (!isFlyteError(error, 'NESTING_TOO_DEEP') && !isFlyteError(error, 'INVALID_ARGUMENT')) throw error;
      this.failExecution(
        new NodeFailure(
          error.code,
          `the inputs of execution ${this.executionId.name} cannot be read: ${error.message}`,
          'system',
        ),
      );
      return;
    }
    if (!this.settingsLoaded) {
      const { project, domain } = this.executionId;
      this.platformResources = platformResources(await this.services.store.getProjectDomainSettings(project, domain));
      this.settingsLoaded = true;
    }
    if (this.aborting !== undefined || this.stopped) return;
    if (phase !== WP.RUNNING) {
      this.setWorkflowPhase(WP.RUNNING);
      const created = this.execution.closure?.createdAt;
      if (created !== undefined) {
        this.services.metrics.acceptance(this, this.nowMs() - msFromTimestamp(created));
      }
    }
    const index = indexClosure(compiled.tasks, compiled.subWorkflows);
    this.top = new Dag('', undefined, compiled.primary, index, inputs);
    this.initDag(this.top);
    const failureNode = compiled.primary.template?.failureNode;
    if (failureNode !== undefined && this.persisted.has(failureNode.id)) {
      // Resuming while the failure node ran.
      this.failureRun = this.hydrate(new NodeRun(failureNode.id, failureNode, this.top));
      if (!isTerminalNodePhase(this.failureRun.phase)) this.evaluate(this.failureRun);
      else this.afterFailureNode();
    }
  }

  /** Stops driving the execution (engine shutdown): running plugins are left to a later resume. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.lifetime.abort(new Error('engine stopped'));
    for (const run of this.runs.values()) {
      run.timer?.abort();
      run.attemptSignal?.abort(new Error('engine stopped'));
    }
    await this.flushing?.catch(() => undefined);
    this.finish();
  }

  /** Whether the execution is being aborted (by this runner). */
  get isAborting(): boolean {
    return this.aborting !== undefined;
  }

  /** Aborts the execution: every running node is aborted, then the execution is ABORTED with `cause`. */
  async abort(cause: string): Promise<void> {
    if (isTerminalWorkflowPhase(this.phase) || this.aborting !== undefined) return this.ended;
    this.aborting = cause;
    await this.abortNodes(cause);
  }

  /**
   * Another writer (an engine not driving this execution) recorded an abort request: `record` is the execution as
   * it stored it, ABORTING with the cause. The runner takes that revision over and aborts as `abort` does. A commit
   * of this runner already in flight over the older revision is refused (CONFLICT), and the engine resumes the
   * execution from the Store, which aborts it; the work this runner started is stopped all the same.
   */
  async abortRecorded(record: ExecutionRecord): Promise<void> {
    if (this.stopped || isTerminalWorkflowPhase(this.phase) || this.aborting !== undefined) return this.ended;
    if ((record.execution.closure?.phase ?? WP.UNDEFINED) !== WP.ABORTING) return;
    const cause = abortCauseOf(record.execution);
    // From now on no node takes a step.
    this.aborting = cause;
    await this.flushing;
    if (this.stopped) {
      for (const run of this.runs.values()) run.attemptSignal?.abort(new Error(cause));
      return;
    }
    // Nothing of this runner is in flight: its next commit carries the revision the abort request wrote.
    if (record.revision > this.revision) this.revision = record.revision;
    await this.abortNodes(cause);
  }

  private async abortNodes(cause: string): Promise<void> {
    this.setWorkflowPhase(WP.ABORTING, { abortCause: cause });
    // A runner that stopped meanwhile (a refused or failed commit) leaves the abort to whoever resumes it.
    if (!(await this.committedUnlessStopped())) return;
    await this.restoreForAbort();
    if (this.stopped) return;
    const running = [...this.runs.values()].filter(isActive);
    // Deepest first, so that children end before their parents.
    running.sort((a, b) => b.key.length - a.key.length);
    for (const run of running) await this.abortOne(run, cause, NP.ABORTED);
    this.setWorkflowPhase(WP.ABORTED, { abortCause: cause });
    this.afterCommit(() => this.finish());
    await this.committedUnlessStopped();
  }

  /** Resolves once what is staged now is committed (true), or the runner stopped without committing it (false). */
  private async committedUnlessStopped(): Promise<boolean> {
    await Promise.race([this.committed(), this.ended]);
    return !this.stopped;
  }

  /**
   * Rebuilds the nodes the Store holds as started that this runner has not rebuilt yet, without running anything,
   * so that an abort reaches each of them: an execution resumed ABORTING has none yet, and a resumed execution
   * rebuilds its nested nodes (subworkflows, dynamic workflows, branch cases, map items) and finds its child
   * executions only when their parents run again. Whatever cannot be rebuilt is reported and left as stored.
   */
  private async restoreForAbort(): Promise<void> {
    if (this.top === undefined && this.persisted.size > 0) {
      const workflowId = this.execution.closure?.workflowId;
      const workflow = workflowId === undefined ? undefined : await this.services.store.getWorkflow(workflowId);
      const compiled = workflow?.closure?.compiledWorkflow;
      if (compiled?.primary === undefined) {
        this.services.warn(
          `execution ${this.executionId.name}: its workflow is not registered, its nodes stay as stored`,
        );
        return;
      }
      // Set meanwhile by a start that was past its last check.
      if (this.top === undefined) {
        const index = indexClosure(compiled.tasks, compiled.subWorkflows);
        // Nothing runs any more: the graph's inputs are never read.
        this.top = new Dag('', undefined, compiled.primary, index, create(idl.core.LiteralMapSchema));
        this.initDag(this.top);
        const failureNode = compiled.primary.template?.failureNode;
        if (failureNode !== undefined && this.failureRun === undefined && this.persisted.has(failureNode.id)) {
          this.failureRun = this.hydrate(new NodeRun(failureNode.id, failureNode, this.top));
        }
      }
    }
    // Each pass rebuilds one more level under the nodes the previous one found started.
    const restored = new Set<NodeRun>();
    for (;;) {
      const next = [...this.runs.values()].filter((run) => isActive(run) && !restored.has(run));
      if (next.length === 0 || this.stopped) return;
      for (const run of next) {
        restored.add(run);
        try {
          await handlerFor(run.spec).restore?.(run, this);
        } catch (error) {
          this.services.warn(`rebuilding node ${run.key} of ${this.executionId.name} to abort it failed`, error);
        }
      }
    }
  }

  /** Called when a signal of this execution was set: gate nodes look again. */
  signalSet(): void {
    for (const run of this.runs.values()) {
      if (run.spec.target.case === 'gateNode' && !isTerminalNodePhase(run.phase) && run.phase !== NP.UNDEFINED) {
        this.evaluate(run);
      }
    }
  }

  // ---------------------------------------------------------------- Runtime (used by node handlers)

  async inputsOf(run: NodeRun): Promise<idl.core.LiteralMap> {
    if (run.inputs !== undefined) return run.inputs;
    if (run.spec.id === START) return run.dag.inputs;
    if (run.spec.id === END) {
      // Never written (they are the workflow's outputs): resolved again from the upstream outputs after a resume.
      run.inputs = await resolveBindings(run.spec.inputs, (id) => this.lookup(run.dag, id), run.spec.id);
      return run.inputs;
    }
    // Inputs are resolved once, when the node starts (attempt 0); later attempts get a copy.
    const uri = this.pathsOf(run, 0).inputs;
    run.inputs = await this.services.data.readLiteralMap(uri, { signal: this.lifetime.signal });
    return run.inputs;
  }

  outputsOf(run: NodeRun): idl.core.LiteralMap | Promise<idl.core.LiteralMap> {
    if (run.outputs !== undefined) return run.outputs;
    if (run.spec.id === START) return run.dag.inputs;
    if (run.phase === NP.SKIPPED) return create(idl.core.LiteralMapSchema);
    // One read for every binding that waits for these outputs.
    let reading = run.memo.readingOutputs as Promise<idl.core.LiteralMap> | undefined;
    if (reading === undefined) {
      reading = this.readOutputs(run);
      run.memo.readingOutputs = reading;
      reading.catch(() => delete run.memo.readingOutputs);
    }
    return reading;
  }

  /** Outputs not in memory (after a restart), read from the record's URI or the attempt's outputs.pb. */
  private async readOutputs(run: NodeRun): Promise<idl.core.LiteralMap> {
    const uri = run.memo.outputUri as string | undefined;
    run.outputs = await this.services.data.readLiteralMap(uri ?? this.paths(run).outputs, {
      signal: this.lifetime.signal,
    });
    return run.outputs;
  }

  paths(run: NodeRun): NodeDataPaths {
    return this.pathsOf(run, run.state.a);
  }

  /** Data paths of an attempt, computed once per attempt (they are asked for at every transition). */
  private pathsOf(run: NodeRun, attempt: number): NodeDataPaths {
    const cached = run.memo.paths as { attempt: number; paths: NodeDataPaths } | undefined;
    if (cached?.attempt === attempt) return cached.paths;
    const paths = this.services.data.nodePaths(this.executionId, run.key, attempt);
    if (attempt === run.state.a) run.memo.paths = { attempt, paths };
    return paths;
  }

  rawOutputPrefix(run: NodeRun): string {
    const cached = run.memo.raw as { attempt: number; prefix: string } | undefined;
    if (cached?.attempt === run.state.a) return cached.prefix;
    const custom = this.execution.spec?.rawOutputDataConfig?.outputLocationPrefix;
    const prefix = this.services.data.rawOutputPath(
      this.executionId,
      run.key,
      run.state.a,
      custom === undefined || custom === '' ? undefined : custom,
    );
    run.memo.raw = { attempt: run.state.a, prefix };
    return prefix;
  }

  stage(run: NodeRun): void {
    this.dirtyNodes.add(run);
    this.scheduleFlush();
  }

  stageTask(run: NodeRun): void {
    const attempt = run.task;
    // An attempt of a node that has ended (aborted while a handle was in flight) is not reported again.
    if (attempt === undefined || isTerminalNodePhase(run.phase)) return;
    this.dirtyTasks.set(attempt, run);
    this.events.push({ kind: 'task', event: this.taskEvent(run, attempt) });
    this.scheduleFlush();
  }

  afterCommit(fn: () => void): void {
    this.continuations.push(fn);
    this.scheduleFlush();
  }

  committed(): Promise<void> {
    return new Promise((resolve) => this.afterCommit(resolve));
  }

  childRun(parent: NodeRun, spec: idl.core.Node, name?: string, givenInputs?: idl.core.LiteralMap): NodeRun {
    const key = `${parent.key}-${parent.state.a}-${name ?? spec.id}`;
    const existing = this.runs.get(key);
    if (existing !== undefined) return existing;
    const run = this.hydrate(new NodeRun(key, spec, parent.dag, parent, givenInputs));
    return run;
  }

  childDag(owner: NodeRun, workflow: idl.core.CompiledWorkflow, index: ClosureIndex, inputs: idl.core.LiteralMap): Dag {
    const existing = this.childDags.get(owner.key);
    if (existing !== undefined) return existing;
    const dag = new Dag(`${owner.key}-${owner.state.a}`, owner, workflow, index, inputs);
    this.childDags.set(owner.key, dag);
    this.initDag(dag);
    return dag;
  }

  existingChildDag(owner: NodeRun): Dag | undefined {
    return this.childDags.get(owner.key);
  }

  evaluate(run: NodeRun): void {
    if (this.stopped || isTerminalNodePhase(run.phase)) return;
    if (run.busy) {
      run.again = true;
      return;
    }
    run.busy = true;
    void this.drive(run);
  }

  async abortRun(run: NodeRun, reason: string): Promise<void> {
    await this.abortOne(run, reason, NP.ABORTED);
  }

  async launchChild(
    run: NodeRun,
    launchPlan: idl.core.Identifier,
    inputs: idl.core.LiteralMap,
  ): Promise<idl.core.WorkflowExecutionIdentifier> {
    const name = childExecutionName(this.executionId, run.key, run.state.a);
    const id = await this.services.children.launchChild({
      name,
      launchPlan,
      inputs,
      parent: { nodeId: run.key, executionId: this.executionId } as idl.core.NodeExecutionIdentifier,
      parentSpec: this.execution.spec,
    });
    this.services.children.onExecutionEnd(id, () => this.evaluate(run));
    return id;
  }

  async signal(signalId: string): Promise<idl.core.Literal | undefined> {
    const uri = signalUri(this.services.config.metadataPrefix, this.executionId, signalId);
    const info = await this.services.blob.head(uri);
    if (info === undefined) return undefined;
    return this.services.data.read(uri, idl.core.LiteralSchema);
  }

  // ---------------------------------------------------------------- graphs

  private hydrate(run: NodeRun): NodeRun {
    this.runs.set(run.key, run);
    const inherited = this.inherited.get(run.key);
    if (inherited !== undefined) {
      this.inherited.delete(run.key);
      run.attemptSignal = inherited.signal;
      run.memo.signalFor = inherited.attempt;
    }
    const record = this.persisted.get(run.key);
    if (record === undefined) return run;
    const closure = record.nodeExecution.closure;
    run.phase = closure?.phase ?? NP.UNDEFINED;
    run.state = decodeNodeState(record.state);
    run.revision = record.revision;
    run.createdAt = closure?.createdAt === undefined ? 0 : msFromTimestamp(closure.createdAt);
    if (closure?.outputResult.case === 'error') run.error = closure.outputResult.value;
    if (closure?.outputResult.case === 'outputUri') run.memo.outputUri = closure.outputResult.value;
    if (closure?.outputResult.case === 'outputData') {
      run.outputs = closure.outputResult.value;
      run.memo.outputsInline = true;
    }
    if (closure?.targetMetadata.case === 'taskNodeMetadata') run.cacheStatus = closure.targetMetadata.value.cacheStatus;
    run.dynamic = record.nodeExecution.metadata?.isDynamic ?? false;
    if (run.phase === NP.RUNNING || run.phase === NP.DYNAMIC_RUNNING || run.phase === NP.QUEUED) {
      run.memo.resumed = true;
    }
    return run;
  }

  /** Creates the runs of a graph, hydrated from the Store, and evaluates every node that can go on. */
  private initDag(dag: Dag): void {
    const nodes = dag.workflow.template?.nodes ?? [];
    for (const spec of nodes) dag.runs.set(spec.id, this.hydrate(new NodeRun(dag.keyOf(spec.id), spec, dag)));
    // Aborting: the graph is rebuilt only to be aborted, nothing of it goes on.
    if (this.aborting !== undefined) return;
    const failed: NodeRun[] = [];
    for (const spec of nodes) {
      const run = dag.runs.get(spec.id)!;
      const pending = dag.upstream(spec.id).filter((id) => {
        const up = dag.runs.get(id);
        return up !== undefined && !isDonePhase(up.phase);
      }).length;
      dag.waiting.set(spec.id, pending);
      if (run.phase === NP.FAILED || run.phase === NP.TIMED_OUT) failed.push(run);
    }
    for (const spec of nodes) {
      const run = dag.runs.get(spec.id)!;
      if (isTerminalNodePhase(run.phase)) continue;
      if (dag.waiting.get(spec.id) === 0) this.ready(dag, spec.id);
    }
    for (const run of failed) this.onNodeFailed(run);
    const end = dag.runs.get(END);
    if (end !== undefined && isDonePhase(end.phase)) this.afterCommit(() => this.onTerminal(end));
  }

  private ready(dag: Dag, nodeId: string): void {
    const run = dag.runs.get(nodeId);
    if (run === undefined || isTerminalNodePhase(run.phase)) return;
    if (dag.status !== 'running' && dag.failImmediately) return;
    const skipped = dag.upstream(nodeId).some((id) => dag.runs.get(id)?.phase === NP.SKIPPED);
    if (skipped && run.phase === NP.UNDEFINED) {
      this.setNodePhase(run, NP.SKIPPED);
      this.afterCommit(() => this.onTerminal(run));
      return;
    }
    this.evaluate(run);
  }

  /** A node ended: tell its parent, or start what waited for it. */
  private onTerminal(run: NodeRun): void {
    if (this.stopped) return;
    if (run === this.failureRun) {
      this.afterFailureNode();
      return;
    }
    if (run.parent !== undefined) {
      this.evaluate(run.parent);
      return;
    }
    const dag = run.dag;
    if (isDonePhase(run.phase)) {
      if (run.spec.id === END) {
        if (dag.status === 'running') {
          void Promise.resolve(this.outputsOf(run)).then(
            (outputs) => {
              dag.outputs = outputs;
              dag.status = 'succeeded';
              this.onDagEnd(dag);
            },
            (error: unknown) => this.fatal(error),
          );
        }
        return;
      }
      for (const id of dag.downstream(run.spec.id)) {
        const left = (dag.waiting.get(id) ?? 1) - 1;
        dag.waiting.set(id, left);
        if (left === 0) this.ready(dag, id);
      }
      this.checkStuck(dag);
      return;
    }
    if (run.phase === NP.FAILED || run.phase === NP.TIMED_OUT) this.onNodeFailed(run);
  }

  private onNodeFailed(run: NodeRun): void {
    const dag = run.dag;
    if (dag.status !== 'running') return;
    dag.failure ??= run.error;
    if (dag.failImmediately) {
      dag.status = 'failed';
      void this.abortDagNodes(dag, `node ${run.spec.id} failed`).then(
        () => this.onDagEnd(dag),
        (error: unknown) => this.fatal(error),
      );
      return;
    }
    this.checkStuck(dag);
  }

  /** With fail-after-executable-nodes-complete: the graph fails once nothing can run any more. */
  private checkStuck(dag: Dag): void {
    if (dag.status !== 'running' || dag.failure === undefined) return;
    for (const run of dag.runs.values()) {
      if (isTerminalNodePhase(run.phase)) continue;
      if (run.phase !== NP.UNDEFINED || run.busy) return;
      if (dag.waiting.get(run.spec.id) === 0) return;
      // An upstream that ended in the same commit as the failure releases this node only once its own
      // continuation runs: until then the node is about to become ready, not blocked.
      if (dag.upstream(run.spec.id).every((id) => isDonePhase(dag.runs.get(id)?.phase ?? NP.UNDEFINED))) return;
    }
    dag.status = 'failed';
    this.onDagEnd(dag);
  }

  private async abortDagNodes(dag: Dag, reason: string): Promise<void> {
    for (const run of dag.runs.values()) {
      if (run.phase !== NP.UNDEFINED && !isTerminalNodePhase(run.phase)) await this.abortOne(run, reason, NP.ABORTED);
    }
  }

  private onDagEnd(dag: Dag): void {
    if (dag.owner !== undefined) {
      this.evaluate(dag.owner);
      return;
    }
    if (dag.status === 'succeeded') {
      const outputs = dag.outputs ?? create(idl.core.LiteralMapSchema);
      const end = dag.runs.get(END);
      // Outputs kept inline by the end node stay inline in the execution's closure.
      const uri = end === undefined ? undefined : (end.memo.outputUri as string | undefined);
      this.setWorkflowPhase(WP.SUCCEEDED, { outputsUri: uri, outputs });
      this.afterCommit(() => this.finish());
      return;
    }
    const failureNode = dag.workflow.template?.failureNode;
    if (failureNode !== undefined && this.failureRun === undefined) {
      this.setWorkflowPhase(WP.FAILING);
      this.failureRun = this.hydrate(new NodeRun(failureNode.id, failureNode, dag));
      this.afterCommit(() => this.evaluate(this.failureRun!));
      return;
    }
    this.setWorkflowPhase(WP.FAILED, { error: dag.failure });
    this.afterCommit(() => this.finish());
  }

  private afterFailureNode(): void {
    const dag = this.top!;
    this.setWorkflowPhase(WP.FAILED, { error: dag.failure });
    this.afterCommit(() => this.finish());
  }

  private failExecution(failure: NodeFailure): void {
    this.setWorkflowPhase(WP.FAILED, { error: executionError(failure, this.now()) });
    this.afterCommit(() => this.finish());
  }

  private finish(): void {
    if (this.lifetime.signal.aborted === false && isTerminalWorkflowPhase(this.phase)) {
      this.lifetime.abort(new Error('execution ended'));
    }
    for (const run of this.runs.values()) run.timer?.abort();
    this.resolveEnded();
    this.hooks.ended(this);
  }

  /** A failure the runner cannot attribute to a node (a broken Store): the execution fails as a system error. */
  private fatal(error: unknown): void {
    if (this.stopped) return;
    this.services.warn(
      `execution ${this.executionId.name}: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
    if (isTerminalWorkflowPhase(this.phase)) return;
    if (isFlyteError(error, 'CONFLICT')) {
      // Someone else advanced this execution: stop driving it.
      this.stopped = true;
      this.finish();
      return;
    }
    this.failExecution(failureFrom(error));
  }

  // ---------------------------------------------------------------- node executor

  private async drive(run: NodeRun): Promise<void> {
    try {
      do {
        run.again = false;
        await this.step(run);
      } while (run.again && !this.stopped && !isTerminalNodePhase(run.phase));
    } catch (error) {
      this.fatal(error);
    } finally {
      run.busy = false;
    }
  }

  private async step(run: NodeRun): Promise<void> {
    if (this.aborting !== undefined || this.stopped) return;
    const handler = handlerFor(run.spec);
    const nowMs = this.nowMs();
    if (run.phase === NP.UNDEFINED) {
      if (handler.executable && !run.slot && !this.takeSlot(run)) return;
      try {
        let inputs =
          run.givenInputs ??
          (run.spec.id === START
            ? run.dag.inputs
            : resolveBindings(run.spec.inputs, (id) => this.lookup(run.dag, id), run.spec.id));
        // Upstream outputs in memory resolve at once; outputs read back after a restart arrive later.
        if (inputs instanceof Promise) inputs = await inputs;
        run.inputs = inputs;
      } catch (error) {
        this.fail(run, failureFrom(error), false);
        return;
      }
      if (run.spec.id !== START && run.spec.id !== END) {
        const recovering = this.recovering;
        if (recovering !== undefined && (await this.recover(run, recovering))) return;
        await this.services.data.writeLiteralMap(this.paths(run).inputs, run.inputs, { signal: this.lifetime.signal });
      }
      run.state.t0 = nowMs;
      run.state.ta = nowMs;
      run.createdAt = nowMs;
      this.setNodePhase(run, NP.QUEUED);
    } else if (run.memo.resumed === true && handler.executable && !run.slot) {
      delete run.memo.resumed;
      if (!this.takeSlot(run)) return;
    }
    if (run.state.retryAt !== undefined) {
      if (nowMs < run.state.retryAt) {
        this.recheck(run, run.state.retryAt - nowMs);
        return;
      }
      delete run.state.retryAt;
      run.state.ta = nowMs;
      const inputs = await this.inputsOf(run);
      await this.services.data.writeLiteralMap(this.paths(run).inputs, inputs, { signal: this.lifetime.signal });
    }
    // Task nodes time out per attempt in their handler (and retry); other nodes time out here, for good.
    const timeoutMs = handler.executable ? undefined : nodeTimeoutMs(run.spec);
    if (timeoutMs !== undefined && run.state.t0 !== undefined && nowMs - run.state.t0 >= timeoutMs) {
      await this.abortOne(run, `node timed out after ${timeoutMs} ms`, NP.TIMED_OUT);
      run.dag.failure ??= run.error;
      this.afterCommit(() => this.onTerminal(run));
      return;
    }
    let transition: Transition;
    try {
      transition = await handler.handle(run, this);
    } catch (error) {
      transition = { phase: 'failed', failure: failureFrom(error) };
    }
    if (this.aborting !== undefined || this.stopped || isTerminalNodePhase(run.phase)) return;
    this.apply(run, transition, timeoutMs);
  }

  /**
   * In a recovery, a node that succeeded in the execution recovered from is not run again: its outputs are
   * copied and it is RECOVERED.
   */
  private async recover(run: NodeRun, from: idl.core.WorkflowExecutionIdentifier): Promise<boolean> {
    const original = await this.services.store.getNodeExecution(
      create(idl.core.NodeExecutionIdentifierSchema, { nodeId: run.key, executionId: from }),
    );
    const closure = original?.nodeExecution.closure;
    if (closure === undefined || (closure.phase !== NP.SUCCEEDED && closure.phase !== NP.RECOVERED)) return false;
    const result = closure.outputResult;
    if (result.case !== 'outputUri' && result.case !== 'outputData') return false;
    const outputs = result.case === 'outputData' ? result.value : await this.services.data.readLiteralMap(result.value);
    const paths = this.paths(run);
    await this.services.data.writeLiteralMap(paths.inputs, run.inputs ?? create(idl.core.LiteralMapSchema));
    // The limits of this engine apply to recovered outputs too.
    let stored: StoredOutputs;
    try {
      stored = await storeOutputs(this.services, `node ${run.key}`, paths.outputs, outputs);
    } catch (error) {
      if (!(error instanceof NodeFailure)) throw error;
      this.fail(run, error, false);
      return true;
    }
    run.outputs = outputs;
    if (stored.inline) run.memo.outputsInline = true;
    else run.memo.outputUri = stored.uri;
    run.state.t0 = this.nowMs();
    run.createdAt = run.state.t0;
    this.releaseSlot(run);
    this.setNodePhase(run, NP.RECOVERED);
    this.afterCommit(() => this.onTerminal(run));
    return true;
  }

  private apply(run: NodeRun, transition: Transition, timeoutMs: number | undefined): void {
    // Queueing: from the attempt being ready to its first answer (running, or done at once).
    if (
      run.phase === NP.QUEUED &&
      run.state.ta !== undefined &&
      run.memo.queueingRecorded !== true &&
      run.spec.id !== START &&
      run.spec.id !== END
    ) {
      run.memo.queueingRecorded = true;
      this.services.metrics.queueing(this, this.nowMs() - run.state.ta);
    }
    switch (transition.phase) {
      case 'running': {
        const phase = run.dynamic ? NP.DYNAMIC_RUNNING : NP.RUNNING;
        if (run.phase !== phase) this.setNodePhase(run, phase);
        let wait = transition.recheckAfterMs;
        if (timeoutMs !== undefined && run.state.t0 !== undefined) {
          const left = run.state.t0 + timeoutMs - this.nowMs();
          wait = wait === undefined ? left : Math.min(wait, left);
        }
        if (wait !== undefined) this.recheck(run, Math.max(0, wait));
        return;
      }
      case 'succeeded': {
        run.outputs = transition.outputs;
        this.releaseSlot(run);
        const succeed = () => {
          if (this.stopped || this.aborting !== undefined) return;
          this.setNodePhase(run, NP.SUCCEEDED);
          this.afterCommit(() => this.onTerminal(run));
        };
        // Outputs a task handler already placed (inline or written) are not placed again.
        if (run.spec.id === START || run.memo.outputsInline === true || run.memo.outputUri !== undefined) {
          succeed();
          return;
        }
        void storeOutputs(this.services, `node ${run.key}`, this.paths(run).outputs, transition.outputs, {
          signal: this.lifetime.signal,
        }).then(
          (stored) => {
            if (stored.inline) run.memo.outputsInline = true;
            else run.memo.outputUri = stored.uri;
            succeed();
          },
          (error: unknown) => {
            if (error instanceof NodeFailure) {
              run.outputs = undefined;
              if (!this.stopped && this.aborting === undefined) this.fail(run, error, false);
            } else this.fatal(error);
          },
        );
        return;
      }
      case 'failed':
        this.fail(run, transition.failure, true);
        return;
    }
  }

  private fail(run: NodeRun, failure: NodeFailure, mayRetry: boolean): void {
    const state = run.state;
    const retries = retriesOf(run);
    const budgetLeft = failure.kind === 'user' ? state.uf < retries : state.sf < this.services.config.maxSystemFailures;
    if (mayRetry && failure.retryable && budgetLeft) {
      if (failure.kind === 'user') state.uf++;
      else state.sf++;
      state.a++;
      const backoff = this.services.config.retryBackoff;
      const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (state.a - 1));
      state.retryAt = this.nowMs() + delay;
      delete state.k;
      run.task = undefined;
      run.memo = {};
      run.outputs = undefined;
      this.stage(run);
      this.afterCommit(() => this.evaluate(run));
      return;
    }
    run.error = executionError(failure, this.now());
    this.releaseSlot(run);
    this.setNodePhase(run, failure.code === TIMEOUT_CODE ? NP.TIMED_OUT : NP.FAILED);
    this.afterCommit(() => this.onTerminal(run));
  }

  private async abortOne(run: NodeRun, reason: string, phase: typeof NP.ABORTED | typeof NP.TIMED_OUT): Promise<void> {
    if (isTerminalNodePhase(run.phase)) return;
    run.timer?.abort();
    run.attemptSignal?.abort(new Error(reason));
    // Children first.
    for (const child of this.runs.values()) {
      if (child !== run && child.key.startsWith(`${run.key}-`) && child.phase !== NP.UNDEFINED) {
        await this.abortOne(child, reason, NP.ABORTED);
      }
    }
    try {
      await handlerFor(run.spec).abort(run, this, reason);
    } catch (error) {
      this.services.warn(`aborting node ${run.key} of ${this.executionId.name} failed`, error);
    }
    this.releaseSlot(run);
    if (phase === NP.TIMED_OUT) {
      run.error = executionError(new NodeFailure('Timeout', reason, 'user'), this.now());
    } else {
      run.error = executionError(new NodeFailure('Aborted', reason, 'user'), this.now());
    }
    this.setNodePhase(run, phase);
  }

  private recheck(run: NodeRun, ms: number): void {
    run.timer?.abort();
    const timer = new AbortController();
    run.timer = timer;
    this.services.clock.sleep(ms, timer.signal).then(
      () => {
        if (run.timer === timer) run.timer = undefined;
        this.evaluate(run);
      },
      () => undefined,
    );
  }

  private takeSlot(run: NodeRun): boolean {
    if (this.maxParallelism === 0 || this.slotsUsed < this.maxParallelism) {
      this.slotsUsed++;
      run.slot = true;
      return true;
    }
    this.slotQueue.push(run);
    return false;
  }

  private releaseSlot(run: NodeRun): void {
    if (!run.slot) return;
    run.slot = false;
    this.slotsUsed--;
    while (this.slotQueue.length > 0 && (this.maxParallelism === 0 || this.slotsUsed < this.maxParallelism)) {
      const next = this.slotQueue.shift()!;
      if (isTerminalNodePhase(next.phase) || next.slot) continue;
      this.slotsUsed++;
      next.slot = true;
      this.evaluate(next);
    }
  }

  private lookup(dag: Dag, nodeId: string): Promise<idl.core.LiteralMap> | idl.core.LiteralMap {
    if (nodeId === START) return dag.inputs;
    const run = dag.runs.get(nodeId);
    if (run === undefined) {
      throw new NodeFailure('BindingResolutionFailed', `no node ${nodeId} in workflow`, 'system');
    }
    return this.outputsOf(run);
  }

  private async executionInputs(): Promise<idl.core.LiteralMap> {
    return this.services.data.readLiteralMap(this.inputsUri);
  }

  // ---------------------------------------------------------------- records, events and commits

  private setNodePhase(run: NodeRun, phase: idl.core.NodeExecution_Phase): void {
    run.phase = phase;
    this.dirtyNodes.add(run);
    this.events.push({ kind: 'node', event: this.nodeEvent(run) });
    this.scheduleFlush();
  }

  private setWorkflowPhase(
    phase: idl.core.WorkflowExecution_Phase,
    result: {
      readonly outputsUri?: string | undefined;
      readonly outputs?: idl.core.LiteralMap | undefined;
      readonly error?: idl.core.ExecutionError | undefined;
      readonly abortCause?: string | undefined;
    } = {},
  ): void {
    const now = this.now();
    const previous = this.execution.closure;
    const startedAt = previous?.startedAt ?? (phase === WP.RUNNING ? timestampFromMs(now.getTime()) : undefined);
    const outputResult: idl.admin.ExecutionClosure['outputResult'] =
      result.error !== undefined
        ? { case: 'error', value: result.error }
        : result.abortCause !== undefined
          ? { case: 'abortMetadata', value: create(idl.admin.AbortMetadataSchema, { cause: result.abortCause }) }
          : result.outputsUri !== undefined
            ? {
                case: 'outputs',
                value: create(idl.admin.LiteralMapBlobSchema, { data: { case: 'uri', value: result.outputsUri } }),
              }
            : result.outputs !== undefined
              ? {
                  case: 'outputs',
                  value: create(idl.admin.LiteralMapBlobSchema, { data: { case: 'values', value: result.outputs } }),
                }
              : (previous?.outputResult ?? { case: undefined });
    const closure: idl.admin.ExecutionClosure = { ...(previous ?? create(idl.admin.ExecutionClosureSchema)) };
    closure.phase = phase;
    closure.outputResult = outputResult;
    closure.startedAt = startedAt;
    closure.updatedAt = timestampFromMs(now.getTime());
    if (isTerminalWorkflowPhase(phase) && startedAt !== undefined) {
      closure.duration = durationFromMs(now.getTime() - msFromTimestamp(startedAt));
    }
    this.execution = create(idl.admin.ExecutionSchema, {
      id: this.execution.id,
      spec: this.execution.spec,
      closure,
    });
    this.execDirty = true;
    const event = create(idl.event.WorkflowExecutionEventSchema, {
      executionId: this.executionId,
      producerId: this.services.config.id,
      phase,
      occurredAt: timestampFromMs(now.getTime()),
      outputResult:
        result.error !== undefined
          ? { case: 'error', value: result.error }
          : result.outputsUri !== undefined
            ? { case: 'outputUri', value: result.outputsUri }
            : result.outputs !== undefined
              ? { case: 'outputData', value: result.outputs }
              : { case: undefined },
    });
    this.events.push({ kind: 'workflow', event });
    if (isTerminalWorkflowPhase(phase) && startedAt !== undefined) {
      this.services.metrics.executionEnded(this, now.getTime() - msFromTimestamp(startedAt), phase === WP.SUCCEEDED);
    }
    this.scheduleFlush();
  }

  // Records and events are built as literal messages (what `create` returns, without walking the schemas): a task
  // node makes three events and up to three records. Identifiers and timestamps are shared between them, and
  // like every record and event they must not be mutated.

  private nodeExecutionId(run: NodeRun): idl.core.NodeExecutionIdentifier {
    return nodeExecutionIdOf(run, this.executionId);
  }

  /**
   * The Timestamp of `ms`, shared by the records and events of the same millisecond (a flush stamps many rows
   * with a few distinct times: now, and when their nodes started).
   */
  private stamp(ms: number): idl.wkt.Timestamp {
    let timestamp = this.stamps.get(ms);
    if (timestamp === undefined) {
      if (this.stamps.size >= 64) this.stamps.clear();
      timestamp = timestampFromMs(ms);
      this.stamps.set(ms, timestamp);
    }
    return timestamp;
  }

  /** The `inputUri` case of an attempt's events, made once per attempt. */
  private inputValue(run: NodeRun, attempt: number): { case: 'inputUri'; value: string } {
    const cached = run.memo.inputValue as { attempt: number; value: { case: 'inputUri'; value: string } } | undefined;
    if (cached?.attempt === attempt) return cached.value;
    const value = { case: 'inputUri' as const, value: this.pathsOf(run, attempt).inputs };
    run.memo.inputValue = { attempt, value };
    return value;
  }

  private nodeRecord(run: NodeRun): Omit<NodeExecutionRecord, 'revision'> {
    const now = this.nowMs();
    const phase = run.phase;
    const started = run.state.t0;
    const outputUri = run.memo.outputUri as string | undefined;
    const kind = run.spec.target.case;
    const closure: idl.admin.NodeExecutionClosure = {
      $typeName: 'flyteidl.admin.NodeExecutionClosure',
      outputResult:
        run.error !== undefined && (phase === NP.FAILED || phase === NP.TIMED_OUT || phase === NP.ABORTED)
          ? { case: 'error', value: run.error }
          : phase === NP.SUCCEEDED && outputUri !== undefined
            ? { case: 'outputUri', value: outputUri }
            : phase === NP.SUCCEEDED && run.memo.outputsInline === true && run.outputs !== undefined
              ? { case: 'outputData', value: run.outputs }
              : NO_CASE,
      phase,
      createdAt: this.stamp(run.createdAt || now),
      updatedAt: this.stamp(now),
      targetMetadata:
        kind === 'taskNode' || (kind === undefined && run.task !== undefined)
          ? { case: 'taskNodeMetadata', value: taskNodeMetadata(run) }
          : run.childExecution !== undefined
            ? {
                case: 'workflowNodeMetadata',
                value: {
                  $typeName: 'flyteidl.admin.WorkflowNodeMetadata',
                  executionId: run.childExecution,
                },
              }
            : NO_CASE,
      deckUri: '',
      dynamicJobSpecUri: run.dynamic ? this.paths(run).futures : '',
      // Optional fields are in the literal (undefined when unset) so that the object is made at its full size.
      startedAt: started === undefined ? undefined : this.stamp(started),
      duration: started !== undefined && isTerminalNodePhase(phase) ? durationFromMs(now - started) : undefined,
    };
    const nodeExecution: idl.admin.NodeExecution = {
      $typeName: 'flyteidl.admin.NodeExecution',
      id: this.nodeExecutionId(run),
      inputUri: run.spec.id === START ? '' : this.paths(run).inputs,
      closure,
      metadata: {
        $typeName: 'flyteidl.admin.NodeExecutionMetaData',
        retryGroup: String(run.state.a),
        isParentNode: kind === 'branchNode' || kind === 'workflowNode' || kind === 'arrayNode' || run.dynamic,
        specNodeId: run.spec.id,
        isDynamic: run.dynamic,
        isArray: kind === 'arrayNode',
        isEager: false,
      },
    };
    return {
      nodeExecution,
      parentNodeId: run.parent?.key ?? run.dag.owner?.key ?? '',
      state: encodeNodeState(run.state),
    };
  }

  private nodeEvent(run: NodeRun): idl.event.NodeExecutionEvent {
    const now = this.stamp(this.nowMs());
    const outputUri = run.memo.outputUri as string | undefined;
    const parent = run.parent ?? run.dag.owner;
    const target = run.spec.target.case;
    const event: idl.event.NodeExecutionEvent = {
      $typeName: 'flyteidl.event.NodeExecutionEvent',
      id: this.nodeExecutionId(run),
      producerId: this.services.config.id,
      phase: run.phase,
      occurredAt: now,
      inputValue: run.spec.id === START ? NO_CASE : this.inputValue(run, run.state.a),
      outputResult:
        run.phase === NP.SUCCEEDED && outputUri !== undefined
          ? { case: 'outputUri', value: outputUri }
          : run.phase === NP.SUCCEEDED && run.memo.outputsInline === true && run.outputs !== undefined
            ? { case: 'outputData', value: run.outputs }
            : run.error !== undefined && (run.phase === NP.FAILED || run.phase === NP.TIMED_OUT)
              ? { case: 'error', value: run.error }
              : NO_CASE,
      targetMetadata: NO_CASE,
      retryGroup: String(run.state.a),
      specNodeId: run.spec.id,
      nodeName: run.spec.metadata?.name ?? run.spec.id,
      eventVersion: 0,
      isParent: target !== 'taskNode' && target !== 'gateNode' && target !== undefined,
      isDynamic: run.dynamic,
      deckUri: '',
      reportedAt: now,
      isArray: target === 'arrayNode',
      isInDynamicChain: false,
      isEager: false,
      parentNodeMetadata:
        parent === undefined
          ? undefined
          : { $typeName: 'flyteidl.event.ParentNodeExecutionMetadata', nodeId: parent.key },
    };
    return event;
  }

  private taskExecutionId(run: NodeRun, attempt: TaskAttempt): idl.core.TaskExecutionIdentifier {
    return taskExecutionIdOf(run, attempt, this.executionId);
  }

  private taskEvent(run: NodeRun, attempt: TaskAttempt): idl.event.TaskExecutionEvent {
    const now = this.stamp(this.nowMs());
    const event: idl.event.TaskExecutionEvent = {
      $typeName: 'flyteidl.event.TaskExecutionEvent',
      taskId: attempt.template.id,
      parentNodeExecutionId: this.nodeExecutionId(run),
      retryAttempt: attempt.attempt,
      phase: attempt.phase,
      producerId: this.services.config.id,
      logs: attempt.logs as idl.core.TaskLog[],
      occurredAt: now,
      inputValue: this.inputValue(run, attempt.attempt),
      outputResult: attemptResult(attempt),
      phaseVersion: attempt.phaseVersion,
      reason: attempt.reason,
      reasons: [],
      taskType: attempt.template.type,
      metadata: attemptMetadata(attempt),
      eventVersion: 0,
      reportedAt: now,
      customInfo: attempt.customInfo,
    };
    return event;
  }

  private taskRecord(run: NodeRun, attempt: TaskAttempt): Omit<TaskExecutionRecord, 'revision'> {
    const now = this.nowMs();
    const terminal =
      attempt.phase === idl.core.TaskExecution_Phase.SUCCEEDED ||
      attempt.phase === idl.core.TaskExecution_Phase.FAILED ||
      attempt.phase === idl.core.TaskExecution_Phase.ABORTED;
    const paths = this.pathsOf(run, attempt.attempt);
    const started = this.stamp(attempt.startedAt);
    const closure: idl.admin.TaskExecutionClosure = {
      $typeName: 'flyteidl.admin.TaskExecutionClosure',
      outputResult: attemptResult(attempt),
      phase: attempt.phase,
      logs: attempt.logs as idl.core.TaskLog[],
      startedAt: started,
      createdAt: started,
      updatedAt: this.stamp(now),
      reason: attempt.reason,
      taskType: attempt.template.type,
      metadata: attemptMetadata(attempt),
      eventVersion: 1,
      reasons: [],
      duration: terminal ? durationFromMs(now - attempt.startedAt) : undefined,
      customInfo: attempt.customInfo,
    };
    return {
      taskExecution: {
        $typeName: 'flyteidl.admin.TaskExecution',
        id: this.taskExecutionId(run, attempt),
        inputUri: paths.inputs,
        closure,
        isParent: run.dynamic,
      },
    };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing !== undefined) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // A stopped runner writes nothing more: what it staged is redone by whoever resumes the execution.
      if (this.flushing !== undefined || this.stopped) return;
      this.flushing = this.flushAll().finally(() => {
        this.flushing = undefined;
        // Work staged between the last round and now would otherwise wait for the next stage.
        if (this.hasPending() && !this.stopped) this.scheduleFlush();
      });
    });
  }

  private hasPending(): boolean {
    return (
      this.dirtyNodes.size > 0 ||
      this.dirtyTasks.size > 0 ||
      this.events.length > 0 ||
      this.execDirty ||
      this.continuations.length > 0
    );
  }

  private async flushAll(): Promise<void> {
    while (this.hasPending() && !this.stopped) {
      const nodes = [...this.dirtyNodes];
      this.dirtyNodes.clear();
      const tasks = [...this.dirtyTasks];
      this.dirtyTasks.clear();
      const events = this.events;
      this.events = [];
      const exec = this.execDirty;
      this.execDirty = false;
      const continuations = this.continuations;
      this.continuations = [];
      if (nodes.length > 0 || tasks.length > 0 || events.length > 0 || exec) {
        const nodeRows: Guarded<NodeExecutionRecord>[] = nodes.map((run) => ({
          record: this.nodeRecord(run),
          expectedRevision: run.revision,
        }));
        const taskRows: Guarded<TaskExecutionRecord>[] = tasks.map(([attempt, run]) => ({
          record: this.taskRecord(run, attempt),
          expectedRevision: attempt.revision,
        }));
        const started = performance.now();
        let attemptNo = 0;
        for (;;) {
          const lease = this.hooks.lease?.(this);
          try {
            const result = await this.services.store.commit({
              ...(exec
                ? { execution: { record: { execution: this.execution }, expectedRevision: this.revision } }
                : {}),
              nodeExecutions: nodeRows,
              taskExecutions: taskRows,
              events,
              ...(lease === undefined ? {} : { lease: { lease, now: this.now() } }),
            });
            if (result.execution !== undefined) this.revision = result.execution.revision;
            result.nodeExecutions.forEach((row, i) => (nodes[i]!.revision = row.revision));
            result.taskExecutions.forEach((row, i) => (tasks[i]![0].revision = row.revision));
            break;
          } catch (error) {
            if (isFlyteError(error, 'UNAVAILABLE') && attemptNo < 8 && !this.stopped) {
              attemptNo++;
              await this.services.clock.sleep(Math.min(5_000, 50 * 2 ** attemptNo)).catch(() => undefined);
              continue;
            }
            if (isFlyteError(error, 'CONFLICT') && this.hooks.conflicted !== undefined) {
              // Another writer, or a lost lease; a retried commit that had in fact applied also lands here.
              // Plugin work in flight is left running: the runner that resumes from the Store finds it.
              this.stopped = true;
              this.lifetime.abort(new Error('the execution was written by another writer'));
              for (const run of this.runs.values()) run.timer?.abort();
              this.resolveEnded();
              this.hooks.conflicted(this);
              return;
            }
            this.fatalCommit(error);
            return;
          }
        }
        this.services.metrics.transition(this, performance.now() - started, nodes.length + tasks.length);
        if (events.length > 0) this.hooks.emit(events, this);
      }
      for (const fn of continuations) fn();
    }
  }

  private fatalCommit(error: unknown): void {
    this.services.warn(`execution ${this.executionId.name}: commit failed, the runner stops`, error);
    this.stopped = true;
    this.finish();
  }
}

/** Whether a node has started and not ended. */
function isActive(run: NodeRun): boolean {
  return run.phase !== NP.UNDEFINED && !isTerminalNodePhase(run.phase);
}

/** The cause an ABORTING or ABORTED execution records. */
function abortCauseOf(execution: idl.admin.Execution): string {
  const result = execution.closure?.outputResult;
  return result?.case === 'abortMetadata' ? result.value.cause : 'aborted';
}

/** URI of a signal's value. */
export function signalUri(metadataPrefix: string, id: idl.core.WorkflowExecutionIdentifier, signalId: string): string {
  return `${executionDir(metadataPrefix, id)}/signals/${signalId}.pb`;
}

/** The output or error of a task attempt, as events and records carry it. */
function attemptResult(
  attempt: TaskAttempt,
):
  | { case: 'outputUri'; value: string }
  | { case: 'outputData'; value: idl.core.LiteralMap }
  | { case: 'error'; value: idl.core.ExecutionError }
  | { case: undefined; value?: undefined } {
  // Made once per result: the attempt's last event and record carry the same one.
  const cached = attempt.result;
  if (attempt.outputUri !== undefined) {
    return cached?.case === 'outputUri' && cached.value === attempt.outputUri
      ? cached
      : (attempt.result = { case: 'outputUri', value: attempt.outputUri });
  }
  if (attempt.outputData !== undefined) {
    return cached?.case === 'outputData' && cached.value === attempt.outputData
      ? cached
      : (attempt.result = { case: 'outputData', value: attempt.outputData });
  }
  if (attempt.error !== undefined) {
    return cached?.case === 'error' && cached.value === attempt.error
      ? cached
      : (attempt.result = { case: 'error', value: attempt.error });
  }
  return NO_CASE;
}

/** The plugin metadata of a task attempt, made again only when its external resources change. */
function attemptMetadata(attempt: TaskAttempt): idl.event.TaskExecutionMetadata {
  const cached = attempt.metadata;
  if (cached !== undefined && cached.externalResources === attempt.externalResources) return cached;
  return (attempt.metadata = {
    $typeName: 'flyteidl.event.TaskExecutionMetadata',
    generatedName: attempt.generatedName,
    externalResources: attempt.externalResources as idl.event.ExternalResourceInfo[],
    resourcePoolInfo: [],
    pluginIdentifier: attempt.pluginId,
    instanceClass: idl.event.TaskExecutionMetadata_InstanceClass.DEFAULT,
  });
}

/** The task-node metadata of a node's record. */
function taskNodeMetadata(run: NodeRun): idl.admin.TaskNodeMetadata {
  const metadata: idl.admin.TaskNodeMetadata = {
    $typeName: 'flyteidl.admin.TaskNodeMetadata',
    cacheStatus: run.cacheStatus,
    checkpointUri: '',
  };
  if (run.catalogKey !== undefined) metadata.catalogKey = run.catalogKey;
  return metadata;
}

function nodeTimeoutMs(spec: idl.core.Node): number | undefined {
  const timeout = spec.metadata?.timeout;
  if (timeout === undefined) return undefined;
  const ms = Number(timeout.seconds) * 1000 + timeout.nanos / 1e6;
  return ms > 0 ? ms : undefined;
}

function retriesOf(run: NodeRun): number {
  const own = run.spec.metadata?.retries?.retries ?? 0;
  if (own > 0) return own;
  return run.task?.template.metadata?.retries?.retries ?? (run.memo.retries as number | undefined) ?? 0;
}
