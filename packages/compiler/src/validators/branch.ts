// Branch nodes: their interface (the outputs all cases share, the inputs their conditions read), the
// renaming of case nodes to `<branch>-<case>`, and the validation of conditions and cases.
import { create } from '@bufbuild/protobuf';
import { describeLiteralType, idl, literalTypesEqual } from '@flyte-ts/core';
import type { NodeBuilder, WorkflowBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';
import { inputsFromBindings } from './bindings.js';
import { validateCondition } from './condition.js';
import { underlyingInterface } from './interface.js';
import { validateNode } from './node.js';

/** The then-nodes of a branch (case, others, else), in order; missing ones are issues. */
function caseNodes(node: NodeBuilder, scope: IssueScope): idl.core.Node[] | undefined {
  const id = node.node.id;
  const target = node.node.target;
  if (target.case !== 'branchNode') return undefined;
  const ifElse = target.value.ifElse;
  if (ifElse === undefined) {
    scope.collect('ValueRequired', id, 'Value required [Branch.IfElse].');
    return undefined;
  }
  if (ifElse.case === undefined) {
    scope.collect('ValueRequired', id, 'Value required [Branch.IfElse.Case].');
    return undefined;
  }
  if (ifElse.case.thenNode === undefined) {
    scope.collect('ValueRequired', id, 'Value required [Branch.IfElse.Case.ThenNode].');
    return undefined;
  }
  const nodes = [ifElse.case.thenNode];
  for (const other of ifElse.other) {
    if (other.thenNode === undefined) scope.collect('ValueRequired', id, 'Value required [IfElse.Case.ThenNode].');
    else nodes.push(other.thenNode);
  }
  if (ifElse.default.case === 'elseNode') nodes.push(ifElse.default.value);
  return nodes;
}

/**
 * The interface of a branch node: outputs are those every case produces (with equal types); inputs are
 * what the branch's own bindings (the promises its conditions compare) provide. Case nodes are renamed
 * `<branch id>-<case id>` here.
 */
export function branchInterface(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  scope: IssueScope,
): idl.core.TypedInterface | undefined {
  const cases = caseNodes(node, scope);
  if (cases === undefined) return undefined;
  let outputs: { [name: string]: idl.core.Variable } | undefined;
  let names: Set<string> | undefined;
  for (const caseNode of cases) {
    const sub = builder.builderOf(caseNode);
    sub.node.id = `${node.node.id}-${sub.node.id}`;
    const { iface, ok } = underlyingInterface(builder, sub, scope.child());
    if (!ok || iface === undefined) continue;
    const caseOutputs = iface.outputs?.variables ?? {};
    if (outputs === undefined || names === undefined) {
      outputs = caseOutputs;
      names = new Set(Object.keys(caseOutputs));
      continue;
    }
    for (const name of [...names]) {
      const other = caseOutputs[name];
      if (other === undefined) {
        names.delete(name);
        continue;
      }
      const mine = outputs[name]!;
      if (mine.type === undefined || other.type === undefined || !literalTypesEqual(mine.type, other.type)) {
        scope.collect(
          'MismatchingTypes',
          sub.node.id,
          `Variable [${name}] (type [${describeLiteralType(other.type)}]) doesn't match expected type [${describeLiteralType(mine.type)}].`,
        );
      }
    }
  }
  const resolved = inputsFromBindings(builder, node, scope.child());
  if (scope.hasErrors() || outputs === undefined || names === undefined) return undefined;
  const shared: { [name: string]: idl.core.Variable } = {};
  for (const [name, variable] of Object.entries(outputs)) if (names.has(name)) shared[name] = variable;
  return create(idl.core.TypedInterfaceSchema, { inputs: resolved, outputs: { variables: shared } });
}

/**
 * Validates the conditions and cases of a branch node and resolves to the case nodes that validated (so
 * their inputs can be connected). Issues: a branch without condition or default (else or error).
 */
export function validateBranchNode(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  scope: IssueScope,
): { subNodes: NodeBuilder[]; ok: boolean } {
  const id = node.node.id;
  const target = node.node.target;
  const ifElse = target.case === 'branchNode' ? target.value.ifElse : undefined;
  if (ifElse === undefined) return { subNodes: [], ok: !scope.hasErrors() };
  const blocks: idl.core.IfBlock[] = [];
  if (ifElse.case === undefined) {
    scope.collect('BranchNodeHasNoCondition', id, "One of the branches on the node doesn't have a condition.");
  } else {
    blocks.push(ifElse.case);
  }
  blocks.push(...ifElse.other);
  const subNodes: NodeBuilder[] = [];
  for (const block of blocks) {
    validateCondition(node, block.condition, scope.child());
    if (block.thenNode === undefined) scope.collect('BranchNodeIdNotFound', id, 'BranchNode not assigned.');
    else subNodes.push(builder.builderOf(block.thenNode));
  }
  if (ifElse.default.case === 'elseNode') {
    subNodes.push(builder.builderOf(ifElse.default.value));
  } else if (ifElse.default.case !== 'error') {
    scope.collect('BranchNodeHasNoDefault', id, 'Branch Node must have either the else case set or a default error.');
  }
  const validated = subNodes.filter((sub) => validateNode(builder, sub, scope.child()));
  return { subNodes: validated, ok: !scope.hasErrors() };
}
