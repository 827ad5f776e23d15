// conditional(name).if(cond).then(() => node).elif(cond).then(...).else(() => node) | .fail(message):
// Flyte's branch node. Each case runs exactly one node (a task, a workflow, or a nested conditional); the
// branch's outputs are the outputs its cases share.
import { create } from '@bufbuild/protobuf';
import { PrimitiveSchema, SimpleType, type LiteralType, type Primitive } from '../gen/flyteidl/core/index.js';
import { DefinitionError, NestingTooDeepError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { durationFromMs, timestampFromMs } from '../literals/time.js';
import { isOptionalType, literalTypesEqual } from '../types/castability.js';
import { describeLiteralType } from '../types/describe.js';
import { checkPromiseScope, nodeOf, nodeOutputs, type NodeHandle } from './entities.js';
import { conditionDepth, OutputPromise, promiseNode, type BooleanExpression, type Operand } from './promise.js';
import { currentScope, NodeIdSource, WorkflowScope, withinScope, type BuilderNode } from './scope.js';

/** An operand as recorded: a promise, a typed constant, or none. */
export type OperandRecord =
  | { readonly kind: 'promise'; readonly promise: OutputPromise<unknown, string> }
  | { readonly kind: 'primitive'; readonly primitive: Primitive }
  | { readonly kind: 'none' };

/** A condition as recorded, with constants converted to the type of the promise they are compared with. */
export type ConditionRecord =
  | {
      readonly kind: 'comparison';
      readonly op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';
      readonly left: OperandRecord;
      readonly right: OperandRecord;
    }
  | {
      readonly kind: 'conjunction';
      readonly op: 'and' | 'or';
      readonly left: ConditionRecord;
      readonly right: ConditionRecord;
    };

/** A branch node as recorded. */
export interface BranchRecord {
  /** The conditional's name (node metadata name, and the failed node id of `fail`). */
  readonly name: string;
  /** The cases, in order: the first is Flyte's `case`, the rest `other`. */
  readonly cases: readonly { readonly condition: ConditionRecord; readonly node: BuilderNode }[];
  /** The else node, or the failure message. */
  readonly otherwise:
    { readonly kind: 'node'; readonly node: BuilderNode } | { readonly kind: 'fail'; readonly message: string };
  /** Every promise the conditions compare, in order of appearance. */
  readonly conditionPromises: readonly OutputPromise<unknown, string>[];
}

/** What a case returns: the node it ran (its outputs object), or one promise of that node. */
export type BranchCase = NodeHandle | OutputPromise<unknown, string>;

/** A conditional waiting for the node of its pending case. */
export interface PendingCase<R extends BranchCase | undefined> {
  /** The node to run when the condition holds: `() => task({ ... })`. */
  then<T extends (R extends undefined ? BranchCase : R)>(fn: () => T): ConditionalCases<R extends undefined ? T : R>;
}

/** A conditional with at least one case. */
export interface ConditionalCases<R extends BranchCase> {
  /** Another case, tried when the previous ones do not hold. */
  elif(condition: BooleanExpression): PendingCase<R>;
  /** The node to run when no case holds; returns the branch's outputs (same shape as the cases'). */
  else(fn: () => R): R;
  /** Fails the workflow with `message` when no case holds; returns the branch's outputs. */
  fail(message: string): R;
}

/** The start of a conditional. */
export interface ConditionalStart {
  /** The first case. */
  if(condition: BooleanExpression): PendingCase<undefined>;
}

/**
 * Starts a branch (Flyte's branch node) named `name`:
 *
 * ```ts
 * const out = conditional('sign')
 *   .if(x.gt(0)).then(() => positive({ x }))
 *   .elif(x.lt(0)).then(() => negative({ x }))
 *   .else(() => zero({ x }));
 * ```
 */
export function conditional(name: string): ConditionalStart {
  if (typeof name !== 'string' || name === '') {
    throw new DefinitionError('INVALID_BRANCH', 'conditional needs a name');
  }
  const outer = currentScope(`conditional ${name}`);
  // The cases' nodes are one level deeper than the branch: refused here, before the user's builder recurses further.
  if (outer.depth + 1 > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `conditional ${name} in workflow ${outer.workflowName} is nested in ${outer.depth} branches: its cases would nest more than ${MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH), more than every protobuf reader can read back; move nested cases into a subworkflow`,
      MAX_NESTING_DEPTH,
      { id: name },
    );
  }
  const ids = new NodeIdSource();
  const cases: { condition: ConditionRecord; node: BuilderNode; result: BranchCase }[] = [];
  const promises: OutputPromise<unknown, string>[] = [];
  let finished = false;

  const runCase = (fn: () => unknown): { node: BuilderNode; result: BranchCase } => {
    if (finished) throw new DefinitionError('INVALID_BRANCH', `conditional ${name} is already finished`, { id: name });
    if (typeof fn !== 'function') {
      throw new DefinitionError(
        'INVALID_BRANCH',
        `conditional ${name}: then/else take a function that calls one task or workflow`,
        {
          id: name,
        },
      );
    }
    const scope = new WorkflowScope(outer.workflowName, outer, ids);
    const result = withinScope(scope, fn);
    const node = scope.nodes[0];
    if (node === undefined || scope.nodes.length !== 1) {
      throw new DefinitionError(
        'INVALID_BRANCH',
        `conditional ${name}: a case must run exactly one node (it ran ${scope.nodes.length}); use a subworkflow for more`,
        { id: name },
      );
    }
    const owner = result instanceof OutputPromise ? promiseNode(result) : nodeOf(result);
    if (owner !== node) {
      throw new DefinitionError(
        'INVALID_BRANCH',
        `conditional ${name}: a case must return the outputs of the node it runs`,
        {
          id: name,
        },
      );
    }
    return { node, result: result as BranchCase };
  };

  const pending = (condition: BooleanExpression) => {
    // A condition sits in the branch (one level below the branch node); each and/or one more.
    if (conditionDepth(condition, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH - outer.depth - 1) {
      throw new NestingTooDeepError(
        `conditional ${name} in workflow ${outer.workflowName}: its condition nests too many and/or in ${outer.depth} enclosing branches (together at most ${MAX_NESTING_DEPTH} levels, MAX_NESTING_DEPTH); split it with intermediate tasks or a subworkflow`,
        MAX_NESTING_DEPTH,
        { id: name },
      );
    }
    const recorded = recordCondition(name, outer, condition, promises);
    return {
      then(fn: () => BranchCase) {
        cases.push({ condition: recorded, ...runCase(fn) });
        return casesApi;
      },
    };
  };

  const finish = (otherwise: BranchRecord['otherwise'], elseResult?: BranchCase): BranchCase => {
    if (finished) throw new DefinitionError('INVALID_BRANCH', `conditional ${name} is already finished`, { id: name });
    finished = true;
    const all = [
      ...cases.map((c) => ({ node: c.node, result: c.result })),
      ...(elseResult === undefined || otherwise.kind !== 'node' ? [] : [{ node: otherwise.node, result: elseResult }]),
    ];
    const outputs = branchOutputs(name, all);
    const node = outer.add({
      target: {
        kind: 'branch',
        branch: {
          name,
          cases: cases.map(({ condition, node: n }) => ({ condition, node: n })),
          otherwise,
          conditionPromises: promises,
        },
      },
      inputs: new Map(),
      outputs,
      settings: { name },
    });
    const first = all[0]!.result;
    if (first instanceof OutputPromise) return new OutputPromise(outer, node, first.var, outputs[first.var]!);
    return nodeOutputs(node);
  };

  const casesApi = {
    elif: (condition: BooleanExpression) => pending(condition),
    else: (fn: () => BranchCase) => {
      const { node, result } = runCase(fn);
      return finish({ kind: 'node', node }, result);
    },
    fail: (message: string) => {
      if (typeof message !== 'string')
        throw new DefinitionError('INVALID_BRANCH', `conditional ${name}: fail needs a message`, { id: name });
      return finish({ kind: 'fail', message });
    },
  };

  return { if: (condition: BooleanExpression) => pending(condition) } as unknown as ConditionalStart;
}

/** Outputs of the branch: every case must produce the same outputs (names and types). */
function branchOutputs(
  name: string,
  cases: readonly { readonly node: BuilderNode; readonly result: BranchCase }[],
): { [name: string]: LiteralType } {
  const first = cases[0]!;
  if (first.result instanceof OutputPromise) {
    const variable = first.result.var;
    const type = first.node.outputs[variable]!;
    for (const c of cases) {
      const other = c.node.outputs[variable];
      if (
        !(c.result instanceof OutputPromise) ||
        c.result.var !== variable ||
        other === undefined ||
        !literalTypesEqual(other, type)
      ) {
        throw new DefinitionError(
          'INVALID_BRANCH',
          `conditional ${name}: every case must return output ${variable} of type ${describeLiteralType(type)} (node ${c.node.id} differs)`,
          { id: name },
        );
      }
    }
    return { [variable]: type };
  }
  const names = Object.keys(first.node.outputs).sort();
  for (const c of cases) {
    const other = Object.keys(c.node.outputs).sort();
    const same =
      !(c.result instanceof OutputPromise) &&
      other.length === names.length &&
      other.every((n, i) => n === names[i] && literalTypesEqual(c.node.outputs[n]!, first.node.outputs[n]!));
    if (!same) {
      throw new DefinitionError(
        'INVALID_BRANCH',
        `conditional ${name}: every case must produce the same outputs (node ${first.node.id}: ${names.join(', ') || 'none'}; node ${c.node.id}: ${other.join(', ') || 'none'})`,
        { id: name },
      );
    }
  }
  return { ...first.node.outputs };
}

function recordCondition(
  name: string,
  scope: WorkflowScope,
  expression: BooleanExpression,
  promises: OutputPromise<unknown, string>[],
): ConditionRecord {
  if (expression === null || typeof expression !== 'object' || !('kind' in expression)) {
    throw new DefinitionError(
      'INVALID_BRANCH',
      `conditional ${name}: a condition must compare values (x.gt(0), and(...), or(...))`,
      {
        id: name,
      },
    );
  }
  if (expression.kind === 'conjunction') {
    return {
      kind: 'conjunction',
      op: expression.op,
      left: recordCondition(name, scope, expression.left, promises),
      right: recordCondition(name, scope, expression.right, promises),
    };
  }
  const { left, right, op } = expression;
  const bad = (why: string): never => {
    throw new DefinitionError('INVALID_BRANCH', `conditional ${name}: ${why}`, { id: name });
  };
  for (const operand of [left, right]) {
    if (operand instanceof OutputPromise) {
      checkPromiseScope(scope, operand, `conditional ${name}`);
      // Flyte types a branch input by the producer's declared output: a path into it cannot be compared.
      if (operand.attrPath.length > 0)
        bad(
          `compare whole outputs, not a path into one (${operand.var}${operand.attrPath.map((p) => `[${JSON.stringify(p)}]`).join('')})`,
        );
    }
  }
  // `x is none`: Flyte's reference compiler rejects none operands; this engine's compiler accepts them.
  if (right === null) {
    if (!(left instanceof OutputPromise) || !isOptionalType(left.type)) {
      return bad('only an optional value can be compared with none (isNone)');
    }
    if (op !== 'eq' && op !== 'ne') bad('none can only be compared for (in)equality');
    promises.push(left);
    return { kind: 'comparison', op, left: { kind: 'promise', promise: left }, right: { kind: 'none' } };
  }
  const promiseTypes = [left, right].filter((o): o is OutputPromise<unknown, string> => o instanceof OutputPromise);
  if (promiseTypes.length === 0) bad('a comparison needs at least one promise');
  for (const promise of promiseTypes) {
    if (comparableSimpleType(promise.type) === undefined) {
      bad(
        `${promise.var} is ${describeLiteralType(promise.type)}: Flyte compares only integers, floats, strings, booleans, datetimes and durations (types must be equal on both sides)`,
      );
    }
  }
  if (promiseTypes.length === 2 && !literalTypesEqual(promiseTypes[0]!.type, promiseTypes[1]!.type)) {
    bad(
      `cannot compare ${describeLiteralType(promiseTypes[0]!.type)} with ${describeLiteralType(promiseTypes[1]!.type)}: Flyte requires equal types`,
    );
  }
  const simple = comparableSimpleType(promiseTypes[0]!.type)!;
  const record = (operand: Operand | null): OperandRecord => {
    if (operand instanceof OutputPromise) {
      promises.push(operand);
      return { kind: 'promise', promise: operand };
    }
    return { kind: 'primitive', primitive: primitiveFor(name, operand, simple) };
  };
  return { kind: 'comparison', op, left: record(left), right: record(right) };
}

const COMPARABLE = new Set([
  SimpleType.INTEGER,
  SimpleType.FLOAT,
  SimpleType.STRING,
  SimpleType.BOOLEAN,
  SimpleType.DATETIME,
  SimpleType.DURATION,
]);

/** The simple type of a type Flyte can compare with a constant (exactly a primitive simple type), if any. */
function comparableSimpleType(type: LiteralType): SimpleType | undefined {
  return type.type.case === 'simple' && COMPARABLE.has(type.type.value) && type.metadata === undefined
    ? type.type.value
    : undefined;
}

/** A constant as a Primitive of the type it is compared with: Flyte requires both sides to have equal types. */
function primitiveFor(name: string, value: unknown, wanted: SimpleType): Primitive {
  const bad = (expected: string): never => {
    throw new DefinitionError(
      'INVALID_BRANCH',
      `conditional ${name}: cannot compare ${expected} with ${typeof value} ${String(value)}`,
      {
        id: name,
      },
    );
  };
  switch (wanted) {
    case SimpleType.INTEGER:
      if (typeof value === 'bigint') return create(PrimitiveSchema, { value: { case: 'integer', value } });
      if (typeof value === 'number' && Number.isSafeInteger(value)) {
        return create(PrimitiveSchema, { value: { case: 'integer', value: BigInt(value) } });
      }
      return bad('an integer');
    case SimpleType.FLOAT:
      if (typeof value === 'number') return create(PrimitiveSchema, { value: { case: 'floatValue', value } });
      return bad('a float');
    case SimpleType.STRING:
      if (typeof value === 'string') return create(PrimitiveSchema, { value: { case: 'stringValue', value } });
      return bad('a string');
    case SimpleType.BOOLEAN:
      if (typeof value === 'boolean') return create(PrimitiveSchema, { value: { case: 'boolean', value } });
      return bad('a boolean');
    case SimpleType.DATETIME:
      if (value instanceof Date && !Number.isNaN(value.getTime())) {
        return create(PrimitiveSchema, { value: { case: 'datetime', value: timestampFromMs(value.getTime()) } });
      }
      return bad('a datetime');
    case SimpleType.DURATION:
      if (typeof value === 'number' && Number.isFinite(value)) {
        return create(PrimitiveSchema, { value: { case: 'duration', value: durationFromMs(value) } });
      }
      return bad('a duration (milliseconds)');
    default:
      return bad('this type');
  }
}
