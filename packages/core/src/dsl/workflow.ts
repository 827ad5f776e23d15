// workflow(config, builder): a typed workflow. The builder runs once, at definition time, with promises of
// the workflow's inputs; the calls it makes are recorded as nodes, and what it returns binds the outputs.
import type { LiteralType, WorkflowTemplate } from '../gen/flyteidl/core/index.js';
import { WorkflowMetadata_OnFailurePolicy } from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { workflowId } from '../identifiers.js';
import type { Bindable, Empty, InputsOf, KindOf, TypeMap, ValueOf } from '../types/flyte-type.js';
import { bindValue } from './bind.js';
import {
  checkName,
  checkPromiseScope,
  checkVariables,
  isEntity,
  nodeOf,
  recordCall,
  type CallArgs,
  type LaunchPlanLike,
  type NodeOutputs,
  type SerializationSettings,
  type TaskLike,
  type WorkflowLike,
} from './entities.js';
import { literalTypes } from './interface.js';
import { OutputPromise } from './promise.js';
import { NodeIdSource, WorkflowScope, withinScope, type BoundValue, type BuilderNode } from './scope.js';
import { serializeWorkflowTemplate, walkNodes } from './serialize-nodes.js';

/** What a workflow does when a node fails. */
export type FailurePolicy = 'fail-immediately' | 'fail-after-executable-nodes-complete';

/** Configuration of a workflow. */
export interface WorkflowConfig<
  I extends TypeMap,
  O extends TypeMap,
  D extends Partial<InputsOf<I>> = Partial<InputsOf<I>>,
> {
  /** Flyte name of the workflow, unique in its project (`my.module.my_workflow`). */
  readonly name: string;
  /** Inputs: names and Flyte types. */
  readonly inputs?: I;
  /** Outputs: names and Flyte types. */
  readonly outputs?: O;
  /** Default input values (used by the default launch plan, and when the workflow is called as a subworkflow). */
  readonly defaults?: D;
  /** Fail as soon as a node fails (default), or let the nodes that can still run finish first. */
  readonly failurePolicy?: FailurePolicy;
  /** A task or workflow run when the workflow fails; it receives the workflow inputs of the same names. */
  readonly onFailure?: TaskLike | WorkflowLike;
  /** Default interruptible setting of the workflow's nodes. */
  readonly interruptible?: boolean;
}

/** Promises of a workflow's inputs, as its builder receives them. */
export type WorkflowInputs<I extends TypeMap> = {
  readonly [K in keyof I]: OutputPromise<ValueOf<I[K]>, KindOf<I[K]>>;
};

/** What a workflow builder returns: a binding for each output (nothing when there are none). */
export type WorkflowOutputs<O extends TypeMap> = [keyof O] extends [never]
  ? void | Record<string, never>
  : { readonly [K in keyof O]: Bindable<O[K]> };

/** The builder of a workflow. */
export type WorkflowBuilder<I extends TypeMap, O extends TypeMap> = (inputs: WorkflowInputs<I>) => WorkflowOutputs<O>;

/** A workflow: call it inside another workflow's builder to run it as a subworkflow. */
export interface WorkflowDefinition<
  I extends TypeMap = TypeMap,
  O extends TypeMap = TypeMap,
  D extends PropertyKey = PropertyKey,
> extends WorkflowLike<I, O> {
  /** Records a call of the workflow (a subworkflow node) in the current workflow builder. */
  (...args: CallArgs<I, D>): NodeOutputs<O>;
  /** @inheritDoc */
  readonly kind: 'workflow';
  /** Its configuration, as given. */
  readonly config: WorkflowConfig<I, O>;
  /** Default input values. */
  readonly defaults: Partial<InputsOf<I>>;
  /** Type-level only: names of the inputs that have defaults. */
  readonly __defaultKeys?: D;
  /** The WorkflowTemplate, with identifiers filled from `settings`. */
  template(settings?: SerializationSettings): WorkflowTemplate;
}

/** @internal what a built workflow records, for serialization */
export interface WorkflowRecord {
  readonly name: string;
  readonly inputs: { readonly [name: string]: LiteralType };
  readonly outputs: { readonly [name: string]: LiteralType };
  readonly nodes: readonly BuilderNode[];
  readonly outputBindings: ReadonlyMap<string, BoundValue>;
  readonly failureNode: BuilderNode | undefined;
  readonly failurePolicy: WorkflowMetadata_OnFailurePolicy;
  readonly interruptible: boolean;
}

