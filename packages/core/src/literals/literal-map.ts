// Conversion between records of TypeScript values and LiteralMaps, checked against a map of Flyte types:
// what a task's inputs and outputs go through.
import { setOwn } from '../util/own.js';
import type { Literal, LiteralMap } from '../gen/flyteidl/core/index.js';
import { LiteralTypeError } from '../errors.js';
import type { InputsOf, TypeMap, ValuesOf } from '../types/flyte-type.js';
import { keyPath } from '../types/paths.js';

/** Options of {@link toLiteralMap} and {@link fromLiteralMap}. */
export interface LiteralMapOptions {
  /** Prefix of value paths in error messages (`inputs` gives `inputs.xs[3]`). */
  readonly path?: string;
}

function unknownVariable(path: string, name: string, types: TypeMap): never {
  const declared = Object.keys(types);
  throw new LiteralTypeError(
    'TYPE_MISMATCH',
    keyPath(path, name),
    declared.length === 0 ? 'no variables' : `one of the declared variables (${declared.join(', ')})`,
    'an undeclared variable',
  );
}

/**
 * Converts a record of values to a LiteralMap, each value checked against its declared type. A variable
 * whose type accepts none (an optional) may be missing: it becomes a none literal.
 * @throws {LiteralTypeError} for a value that does not fit, a missing required variable, or an undeclared one.
 */
export function toLiteralMap<M extends TypeMap>(
  types: M,
  values: InputsOf<M>,
  options: LiteralMapOptions = {},
): LiteralMap {
  const path = options.path ?? '';
  const given = values as Record<string, unknown>;
  for (const name of Object.keys(given)) if (!Object.hasOwn(types, name)) unknownVariable(path, name, types);
  const literals: { [key: string]: Literal } = {};
  for (const [name, type] of Object.entries(types)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    setOwn(literals, name, (type.toLiteral as (value: unknown, path: string) => Literal)(value, keyPath(path, name)));
  }
  return { $typeName: 'flyteidl.core.LiteralMap', literals };
}

/**
 * Reads a LiteralMap as a record of values, each literal checked against its declared type.
 * @throws {LiteralTypeError} for a literal that does not fit, or a declared variable that is missing.
 */
export function fromLiteralMap<M extends TypeMap>(
  types: M,
  literalMap: LiteralMap | undefined,
  options: LiteralMapOptions = {},
): ValuesOf<M> {
  const path = options.path ?? '';
  const literals = literalMap?.literals ?? {};
  const values: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(types)) {
    const literal = Object.hasOwn(literals, name) ? literals[name] : undefined;
    if (literal === undefined) {
      throw new LiteralTypeError('TYPE_MISMATCH', keyPath(path, name), type.description, 'nothing (missing variable)');
    }
    setOwn(values, name, type.fromLiteral(literal, keyPath(path, name)));
  }
  return values as ValuesOf<M>;
}
