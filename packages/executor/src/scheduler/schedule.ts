// The times of a Flyte schedule (admin.Schedule): cron expressions (five fields or an alias such as @hourly,
// read in UTC or in the zone of a `CRON_TZ=<zone> ` prefix, shifted by CronSchedule.offset) through croner, and
// fixed rates (every N minutes, hours or days after the previous fire).
import { Cron } from 'croner';
import { idl, InvalidArgumentError, isFlyteError, parseDuration } from '@flyte-ts/core';

/**
 * The fire times of a schedule. Times are milliseconds since the epoch. A fixed rate has no times of its own: they
 * follow the previous fire (`after + period`), so every function is relative to the cursor it is given.
 */
export interface ScheduleTimes {
  /** `cron` or `rate`. */
  readonly kind: 'cron' | 'rate';
  /** The schedule as text, for messages (`CRON_TZ=Europe/Paris 0 9 * * *`, `every 10 minutes`). */
  readonly description: string;
  /** The first fire time strictly after `after`, or undefined when there is none (a cron such as `0 0 31 2 *`). */
  next(after: number): number | undefined;
  /** Up to `n` fire times in (`after`, `atOrBefore`], the latest first. */
  latest(n: number, after: number, atOrBefore: number): number[];
  /** Number of fire times in (`after`, `atOrBefore`], counted up to `cap`. */
  count(after: number, atOrBefore: number, cap: number): number;
}

const MINUTE_MS = 60_000;
const RATE_UNIT_MS: Record<idl.admin.FixedRateUnit, number> = {
  [idl.admin.FixedRateUnit.MINUTE]: MINUTE_MS,
  [idl.admin.FixedRateUnit.HOUR]: 60 * MINUTE_MS,
  [idl.admin.FixedRateUnit.DAY]: 24 * 60 * MINUTE_MS,
};
const RATE_UNIT_NAME: Record<idl.admin.FixedRateUnit, string> = {
  [idl.admin.FixedRateUnit.MINUTE]: 'minute',
  [idl.admin.FixedRateUnit.HOUR]: 'hour',
  [idl.admin.FixedRateUnit.DAY]: 'day',
};

/**
 * Reads a Flyte schedule:
 * - `cronSchedule` (and the deprecated `cronExpression`): five fields (minute hour day-of-month month
 *   day-of-week, day-of-month and day-of-week OR-ed when both are restricted, as in Vixie cron and Flyte's
 *   scheduler) or an alias (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`),
 *   optionally prefixed by `CRON_TZ=<IANA zone> ` (or `TZ=`); read in UTC otherwise. Across daylight-saving
 *   changes a fixed-time job (`0 9 * * *`) fires once a day, at the first valid time when its time does not
 *   exist; an interval job (`0,30 * * * *`, or with a step) follows the wall clock. `offset` (an ISO 8601 duration such as
 *   `PT5M` or `-PT30S`, or a duration text such as `5m`) shifts every fire time.
 * - `rate`: every `value` minutes, hours or days (fixed durations, not calendar days) after the previous fire.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the schedule is empty or cannot be read
 */
export function parseSchedule(schedule: idl.admin.Schedule): ScheduleTimes {
  const expression = schedule.ScheduleExpression;
  switch (expression.case) {
    case 'rate':
      return rateTimes(expression.value);
    case 'cronSchedule':
      return cronTimes(expression.value.schedule, expression.value.offset);
    case 'cronExpression':
      return cronTimes(expression.value, '');
    default:
      throw new InvalidArgumentError('the schedule has no cron expression and no rate');
  }
}

