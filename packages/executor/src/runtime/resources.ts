// Task resources after the project-domain's defaults and limits, with Flyte's rules (flytepropeller's resource
// adjustment): a missing request takes the limit, else the platform default; a missing limit takes the request;
// both are capped at the platform limit, and the request never exceeds the limit. Values are Kubernetes
// quantities, compared by value (`1500m` < `2`, `1Gi` > `1G`), and kept as the text they were given in.
import { create } from '@bufbuild/protobuf';
import { idl, InvalidArgumentError, type ProjectDomainSettings } from '@flyte-ts/core';

const RN = idl.core.Resources_ResourceName;

/** Setting keys and the resource each names. */
const NAMES: { readonly [key: string]: idl.core.Resources_ResourceName } = {
  cpu: RN.CPU,
  gpu: RN.GPU,
  memory: RN.MEMORY,
  storage: RN.STORAGE,
  ephemeral_storage: RN.EPHEMERAL_STORAGE,
  'ephemeral-storage': RN.EPHEMERAL_STORAGE,
  ephemeralStorage: RN.EPHEMERAL_STORAGE,
};

const SUFFIXES: { readonly [suffix: string]: number } = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

/**
 * The value of a Kubernetes quantity (`500m`, `2`, `1.5Gi`, `1e3`), for comparisons.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming `id` when the text is not a quantity
 */
export function quantityValue(text: string, id: string): number {
  const match = QUANTITY.exec(text.trim());
  if (match === null) {
    throw new InvalidArgumentError(`${JSON.stringify(text)} is not a resource quantity (such as 500m, 2, 1Gi)`, {
      id,
    });
  }
  const [, number, exponent, suffix] = match;
  return Number(`${number}${exponent ?? ''}`) * SUFFIXES[suffix ?? '']!;
}

/**
 * Checks the resource defaults and limits of project-domain settings: known resource names and quantities.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the setting
 */
export function checkResourceSettings(settings: ProjectDomainSettings): void {
  const scope = `${settings.project}/${settings.domain}`;
  for (const [what, map] of [
    ['taskResourceDefaults', settings.taskResourceDefaults],
    ['taskResourceLimits', settings.taskResourceLimits],
  ] as const) {
    for (const [key, value] of Object.entries(map ?? {})) {
      const id = `${scope}.${what}.${key}`;
      if (NAMES[key] === undefined) {
        throw new InvalidArgumentError(
          `unknown resource ${JSON.stringify(key)} in ${what} of ${scope}; use cpu, gpu, memory, storage or ephemeral_storage`,
          { id },
        );
      }
      quantityValue(value, id);
    }
  }
}

/**
 * Checks that a task's resource values are quantities, so that limits can always be applied to them.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the task and resource
 */
export function checkTaskResources(resources: idl.core.Resources | undefined, task: string): void {
  for (const [what, list] of [
    ['requests', resources?.requests],
    ['limits', resources?.limits],
  ] as const) {
    for (const e of list ?? []) {
      if (e.value !== '') quantityValue(e.value, `${task}.resources.${what}.${RN[e.name] ?? e.name}`);
    }
  }
}

/** Project-domain resource settings by resource name. */
export interface PlatformResources {
  readonly defaults: ReadonlyMap<idl.core.Resources_ResourceName, string>;
  readonly limits: ReadonlyMap<idl.core.Resources_ResourceName, string>;
}

/** The platform resources of project-domain settings (undefined when they set none). */
export function platformResources(settings: ProjectDomainSettings | undefined): PlatformResources | undefined {
  const defaults = byName(settings?.taskResourceDefaults);
  const limits = byName(settings?.taskResourceLimits);
  return defaults.size === 0 && limits.size === 0 ? undefined : { defaults, limits };
}

/**
 * A task's resources with the platform's defaults and limits applied. Undefined in, undefined out when the
 * platform sets nothing.
 */
export function applyPlatformResources(
  task: idl.core.Resources | undefined,
  platform: PlatformResources | undefined,
): idl.core.Resources | undefined {
  if (platform === undefined) return task;
  const requests = entries(task?.requests);
  const limits = entries(task?.limits);
  const names = new Set([...requests.keys(), ...limits.keys(), ...platform.defaults.keys()]);
  const outRequests: idl.core.Resources_ResourceEntry[] = [];
  const outLimits: idl.core.Resources_ResourceEntry[] = [];
  for (const name of [...names].sort((a, b) => a - b)) {
    let request = requests.get(name) ?? limits.get(name) ?? platform.defaults.get(name);
    let limit = limits.get(name) ?? request;
    const cap = platform.limits.get(name);
    if (cap !== undefined) {
      request = atMost(request, cap);
      limit = atMost(limit, cap);
    }
    if (request !== undefined && limit !== undefined) request = atMost(request, limit);
    if (request !== undefined) outRequests.push(entry(name, request));
    if (limit !== undefined) outLimits.push(entry(name, limit));
  }
  return create(idl.core.ResourcesSchema, { requests: outRequests, limits: outLimits });
}

function byName(map: { readonly [key: string]: string } | undefined): Map<idl.core.Resources_ResourceName, string> {
  const out = new Map<idl.core.Resources_ResourceName, string>();
  for (const [key, value] of Object.entries(map ?? {})) {
    const name = NAMES[key];
    if (name !== undefined) out.set(name, value);
  }
  return out;
}

function entries(
  list: readonly idl.core.Resources_ResourceEntry[] | undefined,
): Map<idl.core.Resources_ResourceName, string> {
  const out = new Map<idl.core.Resources_ResourceName, string>();
  for (const e of list ?? []) if (e.value !== '' && e.name !== RN.UNKNOWN) out.set(e.name, e.value);
  return out;
}

function atMost(value: string | undefined, cap: string): string | undefined {
  if (value === undefined) return undefined;
  return quantityValue(value, 'resource') > quantityValue(cap, 'resource') ? cap : value;
}

function entry(name: idl.core.Resources_ResourceName, value: string): idl.core.Resources_ResourceEntry {
  return create(idl.core.Resources_ResourceEntrySchema, { name, value });
}
