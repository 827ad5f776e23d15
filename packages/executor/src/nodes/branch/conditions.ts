// Evaluation of branch conditions (flytepropeller's comparator): comparisons of primitives bound as the branch
// node's inputs (`<node>.<var>`) or given as constants, combined with and/or.
import { idl } from '@flyte-ts/core';
import { NodeFailure } from '../../runtime/failure.js';

type Value = { kind: 'none' } | { kind: 'primitive'; value: idl.core.Primitive['value'] };

/**
 * Evaluates a boolean expression on a branch node's inputs.
 * @throws {NodeFailure} for an unknown variable or values that cannot be compared (a user error).
 */
export function evaluateBoolean(expression: idl.core.BooleanExpression, inputs: idl.core.LiteralMap): boolean {
  const expr = expression.expr;
  switch (expr.case) {
    case 'comparison':
      return compare(expr.value, inputs);
    case 'conjunction': {
      const left = expr.value.leftExpression;
      const right = expr.value.rightExpression;
      if (left === undefined || right === undefined) throw bad('a conjunction lacks an operand');
      return expr.value.operator === idl.core.ConjunctionExpression_LogicalOperator.AND
        ? evaluateBoolean(left, inputs) && evaluateBoolean(right, inputs)
        : evaluateBoolean(left, inputs) || evaluateBoolean(right, inputs);
    }
    default:
      throw bad('empty boolean expression');
  }
}

function bad(message: string): NodeFailure {
  return new NodeFailure('BranchEvaluationFailed', message, 'user');
}

function operandValue(operand: idl.core.Operand | undefined, inputs: idl.core.LiteralMap): Value {
  const val = operand?.val;
  switch (val?.case) {
    case 'primitive':
      return { kind: 'primitive', value: val.value.value };
    case 'scalar':
      return scalarValue(val.value, 'constant');
    case 'var': {
      const literal = Object.hasOwn(inputs.literals, val.value) ? inputs.literals[val.value] : undefined;
      if (literal === undefined) throw bad(`the condition uses ${val.value}, which is not bound`);
      return literalValue(literal, val.value);
    }
    default:
      throw bad('a comparison operand is empty');
  }
}

function literalValue(literal: idl.core.Literal, name: string): Value {
  if (literal.value.case !== 'scalar') throw bad(`${name} is not a primitive value and cannot be compared`);
  return scalarValue(literal.value.value, name);
}

function scalarValue(scalar: idl.core.Scalar, name: string): Value {
  const v = scalar.value;
  if (v.case === 'primitive') return { kind: 'primitive', value: v.value.value };
  if (v.case === 'noneType') return { kind: 'none' };
  if (v.case === 'union' && v.value.value !== undefined) return literalValue(v.value.value, name);
  throw bad(`${name} is not a primitive value and cannot be compared`);
}

function comparable(v: idl.core.Primitive['value']): number | bigint | string | boolean {
  switch (v.case) {
    case 'integer':
      return v.value;
    case 'floatValue':
      return v.value;
    case 'stringValue':
      return v.value;
    case 'boolean':
      return v.value;
    case 'datetime':
      return Number(v.value.seconds) * 1e9 + v.value.nanos;
    case 'duration':
      return Number(v.value.seconds) * 1e9 + v.value.nanos;
    default:
      throw bad('an empty primitive cannot be compared');
  }
}

function compare(expression: idl.core.ComparisonExpression, inputs: idl.core.LiteralMap): boolean {
  const O = idl.core.ComparisonExpression_Operator;
  const left = operandValue(expression.leftValue, inputs);
  const right = operandValue(expression.rightValue, inputs);
  if (left.kind === 'none' || right.kind === 'none') {
    const same = left.kind === right.kind;
    if (expression.operator === O.EQ) return same;
    if (expression.operator === O.NEQ) return !same;
    throw bad('none can only be compared with == and !=');
  }
  if (left.value.case !== right.value.case) {
    // Integers and floats compare by value, as in flytepropeller.
    const numeric = (c: string | undefined) => c === 'integer' || c === 'floatValue';
    if (!(numeric(left.value.case) && numeric(right.value.case))) {
      throw bad(`cannot compare a ${left.value.case ?? 'value'} with a ${right.value.case ?? 'value'}`);
    }
  }
  let a = comparable(left.value);
  let b = comparable(right.value);
  if (typeof a === 'bigint' && typeof b === 'number') a = Number(a);
  if (typeof b === 'bigint' && typeof a === 'number') b = Number(b);
  switch (expression.operator) {
    case O.EQ:
      return a === b;
    case O.NEQ:
      return a !== b;
    case O.GT:
      return a > b;
    case O.GTE:
      return a >= b;
    case O.LT:
      return a < b;
    case O.LTE:
      return a <= b;
    default:
      throw bad('unknown comparison operator');
  }
}
