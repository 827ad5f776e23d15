// Turning what workflow builders recorded into flyteidl: Nodes, Bindings, branch, array and gate nodes,
// and whole WorkflowTemplates. Shapes follow flytekit's serializer (node ids, sorted bindings, operand
// names `<node>.<var>`, `fn0` failure node) so that templates look like those Flyte users know.
import { setOwn } from '../util/own.js';
import { clone, create } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import {
  ArrayNode_ExecutionMode,
  BindingDataSchema,
  BindingSchema,
  BooleanExpressionSchema,
  ComparisonExpression_Operator,
  ConjunctionExpression_LogicalOperator,
  NodeMetadataSchema,
  NodeSchema,
  OperandSchema,
  OutputReferenceSchema,
  PromiseAttributeSchema,
  WorkflowTemplateSchema,
  type Binding,
  type BindingData,
  type BooleanExpression as IdlBooleanExpression,
  type Identifier,
  type Literal,
  type Node,
  type NodeMetadata,
  type Operand,
  type TaskMetadata,
  type WorkflowTemplate,
} from '../gen/flyteidl/core/index.js';
import { typedInterfaceOf } from './interface.js';
import { toProtoDuration, toResources } from './options.js';
import type { SerializationSettings, TaskLike } from './entities.js';
import type { BranchRecord, ConditionRecord, OperandRecord } from './conditional.js';
import { promiseNode, type OutputPromise } from './promise.js';
import type { BoundValue, BuilderNode } from './scope.js';
import type { WorkflowRecord } from './workflow.js';

/** Visits nodes depth-first, including branch cases and array sub-nodes. */
export function walkNodes(nodes: readonly BuilderNode[], visit: (node: BuilderNode) => void): void {
  for (const node of nodes) {
    visit(node);
    if (node.target.kind === 'branch') {
      const branch = node.target.branch;
      walkNodes(
        [...branch.cases.map((c) => c.node), ...(branch.otherwise.kind === 'node' ? [branch.otherwise.node] : [])],
        visit,
      );
    }
  }
}

/** The OutputReference of a promise: workflow inputs have an empty node id (the compiler reads it as start-node). */
function outputReference(promise: OutputPromise<unknown, string>) {
  return create(OutputReferenceSchema, {
    nodeId: promiseNode(promise)?.id ?? '',
    var: promise.var,
    attrPath: promise.attrPath.map((step) =>
      create(PromiseAttributeSchema, {
        value: typeof step === 'number' ? { case: 'intValue', value: step } : { case: 'stringValue', value: step },
      }),
    ),
  });
}

/** BindingData of a literal constant: collections and maps become per-element bindings, as flytekit emits. */
function literalBinding(literal: Literal): BindingData {
  const v = literal.value;
  switch (v.case) {
    case 'scalar':
      return create(BindingDataSchema, { value: { case: 'scalar', value: v.value } });
    case 'collection':
      return create(BindingDataSchema, {
        value: { case: 'collection', value: { bindings: v.value.literals.map(literalBinding) } },
      });
    case 'map': {
      const bindings: { [key: string]: BindingData } = {};
      for (const [k, item] of Object.entries(v.value.literals)) setOwn(bindings, k, literalBinding(item));
      return create(BindingDataSchema, { value: { case: 'map', value: { bindings } } });
    }
    case 'offloadedMetadata':
      return create(BindingDataSchema, { value: { case: 'offloadedMetadata', value: v.value } });
    case undefined:
      return create(BindingDataSchema);
  }
}

/** BindingData of a recorded binding. */
export function bindingData(value: BoundValue): BindingData {
  switch (value.kind) {
    case 'literal':
      return literalBinding(value.literal);
    case 'promise':
      return create(BindingDataSchema, { value: { case: 'promise', value: outputReference(value.promise) } });
    case 'collection':
      return create(BindingDataSchema, {
        value: { case: 'collection', value: { bindings: value.items.map(bindingData) } },
      });
    case 'map': {
      const bindings: { [key: string]: BindingData } = {};
      for (const [k, item] of Object.entries(value.entries)) setOwn(bindings, k, bindingData(item));
      return create(BindingDataSchema, { value: { case: 'map', value: { bindings } } });
    }
  }
}

function bindings(values: ReadonlyMap<string, BoundValue>): Binding[] {
  return [...values].map(([name, value]) => create(BindingSchema, { var: name, binding: bindingData(value) }));
}

function promisesOf(value: BoundValue, into: OutputPromise<unknown, string>[]): void {
  if (value.kind === 'promise') into.push(value.promise);
  else if (value.kind === 'collection') value.items.forEach((item) => promisesOf(item, into));
  else if (value.kind === 'map') Object.values(value.entries).forEach((item) => promisesOf(item, into));
}

