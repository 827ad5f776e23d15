// Small constructors for Literal and LiteralType messages, so that the rest of the code reads as
// the Flyte concepts it builds rather than as nested protobuf initializers.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import {
  LiteralSchema,
  LiteralTypeSchema,
  ScalarSchema,
  type SimpleType,
  type Literal,
  type LiteralType,
  type Scalar,
} from '../gen/flyteidl/core/index.js';

/** Initializer of a Scalar's value oneof. */
export type ScalarInit = NonNullable<MessageInitShape<typeof ScalarSchema>['value']>;

/** A Literal holding a scalar. */
export function scalarLiteral(value: ScalarInit): Literal {
  return create(LiteralSchema, { value: { case: 'scalar', value: create(ScalarSchema, { value }) } });
}

/** A Literal holding a primitive value. */
export function primitiveLiteral(
  value:
    | { case: 'integer'; value: bigint }
    | { case: 'floatValue'; value: number }
    | { case: 'stringValue'; value: string }
    | { case: 'boolean'; value: boolean }
    | { case: 'datetime'; value: { seconds: bigint; nanos: number } }
    | { case: 'duration'; value: { seconds: bigint; nanos: number } },
): Literal {
  return scalarLiteral({ case: 'primitive', value: { value } });
}

/** The none literal (Flyte's `Void`). */
export function noneLiteral(): Literal {
  return scalarLiteral({ case: 'noneType', value: {} });
}

/** A collection literal. */
export function collectionLiteral(literals: Literal[]): Literal {
  return create(LiteralSchema, { value: { case: 'collection', value: { literals } } });
}

/** A map literal. */
export function mapLiteral(literals: { [key: string]: Literal }): Literal {
  return create(LiteralSchema, { value: { case: 'map', value: { literals } } });
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
