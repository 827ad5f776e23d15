// Task nodes: the catalog (cache hit, miss, serialization, populate), then the task's plugin, one task
// execution per attempt; a task that wrote a DynamicJobSpec becomes a dynamic parent (see ../dynamic).
import { create, type JsonValue } from '@bufbuild/protobuf';
import {
  catalogKeyForTask,
  idl,
  isFlyteError,
  jsonNesting,
  MAX_NESTING_DEPTH,
  type Catalog,
  type CatalogEntry,
  type CatalogKey,
  type PluginPhase,
  type PluginTransition,
  type TaskContext,
  type TaskPlugin,
} from '@flyte-ts/core';
import { failureFrom, executionError, NodeFailure, TIMEOUT_CODE } from '../../runtime/failure.js';
import { attemptName } from '../../runtime/names.js';
import { checkOutputsNesting, NESTING_TOO_DEEP, storeOutputs } from '../../runtime/outputs.js';
import { applyPlatformResources } from '../../runtime/resources.js';
import { taskExecutionIdOf, type NodeRun, type TaskAttempt } from '../../runtime/node-run.js';
import { idKey } from '../../runtime/dag.js';
import { handleDynamic, hasDynamicSpec } from '../dynamic/handler.js';
import type { NodeHandler, Runtime, Transition } from '../handler.js';

const TP = idl.core.TaskExecution_Phase;
const CS = idl.core.CatalogCacheStatus;

/** Persisted state of a task node's current attempt. */
interface TaskState {
  /** Cache lookup done for this attempt: `hit`, `miss`, `skip` (not cached or overwrite). */
  c?: 'miss' | 'skip';
  /** The plugin was called at least once for this attempt. */
  s?: boolean;
  /** Plugin state. */
  ps?: JsonValue;
  /** Plugin state version. */
  psv?: number;
  /** Current poll delay of an asynchronous plugin (ms). */
  pd?: number;
  /** Holds the cache reservation. */
  r?: boolean;
}

/** The template of the task a task node (or array item, or dynamic node) runs. */
export function taskTemplateOf(run: NodeRun): idl.core.TaskTemplate {
  const target = run.spec.target;
  if (target.case !== 'taskNode' || target.value.reference.case !== 'referenceId') {
    throw new NodeFailure('BadTaskSpecification', `node ${run.spec.id} is not a task node`, 'system');
  }
  const template = run.dag.index.tasks.get(idKey(target.value.reference.value));
  if (template === undefined) {
    throw new NodeFailure(
      'TaskNotFound',
      `task ${target.value.reference.value.name} of node ${run.spec.id} is not in the workflow's closure`,
      'system',
    );
  }
  return template;
}

function signatureOf(template: idl.core.TaskTemplate) {
  return {
    id: template.id!,
    cacheVersion: template.metadata?.discoveryVersion ?? '',
    interface: template.interface,
    ignoreInputs: template.metadata?.cacheIgnoreInputVars ?? [],
  };
}

function catalogMetadata(key: CatalogKey, source?: idl.core.TaskExecutionIdentifier): idl.core.CatalogMetadata {
  return create(idl.core.CatalogMetadataSchema, {
    datasetId: {
      resourceType: idl.core.ResourceType.DATASET,
      project: key.dataset.project,
      domain: key.dataset.domain,
      name: key.dataset.name,
      version: key.dataset.version,
      org: key.dataset.org,
    },
    artifactTag: { name: key.tag },
    ...(source === undefined ? {} : { sourceExecution: { case: 'sourceTaskExecution', value: source } }),
  });
}

const PHASES: Record<PluginPhase, idl.core.TaskExecution_Phase> = {
  'not-ready': TP.QUEUED,
  'waiting-for-resources': TP.WAITING_FOR_RESOURCES,
  queued: TP.QUEUED,
  initializing: TP.INITIALIZING,
  running: TP.RUNNING,
  success: TP.SUCCEEDED,
  'retryable-failure': TP.RETRYABLE_FAILED,
  'permanent-failure': TP.FAILED,
};

