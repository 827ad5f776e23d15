// The TaskPlugin port: how a task type runs (in-process functions, Kubernetes pods, Spark, AWS Batch, Hive).
// Modelled on Flyte's plugin machinery: `handle` is called repeatedly and must be idempotent; the only memory a
// plugin has across calls (and across engine restarts) is the state it returned, which the engine persists.
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type {
  LiteralMap,
  Resources,
  Secret,
  SecurityContext,
  TaskExecutionIdentifier,
  TaskLog,
  TaskNodeOverrides,
  TaskTemplate,
  WorkflowExecutionIdentifier,
} from '../gen/flyteidl/core/index.js';
import type { BlobStore } from './blob-store.js';
import type { Clock } from './clock.js';
import type { OperationOptions } from './common.js';
import type { ResourceManager } from './resource-manager.js';

/** Phases a plugin reports (Flyte's plugin phases). */
export const PLUGIN_PHASES = [
  'not-ready',
  'waiting-for-resources',
  'queued',
  'initializing',
  'running',
  'success',
  'retryable-failure',
  'permanent-failure',
] as const;

/** One of {@link PLUGIN_PHASES}. */
export type PluginPhase = (typeof PLUGIN_PHASES)[number];

/** A task failure as a plugin reports it. */
export interface PluginError {
  /** Short stable code (`OOMKilled`, `ImagePullBackOff`, `USER:ValueError`, ...). */
  readonly code: string;
  /** What happened, for the user. */
  readonly message: string;
  /**
   * `user`: the task's own failure (counts against the task's retries); `system`: infrastructure (counts
   * against the system retry budget).
   */
  readonly kind: 'user' | 'system';
}

/** An external resource a task runs as (a pod, a Batch job, a query), reported for visibility. */
export interface ExternalResource {
  /** Id in the external system (pod name, job id, query id). */
  readonly externalId: string;
  /** Index in an array job, if any. */
  readonly index?: number | undefined;
  /** Attempt of that index, if any. */
  readonly retryAttempt?: number | undefined;
  /** Its phase. */
  readonly phase?: PluginPhase | undefined;
  /** Its log links. */
  readonly logs?: readonly TaskLog[] | undefined;
}

/** What `handle` returns: the task's phase now, plus what the engine must persist and report. */
export interface PluginTransition<S extends JsonValue = JsonValue> {
  /** The task's phase. `success` means the outputs are written (see {@link TaskOutputs}). */
  readonly phase: PluginPhase;
  /** New plugin state to persist before anything else happens; omitted keeps the previous state. */
  readonly state?: S | undefined;
  /** Why the task is in this phase (shown to users). */
  readonly reason?: string | undefined;
  /** The failure, for `retryable-failure` and `permanent-failure`. */
  readonly error?: PluginError | undefined;
  /** Log links. */
  readonly logs?: readonly TaskLog[] | undefined;
  /** External resources the task runs as. */
  readonly externalResources?: readonly ExternalResource[] | undefined;
  /** Plugin-specific details shown with the task execution (TaskExecutionClosure.custom_info). */
  readonly customInfo?: JsonObject | undefined;
  /** When the phase was reached in the external system, if known. */
  readonly occurredAt?: Date | undefined;
  /** Asynchronous plugins: how soon to call `handle` again (a hint; the engine applies backoff and bounds). */
  readonly checkAgainAfterMs?: number | undefined;
}

/** Where a task reads its inputs. */
export interface TaskInputs {
  /** URI of the input LiteralMap (`.../inputs.pb`). */
  readonly inputsUri: string;
  /** Directory of the inputs (for containers that read `{{.input}}`-style paths). */
  readonly inputPrefix: string;
  /** Reads the input LiteralMap. */
  read(options?: OperationOptions): Promise<LiteralMap>;
}

/** Where a task writes its outputs. */
export interface TaskOutputs {
  /** Directory of the outputs. */
  readonly outputPrefix: string;
  /** URI of the output LiteralMap (`.../outputs.pb`); a container may write it itself. */
  readonly outputsUri: string;
  /** URI of the error document (`.../error.pb`) a container writes on failure. */
  readonly errorUri: string;
  /** Prefix for raw data the task produces (files, directories, datasets). */
  readonly rawOutputPrefix: string;
  /** Prefix where this attempt may write checkpoints. */
  readonly checkpointPrefix: string;
  /** Prefix of the previous attempt's checkpoints, if any. */
  readonly previousCheckpointPrefix?: string | undefined;
  /** Writes the output LiteralMap (in-process tasks; remote ones write `outputsUri` themselves). */
  write(outputs: LiteralMap, options?: OperationOptions): Promise<void>;
}

