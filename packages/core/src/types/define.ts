// Shared plumbing of the type builders: constructing FlyteType objects and raising coded errors.
import type { Literal, LiteralType, Primitive } from '../gen/flyteidl/core/index.js';
import { LiteralTypeError } from '../errors.js';
import { checkLiteralNesting, checkLiteralTypeNesting, literalTypeNesting } from '../nesting/checks.js';
import { MAX_NESTING_DEPTH } from '../nesting/limits.js';
import { describeLiteral, describeLiteralType, describeValue } from './describe.js';
import type { FlyteType } from './flyte-type.js';

/** Whether a conversion is running (conversions are synchronous): only the outermost checks the result's nesting. */
let converting = false;

/** Description length of a type in nesting errors: the type itself is what nests too deep. */
const MAX_DESCRIBED = 3;

/** What a builder supplies; `define` adds the description and default arguments. */
export interface TypeSpec<V, I> {
  readonly literalType: LiteralType;
  toLiteral(value: I, path: string): Literal;
  fromLiteral(literal: Literal, path: string): V;
  accepts(value: unknown, exact: boolean): boolean;
}

/**
 * Builds an immutable FlyteType from its spec. Unless `readsUnionLiterals`, a union literal is read as the
 * value it holds (only union types look at the union wrapper itself).
 */
export function define<V, I, K extends string, A extends string = K, B = never>(
  spec: TypeSpec<V, I>,
  options: { readonly readsUnionLiterals?: boolean } = {},
): FlyteType<V, I, K, A, B> {
  const read = options.readsUnionLiterals === true ? (l: Literal) => l : unwrapUnion;
  // Every type is built from types within the limit, so its conversions recurse at most that deep.
  if (literalTypeNesting(spec.literalType) > MAX_NESTING_DEPTH) {
    checkLiteralTypeNesting(spec.literalType, describeLiteralType(spec.literalType, MAX_DESCRIBED));
  }
  const type: FlyteType<V, I, K, A, B> = {
    literalType: spec.literalType,
    description: describeLiteralType(spec.literalType),
    toLiteral: (value: I, path = '') => {
      // Inner conversions (elements, variants) are part of the outermost one, which checks the whole literal.
      if (converting) return spec.toLiteral(value, path);
      converting = true;
      let literal: Literal;
      try {
        literal = spec.toLiteral(value, path);
      } finally {
        converting = false;
      }
      checkLiteralNesting(literal, path === '' ? 'value' : path);
      return literal;
    },
    fromLiteral: (literal: Literal, path = '') => spec.fromLiteral(read(literal), path),
    accepts: (value: unknown, exact = false) => spec.accepts(value, exact),
  };
  return Object.freeze(type);
}

/** Throws the TYPE_MISMATCH error for a TypeScript value that does not fit `type`. */
export function valueMismatch(path: string, type: LiteralType, value: unknown, detail?: string): never {
  throw new LiteralTypeError('TYPE_MISMATCH', path, describeLiteralType(type), describeValue(value), detail);
}

/** Throws the TYPE_MISMATCH error for a literal that is not of `type`. */
export function literalMismatch(path: string, type: LiteralType, literal: Literal, detail?: string): never {
  throw new LiteralTypeError('TYPE_MISMATCH', path, describeLiteralType(type), describeLiteral(literal), detail);
}

/**
 * A union literal read as a non-union type is read as the value it holds: the value is what it is,
 * whichever union carried it. Offloaded literals must be loaded by the caller first.
 */
function unwrapUnion(literal: Literal): Literal {
  let current = literal;
  for (;;) {
    const v = current.value;
    if (v.case !== 'scalar' || v.value.value.case !== 'union') return current;
    const inner = v.value.value.value.value;
    if (inner === undefined) return current;
    current = inner;
  }
}

/** The primitive held by a literal, if any. */
export function primitiveOf(literal: Literal): Primitive['value'] | undefined {
  if (literal.value.case !== 'scalar') return undefined;
  const s = literal.value.value.value;
  return s.case === 'primitive' ? s.value.value : undefined;
}

/** True for a plain object (`{}` or `Object.create(null)`), not an array, Date, class instance or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