/** Handler of task nodes. */
export const taskHandler: NodeHandler = {
  executable: true,

  async handle(run, rt) {
    const template = taskTemplateOf(run);
    run.memo.retries = template.metadata?.retries?.retries ?? 0;
    if (run.dynamic) return handleDynamic(run, rt, template);
    const state: TaskState = { ...(run.kindState<TaskState>() ?? {}) };
    const catalog = rt.services.catalog;
    const cached = template.metadata?.discoverable === true && catalog !== undefined;
    const overwrite = rt.execution.spec?.overwriteCache === true;
    let key: CatalogKey | undefined;

    if (cached) key = catalogKeyForTask(signatureOf(template), await rt.inputsOf(run));
    if (state.c === undefined) {
      if (key !== undefined && !overwrite) {
        const entry = await cachedEntry(rt, run, catalog!, key);
        if (entry !== undefined) {
          run.cacheStatus = CS.CACHE_HIT;
          run.catalogKey = catalogMetadata(key, entry.source);
          return { phase: 'succeeded', outputs: entry.outputs };
        }
      }
      if (key !== undefined && template.metadata?.cacheSerializable === true) {
        // Cache serialization: one owner runs, the others wait for its result and look again.
        const heartbeatMs = rt.services.config.cacheReservationHeartbeatMs;
        const owner = attemptName(rt.executionId, run.key, 0);
        const reservation = await catalog!.getOrExtendReservation(key, owner, {
          heartbeatMs: heartbeatMs * RESERVATION_GRACE,
          now: rt.now(),
        });
        if (!reservation.acquired) {
          return { phase: 'running', recheckAfterMs: heartbeatMs };
        }
        state.r = true;
      }
      state.c = key === undefined ? 'skip' : 'miss';
      run.cacheStatus = key === undefined ? CS.CACHE_DISABLED : overwrite ? CS.CACHE_SKIPPED : CS.CACHE_MISS;
      if (key !== undefined) run.catalogKey = catalogMetadata(key);
    }

    const plugin = rt.services.plugins.find(template.type);
    if (plugin === undefined) {
      await releaseReservation(run, rt, key, state);
      return {
        phase: 'failed',
        failure: new NodeFailure(
          'UnsupportedTaskType',
          `no plugin of this engine runs task type ${JSON.stringify(template.type)}`,
          'system',
        ),
      };
    }
    let attempt = ensureAttempt(run, rt, template, plugin);
    if (attempt instanceof Promise) attempt = await attempt;

    // The attempt's own deadline (TaskMetadata.timeout): abort it and retry as a user failure.
    const timeoutMs = minDefined(msOf(template.metadata?.timeout), msOf(run.spec.metadata?.timeout));
    const attemptStarted = run.state.ta ?? attempt.startedAt;
    if (timeoutMs !== undefined && rt.nowMs() - attemptStarted >= timeoutMs && state.s === true) {
      // What the attempt started stops through its signal; the plugin's cleanup gets a new one.
      run.attemptSignal?.abort(new Error(`task attempt timed out after ${timeoutMs} ms`));
      const ctx = contextFor(run, rt, template, attempt, state, plugin);
      await plugin.abort(ctx, 'timeout').catch((e: unknown) => rt.services.warn(`abort of ${run.key}`, e));
      await finalize(plugin, ctx, rt, run);
      const failure = new NodeFailure(TIMEOUT_CODE, `task attempt timed out after ${timeoutMs} ms`, 'user', true);
      endAttempt(run, rt, attempt, TP.FAILED, failure);
      return { phase: 'failed', failure };
    }

    const ctx = contextFor(run, rt, template, attempt, state, plugin);
    run.memo.pluginCalled = true;
    let result: PluginTransition;
    try {
      // A free slot is taken at once (the usual case): no queue entry.
      const queue = rt.services.handleQueue;
      if (queue.tryAcquire()) {
        try {
          result = await plugin.handle(ctx);
        } finally {
          queue.release();
        }
      } else {
        result = await queue.run(() => plugin.handle(ctx));
      }
    } catch (error) {
      result =
        error instanceof NodeFailure
          ? // The engine refused what the plugin gave its context (outputs nesting too deep, too large).
            {
              phase: error.retryable ? 'retryable-failure' : 'permanent-failure',
              error: { code: error.code, message: error.message, kind: error.kind },
            }
          : {
              phase: 'retryable-failure',
              error: { code: 'PluginHandleFailed', message: errorMessage(error), kind: 'system' },
            };
    }
    // Aborted meanwhile (execution terminated, engine stopped): the abort path reports the attempt.
    if (ctx.signal.aborted) return { phase: 'running' };
    if (result.customInfo !== undefined && jsonNesting(result.customInfo) > MAX_NESTING_DEPTH) {
      // The attempt's records and events could be written but never read back: the plugin's report is refused.
      result = {
        phase: 'permanent-failure',
        error: {
          code: NESTING_TOO_DEEP,
          message: `plugin ${plugin.id} reported custom info nesting more than ${MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH)`,
          kind: 'system',
        },
      };
    }
    let changed = state.s !== true;
    state.s = true;
    if (result.state !== undefined) {
      state.ps = result.state;
      state.psv = plugin.stateVersion ?? 0;
      changed = true;
    }
    const phase = PHASES[result.phase];
    const infoChanged =
      (result.logs !== undefined && result.logs.length !== attempt.logs.length) ||
      (result.reason !== undefined && result.reason !== attempt.reason) ||
      result.externalResources !== undefined ||
      result.customInfo !== undefined;
    if (result.logs !== undefined) attempt.logs = [...result.logs];
    if (result.reason !== undefined) attempt.reason = result.reason;
    if (result.customInfo !== undefined) attempt.customInfo = result.customInfo;
    if (result.externalResources !== undefined) {
      attempt.externalResources = result.externalResources.map((r) =>
        create(idl.event.ExternalResourceInfoSchema, {
          externalId: r.externalId,
          index: r.index ?? 0,
          retryAttempt: r.retryAttempt ?? 0,
          phase: r.phase === undefined ? TP.UNDEFINED : PHASES[r.phase],
          logs: [...(r.logs ?? [])],
        }),
      );
    }

    if (result.phase === 'success') {
      run.setKindState(state);
      const paths = rt.paths(run);
      // Outputs written through the context mean the task was not dynamic: no need to look for futures.pb (a
      // round trip to the blob store per task). Tasks that write their own files are checked, as in Flyte.
      if (run.outputs === undefined && (await hasDynamicSpec(rt, paths.futures))) {
        await finalize(plugin, ctx, rt, run);
        attempt.phase = TP.SUCCEEDED;
        attempt.phaseVersion = 0;
        rt.stageTask(run);
        run.dynamic = true;
        rt.stage(run);
        return handleDynamic(run, rt, template);
      }
      let outputs: idl.core.LiteralMap;
      try {
        outputs = run.outputs ?? (await rt.services.data.readLiteralMap(paths.outputs));
        // Outputs a plugin wrote itself did not go through the context's checks.
        if (run.outputs === undefined)
          checkOutputsNesting(outputs, `task ${template.id?.name ?? ''} (node ${run.key})`);
      } catch (error) {
        if (error instanceof NodeFailure || isFlyteError(error, NESTING_TOO_DEEP)) {
          const failure =
            error instanceof NodeFailure ? error : new NodeFailure(NESTING_TOO_DEEP, errorMessage(error), 'user');
          endAttempt(run, rt, attempt, TP.FAILED, failure);
          return { phase: 'failed', failure };
        }
        if (!isFlyteError(error, 'NOT_FOUND')) throw error;
        outputs = create(idl.core.LiteralMapSchema);
        if (Object.keys(template.interface?.outputs?.variables ?? {}).length > 0) {
          const failure = new NodeFailure('OutputsNotFound', `task ${template.id?.name} wrote no outputs`, 'user');
          endAttempt(run, rt, attempt, TP.FAILED, failure);
          return { phase: 'failed', failure };
        }
      }
      // Outputs written through the context were placed by it (inline or in a blob); a plugin that wrote its own
      // outputs.pb left them there.
      if (run.memo.outputsInline !== true && run.memo.outputUri === undefined) run.memo.outputUri = paths.outputs;
      await finalize(plugin, ctx, rt, run);
      if (key !== undefined) {
        const source = taskExecutionId(run, rt, attempt);
        try {
          await catalog!.put(key, outputs, { source, overwrite });
          run.cacheStatus = CS.CACHE_POPULATED;
          run.catalogKey = catalogMetadata(key, source);
        } catch (error) {
          rt.services.warn(`caching the outputs of ${run.key} failed`, error);
          run.cacheStatus = CS.CACHE_PUT_FAILURE;
        }
        await releaseReservation(run, rt, key, state);
      }
      if (run.memo.outputsInline === true) attempt.outputData = outputs;
      else attempt.outputUri = run.memo.outputUri as string;
      endAttempt(run, rt, attempt, TP.SUCCEEDED);
      return { phase: 'succeeded', outputs };
    }

    if (result.phase === 'retryable-failure' || result.phase === 'permanent-failure') {
      await finalize(plugin, ctx, rt, run);
      await releaseReservation(run, rt, key, state);
      const error = result.error ?? { code: 'Unknown', message: result.reason ?? 'the task failed', kind: 'user' };
      const failure = new NodeFailure(error.code, error.message, error.kind, result.phase === 'retryable-failure');
      endAttempt(run, rt, attempt, result.phase === 'retryable-failure' ? TP.RETRYABLE_FAILED : TP.FAILED, failure);
      return { phase: 'failed', failure };
    }

    // Still running. The owner of a cache reservation keeps it alive while the task runs.
    let heartbeat: number | undefined;
    if (key !== undefined && state.r === true) {
      heartbeat = rt.services.config.cacheReservationHeartbeatMs;
      await catalog!
        .getOrExtendReservation(key, attemptName(rt.executionId, run.key, 0), {
          heartbeatMs: heartbeat * RESERVATION_GRACE,
          now: rt.now(),
        })
        .catch((e: unknown) => rt.services.warn(`extending the cache reservation of ${run.key}`, e));
    }
    if (phase !== attempt.phase) {
      attempt.phase = phase;
      attempt.phaseVersion = 0;
      rt.stageTask(run);
    } else if (infoChanged) {
      attempt.phaseVersion++;
      rt.stageTask(run);
    }
    if (changed) {
      run.setKindState(state);
      rt.stage(run);
    }
    let recheckAfterMs = nextPoll(rt, state, result.checkAgainAfterMs);
    if (heartbeat !== undefined) recheckAfterMs = Math.min(recheckAfterMs, heartbeat / 2);
    if (timeoutMs !== undefined) {
      recheckAfterMs = Math.min(recheckAfterMs, Math.max(0, attemptStarted + timeoutMs - rt.nowMs()));
    }
    return { phase: 'running', recheckAfterMs };
  },

  async abort(run, rt, reason) {
    if (run.dynamic) return;
    const state = run.kindState<TaskState>() ?? {};
    const called = state.s === true || run.memo.pluginCalled === true;
    // A node resumed started, with no plugin state committed, may have reached its plugin just before a crash: the
    // plugin is asked to abort what it may have started (found by the attempt's name), but no attempt is reported.
    if (!called && run.memo.resumed !== true) return;
    const template = taskTemplateOf(run);
    const plugin = rt.services.plugins.find(template.type);
    if (plugin === undefined) return;
    let attempt = ensureAttempt(run, rt, template, plugin);
    if (attempt instanceof Promise) attempt = await attempt;
    // Reported ABORTED already (before a crash that left its node running): the plugin is asked again, not reported.
    const reported = attempt.phase === TP.ABORTED;
    const ctx = contextFor(run, rt, template, attempt, state, plugin);
    // A plugin that fails to abort still gets its finalize, and the attempt ends ABORTED all the same.
    await plugin.abort(ctx, reason).catch((e: unknown) => rt.services.warn(`abort of ${run.key}`, e));
    await finalize(plugin, ctx, rt, run);
    if (template.metadata?.discoverable === true && rt.services.catalog !== undefined && state.r === true) {
      const key = catalogKeyForTask(signatureOf(template), await rt.inputsOf(run));
      await releaseReservation(run, rt, key, state);
    }
    if (reported || !called) return;
    attempt.reason = reason;
    endAttempt(run, rt, attempt, TP.ABORTED);
  },

  async restore(run, rt) {
    // A dynamic parent's workflow is compiled again from its spec, to the same graph.
    if (run.dynamic && rt.existingChildDag(run) === undefined) await handleDynamic(run, rt, taskTemplateOf(run));
  },
};

