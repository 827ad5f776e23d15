// How every Store reads the values of Flyte's filters: text as is, numbers, RFC 3339 times and enum value names,
// and which filter functions each kind of field takes. Shared so that every adapter accepts exactly the same text.
import { InvalidArgumentError } from '../errors.js';
import { formatFilters, type Filter } from './list-query.js';

/** How a field's filter values are read: text as is, numbers, RFC 3339 times, or enum value names. */
export const FILTER_VALUE_KINDS = ['text', 'number', 'time', 'enum'] as const;

/** One of {@link FILTER_VALUE_KINDS}. */
export type FilterValueKind = (typeof FILTER_VALUE_KINDS)[number];

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 timestamp (sub-millisecond digits kept as a fraction), or NaN. */
export function parseRfc3339(text: string): number {
  const match = RFC3339.exec(text);
  if (match === null) return Number.NaN;
  const [, date, time, fraction, zone] = match;
  const seconds = Date.parse(`${date}T${time}${zone === 'z' ? 'Z' : zone}`);
  return fraction === undefined ? seconds : seconds + Number(`0${fraction}`) * 1000;
}

/**
 * Nanoseconds since the epoch of an RFC 3339 timestamp, exactly (digits beyond nanoseconds are truncated), or
 * undefined when the text is not one. Accepts exactly the texts {@link parseRfc3339} accepts.
 */
export function parseRfc3339Nanos(text: string): bigint | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [, date, time, fraction, zone] = match;
  const ms = Date.parse(`${date}T${time}${zone === 'z' ? 'Z' : zone}`);
  if (!Number.isFinite(ms)) return undefined;
  const nanos = fraction === undefined ? 0n : BigInt(fraction.slice(1, 10).padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + nanos;
}

/**
 * Checks that `filter` can apply to a field of `kind`: one value (several for `value_in`), `contains` only on
 * text, no ordering (`gt`, `gte`, `lt`, `lte`) on enums, whose values have no order.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` saying what the field takes.
 */
export function checkFilterFunction(kind: FilterValueKind, filter: Filter): void {
  const text = formatFilters([filter]);
  if (filter.values.length === 0 || (filter.fn !== 'value_in' && filter.values.length !== 1)) {
    throw new InvalidArgumentError(`filter ${text} must have ${filter.fn === 'value_in' ? 'values' : 'one value'}`, {
      id: filter.field,
    });
  }
  switch (filter.fn) {
    case 'eq':
    case 'ne':
    case 'value_in':
      return;
    case 'contains':
      if (kind !== 'text') {
        throw new InvalidArgumentError(`contains applies to text fields; ${filter.field} is not one (in ${text})`, {
          id: filter.field,
        });
      }
      return;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (kind === 'enum') {
        throw new InvalidArgumentError(
          `${filter.field} takes eq, ne and value_in, not ${filter.fn} (in ${text}): its values have no order`,
          { id: filter.field },
        );
      }
      return;
    default:
      throw new InvalidArgumentError(`unknown filter function ${JSON.stringify(filter.fn)} in ${text}`, {
        id: filter.field,
      });
  }
}

/**
 * Reads one filter value for a field of `kind`: text as is; a finite number; an RFC 3339 time as milliseconds
 * since the epoch (use {@link parseRfc3339Nanos} for an exact value); an enum value name (`RUNNING`) as its
 * number, looked up in `names` (the TypeScript enum object of the field).
 * @param filterText the filter as written, quoted in error messages
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the field cannot hold the value.
 */
export function parseFilterValue(
  kind: FilterValueKind,
  value: string,
  filterText: string,
  names?: Readonly<Record<string, string | number>>,
): string | number {
  switch (kind) {
    case 'text':
      return value;
    case 'number': {
      const n = value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n)) {
        throw new InvalidArgumentError(`${JSON.stringify(value)} is not a number (in ${filterText})`, {
          id: filterText,
        });
      }
      return n;
    }
    case 'time': {
      const ms = parseRfc3339(value);
      if (!Number.isFinite(ms)) {
        throw new InvalidArgumentError(
          `${JSON.stringify(value)} is not an RFC 3339 timestamp such as 2024-05-01T12:00:00Z (in ${filterText})`,
          { id: filterText },
        );
      }
      return ms;
    }
    case 'enum': {
      const table = names ?? {};
      const n = Object.hasOwn(table, value) ? table[value] : undefined;
      if (typeof n !== 'number') {
        const valid = Object.keys(table).filter((name) => typeof table[name] === 'number');
        throw new InvalidArgumentError(
          `${JSON.stringify(value)} is not one of ${valid.join(', ')} (in ${filterText})`,
          { id: filterText },
        );
      }
      return n;
    }
    default:
      throw new InvalidArgumentError(`unknown filter value kind ${JSON.stringify(kind)}`, { id: filterText });
  }
}
