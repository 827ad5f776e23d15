// Options of createEngine, and their defaults.
import type { Meter } from '@opentelemetry/api';
import type { FunctionTask } from './plugins/function-plugin.js';
import type { SchedulesConfig } from './scheduler/store-scheduler.js';
import type {
  BlobStore,
  Catalog,
  Clock,
  EventSink,
  ProjectDomainSettings,
  ResourceManager,
  Scheduler,
  SecretProvider,
  Store,
  TaskPlugin,
} from '@flyte-ts/core';

/** Engine settings (all optional). */
export interface EngineConfig {
  /** Domains of every project (default `development`, `staging`, `production`, as in Flyte). */
  readonly domains?: readonly string[];
  /** Projects created at start when missing (default `flytesnacks`, as in Flyte's sandbox). */
  readonly projects?: readonly string[];
  /** Limits and defaults per project-domain, written to the Store at start. */
  readonly projectDomainSettings?: readonly ProjectDomainSettings[];
  /** Prefix of execution metadata: inputs, outputs, errors (default `mem://flyte/metadata`). */
  readonly metadataPrefix?: string;
  /** Default prefix of raw task data (default `mem://flyte/raw`). */
  readonly rawOutputPrefix?: string;
  /** Largest number of task nodes running at once in one execution when its launch plan sets none (default 25). */
  readonly defaultMaxParallelism?: number;
  /** Failures attributed to the system a node may have before it fails (default 3, as flytepropeller). */
  readonly maxSystemFailures?: number;
  /** Backoff between attempts of a node: first delay and cap, in ms (default 0 and 30 s; doubled per attempt). */
  readonly retryBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /**
   * Re-checks of a running asynchronous plugin that asked for none: first delay and cap, in ms (default 1 s and
   * 30 s; plugins normally call `requestRecheck` and are not polled).
   */
  readonly pollInterval?: { readonly baseMs: number; readonly maxMs: number };
  /** Heartbeat of cache reservations, in ms (default 10 s); a reservation lapses three heartbeats after its last one. */
  readonly cacheReservationHeartbeatMs?: number;
  /** Largest number of plugin `handle` calls in flight at once, all executions together (default 512). */
  readonly handleConcurrency?: number;
  /** Id of this engine process (lease owner, event producer). Default: random. */
  readonly id?: string;
  /**
   * Share the Store's executions with other engine processes through leases (`true` for the defaults). Off by
   * default: an engine then drives every unfinished execution of its Store. With leases, an engine drives only
   * the executions it has claimed, renews its claims, writes only while its claim holds (a process whose lease
   * expired and was taken over cannot write), and claims the executions of a crashed process once its leases
   * expire.
   */
  readonly leases?: boolean | LeaseConfig;
  /** Where LiteralMaps (node and task outputs, execution outputs) are kept, and how large they may be. */
  readonly data?: DataConfig;
  /** Settings of the default scheduler (catch-up limit, sync interval, retries); ignored when `scheduler` is given. */
  readonly schedules?: SchedulesConfig;
}

/**
 * Literal offloading. Outputs whose LiteralMap encodes to at most `inlineLimitBytes` stay inline: in the node and
 * task execution records and events (Flyte's `output_data`), with no blob store round trip. Larger ones are
 * written as `outputs.pb` under the metadata prefix and referenced by URI (`output_uri`). Above
 * `maxLiteralMapBytes` the node fails with `OutputsTooLarge` (not retried): move big data as files, directories or
 * datasets instead.
 */
export interface DataConfig {
  /** Largest encoded LiteralMap kept inline, in bytes (default 65,536; 0 offloads every LiteralMap). */
  readonly inlineLimitBytes?: number;
  /** Largest encoded LiteralMap a node may output, in bytes (default 10 MiB, as flytepropeller's max output size). */
  readonly maxLiteralMapBytes?: number;
}

/** How an engine claims executions when it shares a Store with other engines. */
export interface LeaseConfig {
  /** How long a claim lasts unless renewed, in ms (default 30,000). */
  readonly ttlMs?: number;
  /** How often claims are renewed, in ms (default a third of the TTL). */
  readonly renewIntervalMs?: number;
  /** How often unclaimed executions are looked for, in ms (default 1,000; new executions are claimed at once). */
  readonly pollIntervalMs?: number;
  /** Largest number of executions this engine drives at once (default 1,000). */
  readonly maxExecutions?: number;
}