const records = new WeakMap<object, WorkflowRecord>();

/** @internal the record of a workflow defined with {@link workflow} */
export function workflowRecord(entity: WorkflowLike): WorkflowRecord | undefined {
  return records.get(entity);
}

/**
 * Defines a workflow:
 *
 * ```ts
 * const wf = workflow(
 *   { name: 'demo.wf', inputs: { xs: t.list(t.float()) }, outputs: { total: t.float() } },
 *   ({ xs }) => {
 *     const squares = map(square)({ x: xs });
 *     return { total: sum({ xs: squares.y }).total };
 *   },
 * );
 * ```
 * @throws {DefinitionError} for a malformed definition or a builder that binds something wrongly.
 * @throws {LiteralTypeError} for a constant that does not fit its input.
 */
export function workflow<
  const I extends TypeMap = Empty,
  const O extends TypeMap = Empty,
  const D extends Partial<InputsOf<I>> = Empty,
>(config: WorkflowConfig<I, O, D>, builder: WorkflowBuilder<I, O>): WorkflowDefinition<I, O, keyof D> {
  checkName(config?.name, 'workflow');
  const name = config.name;
  const inputs = (config.inputs ?? {}) as I;
  const outputs = (config.outputs ?? {}) as O;
  checkVariables(name, 'input', inputs);
  checkVariables(name, 'output', outputs);
  if (typeof builder !== 'function') {
    throw new DefinitionError('INVALID_DEFINITION', `workflow ${name}: the builder must be a function`, { id: name });
  }
  const defaults: Partial<InputsOf<I>> = config.defaults ?? {};
  for (const [key, value] of Object.entries(defaults)) {
    const type = inputs[key];
    if (type === undefined) {
      throw new DefinitionError('INVALID_DEFINITION', `workflow ${name}: default for unknown input ${key}`, {
        id: name,
      });
    }
    type.toLiteral(value as never, `${name}.defaults.${key}`);
  }

  const scope = new WorkflowScope(name);
  const inputPromises: Record<string, OutputPromise<unknown, string>> = {};
  for (const [key, type] of Object.entries(inputs)) {
    inputPromises[key] = new OutputPromise(scope, undefined, key, type.literalType);
  }
  const returned = withinScope(scope, () => builder(Object.freeze(inputPromises) as WorkflowInputs<I>));
  const outputBindings = bindOutputs(name, scope, outputs, returned);
  const failureNode =
    config.onFailure === undefined ? undefined : buildFailureNode(name, scope, inputs, config.onFailure);

  const record: WorkflowRecord = {
    name,
    inputs: literalTypes(inputs),
    outputs: literalTypes(outputs),
    nodes: scope.nodes,
    outputBindings,
    failureNode,
    failurePolicy:
      config.failurePolicy === 'fail-after-executable-nodes-complete'
        ? WorkflowMetadata_OnFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        : WorkflowMetadata_OnFailurePolicy.FAIL_IMMEDIATELY,
    interruptible: config.interruptible ?? false,
  };
  checkNodeIds(record);

  const definition = function call(this: unknown, ...args: CallArgs<I, keyof D>): NodeOutputs<O> {
    return recordCall<I, O>(definition, { kind: 'workflow', entity: definition }, args[0], {
      defaults,
      settings: { interruptible: record.interruptible },
    });
  } as WorkflowDefinition<I, O, keyof D>;

  Object.defineProperties(definition, {
    kind: { value: 'workflow', enumerable: true },
    name: { value: name, enumerable: true },
    inputs: { value: inputs, enumerable: true },
    outputs: { value: outputs, enumerable: true },
    config: { value: config, enumerable: true },
    defaults: { value: defaults, enumerable: true },
    id: {
      value: (settings: SerializationSettings = {}) =>
        workflowId({
          project: settings.project ?? '',
          domain: settings.domain ?? '',
          name,
          version: settings.version ?? '',
          org: settings.org ?? '',
        }),
    },
    template: {
      value: (settings: SerializationSettings = {}) =>
        serializeWorkflowTemplate(record, definition.id(settings), settings),
    },
    dependencies: { value: () => dependenciesOf(record) },
  });
  records.set(definition, record);
  return Object.freeze(definition);
}

