// The generic Kubernetes-resource plugin (Flyte's k8s plugin manager): a task attempt is one Kubernetes object,
// created under the attempt's generated name (a repeated `handle` finds it instead of creating another),
// observed through a shared watch per namespace (reading the API while the watch has not synced), its status
// mapped to a task phase by a resource handler, deleted on abort and finalize, optionally under a quota.
import type { idl, PluginError, PluginPhase, PluginTransition, TaskContext, TaskPlugin } from '@flyte-ts/core';
import { selectCluster, type K8sCluster } from './cluster.js';
import { apiErrorMessage, isApiError, type K8sObject, type ResourceApi } from './resource-api.js';
import { ResourceWatcher } from './resource-watcher.js';

/** Label the machinery puts on every object it creates, so its watches see only those. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Value of {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY_VALUE = 'flyte-ts';

/** What the machinery persists for an attempt (the plugin state). */
export type K8sResourceState = {
  /** Cluster the object lives in. */
  readonly cluster: string;
  /** Its namespace. */
  readonly namespace: string;
  /** Its name. */
  readonly name: string;
  /** When it was created (engine clock, ms since the epoch): the start of the pending timeout. */
  readonly createdAtMs: number;
  /** Resource-manager pool holding a token for the attempt, or `''`. */
  readonly pool: string;
};

/** Where an attempt's object goes. */
export interface K8sTarget {
  /** The cluster. */
  readonly cluster: K8sCluster;
  /** The namespace. */
  readonly namespace: string;
  /** The object's name (the attempt's generated name). */
  readonly name: string;
}

/** A status as a resource handler reads it from the object. */
export interface K8sResourceStatus {
  /** The task's phase. */
  readonly phase: PluginPhase;
  /** Why (shown to users). */
  readonly reason?: string | undefined;
  /** The failure, for failure phases. */
  readonly error?: PluginError | undefined;
  /** Log links. */
  readonly logs?: readonly idl.core.TaskLog[] | undefined;
  /** When the phase was reached, if the object says. */
  readonly occurredAt?: Date | undefined;
}

/** What a Kubernetes-backed task type supplies: how to build its object and read its status. */
export interface K8sResourceHandler<T extends K8sObject> {
  /** Operations on the object's kind in a cluster. */
  api(cluster: K8sCluster): ResourceApi<T>;
  /**
   * Builds the object of an attempt. The machinery sets its name and namespace and adds
   * {@link MANAGED_BY_LABEL}; a build failure that is the task's fault should throw a {@link K8sBuildError}.
   */
  build(ctx: TaskContext, target: K8sTarget): Promise<T>;
  /** Maps the object's status to the task's phase (it may read the task's error document through `ctx`). */
  status(object: T, ctx: TaskContext, target: K8sTarget): Promise<K8sResourceStatus>;
}

/** A task that cannot be turned into an object (a bad specification): fails the attempt permanently. */
export class K8sBuildError extends Error {
  /**
   * @param code stable code reported as the task's error code (`BadTaskSpecification`)
   * @param message what to change
   */
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'K8sBuildError';
  }
}

/** A quota the attempts of a plugin share (Flyte's resource-manager pools). */
export interface K8sQuota {
  /** Pool of an attempt (e.g. per project or per cluster). */
  readonly pool: (ctx: TaskContext) => string;
  /** Token lifetime without renewal (ms); each `handle` renews it. Default: held until released. */
  readonly ttlMs?: number;
}

/** Options of a {@link K8sResourcePlugin}. */
export interface K8sResourcePluginOptions<T extends K8sObject> {
  /** Plugin id (`k8s-pod`). */
  readonly id: string;
  /** Task types it runs. */
  readonly taskTypes: readonly string[];
  /** The object kind's handler. */
  readonly handler: K8sResourceHandler<T>;
  /** Clusters to run on (at least one). */
  readonly clusters: readonly K8sCluster[];
  /** Namespace of an attempt (default: `ctx.metadata.namespace`, else `<project>-<domain>`, as Flyte). */
  readonly namespace?: (ctx: TaskContext) => string;
  /** Execution label that selects clusters by their `labels` (default: `execution-cluster`). */
  readonly clusterLabelKey?: string;
  /** Quota shared by attempts. */
  readonly quota?: K8sQuota;
  /** A task still queued or initializing this long after its object was created fails, system-retryable. */
  readonly pendingTimeoutMs?: number;
  /** Delete the object when the attempt is finalized (default true; abort always deletes). */
  readonly deleteOnFinalize?: boolean;
  /** Whether to watch (default true); without, the API is read on every `handle`. */
  readonly watch?: boolean;
  /** Relist period of the watches (default 30 s). */
  readonly resyncMs?: number;
  /** Poll hint while a watch has not synced or is off (default 1 s). */
  readonly pollMs?: number;
  /** Hint while a watch runs: the engine is woken by it sooner (default 30 s). */
  readonly watchedPollMs?: number;
  /** Reports background failures (watches reconnect by themselves). */
  readonly onError?: (error: unknown) => void;
}

