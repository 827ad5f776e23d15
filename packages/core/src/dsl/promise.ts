// Output promises: what a workflow builder holds in place of values. A promise names a variable of a node
// (or of the workflow's inputs) and, optionally, a path into it (`xs[0]`, `m.key`).
import type { LiteralType } from '../gen/flyteidl/core/index.js';
import { DefinitionError, NestingTooDeepError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { describeLiteralType } from '../types/describe.js';
import type { BuilderNode, WorkflowScope } from './scope.js';

/** One step of an attribute path into a promised value: a list index or a map/struct key. */
export type AttributeStep = string | number;

/** The comparison operators of Flyte's branch conditions. */
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

/** A constant a condition may compare with. */
export type ComparisonValue = string | number | bigint | boolean | Date;

/** Operand of a comparison: a promise, a constant, or null (none). */
export type Operand = OutputPromise<unknown, string> | ComparisonValue | null;

/** A boolean expression of a branch condition (comparisons joined with `and`/`or`). */
export type BooleanExpression =
  | { readonly kind: 'comparison'; readonly op: ComparisonOperator; readonly left: Operand; readonly right: Operand }
  | {
      readonly kind: 'conjunction';
      readonly op: 'and' | 'or';
      readonly left: BooleanExpression;
      readonly right: BooleanExpression;
    };

/** Where a promise comes from: kept out of the promise's public shape. */
const origins = new WeakMap<object, { readonly scope: WorkflowScope; readonly node: BuilderNode | undefined }>();

/** The workflow scope a promise belongs to. */
export function promiseScope(promise: OutputPromise<unknown, string>): WorkflowScope {
  return origins.get(promise)!.scope;
}

/** The node producing a promise; undefined for the workflow's inputs. */
export function promiseNode(promise: OutputPromise<unknown, string>): BuilderNode | undefined {
  return origins.get(promise)!.node;
}

/**
 * A promised value of Flyte kind `K` and TypeScript type `V`: a task's output, or a workflow's input,
 * inside a workflow builder. Bind it to another task's input, compare it in a condition, or return it as a
 * workflow output. It has no value at definition time.
 */
export class OutputPromise<V, K extends string> {
  /** Name of the promised variable (an output of the node, or an input of the workflow). */
  readonly var: string;
  /** Path into the value, e.g. `[0, 'key']`. */
  readonly attrPath: readonly AttributeStep[];
  /** Flyte type of the promised value (after the attribute path). */
  readonly type: LiteralType;
  /** Type-level only: the TypeScript type of the promised value. */
  declare readonly __value?: V;
  /** Type-level only: the Flyte kind of the promised value. */
  declare readonly __kind?: K;

  /** Promises are created by workflow builders (calls of tasks and workflows), not by users. */
  constructor(
    scope: WorkflowScope,
    node: BuilderNode | undefined,
    variable: string,
    type: LiteralType,
    attrPath: readonly AttributeStep[] = [],
  ) {
    origins.set(this, { scope, node });
    this.var = variable;
    this.type = type;
    this.attrPath = attrPath;
  }

  /** Element `index` of a promised list (Flyte attribute path). */
  at<E>(this: OutputPromise<readonly E[], string>, index: number): OutputPromise<E, ElementKind<K>> {
    if (!Number.isInteger(index) || index < 0) {
      throw new DefinitionError('INVALID_BINDING', `list index must be a non-negative integer, got ${String(index)}`, {
        id: this.var,
      });
    }
    const inner = this.type.type;
    if (inner.case !== 'collectionType') {
      throw new DefinitionError(
        'INVALID_BINDING',
        `.at(${index}) needs a list, but ${this.var} is ${describeLiteralType(this.type)}`,
        {
          id: this.var,
        },
      );
    }
    return new OutputPromise(promiseScope(this), promiseNode(this), this.var, inner.value, [...this.attrPath, index]);
  }

  /** Entry `key` of a promised map (Flyte attribute path). */
  key<E>(this: OutputPromise<{ readonly [k: string]: E }, string>, key: string): OutputPromise<E, ElementKind<K>> {
    const inner = this.type.type;
    if (inner.case !== 'mapValueType') {
      throw new DefinitionError(
        'INVALID_BINDING',
        `.key(${JSON.stringify(key)}) needs a map, but ${this.var} is ${describeLiteralType(this.type)}`,
        {
          id: this.var,
        },
      );
    }
    return new OutputPromise(promiseScope(this), promiseNode(this), this.var, inner.value, [...this.attrPath, key]);
  }

  /** `this == other` in a branch condition. */
  eq(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'eq', left: this, right: other };
  }
  /** `this != other` in a branch condition. */
  ne(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'ne', left: this, right: other };
  }
  /** `this > other` in a branch condition. */
  gt(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'gt', left: this, right: other };
  }
  /** `this >= other` in a branch condition. */
  gte(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'gte', left: this, right: other };
  }
  /** `this < other` in a branch condition. */
  lt(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'lt', left: this, right: other };
  }
  /** `this <= other` in a branch condition. */
  lte(other: Operand): BooleanExpression {
    return { kind: 'comparison', op: 'lte', left: this, right: other };
  }
  /** `this is true` in a branch condition (Flyte compares booleans with `== true`). */
  isTrue(this: OutputPromise<boolean, string>): BooleanExpression {
    return { kind: 'comparison', op: 'eq', left: this, right: true };
  }
  /** `this is none` in a branch condition (for optional values). */
  isNone(): BooleanExpression {
    return { kind: 'comparison', op: 'eq', left: this, right: null };
  }
  /** `this is false` in a branch condition. */
  isFalse(this: OutputPromise<boolean, string>): BooleanExpression {
    return { kind: 'comparison', op: 'eq', left: this, right: false };
  }
}

