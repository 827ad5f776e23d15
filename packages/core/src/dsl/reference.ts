// References to entities registered elsewhere (by another codebase, or by flytekit): typed by the interface
// the caller declares, identified by their full id. Calling one records a node; nothing is serialized for it.
import { clone } from '@bufbuild/protobuf';
import { IdentifierSchema, type Identifier } from '../gen/flyteidl/core/index.js';
import { launchPlanId, taskId, type EntityIdParts } from '../identifiers.js';
import type { Empty, TypeMap } from '../types/flyte-type.js';
import {
  checkName,
  checkVariables,
  recordCall,
  type CallArgs,
  type LaunchPlanLike,
  type NodeOutputs,
  type TaskLike,
} from './entities.js';

/** A reference: the registered entity's full id and the interface the caller relies on. */
export interface ReferenceConfig<I extends TypeMap, O extends TypeMap> extends EntityIdParts {
  /** Inputs of the registered entity. */
  readonly inputs?: I;
  /** Outputs of the registered entity. */
  readonly outputs?: O;
}

/** A reference to a registered task. */
export interface ReferenceTask<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends TaskLike<I, O> {
  /** Records a call of the referenced task. */
  (...args: CallArgs<I>): NodeOutputs<O>;
  /** Always undefined: the task is registered elsewhere. */
  template(): undefined;
}

/** A reference to a registered launch plan. */
export interface ReferenceLaunchPlan<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends LaunchPlanLike<
  I,
  O
> {
  /** Records a launch of the referenced launch plan. */
  (...args: CallArgs<I>): NodeOutputs<O>;
  /** Always undefined: the launch plan is registered elsewhere. */
  spec(): undefined;
}

function define<I extends TypeMap, O extends TypeMap>(
  kind: 'task' | 'launchplan',
  config: ReferenceConfig<I, O>,
  id: Identifier,
): (...args: CallArgs<I>) => NodeOutputs<O> {
  checkName(config?.name, kind === 'task' ? 'task' : 'launch plan');
  const inputs = (config.inputs ?? {}) as I;
  const outputs = (config.outputs ?? {}) as O;
  checkVariables(config.name, 'input', inputs);
  checkVariables(config.name, 'output', outputs);
  const reference = function call(...args: CallArgs<I>): NodeOutputs<O> {
    const entity = reference as unknown as TaskLike<I, O> & LaunchPlanLike<I, O>;
    return recordCall<I, O>(
      entity,
      kind === 'task'
        ? { kind: 'task', entity: entity as TaskLike }
        : { kind: 'launchplan', entity: entity as LaunchPlanLike },
      args[0],
    );
  };
  Object.defineProperties(reference, {
    kind: { value: kind, enumerable: true },
    name: { value: config.name, enumerable: true },
    inputs: { value: inputs, enumerable: true },
    outputs: { value: outputs, enumerable: true },
    reference: { value: true, enumerable: true },
    id: { value: () => clone(IdentifierSchema, id) },
    ...(kind === 'task'
      ? { template: { value: () => undefined } }
      : { spec: { value: () => undefined }, workflow: { value: undefined, enumerable: true } }),
  });
  return Object.freeze(reference);
}

/** A task registered elsewhere, called by its full id with the interface given here. */
export function referenceTask<const I extends TypeMap = Empty, const O extends TypeMap = Empty>(
  config: ReferenceConfig<I, O>,
): ReferenceTask<I, O> {
  return define('task', config, taskId(config)) as unknown as ReferenceTask<I, O>;
}

/** A launch plan registered elsewhere, launched by its full id with the interface given here. */
export function referenceLaunchPlan<const I extends TypeMap = Empty, const O extends TypeMap = Empty>(
  config: ReferenceConfig<I, O>,
): ReferenceLaunchPlan<I, O> {
  return define('launchplan', config, launchPlanId(config)) as unknown as ReferenceLaunchPlan<I, O>;
}
