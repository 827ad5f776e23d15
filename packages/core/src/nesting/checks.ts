// The nesting checks of the places where values, types and definitions enter: each refuses what nests deeper
// than MAX_NESTING_DEPTH with a NESTING_TOO_DEEP error naming it, before any recursive code walks it.
import type {
  Literal,
  LiteralMap,
  LiteralType,
  ParameterMap,
  TaskTemplate,
  WorkflowTemplate,
} from '../gen/flyteidl/core/index.js';
import { NestingTooDeepError } from '../errors.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { isFlatLiteral, NestingWalk } from './levels.js';

const LIMIT = `the limit of ${MAX_NESTING_DEPTH} (MAX_NESTING_DEPTH) that every protobuf reader can read back`;
const VALUE_LEVELS = 'each list, map, union and struct object or array is one level';
const TYPE_LEVELS = 'each list, map and union type, dataclass, dataset and metadata object is one level';

/**
 * The levels a literal nests (see {@link MAX_NESTING_DEPTH}): `[[1]]` is 2, a struct `{a: {b: 1}}` is 2, a
 * primitive 0. Counted without recursion, up to `MAX_NESTING_DEPTH + 1`: any deeper literal gives that.
 */
export function literalNesting(literal: Literal): number {
  if (isFlatLiteral(literal)) return 0;
  return new NestingWalk(MAX_NESTING_DEPTH).literal(literal).run().depth;
}

/** The levels a literal type nests (`list<list<integer>>` is 2), up to `MAX_NESTING_DEPTH + 1`. */
export function literalTypeNesting(type: LiteralType): number {
  if (isFlatType(type)) return 0;
  return new NestingWalk(MAX_NESTING_DEPTH).type(type).run().depth;
}

// Most literals and types checked are flat (a primitive, a simple type): they are told apart without a walk.

function isFlatType(type: LiteralType): boolean {
  const c = type.type?.case;
  if (c !== 'simple' && c !== 'blob' && c !== 'enumType' && c !== 'schema') return false;
  if (type.metadata !== undefined || type.annotation !== undefined) return false;
  const fields = type.structure?.dataclassType;
  if (fields !== undefined) for (const key in fields) if (Object.hasOwn(fields, key)) return false;
  return true;
}

/**
 * The levels a JSON value nests (each array and plain object is one: `{a: [1]}` is 2), up to
 * `MAX_NESTING_DEPTH + 1`. Other values are leaves.
 */
export function jsonNesting(value: unknown): number {
  return new NestingWalk(MAX_NESTING_DEPTH).json(value).run().depth;
}

/**
 * Refuses a literal that nests deeper than {@link MAX_NESTING_DEPTH}.
 * @param id where the literal is, for the error (`inputs.x`)
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming `id`
 */
export function checkLiteralNesting(literal: Literal, id: string): void {
  if (literalNesting(literal) > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `${id}: the value nests more than ${MAX_NESTING_DEPTH} levels (${VALUE_LEVELS}), above ${LIMIT}: flatten it, or pass it as a file`,
      MAX_NESTING_DEPTH,
      { id },
    );
  }
}

/**
 * Refuses a LiteralMap holding a literal that nests deeper than {@link MAX_NESTING_DEPTH}.
 * @param path prefix of the variable names in the error (`inputs` gives `inputs.x`)
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the variable
 */
export function checkLiteralMapNesting(map: LiteralMap | undefined, path: string): void {
  const literals = map?.literals ?? {};
  for (const name in literals) {
    if (Object.hasOwn(literals, name)) checkLiteralNesting(literals[name]!, path === '' ? name : `${path}.${name}`);
  }
}

/**
 * Refuses a type that nests deeper than {@link MAX_NESTING_DEPTH}.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming `id`
 */
export function checkLiteralTypeNesting(type: LiteralType, id: string): void {
  if (literalTypeNesting(type) > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `${id}: the type nests more than ${MAX_NESTING_DEPTH} levels (${TYPE_LEVELS}), above ${LIMIT}`,
      MAX_NESTING_DEPTH,
      { id },
    );
  }
}

/**
 * Refuses a JSON value (a struct) that nests deeper than {@link MAX_NESTING_DEPTH}.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming `id`
 */
export function checkJsonNesting(value: unknown, id: string): void {
  if (jsonNesting(value) > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `${id}: the struct nests more than ${MAX_NESTING_DEPTH} levels (each object and array is one), above ${LIMIT}: flatten it, or pass it as a file`,
      MAX_NESTING_DEPTH,
      { id },
    );
  }
}

/**
 * Refuses a workflow template in which something nests deeper than {@link MAX_NESTING_DEPTH}: a node inside
 * too many branches or map tasks, a condition with too many `and`/`or`, a constant binding, or an interface type
 * (levels add up along a path: the branches around a node, then what it binds).
 * @param what the workflow, for the message (`workflow my.wf`)
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the innermost node on the path
 */
export function checkWorkflowNesting(template: WorkflowTemplate, what: string): void {
  const { depth, nodeId } = new NestingWalk(MAX_NESTING_DEPTH).workflow(template).run();
  if (depth > MAX_NESTING_DEPTH) {
    const where = nodeId === '' ? 'its interface' : `node ${nodeId}`;
    throw new NestingTooDeepError(
      `${what}: ${where} nests more than ${MAX_NESTING_DEPTH} levels (each branch and map task around a node, each and/or of a condition, and each level of a type or of a constant it binds is one), above ${LIMIT}: move nested cases into a subworkflow`,
      MAX_NESTING_DEPTH,
      { id: nodeId === '' ? what : nodeId },
    );
  }
}

/**
 * Refuses a task template whose interface types, custom configuration or pod spec nest deeper than
 * {@link MAX_NESTING_DEPTH}.
 * @param what the task, for the message and the error's id
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the task
 */
export function checkTaskNesting(template: TaskTemplate, what: string): void {
  if (new NestingWalk(MAX_NESTING_DEPTH).task(template).run().depth > MAX_NESTING_DEPTH) {
    throw new NestingTooDeepError(
      `${what}: its interface types, custom configuration or pod spec nest more than ${MAX_NESTING_DEPTH} levels, above ${LIMIT}`,
      MAX_NESTING_DEPTH,
      { id: what },
    );
  }
}

/**
 * Refuses launch plan parameters (types and default values) and fixed inputs nesting deeper than
 * {@link MAX_NESTING_DEPTH}.
 * @param what the launch plan, for the message
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the parameter or input
 */
export function checkParametersNesting(
  parameters: ParameterMap | undefined,
  fixed: LiteralMap | undefined,
  what: string,
): void {
  for (const [name, parameter] of Object.entries(parameters?.parameters ?? {})) {
    const id = `${what} input ${name}`;
    if (parameter.var?.type !== undefined) checkLiteralTypeNesting(parameter.var.type, id);
    if (parameter.behavior.case === 'default') checkLiteralNesting(parameter.behavior.value, id);
  }
  for (const [name, literal] of Object.entries(fixed?.literals ?? {})) {
    checkLiteralNesting(literal, `${what} fixed input ${name}`);
  }
}