/** Finalizes the attempt's plugin work; a failure is reported, not thrown. */
async function finalize(plugin: TaskPlugin, ctx: TaskContext, rt: Runtime, run: NodeRun): Promise<void> {
  try {
    await plugin.finalize(ctx);
  } catch (error) {
    rt.services.warn(`finalize of ${run.key}`, error);
  }
}

async function releaseReservation(
  run: NodeRun,
  rt: Runtime,
  key: CatalogKey | undefined,
  state: TaskState,
): Promise<void> {
  if (key === undefined || state.r !== true || rt.services.catalog === undefined) return;
  delete state.r;
  await rt.services.catalog
    .releaseReservation(key, attemptName(rt.executionId, run.key, 0))
    .catch((e: unknown) => rt.services.warn(`releasing the cache reservation of ${run.key}`, e));
}

function nextPoll(rt: Runtime, state: TaskState, hint: number | undefined): number {
  const { baseMs, maxMs } = rt.services.config.pollInterval;
  if (hint !== undefined) return Math.max(0, hint);
  const delay = state.pd === undefined ? baseMs : Math.min(maxMs, state.pd * 2);
  state.pd = delay;
  return delay;
}

function taskExecutionId(run: NodeRun, rt: Runtime, attempt: TaskAttempt): idl.core.TaskExecutionIdentifier {
  return taskExecutionIdOf(run, attempt, rt.executionId);
}

