// The state of compiling one workflow: its node builders, the edges found between nodes, and the indexes
// of the tasks, subworkflows and launch plans it may use. One builder per workflow (nested subworkflows
// get their own, sharing the indexes).
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { idKey } from './ids.js';
import type { InterfaceProvider } from './launch-plans.js';

/** Id of the node that provides a workflow's inputs. */
export const START_NODE_ID = 'start-node';
/** Id of the node that collects a workflow's outputs. */
export const END_NODE_ID = 'end-node';

/** Which edges a binding adds: to the upstream map, the downstream map, or both. */
export type EdgeDirection = 'upstream' | 'downstream' | 'both';

/** A node being compiled: the Node message (mutated in place) and what the compiler learned about it. */
export interface NodeBuilder {
  /** The node message. */
  readonly node: idl.core.Node;
  /** Its interface, once computed. */
  iface: idl.core.TypedInterface | undefined;
  /** The task it runs, for task nodes. */
  task: idl.core.TaskTemplate | undefined;
  /** The compiled subworkflow it runs, for subworkflow nodes. */
  subWorkflow: idl.core.CompiledWorkflow | undefined;
}

/** The indexes shared by a workflow and all its nested subworkflows. */
export interface CompileContext {
  /** Tasks by id key. */
  readonly tasks: ReadonlyMap<string, idl.core.TaskTemplate>;
  /** Subworkflows by id key (compiled in place when referenced). */
  readonly subWorkflows: ReadonlyMap<string, idl.core.CompiledWorkflow>;
  /** Launch plan interfaces by id key. */
  readonly launchPlans: ReadonlyMap<string, InterfaceProvider>;
  /** Subworkflows compiled so far in this compilation (each is compiled once), by id key. */
  readonly compiled: Map<string, idl.core.CompiledWorkflow>;
  /** Subworkflows being compiled (to detect a workflow that calls itself). */
  readonly inProgress: Set<string>;
}

/** The builder of one workflow. */
export class WorkflowBuilder {
  /** The workflow being compiled (its template is mutated; its connections filled). */
  readonly compiled: idl.core.CompiledWorkflow;
  /** Shared indexes. */
  readonly context: CompileContext;
  /** Top-level nodes (with start-node and end-node) by id. */
  readonly nodes = new Map<string, NodeBuilder>();
  /** Node ids given twice at the top level (reported as DuplicateId). */
  readonly duplicates: string[] = [];
  private readonly builders = new Map<idl.core.Node, NodeBuilder>();
  private readonly upstream = new Map<string, Set<string>>();
  private readonly downstream = new Map<string, Set<string>>();

  constructor(compiled: idl.core.CompiledWorkflow, context: CompileContext) {
    this.compiled = compiled;
    this.context = context;
  }

  /** The template being compiled. */
  get template(): idl.core.WorkflowTemplate {
    return this.compiled.template!;
  }

  /** The builder of a node message (one per message object). */
  builderOf(node: idl.core.Node): NodeBuilder {
    let builder = this.builders.get(node);
    if (builder === undefined) {
      builder = { node, iface: undefined, task: undefined, subWorkflow: undefined };
      this.builders.set(node, builder);
    }
    return builder;
  }

  /** Adds a top-level node; a second node with the same id is recorded as a duplicate and not added. */
  addNode(builder: NodeBuilder): boolean {
    if (this.nodes.has(builder.node.id)) {
      this.duplicates.push(builder.node.id);
      return false;
    }
    this.nodes.set(builder.node.id, builder);
    this.template.nodes.push(builder.node);
    return true;
  }

  /** A task this workflow may use. */
  task(id: idl.core.Identifier): idl.core.TaskTemplate | undefined {
    return this.context.tasks.get(idKey(id));
  }

  /** A launch plan this workflow may launch. */
  launchPlan(id: idl.core.Identifier): InterfaceProvider | undefined {
    return this.context.launchPlans.get(idKey(id));
  }

  /** A subworkflow this workflow may call. */
  subWorkflow(id: idl.core.Identifier): idl.core.CompiledWorkflow | undefined {
    return this.context.subWorkflows.get(idKey(id));
  }

  /** Whether the node has an upstream edge. */
  hasUpstream(id: string): boolean {
    return this.upstream.has(id);
  }

  /** Whether the node has a downstream edge. */
  hasDownstream(id: string): boolean {
    return this.downstream.has(id);
  }

  /** Downstream neighbours of a node. */
  downstreamOf(id: string): ReadonlySet<string> {
    return this.downstream.get(id) ?? EMPTY;
  }

  /** Records that `provider` runs before `dependent` (upstream view). */
  addUpstreamEdge(provider: string, dependent: string): void {
    record(this.upstream, dependent, provider === '' ? START_NODE_ID : provider);
  }

  /** Records that `dependent` runs after `provider` (downstream view). */
  addDownstreamEdge(provider: string, dependent: string): void {
    record(this.downstream, provider === '' ? START_NODE_ID : provider, dependent);
  }

  /** Records an edge in both views. */
  addExecutionEdge(provider: string, dependent: string): void {
    this.addDownstreamEdge(provider, dependent);
    this.addUpstreamEdge(provider, dependent);
  }

  /** Adds the edge of one binding's upstream node, in the given direction. */
  addEdge(direction: EdgeDirection, provider: string, dependent: string): void {
    if (direction === 'both') this.addExecutionEdge(provider, dependent);
    else if (direction === 'downstream') this.addDownstreamEdge(provider, dependent);
    else this.addUpstreamEdge(provider, dependent);
  }

  /** Writes the edges into the workflow's ConnectionSet, every id list sorted (as Flyte outputs them). */
  writeConnections(): void {
    // Built by assignment: initializers of maps of messages are slow on large workflows.
    const write = (edges: Map<string, Set<string>>, lists: { [key: string]: idl.core.ConnectionSet_IdList }) => {
      for (const [key, ids] of edges) {
        const list = create(idl.core.ConnectionSet_IdListSchema);
        list.ids = [...ids].sort(compareBytes);
        lists[key] = list;
      }
    };
    const connections = create(idl.core.ConnectionSetSchema);
    write(this.upstream, connections.upstream);
    write(this.downstream, connections.downstream);
    this.compiled.connections = connections;
  }
}

function record(edges: Map<string, Set<string>>, key: string, value: string): void {
  let set = edges.get(key);
  if (set === undefined) {
    set = new Set();
    edges.set(key, set);
  }
  set.add(value);
}

const EMPTY: ReadonlySet<string> = new Set();

/** Byte-wise string order (Go's), which is JS code-unit order for the ids Flyte allows. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