/** What createEngine needs. */
export interface EngineOptions {
  /** The control plane's repository. */
  readonly store: Store;
  /** Where inputs, outputs and raw data live. */
  readonly blob: BlobStore;
  /** Memoization of cached tasks (without one, cached tasks always run). */
  readonly catalog?: Catalog;
  /**
   * Task definitions (`task()`, `dynamic()`) whose functions this engine runs in-process. Tasks registered
   * through `engine.register` are added automatically; pass them here too when a new process resumes
   * executions registered by another.
   */
  readonly tasks?: readonly FunctionTask[];
  /** Task plugins; the function-task plugin is added when none handles its task type. */
  readonly plugins?: readonly TaskPlugin[];
  /** Quota tokens for plugins (default: an unlimited in-process manager). */
  readonly resourceManager?: ResourceManager;
  /**
   * Fires the schedules of ACTIVE launch plans. Default: a `StoreScheduler` on this engine's Store and Clock,
   * configured by `config.schedules`, running while the engine is started. `false`: this engine fires no schedule
   * and records no activation (another process sharing the Store may fire them).
   */
  readonly scheduler?: Scheduler | false;
  /** Source of time (default: the wall clock). */
  readonly clock?: Clock;
  /** Secrets tasks request (default: environment variables `FLYTE_SECRET_<GROUP>_<KEY>`). */
  readonly secrets?: SecretProvider;
  /** Extra receivers of execution events. */
  readonly eventSinks?: readonly EventSink[];
  /** OpenTelemetry meter for the engine's metrics (default: the global provider's `@flyte-ts/executor` meter). */
  readonly meter?: Meter;
  /** Settings. */
  readonly config?: EngineConfig;
}

/** Settings with defaults applied. */
export interface ResolvedConfig {
  readonly domains: readonly string[];
  readonly projects: readonly string[];
  readonly projectDomainSettings: readonly ProjectDomainSettings[];
  readonly metadataPrefix: string;
  readonly rawOutputPrefix: string;
  readonly defaultMaxParallelism: number;
  readonly maxSystemFailures: number;
  readonly retryBackoff: { readonly baseMs: number; readonly maxMs: number };
  readonly pollInterval: { readonly baseMs: number; readonly maxMs: number };
  readonly cacheReservationHeartbeatMs: number;
  readonly handleConcurrency: number;
  readonly id: string;
  readonly leases: Required<LeaseConfig> | undefined;
  readonly data: Required<DataConfig>;
}

/** Applies defaults. */
export function resolveConfig(config: EngineConfig = {}, blobScheme: string): ResolvedConfig {
  const base = blobScheme === 'mem' ? 'mem://flyte' : undefined;
  const metadataPrefix = config.metadataPrefix ?? (base === undefined ? undefined : `${base}/metadata`);
  const rawOutputPrefix = config.rawOutputPrefix ?? (base === undefined ? undefined : `${base}/raw`);
  if (metadataPrefix === undefined || rawOutputPrefix === undefined) {
    throw new TypeError(
      `config.metadataPrefix and config.rawOutputPrefix are required with a ${blobScheme}:// blob store`,
    );
  }
  return {
    domains: config.domains ?? ['development', 'staging', 'production'],
    projects: config.projects ?? ['flytesnacks'],
    projectDomainSettings: config.projectDomainSettings ?? [],
    metadataPrefix,
    rawOutputPrefix,
    defaultMaxParallelism: config.defaultMaxParallelism ?? 25,
    maxSystemFailures: config.maxSystemFailures ?? 3,
    retryBackoff: config.retryBackoff ?? { baseMs: 0, maxMs: 30_000 },
    pollInterval: config.pollInterval ?? { baseMs: 1_000, maxMs: 30_000 },
    cacheReservationHeartbeatMs: config.cacheReservationHeartbeatMs ?? 10_000,
    handleConcurrency: config.handleConcurrency ?? 512,
    id: config.id ?? `engine-${Math.random().toString(36).slice(2, 10)}`,
    leases: resolveLeases(config.leases),
    data: resolveData(config.data),
  };
}

function resolveData(data: DataConfig = {}): Required<DataConfig> {
  const resolved = {
    inlineLimitBytes: data.inlineLimitBytes ?? 64 * 1024,
    maxLiteralMapBytes: data.maxLiteralMapBytes ?? 10 * 1024 * 1024,
  };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`config.data.${key} must be a non-negative integer, not ${value}`);
    }
  }
  if (resolved.inlineLimitBytes > resolved.maxLiteralMapBytes) {
    throw new RangeError(
      `config.data.inlineLimitBytes (${resolved.inlineLimitBytes}) must not exceed maxLiteralMapBytes (${resolved.maxLiteralMapBytes})`,
    );
  }
  return resolved;
}

function resolveLeases(leases: boolean | LeaseConfig | undefined): Required<LeaseConfig> | undefined {
  if (leases === undefined || leases === false) return undefined;
  const given = leases === true ? {} : leases;
  const ttlMs = given.ttlMs ?? 30_000;
  const resolved = {
    ttlMs,
    renewIntervalMs: given.renewIntervalMs ?? Math.max(1, Math.floor(ttlMs / 3)),
    pollIntervalMs: given.pollIntervalMs ?? 1_000,
    maxExecutions: given.maxExecutions ?? 1_000,
  };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`config.leases.${key} must be positive, not ${value}`);
  }
  if (resolved.renewIntervalMs >= ttlMs) {
    throw new RangeError(
      `config.leases.renewIntervalMs (${resolved.renewIntervalMs}) must be less than ttlMs (${ttlMs})`,
    );
  }
  return resolved;
}
