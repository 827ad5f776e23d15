// Launch plans as the compiler sees them: an id and the interface a node launching them must satisfy.
import { clone, create } from '@bufbuild/protobuf';
import { checkParametersNesting, formatIdentifier, idl } from '@flyte-ts/core';

/** What the compiler needs of a launch plan a workflow launches (Flyte's InterfaceProvider). */
export interface InterfaceProvider {
  /** The launch plan's id. */
  readonly id: idl.core.Identifier;
  /** Its inputs: required ones must be bound by the node; defaulted ones may be. */
  readonly expectedInputs: idl.core.ParameterMap;
  /** Its outputs (the launched workflow's). */
  readonly expectedOutputs: idl.core.VariableMap;
  /** Inputs it fixes (not bindable by the node). */
  readonly fixedInputs?: idl.core.LiteralMap | undefined;
}

/**
 * The interface of a registered launch plan, from its closure's expected inputs and outputs (as FlyteAdmin
 * computes them at registration). The result holds copies: it never aliases the launch plan.
 */
export function launchPlanInterface(launchPlan: idl.admin.LaunchPlan): InterfaceProvider {
  return {
    id: clone(idl.core.IdentifierSchema, launchPlan.id ?? create(idl.core.IdentifierSchema)),
    expectedInputs: clone(
      idl.core.ParameterMapSchema,
      launchPlan.closure?.expectedInputs ?? create(idl.core.ParameterMapSchema),
    ),
    expectedOutputs: clone(
      idl.core.VariableMapSchema,
      launchPlan.closure?.expectedOutputs ?? create(idl.core.VariableMapSchema),
    ),
    fixedInputs:
      launchPlan.spec?.fixedInputs === undefined
        ? undefined
        : clone(idl.core.LiteralMapSchema, launchPlan.spec.fixedInputs),
  };
}

/**
 * The interface of a launch plan computed from its spec and the interface of the workflow it launches, as
 * FlyteAdmin does at registration: every workflow input that is not fixed is expected: with the launch plan's
 * default when it has one, required otherwise. The workflow's outputs are the expected outputs.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the input when a default, a fixed input or a type nests
 *   deeper than `MAX_NESTING_DEPTH`.
 */
export function launchPlanInterfaceFromSpec(
  id: idl.core.Identifier,
  spec: idl.admin.LaunchPlanSpec,
  workflowInterface: idl.core.TypedInterface | undefined,
): InterfaceProvider {
  // Before the parameters are copied (recursively): deep defaults or fixed inputs are refused.
  checkParametersNesting(spec.defaultInputs, spec.fixedInputs, `launch plan ${formatIdentifier(id)}`);
  const fixed = spec.fixedInputs?.literals ?? {};
  const defaults = spec.defaultInputs?.parameters ?? {};
  const parameters: { [name: string]: idl.core.Parameter } = {};
  for (const [name, variable] of Object.entries(workflowInterface?.inputs?.variables ?? {})) {
    if (Object.hasOwn(fixed, name)) continue;
    const parameter = Object.hasOwn(defaults, name) ? defaults[name] : undefined;
    parameters[name] =
      parameter !== undefined
        ? clone(idl.core.ParameterSchema, parameter)
        : create(idl.core.ParameterSchema, {
            var: clone(idl.core.VariableSchema, variable),
            behavior: { case: 'required', value: true },
          });
  }
  return {
    id: clone(idl.core.IdentifierSchema, id),
    expectedInputs: create(idl.core.ParameterMapSchema, { parameters }),
    expectedOutputs: clone(
      idl.core.VariableMapSchema,
      workflowInterface?.outputs ?? create(idl.core.VariableMapSchema),
    ),
    fixedInputs: spec.fixedInputs === undefined ? undefined : clone(idl.core.LiteralMapSchema, spec.fixedInputs),
  };
}

/** The CompiledLaunchPlans of a closure: each provider's id, interface and fixed inputs (copies). */
export function toCompiledLaunchPlans(providers: readonly InterfaceProvider[]): idl.core.CompiledLaunchPlan[] {
  return providers.map((provider) => {
    const inputs: { [name: string]: idl.core.Variable } = {};
    for (const [name, parameter] of Object.entries(provider.expectedInputs.parameters)) {
      if (parameter.var !== undefined) inputs[name] = clone(idl.core.VariableSchema, parameter.var);
    }
    return create(idl.core.CompiledLaunchPlanSchema, {
      template: {
        id: clone(idl.core.IdentifierSchema, provider.id),
        interface: {
          inputs: { variables: inputs },
          outputs: clone(idl.core.VariableMapSchema, provider.expectedOutputs),
        },
        ...(provider.fixedInputs === undefined
          ? {}
          : { fixedInputs: clone(idl.core.LiteralMapSchema, provider.fixedInputs) }),
      },
    });
  });
}