function bindOutputs(name: string, scope: WorkflowScope, outputs: TypeMap, returned: unknown): Map<string, BoundValue> {
  const declared = Object.keys(outputs);
  const bound = new Map<string, BoundValue>();
  if (returned === undefined || returned === null) {
    if (declared.length === 0) return bound;
  } else if (typeof returned === 'object' && !Array.isArray(returned) && !(returned instanceof OutputPromise)) {
    const value = returned as Record<string, unknown>;
    // A node handle may be returned as is: its outputs bind the workflow outputs of the same names.
    if (nodeOf(value) === undefined) {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(outputs, key)) {
          throw new DefinitionError(
            'INVALID_BINDING',
            `workflow ${name}: returned unknown output ${key} (outputs: ${declared.join(', ') || 'none'})`,
            { id: `${name}.${key}` },
          );
        }
      }
    }
    for (const [key, type] of Object.entries(outputs)) {
      const item = value[key];
      if (item === undefined) {
        throw new DefinitionError('MISSING_OUTPUT', `workflow ${name}: output ${key} is not bound by the builder`, {
          id: `${name}.${key}`,
        });
      }
      bound.set(
        key,
        bindValue(item, type.literalType, `${name}.outputs.${key}`, (p, path) => checkPromiseScope(scope, p, path)),
      );
    }
    return bound;
  }
  throw new DefinitionError(
    'INVALID_BINDING',
    `workflow ${name}: the builder must return an object binding each output (${declared.join(', ') || 'none'})`,
    { id: name },
  );
}

function buildFailureNode(
  name: string,
  parent: WorkflowScope,
  inputs: TypeMap,
  handler: TaskLike | WorkflowLike,
): BuilderNode {
  if (!isEntity(handler, 'task') && !isEntity(handler, 'workflow')) {
    throw new DefinitionError('INVALID_DEFINITION', `workflow ${name}: onFailure must be a task or a workflow`, {
      id: name,
    });
  }
  // The failure node is compiled in a scope of its own, with ids prefixed `f` (flytekit's `fn0`).
  const scope = new WorkflowScope(name, undefined, new NodeIdSource('f'));
  const promises: Record<string, OutputPromise<unknown, string>> = {};
  for (const key of Object.keys(handler.inputs)) {
    const type = inputs[key];
    if (type !== undefined) promises[key] = new OutputPromise(scope, undefined, key, type.literalType);
  }
  withinScope(scope, () => (handler as unknown as (inputs: object) => unknown)(promises));
  const node = scope.nodes[0];
  if (node === undefined || scope.nodes.length !== 1) {
    throw new DefinitionError('INVALID_DEFINITION', `workflow ${name}: the failure handler must be a single node`, {
      id: name,
    });
  }
  return node;
}

function checkNodeIds(record: WorkflowRecord): void {
  const seen = new Set<string>();
  // The failure node shares the id space of the workflow's nodes (executions key node state by id).
  for (const node of record.failureNode === undefined ? record.nodes : [...record.nodes, record.failureNode]) {
    if (seen.has(node.id)) {
      throw new DefinitionError('INVALID_DEFINITION', `workflow ${record.name}: two nodes have the id ${node.id}`, {
        id: node.id,
      });
    }
    seen.add(node.id);
  }
}

function dependenciesOf(record: WorkflowRecord): (TaskLike | WorkflowLike | LaunchPlanLike)[] {
  const found: (TaskLike | WorkflowLike | LaunchPlanLike)[] = [];
  const seen = new Set<object>();
  const visit = (node: BuilderNode) => {
    const target = node.target;
    const entity =
      target.kind === 'task' || target.kind === 'workflow' || target.kind === 'launchplan'
        ? target.entity
        : target.kind === 'array'
          ? target.array.entity
          : undefined;
    if (entity !== undefined && !seen.has(entity)) {
      seen.add(entity);
      found.push(entity);
    }
  };
  walkNodes(record.nodes, visit);
  if (record.failureNode !== undefined) walkNodes([record.failureNode], visit);
  return found;
}
