// task(config, fn): a typed task. The function's argument and return types are inferred from the declared
// inputs and outputs; the definition produces a Flyte TaskTemplate; inside a workflow builder, calling the
// task records a node.
import { clone, create, type JsonObject } from '@bufbuild/protobuf';
import {
  ContainerSchema,
  KeyValuePairSchema,
  RuntimeMetadata_RuntimeType,
  SecurityContextSchema,
  TaskMetadataSchema,
  TaskTemplateSchema,
  type Identifier,
  type LiteralMap,
  type TaskTemplate,
  type WorkflowExecutionIdentifier,
} from '../gen/flyteidl/core/index.js';
import { DataScope, withDataScope, type DataAccess } from '../data/access.js';
import { DefinitionError } from '../errors.js';
import { taskId } from '../identifiers.js';
import { fromLiteralMap, toLiteralMap } from '../literals/literal-map.js';
import type { Empty, InputsOf, TypeMap, ValuesOf } from '../types/flyte-type.js';
import { VERSION } from '../version.js';
import {
  checkName,
  checkVariables,
  recordCall,
  type CallArgs,
  type NodeOutputs,
  type SerializationSettings,
  type TaskLike,
} from './entities.js';
import { typedInterface } from './interface.js';
import {
  parseDuration,
  toProtoDuration,
  toResources,
  toSecret,
  type DurationInput,
  type ResourceRequirements,
  type SecretRequest,
} from './options.js';

/** Task type of TypeScript function tasks (run in-process, or in a container by `flyte-ts-execute`). */
export const FUNCTION_TASK_TYPE = 'typescript-task';

/** Image used for function tasks that name none and are serialized without a default image. */
export const DEFAULT_TASK_IMAGE = 'flyte-ts:latest';

/** Caching of a task's outputs by its input values. */
export interface TaskCacheConfig<I extends TypeMap = TypeMap> {
  /** Cache version: bump it to invalidate results of earlier versions (required). */
  readonly version: string;
  /** Run at most one instance per set of inputs at a time; others wait for its result. */
  readonly serialize?: boolean;
  /** Inputs that do not take part in the cache key. */
  readonly ignoreInputs?: readonly (keyof I & string)[];
}

/** Configuration of a task. */
export interface TaskConfig<I extends TypeMap, O extends TypeMap> {
  /** Flyte name of the task, unique in its project (`my.module.my_task`). */
  readonly name: string;
  /** Inputs: names and Flyte types (`{ x: t.float() }`). */
  readonly inputs?: I;
  /** Outputs: names and Flyte types. */
  readonly outputs?: O;
  /** Number of retries after a user error (default 0). */
  readonly retries?: number;
  /** Timeout of one attempt: milliseconds or text such as `'10m'`. */
  readonly timeout?: DurationInput;
  /** Cache the outputs by input values (Flyte's discoverable tasks). */
  readonly cache?: TaskCacheConfig<I>;
  /** Whether the task may run on interruptible (spot) capacity; unset inherits the workflow's default. */
  readonly interruptible?: boolean;
  /** Marks the task deprecated, with the message shown to users of it. */
  readonly deprecated?: string;
  /** Resource requests and limits (`{ requests: { cpu: '1', memory: '2Gi' } }`). */
  readonly resources?: ResourceRequirements;
  /** Container image when the task runs in a container (Kubernetes). */
  readonly image?: string;
  /** Environment variables of the task's container. */
  readonly env?: { readonly [name: string]: string };
  /** Secrets the task needs. */
  readonly secrets?: readonly SecretRequest[];
  /** Task type (default {@link FUNCTION_TASK_TYPE}); plugins are chosen by it. */
  readonly taskType?: string;
  /** Version of the task type's custom format (TaskTemplate.task_type_version). */
  readonly taskTypeVersion?: number;
  /** Plugin-specific configuration (TaskTemplate.custom). */
  readonly custom?: JsonObject;
  /** Plugin-specific key-values (TaskTemplate.config). */
  readonly config?: { readonly [key: string]: string };
  /** Name of the pod template to start from, on Kubernetes. */
  readonly podTemplateName?: string;
  /**
   * Module that exports the task, for `flyte-ts-execute` to load it inside a container (e.g.
   * `import.meta.url` or a package subpath).
   */
  readonly module?: string;
  /**
   * Run the function in a worker thread of the engine's function-task plugin rather than on the engine's event
   * loop: for CPU-bound tasks. The worker loads the task from `module` (required), which must export it. Inputs
   * and outputs cross the thread boundary as LiteralMaps; aborting the attempt terminates its worker.
   */
  readonly worker?: boolean;
}

/** What a running task function may use. */
export interface TaskRunContext {
  /** Aborted when the attempt is aborted or times out. */
  readonly signal: AbortSignal;
  /** Attempt number, from 0. */
  readonly attempt: number;
  /** The execution the task runs in, when run by an engine. */
  readonly execution?: WorkflowExecutionIdentifier | undefined;
  /** Prefix where the task may write raw data (files, datasets), when run by an engine. */
  readonly rawOutputPrefix?: string | undefined;
  /**
   * How file, directory and dataset values move data: the engine's blob store, the raw-output prefix uploads go
   * under, a work directory for downloads and the dataset codec. Engines set it; without it, only local files
   * (`file://` URIs and paths) can be read and returned.
   */
  readonly data?: DataAccess | undefined;
}