/** The kind of an element of a `list<...>` or `map<...>` kind. */
export type ElementKind<K extends string> = K extends `list<${infer E}>` ? E : K extends `map<${infer E}>` ? E : string;

/**
 * `a and b` (and more) in a branch condition. Each `and` is one level of nesting (`and(a, b, c)` is 2):
 * a condition nests at most `MAX_NESTING_DEPTH` levels, less the branches around it.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` past that
 */
export function and(first: BooleanExpression, ...rest: BooleanExpression[]): BooleanExpression {
  return conjunction('and', first, rest);
}

/**
 * `a or b` (and more) in a branch condition. Each `or` is one level of nesting, as for {@link and}.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` past `MAX_NESTING_DEPTH`
 */
export function or(first: BooleanExpression, ...rest: BooleanExpression[]): BooleanExpression {
  return conjunction('or', first, rest);
}

function conjunction(
  op: 'and' | 'or',
  first: BooleanExpression,
  rest: readonly BooleanExpression[],
): BooleanExpression {
  const expression = rest.reduce<BooleanExpression>((left, right) => ({ kind: 'conjunction', op, left, right }), first);
  if (conditionDepth(expression, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `${op}(...): the condition nests more than ${MAX_NESTING_DEPTH} levels of and/or (MAX_NESTING_DEPTH), more than every protobuf reader can read back; split it with intermediate tasks`,
      MAX_NESTING_DEPTH,
      { id: op },
    );
  }
  return expression;
}

/**
 * The levels of and/or of a condition (a comparison is 0), counted without recursion up to `limit + 1`: a
 * condition assembled by hand may nest thousands of levels.
 */
export function conditionDepth(expression: BooleanExpression, limit: number): number {
  const stack: { readonly expression: BooleanExpression; readonly depth: number }[] = [{ expression, depth: 0 }];
  let deepest = 0;
  while (stack.length > 0) {
    const { expression: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object' || current.kind !== 'conjunction') continue;
    if (depth + 1 > limit) return limit + 1;
    deepest = Math.max(deepest, depth + 1);
    stack.push({ expression: current.left, depth: depth + 1 }, { expression: current.right, depth: depth + 1 });
  }
  return deepest;
}
