// Binding validation (Flyte's validators/bindings.go): every input bound exactly once, to something whose type
// can flow into it; promises resolved to the node that produces them (an empty node id is the start node),
// and the edges between nodes derived from them.
import { create } from '@bufbuild/protobuf';
import { areTypesCastable, describeLiteralType, idl, isOptionalType, literalTypeForScalar } from '@flyte-ts/core';
import { START_NODE_ID, type EdgeDirection, type NodeBuilder, type WorkflowBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';
import { effectiveOutputs } from './outputs.js';

const NONE_TYPE = create(idl.core.LiteralTypeSchema, { type: { case: 'simple', value: idl.core.SimpleType.NONE } });

/** Result of validating a binding. */
interface BindingResult {
  /** The type the binding provides (the producer's declared type for promises). */
  readonly type: idl.core.LiteralType | undefined;
  /** Nodes the binding depends on. */
  readonly upstream: readonly string[];
  /** Whether it validated. */
  readonly ok: boolean;
}

/**
 * Validates the bindings of a node against the variables it declares. Adds, in `direction`, an edge from
 * each node a valid binding depends on. Resolves to the variables the bindings provide.
 *
 * With `validateTypes` false (branch and approval-gate inputs, which have no declared interface), unknown
 * variables are accepted and typed from their bindings, and `resolved` holds those types (it is only filled
 * then: nodes with declared inputs do not need it).
 */
export function validateBindings(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  bindings: readonly idl.core.Binding[],
  params: idl.core.VariableMap | undefined,
  validateTypes: boolean,
  direction: EdgeDirection,
  scope: IssueScope,
): { resolved: idl.core.VariableMap; ok: boolean } {
  const nodeId = node.node.id;
  const resolved = create(idl.core.VariableMapSchema);
  const provided = new Set<string>();
  for (const binding of bindings) {
    let param = params?.variables[binding.var];
    if (param === undefined && validateTypes) {
      scope.collect('VariableNameNotFound', nodeId, `Variable [${binding.var}] not found on node [${nodeId}].`);
      continue;
    }
    if (binding.binding === undefined) {
      scope.collect('ValueRequired', nodeId, `Value required [Binding] for ${binding.var}.`);
      continue;
    }
    if (provided.has(binding.var)) {
      scope.collect('ParameterBoundMoreThanOnce', nodeId, `Input [${binding.var}] is bound more than once.`);
      continue;
    }
    param ??= create(idl.core.VariableSchema, { type: NONE_TYPE });
    provided.add(binding.var);
    const result = validateBinding(
      builder,
      node,
      binding.var,
      binding.binding,
      param.type ?? NONE_TYPE,
      scope.child(),
      validateTypes,
    );
    if (result.ok) {
      for (const upstream of result.upstream) builder.addEdge(direction, upstream, nodeId);
      resolved.variables[binding.var] = create(
        idl.core.VariableSchema,
        result.type === undefined ? {} : { type: result.type },
      );
    }
  }
  for (const [name, variable] of Object.entries(params?.variables ?? {})) {
    if (!provided.has(name) && !isOptionalType(variable.type)) {
      scope.collect('ParameterNotBound', nodeId, `Parameter not bound [${name}].`);
    }
  }
  return { resolved, ok: !scope.hasErrors() };
}

/** What a binding holds, for messages. */
function describeBinding(binding: idl.core.BindingData): string {
  return binding.value.case ?? 'nothing';
}

function validateBinding(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  param: string,
  binding: idl.core.BindingData,
  expected: idl.core.LiteralType,
  scope: IssueScope,
  validateTypes: boolean,
): BindingResult {
  const nodeId = node.node.id;
  const value = binding.value;
  // A collection or map bound to a union must fit exactly one variant.
  if (expected.type.case === 'unionType' && value.case !== 'scalar' && value.case !== 'promise') {
    const matches: { variant: idl.core.LiteralType; result: BindingResult }[] = [];
    for (const variant of expected.type.value.variants) {
      const result = validateBinding(builder, node, param, binding, variant, scope.detached(), validateTypes);
      if (result.ok) matches.push({ variant, result });
    }
    const [first, second] = matches;
    if (first !== undefined && second === undefined) return first.result;
    if (second !== undefined) {
      scope.collect(
        'AmbiguousBindingUnionValue',
        nodeId,
        `Input [${param}] on node [${nodeId}] expects bindings of union type [${describeLiteralType(expected)}].  Received [${describeBinding(binding)}] which is ambiguous as both variants [${describeLiteralType(first!.variant)}] and [${describeLiteralType(second.variant)}] match.`,
      );
    } else {
      scope.collect(
        'IncompatibleBindingUnionValue',
        nodeId,
        `Input [${param}] on node [${nodeId}] expects bindings of union type [${describeLiteralType(expected)}].  Received [${describeBinding(binding)}] which does not match any of the variants.`,
      );
    }
    return { type: undefined, upstream: [], ok: false };
  }

  switch (value.case) {
    case 'collection':
    case 'map': {
      const isCollection = value.case === 'collection';
      const inner = isCollection
        ? expected.type.case === 'collectionType'
          ? expected.type.value
          : undefined
        : expected.type.case === 'mapValueType'
          ? expected.type.value
          : undefined;
      if (inner === undefined) {
        scope.collect(
          'MismatchingBindings',
          nodeId,
          `Input [${param}] on node [${nodeId}] expects bindings of type [${describeLiteralType(expected)}].  Received [${value.case}]`,
        );
        return { type: undefined, upstream: [], ok: false };
      }
      const items = isCollection
        ? (value.value as idl.core.BindingDataCollection).bindings
        : Object.values((value.value as idl.core.BindingDataMap).bindings);
      const upstream: string[] = [];
      let last: idl.core.LiteralType | undefined;
      for (const item of items) {
        const result = validateBinding(builder, node, param, item, inner, scope.child(), validateTypes);
        if (result.ok) {
          upstream.push(...result.upstream);
          last = result.type;
        }
      }
      const type = create(idl.core.LiteralTypeSchema, {
        type: isCollection
          ? { case: 'collectionType', value: last ?? create(idl.core.LiteralTypeSchema) }
          : { case: 'mapValueType', value: last ?? create(idl.core.LiteralTypeSchema) },
      });
      return { type, upstream, ok: !scope.hasErrors() };
    }
    case 'promise':
      return validatePromise(builder, node, param, value.value, expected, scope, validateTypes);
    case 'scalar': {
      const type = literalTypeForScalar(value.value);
      if (type === undefined) {
        scope.collect(
          'UnrecognizedValue',
          nodeId,
          `Unrecognized value [${value.value.value.case ?? 'empty scalar'}] for ${param}.`,
        );
        return { type: undefined, upstream: [], ok: false };
      }
      if (validateTypes && !areTypesCastable(type, expected)) {
        scope.collect(
          'MismatchingTypes',
          nodeId,
          `Variable [${param}] (type [${describeLiteralType(type)}]) doesn't match expected type [${describeLiteralType(expected)}].`,
        );
      }
      if (expected.type.case === 'enumType') {
        const s = value.value.value;
        const text = s.case === 'primitive' && s.value.value.case === 'stringValue' ? s.value.value.value : '';
        if (!expected.type.value.values.includes(text)) {
          scope.collect(
            'IllegalEnumValue',
            nodeId,
            `Input [${param}] on node [${nodeId}] is an Enum and expects value to be one of [${expected.type.value.values.join(' ')}].  Received [${text}]`,
          );
        }
      }
      return { type, upstream: [], ok: !scope.hasErrors() };
    }
    default:
      scope.collect(
        'MismatchingBindings',
        nodeId,
        `Input [${param}] on node [${nodeId}] expects bindings of type [${describeLiteralType(expected)}].  Received [${value.case ?? ''}]`,
      );
      return { type: undefined, upstream: [], ok: false };
  }
}

/** `[1].o0` → index 1 and var o0; Flyte accepts exactly one `(\[index\]\.)?name` match. */
const VAR_NAME = /(\[(\d+)\]\.)?(\w+)/g;

function parseVarName(text: string): { name: string; index: number | undefined } | undefined {
  const matches = [...text.matchAll(VAR_NAME)];
  if (matches.length !== 1) return undefined;
  const [, , index, name] = matches[0]!;
  return { name: name!, index: index === undefined ? undefined : Number(index) };
}

function validatePromise(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  param: string,
  promise: idl.core.OutputReference,
  expected: idl.core.LiteralType,
  scope: IssueScope,
  validateTypes: boolean,
): BindingResult {
  const nodeId = node.node.id;
  const upstreamId = promise.nodeId === '' ? START_NODE_ID : promise.nodeId;
  const upstream = builder.nodes.get(upstreamId);
  if (upstream === undefined) {
    scope.collect(
      'NodeReferenceNotFound',
      upstreamId,
      `Referenced node [${upstreamId}] not found (bound to ${nodeId}.${param}).`,
    );
  } else {
    const parsed = parseVarName(promise.var);
    if (parsed === undefined) {
      scope.collect('SyntaxError', nodeId, `Failed to parse element [${promise.var}].`);
      return { type: undefined, upstream: [], ok: false };
    }
    const inputVar = node.node.metadata === undefined ? param : `${node.node.metadata.name}.${param}`;
    const outputVar =
      upstream.node.metadata === undefined ? promise.var : `${upstream.node.metadata.name}.${promise.var}`;
    const output = effectiveOutputs(upstream, scope.child())?.[parsed.name];
    if (output === undefined) {
      scope.collect('VariableNameNotFound', upstreamId, `Variable [${parsed.name}] not found on node [${upstreamId}].`);
    } else {
      let source = output.type;
      if (parsed.index !== undefined) {
        if (source?.type.case === 'collectionType') source = source.type.value;
        else {
          scope.collect(
            'MismatchingTypes',
            nodeId,
            `The output variable '${outputVar}' has type [${describeLiteralType(source)}], but it's assigned to the input variable '${inputVar}' which has type type [${describeLiteralType(expected)}].`,
          );
        }
      }
      for (const step of promise.attrPath) {
        const t = source?.type;
        if (t?.case === 'collectionType' || t?.case === 'mapValueType') {
          source = t.value;
        } else if (source !== undefined && Object.keys(source.structure?.dataclassType ?? {}).length > 0) {
          const key = step.value.case === 'stringValue' ? step.value.value : String(step.value.value ?? '');
          const field = source.structure!.dataclassType[key];
          if (field === undefined) {
            scope.collect(
              'FieldNotFound',
              nodeId,
              `Variable [${promise.var}] (type [${describeLiteralType(source)}]) doesn't have field [${key}].`,
            );
            return { type: undefined, upstream: [], ok: false };
          }
          source = field;
        }
      }
      if (!validateTypes || (source !== undefined && areTypesCastable(source, expected))) {
        promise.nodeId = upstream.node.id;
        return { type: output.type, upstream: [upstream.node.id], ok: !scope.hasErrors() };
      }
      scope.collect(
        'MismatchingTypes',
        nodeId,
        `The output variable '${outputVar}' has type [${describeLiteralType(source)}], but it's assigned to the input variable '${inputVar}' which has type type [${describeLiteralType(expected)}].`,
      );
      return { type: undefined, upstream: [], ok: false };
    }
  }
  scope.collect('ParameterNotBound', nodeId, `Parameter not bound [${param}].`);
  return { type: undefined, upstream: [], ok: false };
}

/**
 * The inputs of a node that has no declared interface (a branch, an approval gate): whatever its bindings
 * provide, typed from them; their producers are connected upstream.
 */
export function inputsFromBindings(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  scope: IssueScope,
): idl.core.VariableMap {
  return validateBindings(builder, node, node.node.inputs, create(idl.core.VariableMapSchema), false, 'upstream', scope)
    .resolved;
}
