// The contract between the node executor and the handler of each node kind (flytepropeller's NodeHandler):
// a handler advances a node and returns its transition as a value; the node executor persists it, retries,
// times out and propagates.
import type { idl, NodeDataPaths } from '@flyte-ts/core';
import type { Dag, ClosureIndex } from '../runtime/dag.js';
import type { NodeFailure } from '../runtime/failure.js';
import type { NodeRun } from '../runtime/node-run.js';
import type { PlatformResources } from '../runtime/resources.js';
import type { EngineServices } from '../runtime/services.js';

/** What a handler reports after advancing a node. */
export type Transition =
  /** Still working: the handler is called again when something changes, or after `recheckAfterMs`. */
  | { readonly phase: 'running'; readonly recheckAfterMs?: number | undefined }
  /** Done, with its outputs. */
  | { readonly phase: 'succeeded'; readonly outputs: idl.core.LiteralMap }
  /** Failed; the node executor retries it when the failure is retryable and a budget is left. */
  | { readonly phase: 'failed'; readonly failure: NodeFailure };

/** What a handler may use: the execution it runs in and the node executor's services. */
export interface Runtime {
  /** Ports and settings of the engine. */
  readonly services: EngineServices;
  /** The execution (id and spec). */
  readonly execution: idl.admin.Execution;
  /** The execution id. */
  readonly executionId: idl.core.WorkflowExecutionIdentifier;
  /** Resource defaults and limits of the execution's project-domain (undefined: none set). */
  readonly platformResources: PlatformResources | undefined;
  /** The execution's current time. */
  now(): Date;
  /** The current time, in milliseconds since the epoch. */
  nowMs(): number;
  /** The node's inputs (resolved, or read back after a restart). */
  inputsOf(run: NodeRun): Promise<idl.core.LiteralMap>;
  /** The outputs of a finished node (read back after a restart). */
  outputsOf(run: NodeRun): idl.core.LiteralMap | Promise<idl.core.LiteralMap>;
  /** Data locations of the node's current attempt. */
  paths(run: NodeRun): NodeDataPaths;
  /** Prefix of the raw data of the node's current attempt. */
  rawOutputPrefix(run: NodeRun): string;
  /** Marks the node's record changed: it is written with the next commit. */
  stage(run: NodeRun): void;
  /** Marks the node's current task attempt changed: its record and an event are written with the next commit. */
  stageTask(run: NodeRun): void;
  /** Runs `fn` once what is staged now is committed. */
  afterCommit(fn: () => void): void;
  /** Resolves once what is staged now is committed. */
  committed(): Promise<void>;
  /**
   * The child node `spec` of `parent` (created, or the existing one), notified to `parent` when it ends. `name`
   * distinguishes children of one spec (array items); `givenInputs` replaces its bindings.
   */
  childRun(parent: NodeRun, spec: idl.core.Node, name?: string, givenInputs?: idl.core.LiteralMap): NodeRun;
  /** The graph run by `owner` (created and started, or the existing one). */
  childDag(owner: NodeRun, workflow: idl.core.CompiledWorkflow, index: ClosureIndex, inputs: idl.core.LiteralMap): Dag;
  /** The graph `owner` runs, if any. */
  existingChildDag(owner: NodeRun): Dag | undefined;
  /** Evaluates the node again soon. */
  evaluate(run: NodeRun): void;
  /** Aborts a node and everything under it. */
  abortRun(run: NodeRun, reason: string): Promise<void>;
  /** Launches (or finds) a child execution of a launch plan for `run`. */
  launchChild(
    run: NodeRun,
    launchPlan: idl.core.Identifier,
    inputs: idl.core.LiteralMap,
  ): Promise<idl.core.WorkflowExecutionIdentifier>;
  /** The value of a signal of this execution, once set. */
  signal(signalId: string): Promise<idl.core.Literal | undefined>;
}

/** The handler of one node kind. */
export interface NodeHandler {
  /** Whether its nodes run work themselves (take a parallelism slot). */
  readonly executable: boolean;
  /** Advances the node. Called when it becomes ready, when something it waits for changes, and after restarts. */
  handle(run: NodeRun, rt: Runtime): Promise<Transition>;
  /** Stops the node's work (idempotent; nested nodes are aborted by the node executor). */
  abort(run: NodeRun, rt: Runtime, reason: string): Promise<void>;
  /**
   * Optional, for nodes that start nested nodes or child executions: rebuilds what a started node had started
   * before a restart (its nested runs, through `childRun` and `childDag`, hydrated from the Store) without doing
   * any work, so that an abort reaches it. Called only while the execution is aborting, on a node that has
   * started and not ended; idempotent.
   */
  restore?(run: NodeRun, rt: Runtime): Promise<void>;
}
