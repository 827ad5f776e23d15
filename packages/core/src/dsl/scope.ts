// The state of a workflow builder while it runs: the scopes (a workflow, or a case of a branch) and the
// nodes recorded in them. A workflow builder runs once, synchronously, at definition time; calling a task
// or a workflow inside it records a node here and returns promises of its outputs.
import type { Literal, LiteralType } from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import type { BranchRecord } from './conditional.js';
import type { LaunchPlanLike, TaskLike, WorkflowLike } from './entities.js';
import type { GateRecord } from './gate.js';
import type { ArrayRecord } from './map.js';
import type { ResourceRequirements } from './options.js';
import type { OutputPromise } from './promise.js';

/** A binding as recorded: constants are already literals; promises are resolved to node ids at serialization. */
export type BoundValue =
  | { readonly kind: 'literal'; readonly literal: Literal }
  | { readonly kind: 'promise'; readonly promise: OutputPromise<unknown, string> }
  | { readonly kind: 'collection'; readonly items: readonly BoundValue[] }
  | { readonly kind: 'map'; readonly entries: { readonly [key: string]: BoundValue } };

/** Per-node settings a workflow may override (Flyte's node metadata and task node overrides). */
export interface NodeSettings {
  /** Display name of the node (NodeMetadata.name). */
  name: string;
  /** Timeout of the node, in milliseconds. */
  timeoutMs?: number | undefined;
  /** Retries of the node (overrides the task's). */
  retries?: number | undefined;
  /** Whether the node may run on interruptible capacity. */
  interruptible?: boolean | undefined;
  /** Node-level cache settings. */
  cache?: { readonly enabled: boolean; readonly version?: string; readonly serialize?: boolean } | undefined;
  /** Resource overrides of a task node. */
  resources?: ResourceRequirements | undefined;
  /** Container image override of a task node. */
  image?: string | undefined;
}

/** What a node runs; serialization turns it into the Node's target. */
export type NodeTarget =
  | { readonly kind: 'task'; readonly entity: TaskLike }
  | { readonly kind: 'workflow'; readonly entity: WorkflowLike }
  | { readonly kind: 'launchplan'; readonly entity: LaunchPlanLike }
  | { readonly kind: 'branch'; readonly branch: BranchRecord }
  | { readonly kind: 'array'; readonly array: ArrayRecord }
  | { readonly kind: 'gate'; readonly gate: GateRecord };

/** A node recorded by a workflow builder. */
export interface BuilderNode {
  /** The scope the node was created in. */
  readonly scope: WorkflowScope;
  /** Node id (`n0`, `n1`, ... per scope, as flytekit assigns them; changeable with `withOverrides({ id })`). */
  id: string;
  /** What the node runs. */
  readonly target: NodeTarget;
  /** Input bindings by input name. */
  readonly inputs: Map<string, BoundValue>;
  /** Output names and types (what promises of this node may refer to). */
  readonly outputs: { readonly [name: string]: LiteralType };
  /** Nodes that must finish first even without a data dependency (`a.runsBefore(b)`). */
  readonly after: Set<BuilderNode>;
  /** Node settings. */
  readonly settings: NodeSettings;
}

/**
 * A scope of a workflow builder: the workflow itself, or one case of a branch. Promises of a scope may be
 * used in the scope and in the scopes nested in it.
 */
export class WorkflowScope {
  /** The enclosing scope (undefined for a workflow). */
  readonly parent: WorkflowScope | undefined;
  /** Name of the workflow being built, for messages. */
  readonly workflowName: string;
  /** Nodes created directly in this scope, in creation order. */
  readonly nodes: BuilderNode[] = [];
  /** Whether the builder of this scope is still running. */
  active = true;
  /** How many branches enclose the nodes of this scope (0 for a workflow, 1 in a case of a top-level branch). */
  readonly depth: number;
  private readonly ids: NodeIdSource;

  /**
   * @param ids where node ids come from: by default a counter of this scope (`n0`, `n1`, ...); the cases of
   *   one conditional share a counter, and a failure handler counts with the prefix `f` (`fn0`), as flytekit does.
   */
  constructor(workflowName: string, parent?: WorkflowScope, ids: NodeIdSource = new NodeIdSource()) {
    this.workflowName = workflowName;
    this.parent = parent;
    this.depth = parent === undefined ? 0 : parent.depth + 1;
    this.ids = ids;
  }

  /** The next node id of this scope. */
  nextId(): string {
    return this.ids.next();
  }

  /** Whether promises of `other` may be used here (it is this scope or encloses it). */
  sees(other: WorkflowScope): boolean {
    if (other === this) return true;
    return this.parent !== undefined && this.parent.sees(other);
  }

  /** Records a node in this scope. */
  add(node: Omit<BuilderNode, 'scope' | 'id' | 'after'> & { readonly id?: string }): BuilderNode {
    const recorded: BuilderNode = { ...node, id: node.id ?? this.nextId(), scope: this, after: new Set() };
    this.nodes.push(recorded);
    return recorded;
  }
}

/** A counter of node ids: `{prefix}n0`, `{prefix}n1`, ... */
export class NodeIdSource {
  private count = 0;
  constructor(private readonly prefix = '') {}
  /** The next id. */
  next(): string {
    return `${this.prefix}n${this.count++}`;
  }
}

const stack: WorkflowScope[] = [];

/** The scope a call records into, or a `NOT_IN_WORKFLOW` error naming what was called. */
export function currentScope(what: string): WorkflowScope {
  const scope = stack[stack.length - 1];
  if (scope === undefined) {
    throw new DefinitionError(
      'NOT_IN_WORKFLOW',
      `${what} was called outside a workflow builder: call it inside workflow(..., (inputs) => { ... }), or use .run() to execute it locally`,
      { id: what },
    );
  }
  return scope;
}

/** Runs `fn` with `scope` as the current scope; the builder must be synchronous. */
export function withinScope<R>(scope: WorkflowScope, fn: () => R): R {
  stack.push(scope);
  try {
    const result = fn();
    if (result instanceof Promise) {
      void result.catch(() => undefined);
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `the builder of ${scope.workflowName} returned a Promise: workflow builders run once, synchronously, to record nodes (do not make them async)`,
        { id: scope.workflowName },
      );
    }
    return result;
  } finally {
    stack.pop();
    scope.active = false;
  }
}
