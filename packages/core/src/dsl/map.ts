// map(task, options)(inputs): runs a task over lists (Flyte's ArrayNode): each mapped input is a list and the
// task runs once per index; `bound` inputs are passed whole to every run. Outputs are lists, of optionals
// when some runs may fail (minSuccessRatio below 1, or minSuccesses).
import type { LiteralType } from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { list, optional } from '../types/containers.js';
import type {
  AnyFlyteType,
  Bindable,
  Empty,
  ListType,
  OptionalKeys,
  OptionalType,
  TypeMap,
} from '../types/flyte-type.js';
import { dnsify } from './dnsify.js';
import {
  bindInputs,
  checkPromiseScope,
  isEntity,
  nodeOutputs,
  shortName,
  type NodeOutputs,
  type TaskLike,
} from './entities.js';
import { currentScope } from './scope.js';

/** Options of {@link map}. */
export interface MapOptions<B extends string = string> {
  /** Largest number of runs at once (default: unbounded). */
  readonly concurrency?: number;
  /** Fraction of runs that must succeed (default 1). */
  readonly minSuccessRatio?: number;
  /** Number of runs that must succeed (instead of a ratio). */
  readonly minSuccesses?: number;
  /** Inputs passed whole to every run rather than mapped (Flyte's bound inputs). */
  readonly bound?: readonly B[];
}

/** An ArrayNode as recorded. */
export interface ArrayRecord {
  /** The task run per index. */
  readonly entity: TaskLike;
  /** Id of the sub-node (the task's DNS-safe name, as flytekit names it). */
  readonly subNodeId: string;
  /** Largest number of runs at once. */
  readonly parallelism: number | undefined;
  /** Number of runs that must succeed. */
  readonly minSuccesses: number | undefined;
  /** Fraction of runs that must succeed. */
  readonly minSuccessRatio: number | undefined;
  /** Inputs passed whole. */
  readonly bound: readonly string[];
}

type BoundOf<Opts> = Opts extends { readonly bound: readonly (infer B)[] } ? B & string : never;

type AllowsFailures<Opts> = Opts extends { readonly minSuccessRatio: 1 }
  ? false
  : Opts extends { readonly minSuccessRatio: number } | { readonly minSuccesses: number }
    ? true
    : false;

/** Inputs of a mapped call: lists for mapped inputs, single values for bound ones. */
export type MapInputs<I extends TypeMap, B extends string> = {
  [K in Exclude<keyof I, B>]: Bindable<ListType<I[K]>>;
} & {
  [K in Exclude<Extract<keyof I, B>, OptionalKeys<I>>]: Bindable<I[K]>;
} & {
  [K in Extract<Extract<keyof I, B>, OptionalKeys<I>>]?: Bindable<I[K]>;
};

/** Outputs of a mapped call: a list per output (of optionals when runs may fail). */
export type MapOutputs<O extends TypeMap, Opts> = {
  readonly [K in keyof O]: AllowsFailures<Opts> extends true ? ListType<OptionalType<O[K]>> : ListType<O[K]>;
};

/**
 * Maps a task over lists:
 *
 * ```ts
 * const squares = map(square, { concurrency: 4 })({ x: xs });   // squares.y: list<float>
 * const scaled = map(scale, { bound: ['factor'] })({ x: xs, factor: 2 });
 * ```
 */
export function map<I extends TypeMap, O extends TypeMap, const Opts extends MapOptions<keyof I & string> = Empty>(
  task: TaskLike<I, O>,
  options?: Opts,
): (inputs: MapInputs<I, BoundOf<Opts>>) => NodeOutputs<MapOutputs<O, Opts>> {
  if (!isEntity(task, 'task')) {
    throw new DefinitionError('INVALID_DEFINITION', 'map expects a task');
  }
  const name = `map(${task.name})`;
  const opts: MapOptions = options ?? {};
  const bound = [...(opts.bound ?? [])];
  for (const b of bound) {
    if (!Object.hasOwn(task.inputs, b)) {
      throw new DefinitionError('INVALID_DEFINITION', `${name}: bound input ${b} is not an input of the task`, {
        id: task.name,
      });
    }
  }
  if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 0)) {
    throw new DefinitionError('INVALID_DEFINITION', `${name}: concurrency must be a non-negative integer`, {
      id: task.name,
    });
  }
  if (opts.minSuccessRatio !== undefined && !(opts.minSuccessRatio >= 0 && opts.minSuccessRatio <= 1)) {
    throw new DefinitionError('INVALID_DEFINITION', `${name}: minSuccessRatio must be between 0 and 1`, {
      id: task.name,
    });
  }
  if (opts.minSuccesses !== undefined && (!Number.isInteger(opts.minSuccesses) || opts.minSuccesses < 0)) {
    throw new DefinitionError('INVALID_DEFINITION', `${name}: minSuccesses must be a non-negative integer`, {
      id: task.name,
    });
  }
  if (opts.minSuccesses !== undefined && opts.minSuccessRatio !== undefined) {
    throw new DefinitionError('INVALID_DEFINITION', `${name}: give minSuccesses or minSuccessRatio, not both`, {
      id: task.name,
    });
  }
  const allowsFailures =
    opts.minSuccesses !== undefined || (opts.minSuccessRatio !== undefined && opts.minSuccessRatio < 1);

  // The ArrayNode's interface: mapped inputs and every output become lists.
  const inputs: Record<string, AnyFlyteType> = {};
  for (const [key, type] of Object.entries(task.inputs)) {
    inputs[key] = (bound.includes(key) ? type : list(type)) as AnyFlyteType;
  }
  const outputs: Record<string, LiteralType> = {};
  for (const [key, type] of Object.entries(task.outputs)) {
    outputs[key] = list(allowsFailures ? optional(type) : type).literalType;
  }

  return (given) => {
    const scope = currentScope(name);
    const owner = `${scope.workflowName}: ${name}`;
    const bindings = bindInputs(owner, inputs, given, (promise, path) => checkPromiseScope(scope, promise, path));
    const node = scope.add({
      target: {
        kind: 'array',
        array: {
          entity: task as unknown as TaskLike,
          subNodeId: dnsify(task.name),
          parallelism: opts.concurrency,
          minSuccesses: opts.minSuccesses,
          minSuccessRatio: opts.minSuccesses === undefined ? (opts.minSuccessRatio ?? 1) : undefined,
          bound,
        },
      },
      inputs: bindings,
      outputs,
      settings: { name: shortName(task.name) },
    });
    return nodeOutputs(node);
  };
}
