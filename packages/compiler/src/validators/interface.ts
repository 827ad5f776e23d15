// Node interfaces: what a node takes and produces, from what it runs (a task, a subworkflow, a launch plan,
// a branch's cases, a gate, an array's sub-node). Interfaces are normalized in place: missing inputs or
// outputs become empty maps, as Flyte's compiled output shows.
import { create } from '@bufbuild/protobuf';
import { idl, sameIdentifier } from '@flyte-ts/core';
import type { NodeBuilder, WorkflowBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';
import { taskNotFound, workflowNotFound } from '../errors.js';
import { inputsFromBindings } from './bindings.js';
import { branchInterface } from './branch.js';

/**
 * Normalizes an interface (missing maps become empty) and checks its variables have names and types.
 * Returns the interface (a new one if `iface` was undefined).
 */
export function validateInterface(
  nodeId: string,
  iface: idl.core.TypedInterface | undefined,
  scope: IssueScope,
): { iface: idl.core.TypedInterface; ok: boolean } {
  const result = iface ?? create(idl.core.TypedInterfaceSchema);
  for (const side of ['inputs', 'outputs'] as const) {
    const map = result[side];
    if (map === undefined) {
      result[side] = create(idl.core.VariableMapSchema);
      continue;
    }
    for (const [name, variable] of Object.entries(map.variables)) {
      if (name === '') scope.collect('ValueRequired', nodeId, 'Value required [paramName].');
      if (variable.type === undefined)
        scope.collect('ValueRequired', nodeId, `Value required [param.Type] of ${name}.`);
    }
  }
  return { iface: result, ok: !scope.hasErrors() };
}

/** Collection of `type`, or of optional `type` when some runs of an array may fail. */
function listOf(type: idl.core.LiteralType | undefined, optional: boolean): idl.core.LiteralType {
  const element = type ?? create(idl.core.LiteralTypeSchema);
  const inner = optional
    ? create(idl.core.LiteralTypeSchema, {
        type: {
          case: 'unionType',
          value: {
            variants: [
              element,
              create(idl.core.LiteralTypeSchema, {
                type: { case: 'simple', value: idl.core.SimpleType.NONE },
                structure: { tag: 'none' },
              }),
            ],
          },
        },
      })
    : element;
  return create(idl.core.LiteralTypeSchema, { type: { case: 'collectionType', value: inner } });
}

/**
 * The interface of an ArrayNode. When the sub-node's interface is the original (scalar) one, the array maps
 * it: inputs become lists (except bound inputs) and outputs become lists (of optionals when runs may fail).
 * Otherwise the sub-node's interface is already the list interface (flytekit's legacy map tasks).
 */
function arrayInterface(array: idl.core.ArrayNode, sub: idl.core.TypedInterface): idl.core.TypedInterface {
  if (array.isOriginalSubNodeInterface !== true) return sub;
  const bound = new Set(array.boundInputs);
  const mayFail =
    array.successCriteria.case === 'minSuccesses' ||
    (array.successCriteria.case === 'minSuccessRatio' && array.successCriteria.value < 1);
  const inputs: { [name: string]: idl.core.Variable } = {};
  for (const [name, variable] of Object.entries(sub.inputs?.variables ?? {})) {
    inputs[name] = bound.has(name)
      ? variable
      : create(idl.core.VariableSchema, { ...variable, type: listOf(variable.type, false) });
  }
  const outputs: { [name: string]: idl.core.Variable } = {};
  for (const [name, variable] of Object.entries(sub.outputs?.variables ?? {})) {
    outputs[name] = create(idl.core.VariableSchema, { ...variable, type: listOf(variable.type, mayFail) });
  }
  return create(idl.core.TypedInterfaceSchema, { inputs: { variables: inputs }, outputs: { variables: outputs } });
}

/**
 * The interface of what a node runs; stored on the node builder when it validates. Issues: unknown tasks,
 * launch plans or subworkflows, a node without target, a gate without condition, and those of the variables.
 */
export function underlyingInterface(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  scope: IssueScope,
): { iface: idl.core.TypedInterface | undefined; ok: boolean } {
  if (node.iface !== undefined) return { iface: node.iface, ok: true };
  const id = node.node.id;
  let iface: idl.core.TypedInterface | undefined;
  const target = node.node.target;
  switch (target.case) {
    case 'taskNode': {
      const reference = target.value.reference;
      if (reference.case !== 'referenceId') {
        scope.collect('ValueRequired', id, 'Value required [TaskNode.ReferenceId].');
        break;
      }
      const task = builder.task(reference.value);
      if (task === undefined) {
        taskNotFound(scope, id, reference.value);
        break;
      }
      // The task's own interface object: normalizing it is visible in the compiled tasks, as in Flyte
      // (a task without any interface keeps none).
      iface = task.interface ?? create(idl.core.TypedInterfaceSchema);
      break;
    }
    case 'workflowNode': {
      const reference = target.value.reference;
      if (reference.case === 'launchplanRef' && sameIdentifier(reference.value, builder.template.id)) {
        // A workflow launching itself through its own launch plan: its own interface.
        iface = builder.template.interface;
        if (iface === undefined) scope.collect('ValueRequired', id, 'Value required [WorkflowNode.Interface].');
      } else if (reference.case === 'launchplanRef') {
        const provider = builder.launchPlan(reference.value);
        if (provider === undefined) {
          workflowNotFound(scope, id, reference.value);
          break;
        }
        // Required inputs, and defaulted ones the node overrides, make the node's inputs.
        const bound = new Set(node.node.inputs.map((b) => b.var));
        const inputs: { [name: string]: idl.core.Variable } = {};
        for (const [name, parameter] of Object.entries(provider.expectedInputs.parameters)) {
          const required = parameter.behavior.case === 'required' && parameter.behavior.value;
          if ((required || bound.has(name)) && parameter.var !== undefined) inputs[name] = parameter.var;
        }
        iface = create(idl.core.TypedInterfaceSchema, {
          inputs: { variables: inputs },
          outputs: provider.expectedOutputs,
        });
      } else if (reference.case === 'subWorkflowRef') {
        const sub = builder.subWorkflow(reference.value);
        if (sub === undefined) {
          workflowNotFound(scope, id, reference.value);
        } else if (sub.template === undefined) {
          scope.collect('ValueRequired', id, 'Value required [WorkflowNode.Template].');
        } else if (sub.template.interface === undefined) {
          scope.collect('ValueRequired', id, 'Value required [WorkflowNode.Template.Interface].');
        } else {
          iface = sub.template.interface;
        }
      } else {
        scope.collect('WorkflowReferenceNotFound', id, 'Referenced Workflow [<nil>/<nil>] not found.');
      }
      break;
    }
    case 'branchNode':
      iface = branchInterface(builder, node, scope.child());
      break;
    case 'gateNode': {
      const condition = target.value.condition;
      if (condition.case === 'approve') {
        const resolved = inputsFromBindings(builder, node, scope.child());
        iface = create(idl.core.TypedInterfaceSchema, { inputs: resolved, outputs: resolved });
      } else if (condition.case === 'signal') {
        if (condition.value.type === undefined) {
          scope.collect('ValueRequired', id, 'Value required [GateNode.Signal.Type].');
        } else if (condition.value.outputVariableName === '') {
          scope.collect('ValueRequired', id, 'Value required [GateNode.Signal.OutputVariableName].');
        } else {
          iface = create(idl.core.TypedInterfaceSchema, {
            inputs: {},
            outputs: { variables: { [condition.value.outputVariableName]: { type: condition.value.type } } },
          });
        }
      } else if (condition.case === 'sleep') {
        iface = create(idl.core.TypedInterfaceSchema, { inputs: {}, outputs: {} });
      } else {
        scope.collect('NoConditionFound', id, `Can't find any condition in gate node [${id}].`);
      }
      break;
    }
    case 'arrayNode': {
      const sub = target.value.node;
      if (sub === undefined) {
        scope.collect('ValueRequired', id, 'Value required [ArrayNode.Node].');
        break;
      }
      const result = underlyingInterface(builder, builder.builderOf(sub), scope.child());
      if (result.ok && result.iface !== undefined) iface = arrayInterface(target.value, result.iface);
      break;
    }
    case undefined:
      scope.collect('ValueRequired', id, 'Value required [Target].');
      break;
  }
  if (iface !== undefined) iface = validateInterface(id, iface, scope.child()).iface;
  if (!scope.hasErrors()) node.iface = iface;
  return { iface, ok: !scope.hasErrors() };
}
