// TypedInterface construction from declared input and output types.
import { create } from '@bufbuild/protobuf';
import {
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
    variables[name] = create(VariableSchema, { type, description: name });
  }
  return create(VariableMapSchema, { variables });
}

/** The TypedInterface of declared inputs and outputs. */
export function typedInterface(inputs: TypeMap, outputs: TypeMap): TypedInterface {
  return typedInterfaceOf(literalTypesOf(inputs), literalTypesOf(outputs));
}

/** The TypedInterface of named literal types. */
export function typedInterfaceOf(
  inputs: { readonly [name: string]: LiteralType },
  outputs: { readonly [name: string]: LiteralType },
): TypedInterface {
  return create(TypedInterfaceSchema, { inputs: variableMap(inputs), outputs: variableMap(outputs) });
}

function literalTypesOf(types: TypeMap): { [name: string]: LiteralType } {
  const result: { [name: string]: LiteralType } = {};
  for (const [name, type] of Object.entries(types)) result[name] = type.literalType;
  return result;
}