/** The attempt being run (created on the first call; after a restart, re-read with its stored revision). */
function ensureAttempt(
  run: NodeRun,
  rt: Runtime,
  template: idl.core.TaskTemplate,
  plugin: TaskPlugin,
): TaskAttempt | Promise<TaskAttempt> {
  const number = run.state.a;
  if (run.task !== undefined && run.task.attempt === number) return run.task;
  // Outputs placed by an earlier attempt that then failed are not this attempt's.
  run.outputs = undefined;
  delete run.memo.outputsInline;
  delete run.memo.outputUri;
  const attempt: TaskAttempt = {
    attempt: number,
    phase: TP.UNDEFINED,
    template,
    revision: 0,
    startedAt: run.state.ta ?? rt.nowMs(),
    logs: [],
    reason: '',
    externalResources: [],
    generatedName: attemptName(rt.executionId, run.key, number),
    pluginId: plugin.id,
    phaseVersion: 0,
  };
  if (run.kindState<TaskState>()?.s !== true) {
    run.task = attempt;
    return attempt;
  }
  // The plugin was called before a restart: the attempt's record is read back.
  return rt.services.store.getTaskExecution(taskExecutionId(run, rt, attempt)).then((stored) => {
    if (stored !== undefined) {
      attempt.revision = stored.revision;
      attempt.phase = stored.taskExecution.closure?.phase ?? TP.UNDEFINED;
      attempt.logs = stored.taskExecution.closure?.logs ?? [];
    }
    run.task = attempt;
    return attempt;
  });
}

