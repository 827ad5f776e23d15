// Names of schedules and of the executions they fire. Both derive from the launch plan NAME (org, project,
// domain, name), never its version: the bookkeeping of a schedule continues across version swaps, and one
// scheduled time gets one execution name whichever version, process or retry fires it.
import type { idl } from '@flyte-ts/core';
import { shortHash } from '../runtime/names.js';

/** The Store key of a launch plan's schedule bookkeeping: `project/domain/name` (prefixed by `org:` when set). */
export function scheduleKey(launchPlan: Pick<idl.core.Identifier, 'org' | 'project' | 'domain' | 'name'>): string {
  const base = `${launchPlan.project}/${launchPlan.domain}/${launchPlan.name}`;
  return launchPlan.org === '' ? base : `${launchPlan.org}:${base}`;
}

/**
 * The execution name of the fire of a launch plan at `scheduledTime`: `<launch plan name>-<UTC time>-<hash>`, e.g.
 * `demo-stats-nightly-20260101t030000-k3m9q2x7a1bz`. The readable part is the name, lowercased with every other
 * character a `-` and cut to 28 characters, then the time to the second; the hash (60 bits of SHA-256 over org,
 * project, domain, name and the time in ms) tells apart names that read the same. Valid as an execution name
 * (starts with a letter; lowercase letters, digits and `-`; at most 60 characters) and deterministic.
 */
export function scheduledExecutionName(
  launchPlan: Pick<idl.core.Identifier, 'org' | 'project' | 'domain' | 'name'>,
  scheduledTime: Date,
): string {
  const ms = scheduledTime.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('scheduledTime is not a valid date');
  let readable = launchPlan.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 28)
    .replace(/-+$/, '');
  if (!/^[a-z]/.test(readable)) readable = `s${readable}`.slice(0, 28).replace(/-+$/, '');
  const time = scheduledTime
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .toLowerCase()
    .replace(/[^0-9t]/g, '');
  const hash = shortHash(
    [launchPlan.org, launchPlan.project, launchPlan.domain, launchPlan.name, String(ms)].join('\n'),
    12,
  );
  return `${readable}-${time}-${hash}`;
}