/** What the engine knows about the task attempt being run. */
export interface TaskExecutionMetadata {
  /** The attempt's id (execution, node, retry attempt). */
  readonly id: TaskExecutionIdentifier;
  /**
   * A name unique to this attempt and stable across `handle` calls and engine restarts, derived from
   * (execution, node, attempt) and safe as a Kubernetes name (lowercase alphanumerics and `-`, ≤ 63).
   * External resources are created under it, so a repeated `handle` finds rather than duplicates them.
   */
  readonly generatedName: string;
  /** The workflow execution the task belongs to. */
  readonly execution: WorkflowExecutionIdentifier;
  /** Attempt number, from 0. */
  readonly attempt: number;
  /** Largest number of attempts the engine will make (retries + 1). */
  readonly maxAttempts: number;
  /** Whether the task may run on interruptible (spot/preemptible) capacity. */
  readonly interruptible: boolean;
  /** Labels of the execution (to put on external resources). */
  readonly labels: { readonly [key: string]: string };
  /** Annotations of the execution. */
  readonly annotations: { readonly [key: string]: string };
  /** Environment variables requested for the task by the execution or launch plan. */
  readonly environment: { readonly [key: string]: string };
  /** Security context of the execution: run-as identity (service account, IAM role) and secrets. */
  readonly securityContext?: SecurityContext | undefined;
  /** Resource requests and limits: the task's, with the node's overrides and the project's defaults and limits. */
  readonly resources?: Resources | undefined;
  /** The node's other overrides of the task (container image, extended resources, pod template). */
  readonly overrides?: TaskNodeOverrides | undefined;
  /** Namespace the execution's external resources go to (Kubernetes), when the engine assigns one. */
  readonly namespace?: string | undefined;
}

/** Resolves the secrets a task requests. */
export interface SecretProvider {
  /** The value of a secret; rejects `NOT_FOUND` naming the group/key when it does not exist. */
  get(secret: Secret, options?: OperationOptions): Promise<string>;
}

/** Everything a plugin may use while handling a task attempt. */
export interface TaskContext<S extends JsonValue = JsonValue> {
  /** The task being run. */
  readonly template: TaskTemplate;
  /** About the attempt. */
  readonly metadata: TaskExecutionMetadata;
  /** The plugin state returned by the previous `handle` of this attempt; undefined on the first call. */
  readonly state: S | undefined;
  /**
   * The plugin's `stateVersion` when that state was written (undefined with no state): a plugin that changed
   * the shape of its state reads older shapes by it.
   */
  readonly stateVersion: number | undefined;
  /** The inputs. */
  readonly inputs: TaskInputs;
  /** The outputs. */
  readonly outputs: TaskOutputs;
  /** The blob store the inputs and outputs live in. */
  readonly blob: BlobStore;
  /** Secrets the task requests. */
  readonly secrets: SecretProvider;
  /** Quota tokens; pools are shared by every attempt of every execution. */
  readonly resources: ResourceManager;
  /** The engine's clock. */
  readonly clock: Clock;
  /** Aborted when the engine stops handling this attempt (shutdown, abort, timeout). */
  readonly signal: AbortSignal;
  /**
   * Asks the engine to call `handle` again soon, e.g. when a watch sees the external resource change: the
   * engine is event-driven, polling is only its fallback. A no-op once the attempt is terminal.
   */
  requestRecheck(reason?: string): void;
}

/**
 * A task plugin. Contract:
 * - `handle` may be called any number of times for an attempt, including by a new engine process after a
 *   crash: it must be idempotent, find (not duplicate) what an earlier call started, and rely only on
 *   `ctx.state` and external systems;
 * - a terminal phase (`success`, `retryable-failure`, `permanent-failure`) is final for the attempt;
 * - `abort` stops whatever runs for the attempt, `finalize` releases what it holds (resource tokens, external
 *   objects); both are idempotent and are called even if `handle` never reached a terminal phase.
 */
export interface TaskPlugin<S extends JsonValue = JsonValue> {
  /** Unique id of the plugin (`function`, `k8s-pod`, `spark`, ...). */
  readonly id: string;
  /** Task types (TaskTemplate.type) this plugin runs. */
  readonly taskTypes: readonly string[];
  /** Version of the shape of the plugin's state (default 0), recorded with every state the engine persists. */
  readonly stateVersion?: number;
  /** Advances the attempt and reports its phase. */
  handle(ctx: TaskContext<S>): Promise<PluginTransition<S>>;
  /**
   * Stops the attempt's work (the execution was aborted or the attempt timed out). By then the engine has aborted
   * the `signal` of the contexts it gave earlier calls of the attempt; `ctx` itself carries a new signal, live, for
   * the calls this cleanup makes.
   */
  abort(ctx: TaskContext<S>, reason: string): Promise<void>;
  /** Releases what the attempt holds, after a terminal phase or an abort. */
  finalize(ctx: TaskContext<S>): Promise<void>;
  /**
   * Optional: releases what the plugin holds between attempts (watches, connections, worker threads). The engine
   * calls it once from each `stop()`, for every plugin it was given and its own; it does not abort or finalize
   * running attempts (a later engine re-attaches to them through their persisted state). It must be idempotent,
   * and the plugin must stay usable afterwards, re-acquiring what it needs on the next `handle`: an engine may be
   * started again, and a plugin may serve several engines.
   */
  close?(): Promise<void>;
}