function endAttempt(
  run: NodeRun,
  rt: Runtime,
  attempt: TaskAttempt,
  phase: idl.core.TaskExecution_Phase,
  failure?: NodeFailure,
): void {
  attempt.phase = phase;
  attempt.phaseVersion = 0;
  if (failure !== undefined) attempt.error = executionError(failure, rt.now(), rt.paths(run).error);
  rt.stageTask(run);
}

/**
 * A cache reservation lasts this many heartbeats after its last extension (datacatalog's heartbeat grace period
 * multiplier), so that an owner late by a heartbeat or two under load keeps it.
 */
const RESERVATION_GRACE = 3;

function contextFor(
  run: NodeRun,
  rt: Runtime,
  template: idl.core.TaskTemplate,
  attempt: TaskAttempt,
  state: TaskState,
  plugin: TaskPlugin,
): TaskContext {
  const paths = rt.paths(run);
  const number = attempt.attempt;
  if (run.attemptSignal === undefined || run.attemptSignal.signal.aborted || run.memo.signalFor !== number) {
    run.attemptSignal = new AbortController();
    run.memo.signalFor = number;
  }
  const spec = rt.execution.spec;
  const shared = executionMetadataOf(spec);
  const rawOutputPrefix = rt.rawOutputPrefix(run);
  const previous = number > 0 ? rt.services.data.rawOutputPath(rt.executionId, run.key, number - 1) : undefined;
  const overrides = run.spec.target.case === 'taskNode' ? run.spec.target.value.overrides : undefined;
  const interruptible =
    run.spec.metadata?.interruptibleValue.case === 'interruptible'
      ? run.spec.metadata.interruptibleValue.value
      : template.metadata?.interruptibleValue.case === 'interruptible'
        ? template.metadata.interruptibleValue.value
        : spec?.interruptible === true;
  void plugin;
  return {
    template,
    metadata: {
      id: taskExecutionId(run, rt, attempt),
      generatedName: attempt.generatedName,
      execution: rt.executionId,
      attempt: number,
      maxAttempts: (template.metadata?.retries?.retries ?? 0) + 1,
      interruptible,
      labels: shared.labels,
      annotations: shared.annotations,
      environment: shared.environment,
      securityContext: spec?.securityContext,
      resources: applyPlatformResources(
        overrides?.resources ?? (template.target.case === 'container' ? template.target.value.resources : undefined),
        rt.platformResources,
      ),
      overrides,
    },
    state: state.ps,
    stateVersion: state.ps === undefined ? undefined : state.psv,
    inputs: {
      inputsUri: paths.inputs,
      inputPrefix: paths.dir,
      read: () => rt.inputsOf(run),
    },
    outputs: {
      outputPrefix: paths.dir,
      outputsUri: paths.outputs,
      errorUri: paths.error,
      rawOutputPrefix,
      checkpointPrefix: `${rawOutputPrefix}/_flytecheckpoints`,
      ...(previous === undefined ? {} : { previousCheckpointPrefix: `${previous}/_flytecheckpoints` }),
      write: async (outputs, options) => {
        // Small outputs stay inline (no blob write), large ones go to outputs.pb, too large ones fail the task.
        const stored = await storeOutputs(
          rt.services,
          `task ${template.id?.name ?? ''} (node ${run.key})`,
          paths.outputs,
          outputs,
          options,
        );
        // A late write of an attempt that was given up on must not leak into the next one.
        if (run.state.a === number) {
          run.outputs = outputs;
          if (stored.inline) run.memo.outputsInline = true;
          else run.memo.outputUri = stored.uri;
        }
      },
    },
    blob: rt.services.blob,
    secrets: rt.services.secrets,
    resources: rt.services.resourceManager,
    clock: rt.services.clock,
    signal: run.attemptSignal.signal,
    requestRecheck: () => {
      if (run.state.a === number) rt.evaluate(run);
    },
  };
}

