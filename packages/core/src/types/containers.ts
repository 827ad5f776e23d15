// Builders of Flyte's composite types: collections (lists), maps (string keys), unions and optionals.
import { setOwn } from '../util/own.js';
import { clone, create } from '@bufbuild/protobuf';
import {
  BlobType_BlobDimensionality,
  LiteralTypeSchema,
  SimpleType,
  TypeStructureSchema,
  type Literal,
  type LiteralType,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError, LiteralTypeError } from '../errors.js';
import { checkLiteralTypeNesting } from '../nesting/checks.js';
import { collectionLiteral, mapLiteral, scalarLiteral } from '../literals/make.js';
import { areTypesCastable, literalTypesEqual } from './castability.js';
import { define, isPlainObject, literalMismatch, valueMismatch } from './define.js';
import { describeLiteral, describeLiteralType, describeValue } from './describe.js';
import type {
  AcceptsOf,
  AnyFlyteType,
  BindingShapeOf,
  FlyteType,
  InputOf,
  KindOf,
  ListType,
  MapType,
  OptionalType,
  ValueOf,
} from './flyte-type.js';
import { indexPath, keyPath } from './paths.js';
import { none } from './primitives.js';

/** A Flyte collection of `element`: a JS array. */
export function list<T extends AnyFlyteType>(element: T): ListType<T> {
  assertType(element, 't.list');
  const inner = element as unknown as FlyteType<ValueOf<T>, InputOf<T>>;
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'collectionType', value: clone(LiteralTypeSchema, element.literalType) },
  });
  return define({
    literalType,
    toLiteral: (value, path) => {
      if (!Array.isArray(value)) return valueMismatch(path, literalType, value);
      return collectionLiteral(value.map((item: InputOf<T>, i) => inner.toLiteral(item, indexPath(path, i))));
    },
    fromLiteral: (literal, path) => {
      if (literal.value.case !== 'collection') return literalMismatch(path, literalType, literal);
      return literal.value.value.literals.map((item, i) => inner.fromLiteral(item, indexPath(path, i)));
    },
    accepts: (value) => Array.isArray(value) && value.every((item) => element.accepts(item)),
  });
}

/** A Flyte map from string keys to `value`: a plain JS object. */
export function map<T extends AnyFlyteType>(value: T): MapType<T> {
  assertType(value, 't.map');
  const inner = value as unknown as FlyteType<ValueOf<T>, InputOf<T>>;
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'mapValueType', value: clone(LiteralTypeSchema, value.literalType) },
  });
  return define({
    literalType,
    toLiteral: (record, path) => {
      if (!isPlainObject(record)) return valueMismatch(path, literalType, record);
      const literals: { [key: string]: Literal } = {};
      for (const [k, v] of Object.entries(record))
        setOwn(literals, k, inner.toLiteral(v as InputOf<T>, keyPath(path, k)));
      return mapLiteral(literals);
    },
    fromLiteral: (literal, path) => {
      if (literal.value.case !== 'map') return literalMismatch(path, literalType, literal);
      const result: { [key: string]: ValueOf<T> } = {};
      for (const [k, v] of Object.entries(literal.value.value.literals)) {
        setOwn(result, k, inner.fromLiteral(v, keyPath(path, k)));
      }
      return result;
    },
    accepts: (record) => isPlainObject(record) && Object.values(record).every((v) => value.accepts(v)),
  });
}

/**
 * A Flyte union of the given variants; the TypeScript type is the union of theirs.
 *
 * Writing picks the variant that accepts the value; when several do, the one that accepts it exactly
 * (a whole number is exactly an integer, not a float); when still several, `AMBIGUOUS_UNION_VALUE`.
 * The literal records the chosen variant's type, as Flyte requires. Reading selects the variant by that
 * recorded type; a plain (non-union) literal is read by the single variant that can read it.
 */