const NOT_STARTED: readonly PluginPhase[] = ['not-ready', 'waiting-for-resources', 'queued', 'initializing'];
const TERMINAL: readonly PluginPhase[] = ['success', 'retryable-failure', 'permanent-failure'];

/**
 * A TaskPlugin whose attempts are Kubernetes objects. `handle` is idempotent: the first call creates the object
 * under `ctx.metadata.generatedName` (an existing one is adopted), later calls and calls after an engine restart
 * read it back; `abort` and `finalize` delete it (a missing object is fine) and release the quota token.
 * `engine.stop()` calls {@link K8sResourcePlugin.close}, which ends the watches.
 */
export class K8sResourcePlugin<T extends K8sObject> implements TaskPlugin<K8sResourceState> {
  /** Plugin id. */
  readonly id: string;
  /** Task types. */
  readonly taskTypes: readonly string[];
  /** Version of {@link K8sResourceState}. */
  readonly stateVersion = 1;
  private readonly watchers = new Map<string, ResourceWatcher<T>>();
  private readonly apis = new Map<string, ResourceApi<T>>();

  /** @param options handler, clusters and behaviour */
  constructor(private readonly options: K8sResourcePluginOptions<T>) {
    if (options.clusters.length === 0) throw new Error(`plugin ${options.id}: configure at least one cluster`);
    this.id = options.id;
    this.taskTypes = [...options.taskTypes];
  }

  /** Chooses where an attempt's object goes (deterministic for the attempt). */
  target(ctx: TaskContext): K8sTarget {
    const label = ctx.metadata.labels[this.options.clusterLabelKey ?? 'execution-cluster'];
    const cluster = selectCluster(this.options.clusters, ctx.metadata.generatedName, label);
    const id = ctx.metadata.execution;
    const namespace =
      this.options.namespace?.(ctx) ?? ctx.metadata.namespace ?? `${id.project}-${id.domain}`.toLowerCase();
    return { cluster, namespace, name: ctx.metadata.generatedName };
  }

  async handle(ctx: TaskContext<K8sResourceState>): Promise<PluginTransition<K8sResourceState>> {
    const state = ctx.state;
    if (state === undefined) return this.launch(ctx);
    const target = this.targetOf(state);
    if (state.pool !== '') {
      // Renew the token (a TTL lets a dead engine's tokens lapse).
      await ctx.resources.allocate(state.pool, ctx.metadata.generatedName, this.allocateOptions(ctx));
    }
    const watcher = this.watcher(target);
    const api = this.api(target.cluster);
    // Subscribe before reading, so that a change between the read and the subscription is not missed.
    watcher?.subscribe(target.name, () => ctx.requestRecheck(`${api.kind} ${target.name} changed`));
    const object = watcher?.cached(target.name) ?? (await api.get(target.namespace, target.name));
    if (object === undefined) {
      watcher?.unsubscribe(target.name);
      return {
        phase: 'retryable-failure',
        reason: `${api.kind} ${target.namespace}/${target.name} was deleted`,
        error: {
          code: 'ResourceDeletedExternally',
          message: `${api.kind} ${target.namespace}/${target.name} no longer exists: it was deleted outside the engine (or its node was lost)`,
          kind: 'system',
        },
      };
    }
    const status = await this.options.handler.status(object, ctx, target);
    const external = [{ externalId: target.name, phase: status.phase, logs: status.logs ?? [] }];
    const common = {
      ...(status.logs === undefined ? {} : { logs: status.logs }),
      ...(status.occurredAt === undefined ? {} : { occurredAt: status.occurredAt }),
      externalResources: external,
    };
    if (TERMINAL.includes(status.phase)) {
      watcher?.unsubscribe(target.name);
      return { phase: status.phase, reason: status.reason, error: status.error, ...common };
    }
    const pendingTimeoutMs = this.options.pendingTimeoutMs;
    const pendingFor = ctx.clock.now().getTime() - state.createdAtMs;
    const notStarted = NOT_STARTED.includes(status.phase);
    if (pendingTimeoutMs !== undefined && notStarted && pendingFor >= pendingTimeoutMs) {
      watcher?.unsubscribe(target.name);
      const message = `${api.kind} ${target.name} did not start within ${pendingTimeoutMs} ms${status.reason === undefined ? '' : `: ${status.reason}`}`;
      return {
        phase: 'retryable-failure',
        reason: message,
        error: { code: `${api.kind}PendingTimeout`, message, kind: 'system' },
        ...common,
      };
    }
    let checkAgainAfterMs = watcher?.isSynced === true ? (this.options.watchedPollMs ?? 30_000) : this.pollMs;
    // No watch event comes when nothing happens: look again when the pending timeout would expire.
    if (pendingTimeoutMs !== undefined && notStarted) {
      checkAgainAfterMs = Math.min(checkAgainAfterMs, pendingTimeoutMs - pendingFor);
    }
    return { phase: status.phase, reason: status.reason, checkAgainAfterMs, ...common };
  }

