// The FlyteType interface: one Flyte LiteralType plus the conversion between TypeScript values and
// Literals, carrying at the type level the TypeScript value type and a coarse "kind" used to check
// bindings between task outputs and inputs at compile time of the user's code.
import type { OutputPromise } from '../dsl/promise.js';
import type { Literal, LiteralType } from '../gen/flyteidl/core/index.js';

declare const valueMarker: unique symbol;
declare const inputMarker: unique symbol;
declare const kindMarker: unique symbol;
declare const acceptsMarker: unique symbol;
declare const bindingMarker: unique symbol;

/**
 * A Flyte type: its `LiteralType`, and conversions between TypeScript values and `Literal`s that
 * check the value against the type.
 *
 * Type parameters (all inferred from the `t.*` builders; users rarely write them):
 * - `V` — the TypeScript value a task receives (`fromLiteral`'s result), e.g. `number` for `t.float()`.
 * - `I` — what `toLiteral` accepts (a task's return value, a constant binding); usually `V`, wider where
 *   a convenient form exists (a `string` URI for a file).
 * - `K` — the kind of this type as a binding source, e.g. `'integer'` or `'list<float>'`.
 * - `A` — the kinds a promise may have to be bound to this type (Flyte's castability, approximated:
 *   a union accepts each of its variants, a collection accepts collections of what its element accepts).
 * - `B` — extra binding shapes: a collection can be bound to an array of promises, a map to a record.
 */
export interface FlyteType<V, I = V, K extends string = string, A extends string = K, B = never> {
  /** The Flyte type, as the IDL message. Treat as immutable. */
  readonly literalType: LiteralType;
  /** Human-readable type, as used in error messages: `float`, `list<integer>`, `union<string | none>`. */
  readonly description: string;
  /**
   * Converts a TypeScript value to a Literal, checking it against this type.
   * @param path where the value sits, for error messages (`inputs.xs[3]`).
   * @throws {LiteralTypeError} `TYPE_MISMATCH`, `INTEGER_OUT_OF_RANGE` or `AMBIGUOUS_UNION_VALUE`, naming `path`.
   */
  toLiteral(value: I, path?: string): Literal;
  /**
   * Converts a Literal of this type to its TypeScript value.
   * @throws {LiteralTypeError} `TYPE_MISMATCH`/`INVALID_LITERAL` when the literal does not have this type,
   *   `INTEGER_OUT_OF_RANGE` when an int64 does not fit a JS number.
   */
  fromLiteral(literal: Literal, path?: string): V;
  /**
   * Whether `value` is a valid input for {@link toLiteral}; `exact` asks whether it is the most natural
   * reading of the value (a whole number is exactly an integer, not a float): unions use it to pick a variant.
   */
  accepts(value: unknown, exact?: boolean): boolean;
  /** Type-level only (never set at run time). */
  readonly [valueMarker]?: V;
  /** Type-level only (never set at run time). */
  readonly [inputMarker]?: (value: I) => void;
  /** Type-level only (never set at run time). */
  readonly [kindMarker]?: K;
  /** Type-level only (never set at run time). */
  readonly [acceptsMarker]?: (kind: A) => void;
  /** Type-level only (never set at run time). */
  readonly [bindingMarker]?: B;
}

/** Any Flyte type, whatever its TypeScript value. */
// `never` in the contravariant positions makes every FlyteType assignable here.
export type AnyFlyteType = FlyteType<unknown, never, string, never, unknown>;

/** The TypeScript value a task receives for type `T`. */
export type ValueOf<T> = T extends FlyteType<infer V, never, string, never, unknown> ? V : never;
/** What may be given where type `T` is expected (a task's return value, a constant binding). */
export type InputOf<T> =
  T extends FlyteType<unknown, infer I, string, never, unknown> ? ([I] extends [never] ? never : I) : never;
/** The kind of `T` as a binding source. */
export type KindOf<T> = T extends FlyteType<unknown, never, infer K, never, unknown> ? K : never;
/** The kinds of promises that may be bound to `T`. */
export type AcceptsOf<T> = T extends FlyteType<unknown, never, string, infer A, unknown> ? A : never;
/** The extra binding shapes of `T` (arrays of promises for collections, records for maps). */
export type BindingShapeOf<T> = T extends FlyteType<unknown, never, string, never, infer B> ? B : never;

/** Named variables of an interface: input or output name to Flyte type. */
export type TypeMap = { readonly [name: string]: AnyFlyteType };

/** The TypeScript values of a {@link TypeMap}: what a task function receives. */
export type ValuesOf<M extends TypeMap> = { -readonly [K in keyof M]: ValueOf<M[K]> };

/** Keys of `M` whose type accepts `none` (optional inputs and outputs). */
export type OptionalKeys<M extends TypeMap> = {
  [K in keyof M]: 'none' extends AcceptsOf<M[K]> ? K : never;
}[keyof M];

/**
 * What a task function returns for outputs `M`: every output, with those whose type accepts `none`
 * allowed to be omitted (they become none literals).
 */
export type InputsOf<M extends TypeMap> = {
  -readonly [K in Exclude<keyof M, OptionalKeys<M>>]: InputOf<M[K]>;
} & {
  -readonly [K in OptionalKeys<M>]?: InputOf<M[K]> | undefined;
};

/**
 * What may be bound to a variable of type `T` inside a workflow: a constant (`InputOf<T>`), a promise of a
 * compatible kind, or, for collections and maps, an array or record mixing promises and constants.
 */
export type Bindable<T> = InputOf<T> | OutputPromise<ValueOf<T>, AcceptsOf<T>> | BindingShapeOf<T>;

/** The type `t.list(T)` builds. */
export type ListType<T> = FlyteType<
  ValueOf<T>[],
  readonly InputOf<T>[],
  `list<${KindOf<T>}>`,
  `list<${AcceptsOf<T>}>`,
  readonly Bindable<T>[]
>;

/** The type `t.map(T)` builds. */
export type MapType<T> = FlyteType<
  { [key: string]: ValueOf<T> },
  { readonly [key: string]: InputOf<T> },
  `map<${KindOf<T>}>`,
  `map<${AcceptsOf<T>}>`,
  { readonly [key: string]: Bindable<T> }
>;

/** The type `t.optional(T)` builds. */
export type OptionalType<T> = FlyteType<
  ValueOf<T> | null,
  InputOf<T> | null | undefined,
  KindOf<T> | 'none',
  AcceptsOf<T> | 'none',
  BindingShapeOf<T>
>;

/** The empty interface: no variables (the default of `inputs`, `outputs` and option objects). */
export type Empty = Record<never, never>;