export function union<const Ts extends readonly [AnyFlyteType, ...AnyFlyteType[]]>(
  ...variants: Ts
): FlyteType<
  ValueOf<Ts[number]>,
  InputOf<Ts[number]>,
  KindOf<Ts[number]>,
  AcceptsOf<Ts[number]>,
  BindingShapeOf<Ts[number]>
> {
  if (variants.length === 0) throw new DefinitionError('INVALID_TYPE', 't.union needs at least one variant');
  variants.forEach((v, i) => assertType(v, `t.union variant ${i}`));
  // Nested unions are flattened and identical variants merged (optional(optional(x)) is optional(x)):
  // Flyte tells variants apart by type, so two identical variants could never be distinguished.
  const members: FlyteType<unknown, unknown>[] = [];
  for (const variant of variants as unknown as readonly FlyteType<unknown, unknown>[]) {
    for (const member of unionMembers.get(variant) ?? [tagged(variant)]) {
      if (!members.some((m) => literalTypesEqual(m.literalType, member.literalType))) members.push(member);
    }
  }
  const literalType = create(LiteralTypeSchema, {
    type: { case: 'unionType', value: { variants: members.map((v) => clone(LiteralTypeSchema, v.literalType)) } },
  });
  const description = describeLiteralType(literalType);

  const pick = (value: unknown, path: string): FlyteType<unknown, unknown> => {
    const candidates = members.filter((v) => v.accepts(value));
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length === 0) {
      // Surface the most specific error: a collection or map that almost fits reports the bad element.
      const sameShape = members.filter((v) => shapeMatches(v.literalType, value));
      if (sameShape.length === 1) sameShape[0]!.toLiteral(value, path);
      return valueMismatch(path, literalType, value);
    }
    const exact = candidates.filter((v) => v.accepts(value, true));
    if (exact.length === 1) return exact[0]!;
    throw new LiteralTypeError(
      'AMBIGUOUS_UNION_VALUE',
      path,
      description,
      describeValue(value),
      `matches ${(exact.length > 1 ? exact : candidates).map((v) => describeLiteralType(v.literalType)).join(' and ')}`,
    );
  };

  const type = define(
    {
      literalType,
      toLiteral: (value, path) => {
        const variant = pick(value, path);
        return scalarLiteral({
          case: 'union',
          value: { value: variant.toLiteral(value, path), type: clone(LiteralTypeSchema, variant.literalType) },
        });
      },
      fromLiteral: (literal, path) => {
        if (literal.value.case === 'scalar' && literal.value.value.value.case === 'union') {
          const stored = literal.value.value.value.value;
          const inner = stored.value;
          if (inner === undefined) return literalMismatch(path, literalType, literal, 'empty union value');
          const variant = variantFor(members, stored.type);
          if (variant === undefined) {
            throw new LiteralTypeError(
              'INVALID_LITERAL',
              path,
              description,
              `union value of type ${describeLiteralType(stored.type)}`,
              'no variant has that type',
            );
          }
          return variant.fromLiteral(inner, path);
        }
        // A plain literal (e.g. written by a producer that does not wrap unions): the variant that reads it.
        const readers: unknown[] = [];
        for (const v of members) {
          try {
            readers.push(v.fromLiteral(literal, path));
          } catch {
            // not this variant
          }
        }
        if (readers.length === 1) return readers[0];
        if (readers.length === 0) return literalMismatch(path, literalType, literal);
        throw new LiteralTypeError('AMBIGUOUS_UNION_VALUE', path, description, describeLiteral(literal));
      },
      accepts: (value, exact) => {
        const candidates = members.filter((v) => v.accepts(value));
        if (candidates.length <= 1) return candidates.length === 1 && (!exact || candidates[0]!.accepts(value, true));
        return members.filter((v) => v.accepts(value, true)).length === 1;
      },
    },
    { readsUnionLiterals: true },
  );
  unionMembers.set(type, members);
  return type as unknown as FlyteType<
    ValueOf<Ts[number]>,
    InputOf<Ts[number]>,
    KindOf<Ts[number]>,
    AcceptsOf<Ts[number]>,
    BindingShapeOf<Ts[number]>
  >;
}

