// What the DSL's entities (tasks, workflows, launch plans, and references to registered ones) have in
// common, and the machinery that records a call of one inside a workflow builder as a node.
import type { Identifier, TaskTemplate, WorkflowTemplate } from '../gen/flyteidl/core/index.js';
import type { LaunchPlanSpec as AdminLaunchPlanSpec } from '../gen/flyteidl/admin/index.js';
import { DefinitionError } from '../errors.js';
import type { Bindable, KindOf, OptionalKeys, TypeMap, ValueOf } from '../types/flyte-type.js';
import { bindValue, noneBinding } from './bind.js';
import { literalTypes } from './interface.js';
import { parseDuration, type ResourceRequirements } from './options.js';
import { OutputPromise, promiseNode, promiseScope } from './promise.js';
import {
  currentScope,
  type BoundValue,
  type BuilderNode,
  type NodeSettings,
  type NodeTarget,
  type WorkflowScope,
} from './scope.js';

/** Where serialized entities are registered: the parts of their identifiers the definitions do not carry. */
export interface SerializationSettings {
  /** Project of the identifiers (default: empty, as flytekit leaves it for registration to fill). */
  readonly project?: string;
  /** Domain of the identifiers (default: empty). */
  readonly domain?: string;
  /** Version of the identifiers (default: empty). */
  readonly version?: string;
  /** Organization, for multi-tenant deployments (default: empty). */
  readonly org?: string;
  /** Container image of tasks that do not name one. */
  readonly image?: string;
}

/** Anything a workflow can call: a task, a workflow, a launch plan, or a reference to a registered one. */
export interface CallableEntity<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> {
  /** The kind of entity. */
  readonly kind: 'task' | 'workflow' | 'launchplan';
  /** Its Flyte name (`my.module.my_task`). */
  readonly name: string;
  /** Input names and types. */
  readonly inputs: I;
  /** Output names and types. */
  readonly outputs: O;
  /** The identifier it is registered under, for the given settings (references have a fixed one). */
  id(settings?: SerializationSettings): Identifier;
}

/** A task, or a reference to a registered task. */
export interface TaskLike<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends CallableEntity<I, O> {
  /** @inheritDoc */
  readonly kind: 'task';
  /** The task's template; undefined for references (registered elsewhere). */
  template(settings?: SerializationSettings): TaskTemplate | undefined;
}

/** A workflow, or a reference to a registered workflow. */
export interface WorkflowLike<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends CallableEntity<I, O> {
  /** @inheritDoc */
  readonly kind: 'workflow';
  /** The workflow's template; undefined for references. */
  template(settings?: SerializationSettings): WorkflowTemplate | undefined;
  /** The entities the workflow calls directly (tasks, subworkflows, launch plans), in first-call order. */
  dependencies(): readonly (TaskLike | WorkflowLike | LaunchPlanLike)[];
}

/** A launch plan, or a reference to a registered launch plan. */
export interface LaunchPlanLike<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends CallableEntity<I, O> {
  /** @inheritDoc */
  readonly kind: 'launchplan';
  /** The launch plan's spec; undefined for references. */
  spec(settings?: SerializationSettings): AdminLaunchPlanSpec | undefined;
  /** The workflow it launches; undefined for references. */
  readonly workflow: WorkflowLike | undefined;
}

/**
 * What a call binds: promises or constants for each input. Inputs that accept none, and those named in
 * `D` (inputs with defaults), may be left out.
 */
export type CallInputs<I extends TypeMap, D extends PropertyKey = never> = {
  [K in Exclude<keyof I, OptionalKeys<I> | D>]: Bindable<I[K]>;
} & {
  [K in Extract<keyof I, OptionalKeys<I> | D>]?: Bindable<I[K]>;
};

/** The arguments of a call: the inputs object, optional when no input is required. */
export type CallArgs<I extends TypeMap, D extends PropertyKey = never> = [
  Exclude<keyof I, OptionalKeys<I> | D>,
] extends [never]
  ? [inputs?: CallInputs<I, D>]
  : [inputs: CallInputs<I, D>];

/** Per-node overrides of a call. */
export interface NodeOverrides {
  /** Node id (default: `n0`, `n1`, ... in call order). */
  readonly id?: string;
  /** Display name of the node (default: the last segment of the entity's name). */
  readonly name?: string;
  /** Timeout: milliseconds or text such as `'5m'`. */
  readonly timeout?: number | string;
  /** Number of retries of the node. */
  readonly retries?: number;
  /** Whether the node may run on interruptible capacity. */
  readonly interruptible?: boolean;
  /** Node-level caching: off, or on with a version (and serialization). */
  readonly cache?: false | { readonly version: string; readonly serialize?: boolean };
  /** Resource overrides (task nodes). */
  readonly resources?: ResourceRequirements;
  /** Container image override (task nodes). */
  readonly image?: string;
}