/** Upstream node ids: data dependencies in first-use order, then explicit `runsBefore` edges; never the start. */
function upstreamIds(node: BuilderNode): string[] {
  const promises: OutputPromise<unknown, string>[] = [];
  if (node.target.kind === 'branch') promises.push(...node.target.branch.conditionPromises);
  else for (const value of node.inputs.values()) promisesOf(value, promises);
  // A set keeps this linear: a fan-in node may depend on 100,000 nodes.
  const ids = new Set<string>();
  for (const promise of promises) {
    const producer = promiseNode(promise);
    if (producer !== undefined) ids.add(producer.id);
  }
  for (const before of node.after) ids.add(before.id);
  return [...ids];
}

/**
 * The metadata of a task, read once per task: it does not depend on the serialization settings, and a template
 * is a fresh copy per call, too costly to make for every node that runs the task.
 */
const taskMetadata = new WeakMap<TaskLike, TaskMetadata | undefined>();

function taskMetadataOf(entity: TaskLike, settings: SerializationSettings): TaskMetadata | undefined {
  if (!taskMetadata.has(entity)) taskMetadata.set(entity, entity.template(settings)?.metadata);
  return taskMetadata.get(entity);
}

function nodeMetadata(node: BuilderNode, settings: SerializationSettings): NodeMetadata {
  const s = node.settings;
  // Task nodes start from the task's own timeout, retries and interruptible, as flytekit does.
  const taskMeta = node.target.kind === 'task' ? taskMetadataOf(node.target.entity, settings) : undefined;
  // Copied: the cached metadata is shared by every node of the task.
  const timeout =
    s.timeoutMs !== undefined
      ? toProtoDuration(s.timeoutMs)
      : taskMeta?.timeout === undefined
        ? undefined
        : clone(DurationSchema, taskMeta.timeout);
  const interruptible =
    s.interruptible ??
    (taskMeta?.interruptibleValue.case === 'interruptible' ? taskMeta.interruptibleValue.value : undefined);
  return create(NodeMetadataSchema, {
    name: s.name,
    ...(timeout === undefined || (timeout.seconds === 0n && timeout.nanos === 0) ? {} : { timeout }),
    retries: { retries: s.retries ?? taskMeta?.retries?.retries ?? 0 },
    ...(interruptible === undefined ? {} : { interruptibleValue: { case: 'interruptible', value: interruptible } }),
    ...(s.cache === undefined
      ? {}
      : {
          cacheableValue: { case: 'cacheable', value: s.cache.enabled },
          ...(s.cache.version === undefined
            ? {}
            : { cacheVersionValue: { case: 'cacheVersion', value: s.cache.version } }),
          ...(s.cache.serialize === undefined
            ? {}
            : { cacheSerializableValue: { case: 'cacheSerializable', value: s.cache.serialize } }),
        }),
  });
}

function taskNodeOverrides(node: BuilderNode) {
  return {
    ...(node.settings.resources === undefined
      ? {}
      : { resources: toResources(node.settings.resources, `node ${node.id}`) }),
    containerImage: node.settings.image ?? '',
  };
}

const OPERATORS = {
  eq: ComparisonExpression_Operator.EQ,
  ne: ComparisonExpression_Operator.NEQ,
  gt: ComparisonExpression_Operator.GT,
  gte: ComparisonExpression_Operator.GTE,
  lt: ComparisonExpression_Operator.LT,
  lte: ComparisonExpression_Operator.LTE,
} as const;

/** `<node id>.<var>`: the name under which a branch node receives a condition's promise. */
export function operandVar(promise: OutputPromise<unknown, string>): string {
  return `${promiseNode(promise)?.id ?? ''}.${promise.var}`;
}

function operand(record: OperandRecord): Operand {
  switch (record.kind) {
    case 'promise':
      return create(OperandSchema, { val: { case: 'var', value: operandVar(record.promise) } });
    case 'primitive':
      return create(OperandSchema, { val: { case: 'primitive', value: record.primitive } });
    case 'none':
      return create(OperandSchema, { val: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } } });
  }
}

function booleanExpression(condition: ConditionRecord): IdlBooleanExpression {
  if (condition.kind === 'comparison') {
    return create(BooleanExpressionSchema, {
      expr: {
        case: 'comparison',
        value: {
          operator: OPERATORS[condition.op],
          leftValue: operand(condition.left),
          rightValue: operand(condition.right),
        },
      },
    });
  }
  return create(BooleanExpressionSchema, {
    expr: {
      case: 'conjunction',
      value: {
        operator:
          condition.op === 'and' ? ConjunctionExpression_LogicalOperator.AND : ConjunctionExpression_LogicalOperator.OR,
        leftExpression: booleanExpression(condition.left),
        rightExpression: booleanExpression(condition.right),
      },
    },
  });
}