function rateTimes(rate: idl.admin.FixedRate): ScheduleTimes {
  const unit = RATE_UNIT_MS[rate.unit];
  if (unit === undefined || !Number.isSafeInteger(rate.value) || rate.value < 1) {
    throw new InvalidArgumentError(
      `a fixed rate must be a positive whole number of minutes, hours or days, not ${rate.value} of unit ${rate.unit}`,
    );
  }
  const period = rate.value * unit;
  const description = `every ${rate.value} ${RATE_UNIT_NAME[rate.unit]}${rate.value === 1 ? '' : 's'}`;
  const count = (after: number, atOrBefore: number) => Math.max(0, Math.floor((atOrBefore - after) / period));
  return {
    kind: 'rate',
    description,
    next: (after) => after + period,
    latest: (n, after, atOrBefore) => {
      const k = count(after, atOrBefore);
      const out: number[] = [];
      for (let i = k; i >= 1 && out.length < n; i--) out.push(after + i * period);
      return out;
    },
    count: (after, atOrBefore, cap) => Math.min(cap, count(after, atOrBefore)),
  };
}

const ZONE_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.+)$/;

function cronTimes(text: string, offsetText: string): ScheduleTimes {
  const trimmed = text.trim();
  const prefixed = ZONE_PREFIX.exec(trimmed);
  const zone = prefixed?.[1];
  const pattern = (prefixed?.[2] ?? trimmed).trim();
  if (zone !== undefined) checkZone(zone, text);
  if (pattern.startsWith('@') && !/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/i.test(pattern)) {
    throw new InvalidArgumentError(
      `cron ${JSON.stringify(text)}: unknown alias ${pattern} (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern.toLowerCase(), {
      paused: true,
      mode: '5-part',
      ...(zone === undefined ? {} : { timezone: zone }),
    });
  } catch (error) {
    throw new InvalidArgumentError(
      `cron ${JSON.stringify(text)} cannot be read: ${error instanceof Error ? error.message : String(error)}; use five fields (minute hour day-of-month month day-of-week) or an alias such as @hourly`,
      { cause: error },
    );
  }
  const offset = offsetText.trim() === '' ? 0 : parseOffset(offsetText, text);
  const next = (after: number) => {
    const run = cron.nextRun(new Date(after - offset));
    return run === null ? undefined : run.getTime() + offset;
  };
  return {
    kind: 'cron',
    description: offset === 0 ? trimmed : `${trimmed} (offset ${offsetText.trim()})`,
    next,
    latest: (n, after, atOrBefore) =>
      // previousRuns excludes its reference but includes earlier runs in the same second: +1 ms makes it inclusive.
      cron
        .previousRuns(n, new Date(atOrBefore - offset + 1))
        .map((d) => d.getTime() + offset)
        .filter((t) => t > after && t <= atOrBefore),
    count: (after, atOrBefore, cap) => {
      let k = 0;
      for (let t = next(after); t !== undefined && t <= atOrBefore && k < cap; t = next(t)) k++;
      return k;
    },
  };
}

function checkZone(zone: string, text: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (error) {
    throw new InvalidArgumentError(`cron ${JSON.stringify(text)}: unknown time zone ${zone} (use an IANA zone)`, {
      cause: error,
    });
  }
}

const ISO_DURATION =
  /^([+-])?P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** An ISO 8601 duration without years or months (`PT5M`, `-PT30S`, `P1DT2H`), or a duration text (`5m`). */
function parseOffset(text: string, where: string): number {
  const value = text.trim();
  const iso = ISO_DURATION.exec(value);
  if (iso !== null && value.toUpperCase() !== 'P' && !value.toUpperCase().endsWith('T')) {
    const [, sign, weeks, days, hours, minutes, seconds] = iso;
    const ms =
      Number(weeks ?? 0) * 7 * 86_400_000 +
      Number(days ?? 0) * 86_400_000 +
      Number(hours ?? 0) * 3_600_000 +
      Number(minutes ?? 0) * 60_000 +
      Number(seconds ?? 0) * 1_000;
    return Math.round(sign === '-' ? -ms : ms);
  }
  try {
    return parseDuration(value, 'offset');
  } catch (error) {
    if (!isFlyteError(error)) throw error;
    throw new InvalidArgumentError(
      `cron ${JSON.stringify(where)}: offset ${JSON.stringify(text)} is not a duration (use ISO 8601 such as PT5M or -PT30S, without years or months)`,
      { cause: error },
    );
  }
}