/** A handle on a recorded node: its id, ordering and overrides. */
export interface NodeHandle {
  /** The node (its `id` is final once the workflow builder returns). */
  readonly node: { readonly id: string };
  /** Makes this node run before `others`, even without a data dependency. Returns this handle. */
  runsBefore(...others: readonly NodeHandle[]): this;
  /** Overrides node settings (id, name, timeout, retries, interruptible, cache, resources, image). */
  withOverrides(overrides: NodeOverrides): this;
}

/** Promises of a node's outputs, plus its {@link NodeHandle}. */
export type NodeOutputs<O extends TypeMap> = {
  readonly [K in keyof O]: OutputPromise<ValueOf<O[K]>, KindOf<O[K]>>;
} & NodeHandle;

/** Output and input names that would collide with a {@link NodeHandle} member. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['node', 'runsBefore', 'withOverrides']);

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\-:]*$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Whether `value` is an entity of `kind` defined by this DSL (entities are callable objects). */
export function isEntity(value: unknown, kind: CallableEntity['kind']): boolean {
  return typeof value === 'function' && (value as Partial<CallableEntity>).kind === kind;
}

/** Checks an entity name. */
export function checkName(name: unknown, kind: string): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new DefinitionError(
      'INVALID_DEFINITION',
      `${kind} name ${JSON.stringify(name)} is invalid: use letters, digits, '_', '.', '-' (e.g. my.module.my_${kind})`,
      { id: typeof name === 'string' ? name : undefined },
    );
  }
}