/** What every attempt of an execution gets of its spec, made once per execution (plugins get them read-only). */
interface ExecutionMetadata {
  readonly labels: { readonly [key: string]: string };
  readonly annotations: { readonly [key: string]: string };
  readonly environment: { readonly [key: string]: string };
}

const NO_SPEC: ExecutionMetadata = Object.freeze({
  labels: Object.freeze({}),
  annotations: Object.freeze({}),
  environment: Object.freeze({}),
});
const executionMetadata = new WeakMap<idl.admin.ExecutionSpec, ExecutionMetadata>();

function executionMetadataOf(spec: idl.admin.ExecutionSpec | undefined): ExecutionMetadata {
  if (spec === undefined) return NO_SPEC;
  let metadata = executionMetadata.get(spec);
  if (metadata === undefined) {
    metadata = Object.freeze({
      labels: Object.freeze({ ...(spec.labels?.values ?? {}) }),
      annotations: Object.freeze({ ...(spec.annotations?.values ?? {}) }),
      environment: Object.freeze(Object.fromEntries((spec.envs?.values ?? []).map((kv) => [kv.key, kv.value]))),
    });
    executionMetadata.set(spec, metadata);
  }
  return metadata;
}

function msOf(duration: idl.wkt.Duration | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const ms = Number(duration.seconds) * 1000 + duration.nanos / 1e6;
  return ms > 0 ? ms : undefined;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * The cached outputs of a task, or undefined on a miss. Cached outputs no record could hold (written by an earlier
 * version, too deep to read or to keep) count as a miss: the task runs again.
 */
async function cachedEntry(
  rt: Runtime,
  run: NodeRun,
  catalog: Catalog,
  key: CatalogKey,
): Promise<CatalogEntry | undefined> {
  try {
    const entry = await catalog.get(key);
    if (entry !== undefined) checkOutputsNesting(entry.outputs, `the cached outputs of ${run.key}`);
    return entry;
  } catch (error) {
    if (!isFlyteError(error, 'UNREADABLE_RECORD') && !(error instanceof NodeFailure)) throw error;
    rt.services.warn(`the cached outputs of ${run.key} cannot be used; the task runs again`, error);
    return undefined;
  }
}

function errorMessage(error: unknown): string {
  return failureFrom(error).message;
}

export type { Transition };
