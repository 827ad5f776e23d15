// launchPlan(workflow, config): how a workflow is launched: default and fixed inputs, a schedule, labels,
// annotations, notifications, run-as identity, parallelism. Produces a LaunchPlanSpec; calling it inside a
// workflow builder launches it as a child execution.
import { create } from '@bufbuild/protobuf';
import {
  FixedRateUnit,
  LaunchPlanSpecSchema,
  LaunchPlanState,
  LaunchPlanSchema,
  NotificationSchema,
  ScheduleSchema,
  type LaunchPlan,
  type LaunchPlanSpec,
  type Notification,
  type Schedule,
} from '../gen/flyteidl/admin/index.js';
import {
  LiteralMapSchema,
  ParameterSchema,
  SecurityContextSchema,
  WorkflowExecution_Phase,
  type Literal,
  type Parameter,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { launchPlanId } from '../identifiers.js';
import { isOptionalType } from '../types/castability.js';
import type { Empty, InputsOf, TypeMap } from '../types/flyte-type.js';
import { SimpleType } from '../gen/flyteidl/core/index.js';
import {
  checkName,
  isEntity,
  recordCall,
  type CallArgs,
  type LaunchPlanLike,
  type NodeOutputs,
  type SerializationSettings,
  type WorkflowLike,
} from './entities.js';
import { variableMap } from './interface.js';
import { parseDuration, toSecret, type DurationInput, type SecretRequest } from './options.js';
import { workflowRecord } from './workflow.js';

/** A cron schedule: five fields or an alias (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`). */
export interface CronScheduleConfig<I extends TypeMap> {
  /** The cron expression. */
  readonly cron: string;
  /** IANA time zone the expression is read in (default UTC), e.g. `Europe/Paris`. */
  readonly timezone?: string;
  /** Offset of the fire times, as a Flyte duration string (CronSchedule.offset). */
  readonly offset?: string;
  /** A datetime input that receives the scheduled time of each fire. */
  readonly kickoffTimeInput?: keyof I & string;
}

/** A fixed-rate schedule: every `rate` (a whole number of minutes, hours or days). */
export interface RateScheduleConfig<I extends TypeMap> {
  /** The period: milliseconds or text such as `'15m'`, `'2h'`, `'1d'`. */
  readonly rate: DurationInput;
  /** A datetime input that receives the scheduled time of each fire. */
  readonly kickoffTimeInput?: keyof I & string;
}

/** The schedule of a launch plan. */
export type ScheduleConfig<I extends TypeMap> = CronScheduleConfig<I> | RateScheduleConfig<I>;

/** Terminal phases a notification can be sent on. */
export type NotificationPhase = 'succeeded' | 'failed' | 'aborted' | 'timed-out';

/** A notification sent when an execution of the launch plan reaches one of `on`. */
export type NotificationConfig = { readonly on: readonly NotificationPhase[] } & (
  | { readonly email: readonly string[] }
  | { readonly slack: readonly string[] }
  | { readonly pagerDuty: readonly string[] }
);

/** Configuration of a launch plan. */
export interface LaunchPlanConfig<I extends TypeMap> {
  /** Name of the launch plan (default: the workflow's name, which makes it the default launch plan). */
  readonly name?: string;
  /** Default values of inputs (callers may override them). */
  readonly defaultInputs?: Partial<InputsOf<I>>;
  /** Values of inputs fixed for every execution (callers cannot override them). */
  readonly fixedInputs?: Partial<InputsOf<I>>;
  /** A schedule: cron or fixed rate. Only the ACTIVE version of a launch plan is scheduled. */
  readonly schedule?: ScheduleConfig<I>;
  /** Labels of its executions. */
  readonly labels?: { readonly [key: string]: string };
  /** Annotations of its executions. */
  readonly annotations?: { readonly [key: string]: string };
  /** Notifications on terminal phases. */
  readonly notifications?: readonly NotificationConfig[];
  /** Identity its executions run as, and secrets available to them. */
  readonly securityContext?: {
    readonly serviceAccount?: string;
    readonly iamRole?: string;
    readonly secrets?: readonly SecretRequest[];
  };
  /** Largest number of nodes of one execution running at once (0: unlimited). */
  readonly maxParallelism?: number;
  /** Where its executions write raw data (Flyte's raw_output_data_config). */
  readonly rawOutputPrefix?: string;
  /** Recompute cached tasks and overwrite their cached results. */
  readonly overwriteCache?: boolean;
  /** Environment variables given to its tasks. */
  readonly envs?: { readonly [name: string]: string };
  /** Whether registration should make this version ACTIVE (launch plans with schedules usually are). */
  readonly activate?: boolean;
}

/** A launch plan: call it inside a workflow builder to launch it as a child execution. */
export interface LaunchPlanDefinition<
  I extends TypeMap = TypeMap,
  O extends TypeMap = TypeMap,
  D extends PropertyKey = never,
> extends LaunchPlanLike<I, O> {
  /** Records a launch of this launch plan (a child execution) in the current workflow builder. */
  (...args: CallArgs<I, D>): NodeOutputs<O>;
  /** @inheritDoc */
  readonly kind: 'launchplan';
  /** The workflow it launches. */
  readonly workflow: WorkflowLike;
  /** Its configuration, as given. */
  readonly config: LaunchPlanConfig<TypeMap>;
  /** The LaunchPlanSpec, with identifiers filled from `settings`. */
  spec(settings?: SerializationSettings): LaunchPlanSpec;
  /** The LaunchPlan message (id, spec, and an ACTIVE closure state when `activate`). */
  toLaunchPlan(settings?: SerializationSettings): LaunchPlan;
}

const PHASES: Record<NotificationPhase, WorkflowExecution_Phase> = {
  succeeded: WorkflowExecution_Phase.SUCCEEDED,
  failed: WorkflowExecution_Phase.FAILED,
  aborted: WorkflowExecution_Phase.ABORTED,
  'timed-out': WorkflowExecution_Phase.TIMED_OUT,
};

const CRON_ALIASES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

/**
 * Defines a launch plan of `workflow`:
 *
 * ```ts
 * const nightly = launchPlan(report, {
 *   name: 'demo.report.nightly',
 *   fixedInputs: { region: 'eu' },
 *   schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris', kickoffTimeInput: 'date' },
 * });
 * ```
 */
export function launchPlan<
  I extends TypeMap,
  O extends TypeMap,
  const F extends Partial<InputsOf<I>> = Empty,
  const P extends Partial<InputsOf<I>> = Empty,
  WD extends PropertyKey = never,
>(
  workflow: WorkflowLike<I, O> & { readonly __defaultKeys?: WD },
  config: LaunchPlanConfig<I> & { readonly fixedInputs?: F; readonly defaultInputs?: P } = {},
): LaunchPlanDefinition<Omit<I, keyof F>, O, keyof P | WD> {
  if (!isEntity(workflow, 'workflow')) {
    throw new DefinitionError('INVALID_DEFINITION', 'launchPlan expects a workflow');
  }
  const name = config.name ?? workflow.name;
  checkName(name, 'launch plan');
  const where = `launch plan ${name}`;
  const fixed = (config.fixedInputs ?? {}) as Record<string, unknown>;
  const given = (config.defaultInputs ?? {}) as Record<string, unknown>;
  for (const key of [...Object.keys(fixed), ...Object.keys(given)]) {
    if (!Object.hasOwn(workflow.inputs, key)) {
      throw new DefinitionError('INVALID_DEFINITION', `${where}: ${workflow.name} has no input ${key}`, { id: name });
    }
  }
  for (const key of Object.keys(fixed)) {
    if (Object.hasOwn(given, key)) {
      throw new DefinitionError('INVALID_DEFINITION', `${where}: input ${key} is both fixed and defaulted`, {
        id: name,
      });
    }
  }
  const workflowDefaults = (
    workflowRecord(workflow) === undefined ? {} : ((workflow as { defaults?: object }).defaults ?? {})
  ) as Record<string, unknown>;
  const defaults: Record<string, unknown> = { ...workflowDefaults, ...given };

  // Literals of fixed and default inputs, checked against the workflow's types now.
  const fixedLiterals: { [key: string]: Literal } = {};
  for (const [key, value] of Object.entries(fixed)) {
    fixedLiterals[key] = workflow.inputs[key]!.toLiteral(value as never, `${where}.fixedInputs.${key}`);
  }
  const parameters: { [key: string]: Parameter } = {};
  for (const [key, type] of Object.entries(workflow.inputs)) {
    if (Object.hasOwn(fixed, key)) continue;
    const variable = variableMap({ [key]: type.literalType }).variables[key];
    if (Object.hasOwn(defaults, key) && defaults[key] !== undefined) {
      const literal = type.toLiteral(defaults[key] as never, `${where}.defaultInputs.${key}`);
      parameters[key] = create(ParameterSchema, { var: variable, behavior: { case: 'default', value: literal } });
    } else if (isOptionalType(type.literalType)) {
      // The none of an optional, as a union literal (what binding or writing null gives): one cache key either way.
      const none = type.toLiteral(null as never, `${where}.defaultInputs.${key}`);
      parameters[key] = create(ParameterSchema, { var: variable, behavior: { case: 'default', value: none } });
    } else {
      parameters[key] = create(ParameterSchema, { var: variable, behavior: { case: 'required', value: true } });
    }
  }

  const schedule = config.schedule === undefined ? undefined : buildSchedule(where, config.schedule, workflow.inputs);
  const notifications = (config.notifications ?? []).map((n) => buildNotification(where, n));
  const security = config.securityContext;
  if (config.maxParallelism !== undefined && (!Number.isInteger(config.maxParallelism) || config.maxParallelism < 0)) {
    throw new DefinitionError('INVALID_DEFINITION', `${where}: maxParallelism must be a non-negative integer`, {
      id: name,
    });
  }

  const callInputs: TypeMap = Object.fromEntries(
    Object.entries(workflow.inputs).filter(([key]) => !Object.hasOwn(fixed, key)),
  );
  const id = (settings: SerializationSettings = {}) =>
    launchPlanId({
      project: settings.project ?? '',
      domain: settings.domain ?? '',
      name,
      version: settings.version ?? '',
      org: settings.org ?? '',
    });
  const spec = (settings: SerializationSettings = {}): LaunchPlanSpec =>
    create(LaunchPlanSpecSchema, {
      workflowId: workflow.id(settings),
      entityMetadata: { ...(schedule === undefined ? {} : { schedule }), notifications },
      defaultInputs: { parameters },
      fixedInputs: create(LiteralMapSchema, { literals: fixedLiterals }),
      labels: { values: { ...(config.labels ?? {}) } },
      annotations: { values: { ...(config.annotations ?? {}) } },
      ...(security === undefined
        ? {}
        : {
            securityContext: create(SecurityContextSchema, {
              runAs: { k8sServiceAccount: security.serviceAccount ?? '', iamRole: security.iamRole ?? '' },
              secrets: (security.secrets ?? []).map((s) => toSecret(s, where)),
            }),
          }),
      rawOutputDataConfig: { outputLocationPrefix: config.rawOutputPrefix ?? '' },
      maxParallelism: config.maxParallelism ?? 0,
      overwriteCache: config.overwriteCache ?? false,
      ...(config.envs === undefined
        ? {}
        : { envs: { values: Object.entries(config.envs).map(([key, value]) => ({ key, value })) } }),
    });

  const definition = function call(this: unknown, ...args: CallArgs<TypeMap, string>): NodeOutputs<O> {
    return recordCall(
      definition as unknown as LaunchPlanLike<TypeMap, O>,
      { kind: 'launchplan', entity: definition },
      args[0],
      {
        defaults,
      },
    );
  } as unknown as LaunchPlanDefinition<Omit<I, keyof F>, O, keyof P | WD>;

  Object.defineProperties(definition, {
    kind: { value: 'launchplan', enumerable: true },
    name: { value: name, enumerable: true },
    inputs: { value: callInputs, enumerable: true },
    outputs: { value: workflow.outputs, enumerable: true },
    workflow: { value: workflow, enumerable: true },
    config: { value: config, enumerable: true },
    id: { value: id },
    spec: { value: spec },
    toLaunchPlan: {
      value: (settings: SerializationSettings = {}) =>
        create(LaunchPlanSchema, {
          id: id(settings),
          spec: spec(settings),
          closure: { state: config.activate === true ? LaunchPlanState.ACTIVE : LaunchPlanState.INACTIVE },
        }),
    },
  });
  return Object.freeze(definition);
}

function buildSchedule<I extends TypeMap>(where: string, config: ScheduleConfig<I>, inputs: TypeMap): Schedule {
  const kickoff = config.kickoffTimeInput;
  if (kickoff !== undefined) {
    const type = inputs[kickoff]?.literalType;
    if (type?.type.case !== 'simple' || type.type.value !== SimpleType.DATETIME) {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `${where}: kickoffTimeInput ${kickoff} must be a datetime input`,
        {
          id: where,
        },
      );
    }
  }
  if ('cron' in config) {
    const expression = config.cron.trim();
    const fields = expression.split(/\s+/);
    if (!(CRON_ALIASES.has(expression) || fields.length === 5)) {
      throw new DefinitionError(
        'INVALID_FORMAT',
        `${where}: cron ${JSON.stringify(config.cron)} must have five fields (minute hour day month weekday) or be an alias like @hourly`,
        { id: where },
      );
    }
    const schedule = config.timezone === undefined ? expression : `CRON_TZ=${config.timezone} ${expression}`;
    return create(ScheduleSchema, {
      kickoffTimeInputArg: kickoff ?? '',
      ScheduleExpression: { case: 'cronSchedule', value: { schedule, offset: config.offset ?? '' } },
    });
  }
  const ms = parseDuration(config.rate, `${where} schedule rate`);
  const minutes = ms / 60_000;
  if (!Number.isInteger(minutes) || minutes < 1) {
    throw new DefinitionError(
      'INVALID_FORMAT',
      `${where}: a schedule rate must be a whole number of minutes (at least 1)`,
      {
        id: where,
      },
    );
  }
  const [value, unit] =
    minutes % 1440 === 0
      ? [minutes / 1440, FixedRateUnit.DAY]
      : minutes % 60 === 0
        ? [minutes / 60, FixedRateUnit.HOUR]
        : [minutes, FixedRateUnit.MINUTE];
  return create(ScheduleSchema, {
    kickoffTimeInputArg: kickoff ?? '',
    ScheduleExpression: { case: 'rate', value: { value, unit } },
  });
}

function buildNotification(where: string, config: NotificationConfig): Notification {
  const phases = config.on.map((phase) => {
    const value = PHASES[phase];
    if (value === undefined) {
      throw new DefinitionError('INVALID_DEFINITION', `${where}: unknown notification phase ${String(phase)}`, {
        id: where,
      });
    }
    return value;
  });
  if ('email' in config)
    return create(NotificationSchema, {
      phases,
      type: { case: 'email', value: { recipientsEmail: [...config.email] } },
    });
  if ('slack' in config)
    return create(NotificationSchema, {
      phases,
      type: { case: 'slack', value: { recipientsEmail: [...config.slack] } },
    });
  return create(NotificationSchema, {
    phases,
    type: { case: 'pagerDuty', value: { recipientsEmail: [...config.pagerDuty] } },
  });
}