/** Checks the variables of an interface: identifiers, not reserved, with Flyte types. */
export function checkVariables(owner: string, direction: 'input' | 'output', types: TypeMap | undefined): void {
  for (const [name, type] of Object.entries(types ?? {})) {
    if (!VARIABLE.test(name) || name === '__proto__') {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${owner}: ${direction} name ${JSON.stringify(name)} is not an identifier`,
        {
          id: owner,
        },
      );
    }
    if (RESERVED_NAMES.has(name)) {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${owner}: ${direction} name ${JSON.stringify(name)} is reserved (node handles have a member of that name)`,
        { id: owner },
      );
    }
    if (type === null || typeof type !== 'object' || !('literalType' in type)) {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${owner}: ${direction} ${name} needs a Flyte type (t.int(), ...)`,
        {
          id: owner,
        },
      );
    }
  }
}

/** The default display name of a node calling `entityName`: its last dotted segment. */
export function shortName(entityName: string): string {
  const dot = entityName.lastIndexOf('.');
  return dot < 0 ? entityName : entityName.slice(dot + 1);
}

/**
 * Converts the inputs of a call into recorded bindings: every declared input bound once (optional ones
 * default to none), no undeclared input.
 */
export function bindInputs(
  owner: string,
  declared: TypeMap,
  given: object | undefined,
  scopeCheck: (promise: OutputPromise<unknown, string>, path: string) => void,
  defaults: { readonly [name: string]: unknown } = {},
): Map<string, BoundValue> {
  const values = (given ?? {}) as Record<string, unknown>;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new DefinitionError(
      'INVALID_BINDING',
      `${owner}: inputs must be an object of input names to values or promises`,
      {
        id: owner,
      },
    );
  }
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(declared, name)) {
      throw new DefinitionError(
        'INVALID_BINDING',
        `${owner}: no input named ${name} (inputs: ${Object.keys(declared).join(', ') || 'none'})`,
        { id: `${owner}.${name}` },
      );
    }
  }
  const bound = new Map<string, BoundValue>();
  // Bindings are recorded in input-name order, as flytekit serializes them.
  for (const [name, type] of Object.entries(declared).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // An input given explicitly (null included) wins over the default; only an absent one is defaulted.
    const given = Object.hasOwn(values, name) ? values[name] : undefined;
    const value = given !== undefined ? given : Object.hasOwn(defaults, name) ? defaults[name] : undefined;
    if (value === undefined) {
      const none = noneBinding(type.literalType);
      if (none === undefined) {
        throw new DefinitionError('MISSING_INPUT', `${owner}: input ${name} (${type.description}) is not bound`, {
          id: `${owner}.${name}`,
        });
      }
      bound.set(name, none);
      continue;
    }
    bound.set(name, bindValue(value, type.literalType, `${owner}.${name}`, scopeCheck));
  }
  return bound;
}

/** Records a call of `entity` in the current workflow scope and returns its output promises. */
export function recordCall<I extends TypeMap, O extends TypeMap>(
  entity: CallableEntity<I, O>,
  target: NodeTarget,
  inputs: object | undefined,
  options: { readonly defaults?: { readonly [name: string]: unknown }; readonly settings?: Partial<NodeSettings> } = {},
): NodeOutputs<O> {
  const scope = currentScope(entity.name);
  const owner = `${scope.workflowName}: call of ${entity.name}`;
  const bound = bindInputs(
    owner,
    entity.inputs,
    inputs,
    (promise, path) => checkPromiseScope(scope, promise, path),
    options.defaults,
  );
  const node = scope.add({
    target,
    inputs: bound,
    outputs: literalTypes(entity.outputs),
    settings: { name: shortName(entity.name), ...options.settings },
  });
  return nodeOutputs<O>(node);
}

/** Throws unless `promise` may be used in `scope`. */
export function checkPromiseScope(scope: WorkflowScope, promise: OutputPromise<unknown, string>, path: string): void {
  if (!scope.sees(promiseScope(promise))) {
    const from =
      promiseScope(promise).workflowName === scope.workflowName
        ? 'another branch case'
        : `workflow ${promiseScope(promise).workflowName}`;
    throw new DefinitionError(
      'INVALID_BINDING',
      `${path}: the promise ${describePromise(promise)} belongs to ${from} and cannot be used here`,
      { id: path },
    );
  }
}

/** `n0.o0`, `inputs.x`, `n1.xs[0]` */
export function describePromise(promise: OutputPromise<unknown, string>): string {
  const node = promiseNode(promise);
  const base = node === undefined ? `inputs.${promise.var}` : `${node.id}.${promise.var}`;
  return base + promise.attrPath.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
}

/** Builds the outputs object of a recorded node: a promise per output plus the node handle. */
export function nodeOutputs<O extends TypeMap>(node: BuilderNode): NodeOutputs<O> {
  const handle: NodeHandle & Record<string, unknown> = {
    node: {
      get id() {
        return node.id;
      },
    },
    runsBefore(...others: readonly NodeHandle[]) {
      assertBuilding(node, 'runsBefore');
      for (const other of others) {
        const target = nodeOf(other);
        if (target === undefined) {
          throw new DefinitionError(
            'INVALID_BINDING',
            `${node.id}.runsBefore: expects node handles (the result of a call)`,
          );
        }
        if (target.scope !== node.scope) {
          throw new DefinitionError(
            'INVALID_BINDING',
            `${node.id}.runsBefore(${target.id}): both nodes must be in the same workflow (or branch case)`,
            { id: target.id },
          );
        }
        target.after.add(node);
      }
      return this;
    },
    withOverrides(overrides: NodeOverrides) {
      assertBuilding(node, 'withOverrides');
      applyOverrides(node, overrides);
      return this;
    },
  };
  handles.set(handle, node);
  for (const [name, type] of Object.entries(node.outputs)) {
    handle[name] = new OutputPromise(node.scope, node, name, type);
  }
  return Object.freeze(handle) as unknown as NodeOutputs<O>;
}

const handles = new WeakMap<object, BuilderNode>();

/** Nodes change only while their workflow's builder runs: a defined workflow is final. */
function assertBuilding(node: BuilderNode, what: string): void {
  let scope: WorkflowScope | undefined = node.scope;
  while (scope !== undefined && !scope.active) scope = scope.parent;
  if (scope === undefined) {
    throw new DefinitionError(
      'NOT_IN_WORKFLOW',
      `${node.id}.${what}: the workflow ${node.scope.workflowName} is already defined; call it inside the builder`,
      { id: node.id },
    );
  }
}

/** The node behind a handle, if it is one. */
export function nodeOf(handle: unknown): BuilderNode | undefined {
  return typeof handle === 'object' && handle !== null ? handles.get(handle) : undefined;
}

function applyOverrides(node: BuilderNode, overrides: NodeOverrides): void {
  const where = `node ${node.id}`;
  if (overrides.id !== undefined) {
    if (!NODE_ID.test(overrides.id) || overrides.id === 'start-node' || overrides.id === 'end-node') {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${where}: node id ${JSON.stringify(overrides.id)} is invalid or reserved`,
        {
          id: overrides.id,
        },
      );
    }
    node.id = overrides.id;
  }
  const s: NodeSettings = node.settings;
  if (overrides.name !== undefined) s.name = overrides.name;
  if (overrides.timeout !== undefined) s.timeoutMs = parseDuration(overrides.timeout, `${where} timeout`);
  if (overrides.retries !== undefined) {
    if (!Number.isInteger(overrides.retries) || overrides.retries < 0) {
      throw new DefinitionError('INVALID_DEFINITION', `${where}: retries must be a non-negative integer`, {
        id: node.id,
      });
    }
    s.retries = overrides.retries;
  }
  if (overrides.interruptible !== undefined) s.interruptible = overrides.interruptible;
  if (overrides.cache !== undefined) {
    s.cache =
      overrides.cache === false
        ? { enabled: false }
        : {
            enabled: true,
            version: overrides.cache.version,
            ...(overrides.cache.serialize === undefined ? {} : { serialize: overrides.cache.serialize }),
          };
  }
  if (overrides.resources !== undefined || overrides.image !== undefined) {
    if (node.target.kind !== 'task' && node.target.kind !== 'array') {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${where}: resources and image can only be overridden on task nodes`,
        {
          id: node.id,
        },
      );
    }
    if (overrides.resources !== undefined) s.resources = overrides.resources;
    if (overrides.image !== undefined) s.image = overrides.image;
  }
}