/** The function of a task: receives typed input values, returns output values (a promise or not). */
export type TaskFunction<I extends TypeMap, O extends TypeMap> = (
  inputs: ValuesOf<I>,
  context: TaskRunContext,
) => TaskResult<O> | Promise<TaskResult<O>>;

/** What a task function returns: every output (optional ones may be left out); nothing when it has none. */
export type TaskResult<O extends TypeMap> = [keyof O] extends [never] ? void | InputsOf<O> : InputsOf<O>;

/** A task: call it inside a workflow builder to record a node; `run` it to execute it locally. */
export interface TaskDefinition<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends TaskLike<I, O> {
  /** Records a call of the task in the current workflow builder; returns promises of its outputs. */
  (...args: CallArgs<I>): NodeOutputs<O>;
  /** @inheritDoc */
  readonly kind: 'task';
  /** The task's Flyte name. */
  readonly name: string;
  /** Its configuration, as given. */
  readonly config: TaskConfig<I, O>;
  /** The function. */
  readonly fn: TaskFunction<I, O>;
  /** The TaskTemplate, with identifiers filled from `settings`. */
  template(settings?: SerializationSettings): TaskTemplate;
  /**
   * Runs the task locally: inputs and outputs go through Flyte literals, so values are checked exactly as
   * in an execution.
   */
  run(inputs: InputsOf<I>, context?: Partial<TaskRunContext>): Promise<ValuesOf<O>>;
  /** Runs the task on a LiteralMap of inputs and returns its LiteralMap of outputs (what engines call). */
  execute(inputs: LiteralMap, context: TaskRunContext): Promise<LiteralMap>;
}

/**
 * Defines a task. The types of `fn`'s argument and result are inferred from `inputs` and `outputs`:
 *
 * ```ts
 * const square = task(
 *   { name: 'demo.square', inputs: { x: t.float() }, outputs: { y: t.float() }, cache: { version: '1' } },
 *   async ({ x }) => ({ y: x * x }),
 * );
 * ```
 * @throws {DefinitionError} `INVALID_DEFINITION` for a bad name, variable, retry count, timeout or option.
 */
export function task<const I extends TypeMap = Empty, const O extends TypeMap = Empty>(
  config: TaskConfig<I, O>,
  fn: TaskFunction<I, O>,
): TaskDefinition<I, O> {
  return defineTask(config, fn);
}

/** @internal defines a task, with extra members for task kinds built on it (dynamic tasks). */
export function defineTask<I extends TypeMap, O extends TypeMap>(
  config: TaskConfig<I, O>,
  fn: TaskFunction<I, O>,
  extra: PropertyDescriptorMap = {},
): TaskDefinition<I, O> {
  checkName(config?.name, 'task');
  const name = config.name;
  const inputs = (config.inputs ?? {}) as I;
  const outputs = (config.outputs ?? {}) as O;
  checkVariables(name, 'input', inputs);
  checkVariables(name, 'output', outputs);
  if (typeof fn !== 'function')
    throw new DefinitionError('INVALID_DEFINITION', `task ${name}: fn must be a function`, { id: name });
  if (config.retries !== undefined && (!Number.isInteger(config.retries) || config.retries < 0)) {
    throw new DefinitionError('INVALID_DEFINITION', `task ${name}: retries must be a non-negative integer`, {
      id: name,
    });
  }
  if (config.timeout !== undefined) parseDuration(config.timeout, `task ${name} timeout`);
  if (config.worker === true && (typeof config.module !== 'string' || config.module === '')) {
    throw new DefinitionError(
      'INVALID_DEFINITION',
      `task ${name}: worker tasks need module, the module that exports the task (e.g. import.meta.url)`,
      { id: name },
    );
  }
  if (config.cache !== undefined) {
    if (typeof config.cache.version !== 'string' || config.cache.version.trim() === '') {
      throw new DefinitionError('INVALID_DEFINITION', `task ${name}: cache.version must be a non-empty string`, {
        id: name,
      });
    }
    for (const ignored of config.cache.ignoreInputs ?? []) {
      if (!Object.hasOwn(inputs, ignored)) {
        throw new DefinitionError(
          'INVALID_DEFINITION',
          `task ${name}: cache.ignoreInputs names unknown input ${ignored}`,
          {
            id: name,
          },
        );
      }
    }
  }
  // Validated and built once, from the options as they are now.
  const base = buildTemplate(config, inputs, outputs, {});

  const inputsPath = { path: `${name}.inputs` };
  const outputsPath = { path: `${name}.outputs` };
  const execute = async (literals: LiteralMap, context: TaskRunContext): Promise<LiteralMap> => {
    // File, directory and dataset inputs become handles on the context's data access; local files, content and
    // rows among the outputs are uploaded under its raw-output prefix before the outputs are returned.
    const values = withDataScope(new DataScope(context.data), () => fromLiteralMap(inputs, literals, inputsPath));
    const result = (await fn(values, context)) ?? {};
    const scope = new DataScope(context.data, outputsPath.path);
    const out = withDataScope(scope, () => toLiteralMap(outputs, result as InputsOf<O>, outputsPath));
    if (scope.pending) await scope.flush();
    return out;
  };

  const definition = function call(this: unknown, ...args: CallArgs<I>): NodeOutputs<O> {
    return recordCall<I, O>(definition, { kind: 'task', entity: definition }, args[0]);
  } as TaskDefinition<I, O>;

  Object.defineProperties(definition, {
    kind: { value: 'task', enumerable: true },
    name: { value: name, enumerable: true },
    inputs: { value: inputs, enumerable: true },
    outputs: { value: outputs, enumerable: true },
    config: { value: config, enumerable: true },
    fn: { value: fn, enumerable: true },
    id: { value: (settings: SerializationSettings = {}): Identifier => idFor(name, settings) },
    template: {
      // Built once from the configuration as given; each call returns a fresh copy with the settings' id (and
      // default image), so neither later changes to the config nor to a returned template leak anywhere.
      value: (settings: SerializationSettings = {}): TaskTemplate => {
        const template = clone(TaskTemplateSchema, base);
        template.id = idFor(name, settings);
        if (config.image === undefined && settings.image !== undefined && template.target.case === 'container') {
          template.target.value.image = settings.image;
        }
        return template;
      },
    },
    execute: { value: execute },
    run: {
      value: async (values: InputsOf<I>, context: Partial<TaskRunContext> = {}): Promise<ValuesOf<O>> => {
        const literals = toLiteralMap(inputs, values, { path: `${name}.inputs` });
        const out = await execute(literals, {
          ...context,
          signal: context.signal ?? new AbortController().signal,
          attempt: context.attempt ?? 0,
        });
        return fromLiteralMap(outputs, out, { path: `${name}.outputs` });
      },
    },
    ...extra,
  });
  return Object.freeze(definition);
}

