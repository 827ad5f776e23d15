// Small constructors for Literal and LiteralType messages, so that the rest of the code reads as
// the Flyte concepts it builds rather than as nested protobuf initializers.
import { create, isMessage, type MessageInitShape } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import {
  LiteralSchema,
  LiteralTypeSchema,
  LiteralCollectionSchema,
  LiteralMapSchema,
  PrimitiveSchema,
  ScalarSchema,
  type SimpleType,
  type Literal,
  type LiteralType,
  type Scalar,
} from '../gen/flyteidl/core/index.js';

/** Initializer of a Scalar's value oneof. */
export type ScalarInit = NonNullable<MessageInitShape<typeof ScalarSchema>['value']>;

// Literals are built by assigning fields of default messages: about three times faster than nested
// initializers, which matters for collections of many elements.

/** A Literal holding a scalar. */
export function scalarLiteral(value: ScalarInit): Literal {
  const scalar = create(ScalarSchema);
  if (value.value !== undefined && isMessage(value.value)) {
    scalar.value = value as Scalar['value'];
  } else {
    scalar.value = create(ScalarSchema, { value }).value;
  }
  const literal = create(LiteralSchema);
  literal.value = { case: 'scalar', value: scalar };
  return literal;
}

/** A Literal holding a primitive value. */
export function primitiveLiteral(
  value:
    | { case: 'integer'; value: bigint }
    | { case: 'floatValue'; value: number }
    | { case: 'stringValue'; value: string }
    | { case: 'boolean'; value: boolean }
    | { case: 'datetime'; value: Timestamp }
    | { case: 'duration'; value: Duration },
): Literal {
  const primitive = create(PrimitiveSchema);
  primitive.value = value;
  return scalarLiteral({ case: 'primitive', value: primitive });
}

/** The none literal (Flyte's `Void`). */
export function noneLiteral(): Literal {
  return scalarLiteral({ case: 'noneType', value: {} });
}

/** A collection literal. */
export function collectionLiteral(literals: Literal[]): Literal {
  const literal = create(LiteralSchema);
  literal.value = { case: 'collection', value: create(LiteralCollectionSchema) };
  literal.value.value.literals = literals;
  return literal;
}

/** A map literal. */
export function mapLiteral(literals: { [key: string]: Literal }): Literal {
  // Assigned, not passed to an initializer (which copies entries and would drop a `__proto__` key).
  const map = create(LiteralMapSchema);
  map.literals = literals;
  const literal = create(LiteralSchema);
  literal.value = { case: 'map', value: map };
  return literal;
}

/** A struct (google.protobuf.Struct) literal. */
export function structLiteral(value: JsonObject): Literal {
  return scalarLiteral({ case: 'generic', value });
}

/** A LiteralType of a simple type. */
export function simpleType(simple: SimpleType): LiteralType {
  return create(LiteralTypeSchema, { type: { case: 'simple', value: simple } });
}

/** The scalar of a literal, or undefined when the literal is not a scalar. */
export function scalarOf(literal: Literal): Scalar | undefined {
  return literal.value.case === 'scalar' ? literal.value.value : undefined;
}