/** The variants of the unions built here, so that nesting a union in a union flattens it. */
const unionMembers = new WeakMap<object, readonly FlyteType<unknown, unknown>[]>();

/** `T` or none (`null`): Flyte's Optional, a union of `type` and none. An optional input may be left unbound. */
export function optional<T extends AnyFlyteType>(type: T): OptionalType<T> {
  return union(type, none()) as unknown as OptionalType<T>;
}

/**
 * flytekit tags each union variant with the name of the transformer that handles it (`structure.tag`), and
 * Flyte's castability compares tags: using the same tags makes our unions interchangeable with Python's.
 */
export function flytekitVariantTag(type: LiteralType): string | undefined {
  const ty = type.type;
  switch (ty.case) {
    case 'simple':
      switch (ty.value) {
        case SimpleType.INTEGER:
          return 'int';
        case SimpleType.FLOAT:
          return 'float';
        case SimpleType.STRING:
          return 'str';
        case SimpleType.BOOLEAN:
          return 'bool';
        case SimpleType.DATETIME:
          return 'datetime';
        case SimpleType.DURATION:
          return 'timedelta';
        case SimpleType.NONE:
          return 'none';
        case SimpleType.STRUCT:
          return type.metadata === undefined ? 'Typed Dict' : 'Object-Dataclass-Transformer';
        default:
          return undefined;
      }
    case 'collectionType':
      return 'Typed List';
    case 'mapValueType':
      return 'Typed Dict';
    case 'enumType':
      return 'DefaultEnumTransformer';
    case 'blob':
      return ty.value.dimensionality === BlobType_BlobDimensionality.MULTIPART ? 'FlyteDirectory' : 'FlyteFilePath';
    case 'structuredDatasetType':
      return 'StructuredDataset Transformer';
    case 'schema':
      return 'FlyteSchema Transformer';
    default:
      return undefined;
  }
}

/** The variant with its flytekit tag, unless it already has a tag (or there is none for its kind). */
function tagged(variant: FlyteType<unknown, unknown>): FlyteType<unknown, unknown> {
  if ((variant.literalType.structure?.tag ?? '') !== '') return variant;
  const tag = flytekitVariantTag(variant.literalType);
  if (tag === undefined) return variant;
  const literalType = clone(LiteralTypeSchema, variant.literalType);
  literalType.structure = create(TypeStructureSchema, { tag });
  return Object.freeze({ ...variant, literalType });
}

/** The variant a union literal's recorded type designates: equal type first, then the single castable one. */
function variantFor(
  members: readonly FlyteType<unknown, unknown>[],
  stored: LiteralType | undefined,
): FlyteType<unknown, unknown> | undefined {
  if (stored === undefined) return undefined;
  const equal = members.find((v) => literalTypesEqual(v.literalType, stored));
  if (equal !== undefined) return equal;
  const castable = members.filter((v) => areTypesCastable(stored, v.literalType));
  return castable.length === 1 ? castable[0] : undefined;
}

function shapeMatches(type: LiteralType, value: unknown): boolean {
  if (type.type.case === 'collectionType') return Array.isArray(value);
  if (type.type.case === 'mapValueType') return isPlainObject(value);
  return false;
}

function assertType(type: unknown, where: string): asserts type is AnyFlyteType {
  const candidate = type as Partial<AnyFlyteType> | undefined;
  if (
    candidate === undefined ||
    candidate === null ||
    typeof candidate !== 'object' ||
    candidate.literalType === undefined ||
    typeof candidate.toLiteral !== 'function'
  ) {
    throw new DefinitionError('INVALID_TYPE', `${where} expects a Flyte type (t.int(), t.list(...), ...)`);
  }
  // Before the element's type is copied (recursively): a type nesting too deep is refused first.
  checkLiteralTypeNesting(candidate.literalType, where);
}
