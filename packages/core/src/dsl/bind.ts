// Converting what a call binds (constants, promises, arrays and records mixing both) into recorded
// bindings, checked against the input's Flyte type with Flyte's castability rules.
import { setOwn } from '../util/own.js';
import type { LiteralType } from '../gen/flyteidl/core/index.js';
import { DefinitionError, LiteralTypeError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { noneLiteral, scalarLiteral } from '../literals/make.js';
import { areTypesCastable, isNoneType } from '../types/castability.js';
import { isPlainObject } from '../types/define.js';
import { describeLiteralType } from '../types/describe.js';
import { indexPath, keyPath } from '../types/paths.js';
import { typeFromLiteralType } from '../types/t.js';
import { OutputPromise, promiseNode } from './promise.js';
import type { BoundValue } from './scope.js';

/** The binding of an input left unbound: none for an optional (a union with none), else undefined. */
export function noneBinding(type: LiteralType): BoundValue | undefined {
  if (isNoneType(type)) return { kind: 'literal', literal: noneLiteral() };
  if (type.type.case !== 'unionType') return undefined;
  const variant = type.type.value.variants.find(isNoneType);
  if (variant === undefined) return undefined;
  return { kind: 'literal', literal: scalarLiteral({ case: 'union', value: { value: noneLiteral(), type: variant } }) };
}

/**
 * Whether a value holds a promise within the levels a value may nest; without recursion (a constant may nest
 * 10,000 deep: converting it then reports NESTING_TOO_DEEP).
 */
function containsPromise(value: unknown): boolean {
  const stack: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current instanceof OutputPromise) return true;
    if (depth > MAX_NESTING_DEPTH) continue;
    if (Array.isArray(current)) for (const item of current) stack.push({ value: item, depth: depth + 1 });
    else if (isPlainObject(current))
      for (const item of Object.values(current)) stack.push({ value: item, depth: depth + 1 });
  }
  return false;
}

/**
 * Records `value` bound to a variable of type `expected`: a constant becomes a literal (checked), a promise
 * is checked for castability, an array or record holding promises becomes a collection or map binding.
 * @throws {LiteralTypeError} for a constant that does not fit.
 * @throws {DefinitionError} `INVALID_BINDING` for a promise whose type cannot flow into `expected`.
 */
export function bindValue(
  value: unknown,
  expected: LiteralType,
  path: string,
  scopeCheck: (promise: OutputPromise<unknown, string>, path: string) => void,
): BoundValue {
  if (value instanceof OutputPromise) {
    scopeCheck(value, path);
    if (!areTypesCastable(value.type, expected)) {
      throw new DefinitionError(
        'INVALID_BINDING',
        `${path}: expected ${describeLiteralType(expected)}, got a promise of ${describeLiteralType(value.type)} (${promiseNode(value)?.id ?? 'inputs'}.${value.var})`,
        { id: path },
      );
    }
    return { kind: 'promise', promise: value };
  }
  if (!containsPromise(value)) {
    return { kind: 'literal', literal: typeFromLiteralType(expected).toLiteral(value as never, path) };
  }
  const shape = expected.type;
  if (Array.isArray(value)) {
    if (shape.case === 'collectionType') {
      return {
        kind: 'collection',
        items: value.map((item, i) => bindValue(item, shape.value, indexPath(path, i), scopeCheck)),
      };
    }
  } else if (isPlainObject(value)) {
    if (shape.case === 'mapValueType') {
      const entries: Record<string, BoundValue> = {};
      for (const [k, v] of Object.entries(value))
        setOwn(entries, k, bindValue(v, shape.value, keyPath(path, k), scopeCheck));
      return { kind: 'map', entries };
    }
  }
  if (shape.case === 'unionType') {
    // Flyte binds a collection or map of promises to the one union variant it fits; more is ambiguous.
    const fits: BoundValue[] = [];
    const names: string[] = [];
    for (const variant of shape.value.variants) {
      const wanted = Array.isArray(value) ? 'collectionType' : 'mapValueType';
      if (variant.type.case !== wanted) continue;
      try {
        fits.push(bindValue(value, variant, path, scopeCheck));
        names.push(describeLiteralType(variant));
      } catch (error) {
        if (!(error instanceof DefinitionError || error instanceof LiteralTypeError)) throw error;
      }
    }
    if (fits.length === 1) return fits[0]!;
    if (fits.length > 1) {
      throw new LiteralTypeError(
        'AMBIGUOUS_UNION_VALUE',
        path,
        describeLiteralType(expected),
        'a binding',
        `matches ${names.join(' and ')}`,
      );
    }
  }
  throw new DefinitionError(
    'INVALID_BINDING',
    `${path}: expected ${describeLiteralType(expected)}, got ${Array.isArray(value) ? 'an array' : 'an object'} of promises`,
    { id: path },
  );
}
