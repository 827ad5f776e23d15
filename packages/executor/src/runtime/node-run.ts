// NodeRun: the runtime of one node instance of an execution (a workflow node, a branch case, an array item, a
// node of a subworkflow or dynamic workflow). Its persisted part is `state`, written with the node's record.
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import type { Dag } from './dag.js';
import type { NodeFailure } from './failure.js';

const P = idl.core.NodeExecution_Phase;

/** The persisted runtime state of a node (JSON in NodeExecutionRecord.state). */
export interface NodeState {
  /** Current attempt, from 0. */
  a: number;
  /** User failures so far. */
  uf: number;
  /** System failures so far. */
  sf: number;
  /** When the node started (ms since epoch). */
  t0?: number;
  /** When the current attempt started (ms). */
  ta?: number;
  /** Do not start the next attempt before (ms). */
  retryAt?: number;
  /** State of the node's handler (plugin state, chosen branch, child execution, ...). */
  k?: object;
}

/** A task attempt as the task handler tracks it. */
export interface TaskAttempt {
  /** Attempt number. */
  readonly attempt: number;
  /** Phase of the attempt. */
  phase: idl.core.TaskExecution_Phase;
  /** The task's template. */
  readonly template: idl.core.TaskTemplate;
  /** Revision of its stored record (0: not stored yet). */
  revision: number;
  /** When it started (ms). */
  readonly startedAt: number;
  /** Log links. */
  logs: readonly idl.core.TaskLog[];
  /** Why it is in its phase. */
  reason: string;
  /** Its error, when failed. */
  error?: idl.core.ExecutionError | undefined;
  /** Output URI, when succeeded with outputs written to the blob store. */
  outputUri?: string | undefined;
  /** The outputs, when succeeded with outputs kept inline. */
  outputData?: idl.core.LiteralMap | undefined;
  /** External resources. */
  externalResources: readonly idl.event.ExternalResourceInfo[];
  /** Plugin custom info. */
  customInfo?: JsonObject | undefined;
  /** Generated name of the attempt. */
  readonly generatedName: string;
  /** Plugin id. */
  readonly pluginId: string;
  /** Phase version within the phase (bumped when info changes without a phase change). */
  phaseVersion: number;
  /** Its TaskExecutionIdentifier, once made. */
  id?: idl.core.TaskExecutionIdentifier;
  /** Its metadata as events carry it, once made (for these external resources). */
  metadata?: idl.event.TaskExecutionMetadata;
  /** Its result as events and records carry it, once made. */
  result?:
    | { readonly case: 'outputUri'; readonly value: string }
    | { readonly case: 'outputData'; readonly value: idl.core.LiteralMap }
    | { readonly case: 'error'; readonly value: idl.core.ExecutionError };
}

/** One node instance of an execution. */
export class NodeRun {
  /** Unique id in the execution (the NodeExecution's node id). */
  readonly key: string;
  /** The node's spec. */
  readonly spec: idl.core.Node;
  /** The workflow (DAG) the node's bindings resolve in. */
  readonly dag: Dag;
  /** The node notified when this one ends (branch, array), if it is not a member of `dag`. */
  readonly parent: NodeRun | undefined;
  /** Inputs given directly (array items), instead of resolved from bindings. */
  readonly givenInputs: idl.core.LiteralMap | undefined;
  /** Its NodeExecutionIdentifier, once made. */
  id: idl.core.NodeExecutionIdentifier | undefined;
  /** Phase. */
  phase: idl.core.NodeExecution_Phase = P.UNDEFINED;
  /** Persisted runtime state. */
  state: NodeState = { a: 0, uf: 0, sf: 0 };
  /** Revision of the stored record (0: not stored yet). */
  revision = 0;
  /** When the record was created (ms). */
  createdAt = 0;
  /** Inputs, once resolved or read. */
  inputs: idl.core.LiteralMap | undefined;
  /** Outputs, once known in memory. */
  outputs: idl.core.LiteralMap | undefined;
  /** The failure that ended the node. */
  error: idl.core.ExecutionError | undefined;
  /** A pending failure of the current evaluation (applied by the node executor). */
  failure: NodeFailure | undefined;
  /** Cache status of a task node. */
  cacheStatus: idl.core.CatalogCacheStatus = idl.core.CatalogCacheStatus.CACHE_DISABLED;
  /** Catalog key metadata of a cached task node. */
  catalogKey: idl.core.CatalogMetadata | undefined;
  /** The current task attempt, for task nodes. */
  task: TaskAttempt | undefined;
  /** A child execution launched by this node. */
  childExecution: idl.core.WorkflowExecutionIdentifier | undefined;
  /** Whether it became a dynamic parent. */
  dynamic = false;
  /** Handler's in-memory helpers (not persisted: rebuilt after a restart). */
  memo: { [key: string]: unknown } = {};
  /** An evaluation is running. */
  busy = false;
  /** Another evaluation was requested while busy. */
  again = false;
  /** Holds a parallelism slot. */
  slot = false;
  /** Cancels the pending recheck timer. */
  timer: AbortController | undefined;
  /** Aborted when the current attempt must stop. */
  attemptSignal: AbortController | undefined;

