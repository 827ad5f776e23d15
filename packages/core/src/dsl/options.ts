// Parsing of the option values the DSL accepts in friendly forms: durations (`'5m'`), resource quantities
// (`'500m'`, `'1Gi'`), secrets and resource requests, into their IDL messages.
import { create } from '@bufbuild/protobuf';
import type { Duration } from '@bufbuild/protobuf/wkt';
import { durationFromMs } from '../literals/time.js';
import {
  ResourcesSchema,
  Resources_ResourceName as ResourceName,
  SecretSchema,
  Secret_MountType,
  type Resources,
  type Secret,
} from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';

/** A duration: milliseconds, or text such as `'90s'`, `'5m'`, `'1h30m'`, `'2d'`, `'250ms'`. */
export type DurationInput = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Milliseconds of a duration input.
 * @throws {DefinitionError} `INVALID_FORMAT` for negative, non-finite or unparseable values.
 */
export function parseDuration(input: DurationInput, what = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      throw new DefinitionError(
        'INVALID_FORMAT',
        `${what} must be a non-negative number of milliseconds, got ${input}`,
      );
    }
    return input;
  }
  const text = String(input).trim();
  let total = 0;
  let consumed = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = DURATION_PART.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new DefinitionError(
      'INVALID_FORMAT',
      `${what} ${JSON.stringify(input)} is not a duration: use milliseconds or text like '30s', '5m', '1h30m'`,
    );
  }
  return total;
}

/** A protobuf Duration of a duration input. */
export function toProtoDuration(input: DurationInput, what?: string): Duration {
  return durationFromMs(parseDuration(input, what));
}

/** Resource amounts: Kubernetes quantities (`'500m'`, `'2'`, `'1Gi'`) or plain numbers. */
export interface ResourceSpec {
  /** CPU cores (`'500m'`, `2`). */
  readonly cpu?: string | number;
  /** Memory (`'512Mi'`, `'2Gi'`). */
  readonly memory?: string | number;
  /** GPUs. */
  readonly gpu?: string | number;
  /** Storage. */
  readonly storage?: string | number;
  /** Ephemeral storage. */
  readonly ephemeralStorage?: string | number;
}

/** Requests and limits. */
export interface ResourceRequirements {
  /** What the task asks for. */
  readonly requests?: ResourceSpec;
  /** The most the task may use. */
  readonly limits?: ResourceSpec;
}

/** Kubernetes' quantity grammar (`500m`, `2`, `1.5Gi`, `1e3`, `100u`). */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** Whether `text` is a Kubernetes resource quantity. */
export function isKubernetesQuantity(text: string): boolean {
  return QUANTITY.test(text);
}
const RESOURCE_NAMES: Record<keyof ResourceSpec, ResourceName> = {
  cpu: ResourceName.CPU,
  gpu: ResourceName.GPU,
  memory: ResourceName.MEMORY,
  storage: ResourceName.STORAGE,
  ephemeralStorage: ResourceName.EPHEMERAL_STORAGE,
};

function entries(spec: ResourceSpec | undefined, what: string) {
  return Object.entries(spec ?? {}).map(([name, value]) => {
    const resource = RESOURCE_NAMES[name as keyof ResourceSpec];
    if (resource === undefined) {
      throw new DefinitionError('INVALID_DEFINITION', `${what}: unknown resource ${JSON.stringify(name)}`);
    }
    const text = typeof value === 'number' ? String(value) : String(value).trim();
    if (!QUANTITY.test(text) || text.startsWith('-')) {
      throw new DefinitionError('INVALID_FORMAT', `${what}: ${name} ${JSON.stringify(value)} is not a quantity`);
    }
    return { name: resource, value: text };
  });
}

/** The IDL Resources of requests and limits. */
export function toResources(requirements: ResourceRequirements | undefined, what: string): Resources {
  return create(ResourcesSchema, {
    requests: entries(requirements?.requests, `${what} requests`),
    limits: entries(requirements?.limits, `${what} limits`),
  });
}

/** A secret a task needs, by group and key (Flyte's secret model). */
export interface SecretRequest {
  /** Secret group (a Kubernetes secret name, a vault path, ...). */
  readonly group: string;
  /** Key within the group. */
  readonly key?: string;
  /** Version of the group, if the provider versions secrets. */
  readonly groupVersion?: string;
  /** How the task receives it: an environment variable, a file, or whichever the platform prefers. */
  readonly mount?: 'env' | 'file' | 'any';
  /** Name of the environment variable to use, when mounted as one. */
  readonly envVar?: string;
}

const MOUNTS = { any: Secret_MountType.ANY, env: Secret_MountType.ENV_VAR, file: Secret_MountType.FILE } as const;

/** The IDL Secret of a request. */
export function toSecret(request: SecretRequest, what: string): Secret {
  if (typeof request.group !== 'string' || request.group === '') {
    throw new DefinitionError('INVALID_DEFINITION', `${what}: a secret needs a group`);
  }
  const mount = MOUNTS[request.mount ?? 'any'];
  if (mount === undefined) {
    throw new DefinitionError('INVALID_DEFINITION', `${what}: secret mount must be 'env', 'file' or 'any'`);
  }
  return create(SecretSchema, {
    group: request.group,
    key: request.key ?? '',
    groupVersion: request.groupVersion ?? '',
    mountRequirement: mount,
    envVar: request.envVar ?? '',
  });
}
