// TypedInterface construction from declared input and output types.
import { clone, create } from '@bufbuild/protobuf';
import {
  LiteralTypeSchema,
  TypedInterfaceSchema,
  VariableMapSchema,
  VariableSchema,
  type LiteralType,
  type TypedInterface,
  type VariableMap,
} from '../gen/flyteidl/core/index.js';
import type { TypeMap } from '../types/flyte-type.js';

/** A VariableMap of named literal types; descriptions default to the variable name, as flytekit does. */
export function variableMap(types: { readonly [name: string]: LiteralType }): VariableMap {
  const variables: VariableMap['variables'] = {};
  for (const [name, type] of Object.entries(types)) {
    // A copy: templates are the caller's to change, the types they were built from are shared.
    variables[name] = create(VariableSchema, { type: clone(LiteralTypeSchema, type), description: name });
  }
  return create(VariableMapSchema, { variables });
}

/** The TypedInterface of declared inputs and outputs. */
export function typedInterface(inputs: TypeMap, outputs: TypeMap): TypedInterface {
  return typedInterfaceOf(literalTypes(inputs), literalTypes(outputs));
}

/** The TypedInterface of named literal types. */
export function typedInterfaceOf(
  inputs: { readonly [name: string]: LiteralType },
  outputs: { readonly [name: string]: LiteralType },
): TypedInterface {
  return create(TypedInterfaceSchema, { inputs: variableMap(inputs), outputs: variableMap(outputs) });
}

/** The literal types of declared variables. */
export function literalTypes(types: TypeMap): { [name: string]: LiteralType } {
  const result: { [name: string]: LiteralType } = {};
  for (const [name, type] of Object.entries(types)) result[name] = type.literalType;
  return result;
}
