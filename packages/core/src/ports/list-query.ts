// List queries shared by every Store: Flyte's filter language (`eq(phase,RUNNING)+gte(duration,100)`),
// sort keys and opaque page tokens. Parsing lives here so that every adapter accepts exactly the same text.
import { InvalidArgumentError, type UnreadableRecordError } from '../errors.js';

/** The filter functions of Flyte's filter language. */
export const FILTER_FUNCTIONS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'value_in'] as const;

/** One of {@link FILTER_FUNCTIONS}. */
export type FilterFunction = (typeof FILTER_FUNCTIONS)[number];

/** One parsed filter: `fn(field,value)`; `value_in` has several values (written `a;b;c`). */
export interface Filter {
  /** The comparison. */
  readonly fn: FilterFunction;
  /** The field as written, e.g. `phase` or `workflow.name`. */
  readonly field: string;
  /** The values, as strings: each Store interprets them for the field (phase names, seconds, timestamps). */
  readonly values: readonly string[];
}

/** Sort direction. */
export type SortDirection = 'asc' | 'desc';

/** A list query: filters (all must hold), sort order and pagination. */
export interface ListQuery {
  /** Filters joined by AND. Parse Flyte's text form with {@link parseFilters}. */
  readonly filters?: readonly Filter[];
  /** Field to sort by and direction; each Store documents the default. */
  readonly sortBy?: { readonly key: string; readonly direction: SortDirection };
  /** Page size (each Store caps it; the default is 100). */
  readonly limit?: number;
  /** Opaque token from a previous page's `nextToken`. */
  readonly token?: string;
}

/** One page of results. */
export interface Page<T> {
  /** The items of this page. */
  readonly items: readonly T[];
  /** Token of the next page; undefined on the last page. */
  readonly nextToken?: string | undefined;
  /**
   * Records of this page the Store holds but cannot decode (corrupt, or nested deeper than protobuf readers
   * accept, as an older version could write them): each is an `UNREADABLE_RECORD` error whose `id` names the
   * record, left out of `items` so that one bad record never fails a whole list. They count toward the page's
   * limit. Absent when every record of the page was read; reading such a record by its id fails the same way.
   */
  readonly unreadable?: readonly UnreadableRecordError[] | undefined;
}

const FILTER_PATTERN = /^([a-z_]+)\(([A-Za-z0-9_.]+),(.*)\)$/s;
const FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/**
 * Parses Flyte's filter text: filters `fn(field,value)` joined by `+`; `value_in` takes values separated
 * by `;`. Field names are identifiers, optionally qualified by an entity (`workflow.name`).
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the malformed filter.
 */
export function parseFilters(text: string): Filter[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return splitTopLevel(trimmed).map((part) => {
    const match = FILTER_PATTERN.exec(part.trim());
    if (match === null) {
      throw new InvalidArgumentError(`malformed filter ${JSON.stringify(part)}: expected fn(field,value)`, {
        id: part,
      });
    }
    const [, fn, field, raw] = match as unknown as [string, string, string, string];
    if (!(FILTER_FUNCTIONS as readonly string[]).includes(fn)) {
      throw new InvalidArgumentError(
        `unknown filter function ${JSON.stringify(fn)} in ${JSON.stringify(part)}; use one of ${FILTER_FUNCTIONS.join(', ')}`,
        { id: part },
      );
    }
    if (!FIELD_PATTERN.test(field)) {
      throw new InvalidArgumentError(`malformed filter field ${JSON.stringify(field)}`, { id: part });
    }
    const values = fn === 'value_in' ? raw.split(';') : [raw];
    if (values.some((v) => v === '') && fn !== 'eq' && fn !== 'ne') {
      throw new InvalidArgumentError(`filter ${JSON.stringify(part)} has an empty value`, { id: part });
    }
    return { fn: fn as FilterFunction, field, values };
  });
}

/** Splits on `+` outside parentheses (values may contain `+` inside a function call). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === '+' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Formats filters back to Flyte's text form (the inverse of {@link parseFilters}). */
export function formatFilters(filters: readonly Filter[]): string {
  return filters.map((f) => `${f.fn}(${f.field},${f.values.join(';')})`).join('+');
}

/** Page size of a list query that gives none. */
export const DEFAULT_PAGE_LIMIT = 100;

/** Largest page size: larger limits are capped to it. */
export const MAX_PAGE_LIMIT = 1000;

/**
 * The page size of a query: {@link DEFAULT_PAGE_LIMIT} when unset, capped at {@link MAX_PAGE_LIMIT}.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` (id `limit`) unless it is a positive integer
 */
export function resolvePageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(`page limit must be a positive integer, got ${String(limit)}`, { id: 'limit' });
  }
  return Math.min(limit, MAX_PAGE_LIMIT);
}

/** What a list may be sorted by: its keys (each with the adapter's own description) and its default order. */
export interface SortKeys<F> {
  /** Plural name of what is listed, for error messages (`executions`). */
  readonly name: string;
  /** Keys `sortBy` may name. */
  readonly sortKeys: { readonly [key: string]: F };
  /** The default order; undefined means insertion order. */
  readonly defaultSort?: { readonly key: string; readonly direction: SortDirection } | undefined;
}

/**
 * The order of a query: its `sortBy`, or the list's default (key `''` and no field: insertion order).
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a key the list has not, or a direction other than asc/desc
 */
export function resolveSort<F>(
  list: SortKeys<F>,
  sortBy: ListQuery['sortBy'],
): { key: string; direction: SortDirection; field: F | undefined } {
  if (sortBy === undefined) {
    const fallback = list.defaultSort;
    if (fallback === undefined) return { key: '', direction: 'asc', field: undefined };
    return { key: fallback.key, direction: fallback.direction, field: list.sortKeys[fallback.key] };
  }
  const field = Object.hasOwn(list.sortKeys, sortBy.key) ? list.sortKeys[sortBy.key] : undefined;
  if (field === undefined) {
    const keys = Object.keys(list.sortKeys);
    throw new InvalidArgumentError(
      `${list.name} cannot be sorted by ${JSON.stringify(sortBy.key)}; ${keys.length === 0 ? 'they keep their own order' : `sort by ${keys.join(', ')}`}`,
      { id: sortBy.key },
    );
  }
  if (sortBy.direction !== 'asc' && sortBy.direction !== 'desc') {
    throw new InvalidArgumentError(`sort direction must be 'asc' or 'desc', got ${JSON.stringify(sortBy.direction)}`, {
      id: sortBy.key,
    });
  }
  return { key: sortBy.key, direction: sortBy.direction, field };
}
