// Dag: the runtime of one workflow graph inside an execution (the top-level workflow, a subworkflow, a dynamic
// workflow): its node runs, how many upstream nodes each still waits for, and how it ended.
import { idl } from '@flyte-ts/core';
import type { NodeRun } from './node-run.js';

/** Tasks and subworkflows a graph may use, by identifier key. */
export interface ClosureIndex {
  /** Task templates. */
  readonly tasks: ReadonlyMap<string, idl.core.TaskTemplate>;
  /** Compiled subworkflows. */
  readonly subworkflows: ReadonlyMap<string, idl.core.CompiledWorkflow>;
}

/** Key of an identifier in a {@link ClosureIndex}. */
export function idKey(id: idl.core.Identifier | undefined): string {
  if (id === undefined) return '';
  return `${id.resourceType}:${id.org}:${id.project}:${id.domain}:${id.name}:${id.version}`;
}

/** An index of a compiled closure. */
export function indexClosure(
  tasks: readonly idl.core.CompiledTask[],
  subworkflows: readonly idl.core.CompiledWorkflow[],
): ClosureIndex {
  return {
    tasks: new Map(tasks.flatMap((t) => (t.template === undefined ? [] : [[idKey(t.template.id), t.template]]))),
    subworkflows: new Map(subworkflows.map((w) => [idKey(w.template?.id), w])),
  };
}

/** How a graph is doing. */
export type DagStatus = 'running' | 'succeeded' | 'failed' | 'aborted';

/** One workflow graph being executed. */
export class Dag {
  /** Prefix of its nodes' keys (empty at the top level). */
  readonly prefix: string;
  /** The node that runs this graph (subworkflow, dynamic), or undefined at the top level. */
  readonly owner: NodeRun | undefined;
  /** The compiled graph. */
  readonly workflow: idl.core.CompiledWorkflow;
  /** Its tasks and subworkflows. */
  readonly index: ClosureIndex;
  /** The inputs (the start node's outputs). */
  readonly inputs: idl.core.LiteralMap;
  /** Node runs by node id. */
  readonly runs = new Map<string, NodeRun>();
  /** Number of upstream nodes each node still waits for. */
  readonly waiting = new Map<string, number>();
  /** How it is doing. */
  status: DagStatus = 'running';
  /** The first failure, once failed (or failing after the executable nodes complete). */
  failure: idl.core.ExecutionError | undefined;
  /** Its outputs, once succeeded. */
  outputs: idl.core.LiteralMap | undefined;
  /** Whether it fails as soon as a node fails (otherwise after the nodes that can still run complete). */
  readonly failImmediately: boolean;

  /**
   * @param prefix prefix of node keys
   * @param owner the node running it
   * @param workflow the compiled graph
   * @param index its tasks and subworkflows
   * @param inputs its inputs
   */
  constructor(
    prefix: string,
    owner: NodeRun | undefined,
    workflow: idl.core.CompiledWorkflow,
    index: ClosureIndex,
    inputs: idl.core.LiteralMap,
  ) {
    this.prefix = prefix;
    this.owner = owner;
    this.workflow = workflow;
    this.index = index;
    this.inputs = inputs;
    this.failImmediately =
      workflow.template?.metadata?.onFailure !==
      idl.core.WorkflowMetadata_OnFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE;
  }

  /** The execution-unique key of one of its nodes. */
  keyOf(nodeId: string): string {
    return this.prefix === '' ? nodeId : `${this.prefix}-${nodeId}`;
  }

  /** Upstream node ids of a node. */
  upstream(nodeId: string): readonly string[] {
    return this.workflow.connections?.upstream[nodeId]?.ids ?? [];
  }

  /** Downstream node ids of a node. */
  downstream(nodeId: string): readonly string[] {
    return this.workflow.connections?.downstream[nodeId]?.ids ?? [];
  }
}