  async abort(ctx: TaskContext<K8sResourceState>): Promise<void> {
    const target = ctx.state === undefined ? this.target(ctx) : this.targetOf(ctx.state);
    this.watchers.get(this.watcherKey(target))?.unsubscribe(target.name);
    await this.api(target.cluster).delete(target.namespace, target.name);
  }

  async finalize(ctx: TaskContext<K8sResourceState>): Promise<void> {
    const target = ctx.state === undefined ? this.target(ctx) : this.targetOf(ctx.state);
    this.watchers.get(this.watcherKey(target))?.unsubscribe(target.name);
    // Without state the attempt may still have created its object just before a crash: delete by name too.
    if (this.options.deleteOnFinalize !== false) await this.api(target.cluster).delete(target.namespace, target.name);
    const pool = ctx.state?.pool ?? (this.options.quota === undefined ? '' : this.options.quota.pool(ctx));
    if (pool !== '') await ctx.resources.release(pool, ctx.metadata.generatedName);
  }

  /**
   * Ends the watches ({@link TaskPlugin.close}: `engine.stop()` calls it). Idempotent; a later `handle` starts
   * the watches it needs again.
   */
  async close(): Promise<void> {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Number of namespaces watched now (one watch each). */
  get watches(): number {
    return this.watchers.size;
  }

  private async launch(ctx: TaskContext<K8sResourceState>): Promise<PluginTransition<K8sResourceState>> {
    let pool = '';
    if (this.options.quota !== undefined) {
      pool = this.options.quota.pool(ctx);
      const granted = await ctx.resources.allocate(pool, ctx.metadata.generatedName, this.allocateOptions(ctx));
      if (granted === 'exhausted') {
        return {
          phase: 'waiting-for-resources',
          reason: `waiting for a token of resource pool ${pool}`,
          checkAgainAfterMs: this.pollMs,
        };
      }
    }
    const target = this.target(ctx);
    const api = this.api(target.cluster);
    let object: T;
    try {
      object = await this.options.handler.build(ctx, target);
    } catch (error) {
      if (!(error instanceof K8sBuildError)) throw error;
      return this.badSpec(error.code, error.message);
    }
    object.metadata = {
      ...object.metadata,
      name: target.name,
      namespace: target.namespace,
      labels: { ...object.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    };
    this.watcher(target);
    try {
      await api.create(target.namespace, object);
    } catch (error) {
      // 409: an earlier call (or engine) created it: adopt it. Bad objects are the task's fault.
      if (isApiError(error, 400) || isApiError(error, 422)) {
        return this.badSpec('BadTaskSpecification', `${api.kind} rejected: ${apiErrorMessage(error)}`);
      }
      if (isApiError(error, 403) && /exceeded quota/i.test(apiErrorMessage(error))) {
        return { phase: 'waiting-for-resources', reason: apiErrorMessage(error), checkAgainAfterMs: this.pollMs };
      }
      if (!isApiError(error, 409)) throw error;
    }
    const state: K8sResourceState = {
      cluster: target.cluster.name,
      namespace: target.namespace,
      name: target.name,
      createdAtMs: ctx.clock.now().getTime(),
      pool,
    };
    return {
      phase: 'queued',
      state,
      reason: `${api.kind} ${target.namespace}/${target.name} created`,
      externalResources: [{ externalId: target.name, phase: 'queued' }],
      checkAgainAfterMs: 0,
    };
  }

  private badSpec(code: string, message: string): PluginTransition<K8sResourceState> {
    return { phase: 'permanent-failure', reason: message, error: { code, message, kind: 'user' } };
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 1000;
  }

  private allocateOptions(ctx: TaskContext): { ttlMs?: number; now: Date } {
    const ttlMs = this.options.quota?.ttlMs;
    return { ...(ttlMs === undefined ? {} : { ttlMs }), now: ctx.clock.now() };
  }

  private targetOf(state: K8sResourceState): K8sTarget {
    const cluster = this.options.clusters.find((c) => c.name === state.cluster);
    if (cluster === undefined) {
      throw new Error(
        `plugin ${this.id}: cluster ${JSON.stringify(state.cluster)} of a running task is not configured`,
      );
    }
    return { cluster, namespace: state.namespace, name: state.name };
  }

  private api(cluster: K8sCluster): ResourceApi<T> {
    let api = this.apis.get(cluster.name);
    if (api === undefined) {
      api = this.options.handler.api(cluster);
      this.apis.set(cluster.name, api);
    }
    return api;
  }

  private watcherKey(target: K8sTarget): string {
    return `${target.cluster.name}\u0000${target.namespace}`;
  }

  private watcher(target: K8sTarget): ResourceWatcher<T> | undefined {
    if (this.options.watch === false) return undefined;
    const key = this.watcherKey(target);
    let watcher = this.watchers.get(key);
    if (watcher === undefined) {
      watcher = new ResourceWatcher(target.cluster.kubeConfig, this.api(target.cluster), target.namespace, {
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
        resyncMs: this.options.resyncMs ?? 30_000,
        retryMs: this.pollMs,
        onError: this.options.onError,
      });
      this.watchers.set(key, watcher);
    }
    return watcher;
  }
}
