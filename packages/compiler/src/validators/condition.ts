// Branch conditions: comparisons of operands of the same type (no casting), joined with and/or.
import { describeLiteralType, literalTypeForPrimitive, literalTypesEqual, type idl } from '@flyte-ts/core';
import type { NodeBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';

/** Validates a boolean expression of a branch node. */
export function validateCondition(
  node: NodeBuilder,
  expression: idl.core.BooleanExpression | undefined,
  scope: IssueScope,
): void {
  const id = node.node.id;
  if (expression === undefined || expression.expr.case === undefined) {
    if (expression === undefined) {
      scope.collect('BranchNodeHasNoCondition', id, "One of the branches on the node doesn't have a condition.");
    } else {
      scope.collect('ValueRequired', id, 'Value required [Expr].');
    }
    return;
  }
  if (expression.expr.case === 'conjunction') {
    validateCondition(node, expression.expr.value.leftExpression, scope);
    validateCondition(node, expression.expr.value.rightExpression, scope);
    return;
  }
  const comparison = expression.expr.value;
  const right = operandType(node, 'RightValue', comparison.rightValue, scope.child());
  const left = operandType(node, 'LeftValue', comparison.leftValue, scope.child());
  if (right !== undefined && left !== undefined && !literalTypesEqual(right, left)) {
    scope.collect(
      'MismatchingTypes',
      id,
      `Variable [RightValue] (type [${describeLiteralType(right)}]) doesn't match expected type [${describeLiteralType(left)}].`,
    );
  }
}

/** The type of a comparison operand: a primitive's, or the branch input's it names; none operands are untyped. */
function operandType(
  node: NodeBuilder,
  param: string,
  operand: idl.core.Operand | undefined,
  scope: IssueScope,
): idl.core.LiteralType | undefined {
  const id = node.node.id;
  const value = operand?.val;
  if (value === undefined) {
    scope.collect('ValueRequired', id, `Value required [${param}].`);
    return undefined;
  }
  switch (value.case) {
    case 'primitive':
      return literalTypeForPrimitive(value.value);
    case 'var': {
      if (node.iface === undefined) {
        scope.collect('ValueRequired', id, `Value required [${value.value}].`);
        return undefined;
      }
      const variable = node.iface.inputs?.variables[value.value];
      if (variable !== undefined) return variable.type;
      // A var bound on the branch but not resolved is left untyped, as Flyte does.
      if (node.node.inputs.some((b) => b.var === value.value)) return undefined;
      scope.collect('VariableNameNotFound', id, `Variable [${value.value}] not found on node [${id}].`);
      return undefined;
    }
    case 'scalar':
      // `is none` comparisons: the none scalar compares with any optional operand.
      if (value.value.value.case === 'noneType') return undefined;
      scope.collect(
        'ValueRequired',
        id,
        `Value required [${param}.Val]: only primitives, vars and none can be compared.`,
      );
      return undefined;
    case undefined:
      scope.collect('ValueRequired', id, `Value required [${param}.Val].`);
      return undefined;
  }
}