function branchInputs(branch: BranchRecord): Binding[] {
  const seen = new Map<string, OutputPromise<unknown, string>>();
  for (const promise of branch.conditionPromises)
    if (!seen.has(operandVar(promise))) seen.set(operandVar(promise), promise);
  return [...seen]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, promise]) =>
      create(BindingSchema, {
        var: name,
        binding: { value: { case: 'promise', value: outputReference(promise) } },
      }),
    );
}

/** The flyteidl Node of a recorded node. */
export function serializeNode(node: BuilderNode, settings: SerializationSettings): Node {
  const common = {
    id: node.id,
    metadata: nodeMetadata(node, settings),
    upstreamNodeIds: upstreamIds(node),
  };
  const target = node.target;
  switch (target.kind) {
    case 'task':
      return create(NodeSchema, {
        ...common,
        inputs: bindings(node.inputs),
        target: {
          case: 'taskNode',
          value: {
            reference: { case: 'referenceId', value: target.entity.id(settings) },
            overrides: taskNodeOverrides(node),
          },
        },
      });
    case 'workflow':
      return create(NodeSchema, {
        ...common,
        inputs: bindings(node.inputs),
        target: {
          case: 'workflowNode',
          value: { reference: { case: 'subWorkflowRef', value: target.entity.id(settings) } },
        },
      });
    case 'launchplan':
      return create(NodeSchema, {
        ...common,
        inputs: bindings(node.inputs),
        target: {
          case: 'workflowNode',
          value: { reference: { case: 'launchplanRef', value: target.entity.id(settings) } },
        },
      });
    case 'branch': {
      const branch = target.branch;
      const [first, ...others] = branch.cases.map((c) => ({
        condition: booleanExpression(c.condition),
        thenNode: serializeNode(c.node, settings),
      }));
      const otherwise = branch.otherwise;
      return create(NodeSchema, {
        ...common,
        inputs: branchInputs(branch),
        target: {
          case: 'branchNode',
          value: {
            ifElse: {
              ...(first === undefined ? {} : { case: first }),
              other: others,
              default:
                otherwise.kind === 'node'
                  ? { case: 'elseNode', value: serializeNode(otherwise.node, settings) }
                  : { case: 'error', value: { failedNodeId: branch.name, message: otherwise.message } },
            },
          },
        },
      });
    }
    case 'array': {
      const array = target.array;
      const inputs = bindings(node.inputs);
      const subNode = create(NodeSchema, {
        id: array.subNodeId,
        metadata: nodeMetadata({ ...node, target: { kind: 'task', entity: array.entity } }, settings),
        inputs,
        target: {
          case: 'taskNode',
          value: {
            reference: { case: 'referenceId', value: array.entity.id(settings) },
            overrides: taskNodeOverrides(node),
          },
        },
      });
      return create(NodeSchema, {
        ...common,
        inputs,
        target: {
          case: 'arrayNode',
          value: {
            node: subNode,
            ...(array.parallelism === undefined
              ? {}
              : { parallelismOption: { case: 'parallelism', value: array.parallelism } }),
            successCriteria:
              array.minSuccesses !== undefined
                ? { case: 'minSuccesses', value: array.minSuccesses }
                : { case: 'minSuccessRatio', value: array.minSuccessRatio ?? 1 },
            executionMode: ArrayNode_ExecutionMode.MINIMAL_STATE,
            isOriginalSubNodeInterface: true,
            boundInputs: [...array.bound],
          },
        },
      });
    }
    case 'gate': {
      const gate = target.gate;
      return create(NodeSchema, {
        ...common,
        inputs: bindings(node.inputs),
        target: {
          case: 'gateNode',
          value: {
            condition:
              gate.kind === 'sleep'
                ? { case: 'sleep', value: { duration: toProtoDuration(gate.durationMs) } }
                : gate.kind === 'signal'
                  ? {
                      case: 'signal',
                      value: { signalId: gate.signalId, type: gate.type, outputVariableName: gate.outputName },
                    }
                  : { case: 'approve', value: { signalId: gate.signalId } },
          },
        },
      });
    }
  }
}

/** The WorkflowTemplate of a built workflow. */
export function serializeWorkflowTemplate(
  record: WorkflowRecord,
  id: Identifier,
  settings: SerializationSettings,
): WorkflowTemplate {
  return create(WorkflowTemplateSchema, {
    id,
    metadata: { onFailure: record.failurePolicy },
    metadataDefaults: { interruptible: record.interruptible },
    interface: typedInterfaceOf(record.inputs, record.outputs),
    nodes: record.nodes.map((node) => serializeNode(node, settings)),
    outputs: bindings(record.outputBindings),
    ...(record.failureNode === undefined ? {} : { failureNode: serializeNode(record.failureNode, settings) }),
  });
}