  /**
   * @param key unique id in the execution
   * @param spec the node's spec
   * @param dag the workflow its bindings resolve in
   * @param parent the node to notify when it ends, if not a DAG member
   * @param givenInputs inputs given directly
   */
  constructor(key: string, spec: idl.core.Node, dag: Dag, parent?: NodeRun, givenInputs?: idl.core.LiteralMap) {
    this.key = key;
    this.spec = spec;
    this.dag = dag;
    this.parent = parent;
    this.givenInputs = givenInputs;
  }

  /** Kind-specific state of the handler, read. */
  kindState<T extends object>(): T | undefined {
    return this.state.k as T | undefined;
  }

  /** Replaces the handler's state (persisted with the next transition). */
  setKindState(value: object | undefined): void {
    if (value === undefined) delete this.state.k;
    else this.state.k = value;
  }
}

/** Whether a node phase is final. */
export function isTerminalNodePhase(phase: idl.core.NodeExecution_Phase): boolean {
  return (
    phase === P.SUCCEEDED ||
    phase === P.FAILED ||
    phase === P.SKIPPED ||
    phase === P.ABORTED ||
    phase === P.TIMED_OUT ||
    phase === P.RECOVERED
  );
}

/** Whether a node phase lets downstream nodes run. */
export function isDonePhase(phase: idl.core.NodeExecution_Phase): boolean {
  return phase === P.SUCCEEDED || phase === P.SKIPPED || phase === P.RECOVERED;
}

/** The NodeExecutionIdentifier of a run, made once (shared by its records and events, which must not mutate it). */
export function nodeExecutionIdOf(
  run: NodeRun,
  execution: idl.core.WorkflowExecutionIdentifier,
): idl.core.NodeExecutionIdentifier {
  return (run.id ??= { $typeName: 'flyteidl.core.NodeExecutionIdentifier', nodeId: run.key, executionId: execution });
}

/** The TaskExecutionIdentifier of an attempt, made once. */
export function taskExecutionIdOf(
  run: NodeRun,
  attempt: TaskAttempt,
  execution: idl.core.WorkflowExecutionIdentifier,
): idl.core.TaskExecutionIdentifier {
  return (attempt.id ??= {
    $typeName: 'flyteidl.core.TaskExecutionIdentifier',
    taskId: attempt.template.id,
    nodeExecutionId: nodeExecutionIdOf(run, execution),
    retryAttempt: attempt.attempt,
  });
}

const decoder = new TextDecoder();

/** Serializes node state. */
export function encodeNodeState(state: NodeState): Uint8Array {
  // Node's Buffer pool holds small encodings in shared slabs: no ArrayBuffer of its own per record (which the
  // garbage collector tracks one by one). A plain Uint8Array view, so that `slice` copies as everywhere else.
  const pooled = Buffer.from(JSON.stringify(state), 'utf8');
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}

/** Reads node state written by {@link encodeNodeState}. */
export function decodeNodeState(bytes: Uint8Array | undefined): NodeState {
  if (bytes === undefined || bytes.length === 0) return { a: 0, uf: 0, sf: 0 };
  const parsed = JSON.parse(decoder.decode(bytes)) as JsonValue;
  return parsed as unknown as NodeState;
}
