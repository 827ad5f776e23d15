// Launch plans as the compiler sees them: an id and the interface a node launching them must satisfy.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';

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
 * computes them at registration).
 */
export function launchPlanInterface(launchPlan: idl.admin.LaunchPlan): InterfaceProvider {
  return {
    id: launchPlan.id ?? create(idl.core.IdentifierSchema),
    expectedInputs: launchPlan.closure?.expectedInputs ?? create(idl.core.ParameterMapSchema),
    expectedOutputs: launchPlan.closure?.expectedOutputs ?? create(idl.core.VariableMapSchema),
    fixedInputs: launchPlan.spec?.fixedInputs,
  };
}

/**
 * The interface of a launch plan computed from its spec and the interface of the workflow it launches, as
 * FlyteAdmin does at registration: default inputs minus fixed ones are the expected inputs; the workflow's
 * outputs are the expected outputs.
 */
export function launchPlanInterfaceFromSpec(
  id: idl.core.Identifier,
  spec: idl.admin.LaunchPlanSpec,
  workflowInterface: idl.core.TypedInterface | undefined,
): InterfaceProvider {
  const fixed = new Set(Object.keys(spec.fixedInputs?.literals ?? {}));
  const parameters: { [name: string]: idl.core.Parameter } = {};
  for (const [name, parameter] of Object.entries(spec.defaultInputs?.parameters ?? {})) {
    if (!fixed.has(name)) parameters[name] = parameter;
  }
  return {
    id,
    expectedInputs: create(idl.core.ParameterMapSchema, { parameters }),
    expectedOutputs: workflowInterface?.outputs ?? create(idl.core.VariableMapSchema),
    fixedInputs: spec.fixedInputs,
  };
}

/** The CompiledLaunchPlans of a closure: each provider's id, interface and fixed inputs. */
export function toCompiledLaunchPlans(providers: readonly InterfaceProvider[]): idl.core.CompiledLaunchPlan[] {
  return providers.map((provider) => {
    const inputs: { [name: string]: idl.core.Variable } = {};
    for (const [name, parameter] of Object.entries(provider.expectedInputs.parameters)) {
      if (parameter.var !== undefined) inputs[name] = parameter.var;
    }
    return create(idl.core.CompiledLaunchPlanSchema, {
      template: {
        id: provider.id,
        interface: { inputs: { variables: inputs }, outputs: provider.expectedOutputs },
        ...(provider.fixedInputs === undefined ? {} : { fixedInputs: provider.fixedInputs }),
      },
    });
  });
}