function idFor(name: string, settings: SerializationSettings): Identifier {
  return taskId({
    project: settings.project ?? '',
    domain: settings.domain ?? '',
    name,
    version: settings.version ?? '',
    org: settings.org ?? '',
  });
}

function buildTemplate<I extends TypeMap, O extends TypeMap>(
  config: TaskConfig<I, O>,
  inputs: I,
  outputs: O,
  settings: SerializationSettings,
): TaskTemplate {
  const name = config.name;
  const where = `task ${name}`;
  const args = [
    'flyte-ts-execute',
    '--inputs',
    '{{.input}}',
    '--output-prefix',
    '{{.outputPrefix}}',
    '--raw-output-data-prefix',
    '{{.rawOutputDataPrefix}}',
    '--checkpoint-path',
    '{{.checkpointOutputPrefix}}',
    '--prev-checkpoint',
    '{{.prevCheckpointPrefix}}',
    '--',
    ...(config.module === undefined ? [] : ['task-module', config.module]),
    'task-name',
    name,
  ];
  const secrets = (config.secrets ?? []).map((s) => toSecret(s, where));
  return create(TaskTemplateSchema, {
    id: idFor(name, settings),
    type: config.taskType ?? FUNCTION_TASK_TYPE,
    taskTypeVersion: config.taskTypeVersion ?? 0,
    metadata: create(TaskMetadataSchema, {
      runtime: { type: RuntimeMetadata_RuntimeType.FLYTE_SDK, version: VERSION, flavor: 'typescript' },
      retries: { retries: config.retries ?? 0 },
      ...(config.timeout === undefined ? {} : { timeout: toProtoDuration(config.timeout, `${where} timeout`) }),
      discoverable: config.cache !== undefined,
      discoveryVersion: config.cache?.version ?? '',
      cacheSerializable: config.cache?.serialize ?? false,
      cacheIgnoreInputVars: [...(config.cache?.ignoreInputs ?? [])],
      deprecatedErrorMessage: config.deprecated ?? '',
      ...(config.interruptible === undefined
        ? {}
        : { interruptibleValue: { case: 'interruptible', value: config.interruptible } }),
      podTemplateName: config.podTemplateName ?? '',
    }),
    interface: typedInterface(inputs, outputs),
    ...(config.custom === undefined ? {} : { custom: config.custom }),
    target: {
      case: 'container',
      value: create(ContainerSchema, {
        image: config.image ?? settings.image ?? DEFAULT_TASK_IMAGE,
        args,
        resources: toResources(config.resources, where),
        env: Object.entries(config.env ?? {}).map(([key, value]) => create(KeyValuePairSchema, { key, value })),
      }),
    },
    ...(secrets.length === 0 ? {} : { securityContext: create(SecurityContextSchema, { secrets }) }),
    config: { ...(config.config ?? {}) },
  });
}
