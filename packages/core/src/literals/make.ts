// Small constructors for Literal and LiteralType messages, so that the rest of the code reads as
// the Flyte concepts it builds rather than as nested protobuf initializers.
import { create, isMessage, type MessageInitShape } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import {
  LiteralTypeSchema,
  ScalarSchema,
  type SimpleType,
  type Literal,
  type Primitive,
  type LiteralType,
  type Scalar,
} from '../gen/flyteidl/core/index.js';

/** Initializer of a Scalar's value oneof. */
export type ScalarInit = NonNullable<MessageInitShape<typeof ScalarSchema>['value']>;

// Literals are built as literal messages (what `create` gives, without walking the schemas): tasks make them for
// every output, and collections make one per element.

/** A Literal of a value oneof (no hash, no metadata). */
function literalOf(value: Literal['value']): Literal {
  return { $typeName: 'flyteidl.core.Literal', value, hash: '', metadata: {} };
}

/** A Literal holding a scalar. */
export function scalarLiteral(value: ScalarInit): Literal {
  const scalar: Scalar =
    value.value !== undefined && isMessage(value.value)
      ? { $typeName: 'flyteidl.core.Scalar', value: value as Scalar['value'] }
      : create(ScalarSchema, { value });
  return literalOf({ case: 'scalar', value: scalar });
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
  const primitive: Primitive = { $typeName: 'flyteidl.core.Primitive', value };
  return literalOf({
    case: 'scalar',
    value: { $typeName: 'flyteidl.core.Scalar', value: { case: 'primitive', value: primitive } },
  });
}

/** The none literal (Flyte's `Void`). */
export function noneLiteral(): Literal {
  return literalOf({
    case: 'scalar',
    value: {
      $typeName: 'flyteidl.core.Scalar',
      value: { case: 'noneType', value: { $typeName: 'flyteidl.core.Void' } },
    },
  });
}

/** A collection literal. */
export function collectionLiteral(literals: Literal[]): Literal {
  return literalOf({ case: 'collection', value: { $typeName: 'flyteidl.core.LiteralCollection', literals } });
}

/** A map literal. */
export function mapLiteral(literals: { [key: string]: Literal }): Literal {
  // The entries object is used as it is (an initializer would copy entries and drop a `__proto__` key).
  return literalOf({ case: 'map', value: { $typeName: 'flyteidl.core.LiteralMap', literals } });
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
