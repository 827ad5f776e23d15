// Flyte list queries over in-memory rows: filters compiled once into predicates on derived fields, sort keys,
// and opaque keyset page tokens (the last row's sort value and sequence number) validated on the way back in.
import {
  checkFilterFunction,
  DEFAULT_PAGE_LIMIT,
  formatFilters,
  InvalidArgumentError,
  MAX_PAGE_LIMIT,
  parseFilterValue,
  resolvePageLimit,
  resolveSort,
  type Filter,
  type FilterValueKind,
  type ListQuery,
  type Page,
  type SortDirection,
} from '@flyte-ts/core';

/** A queryable field derived from a row: times are milliseconds since the epoch, enums their numeric value. */
export interface Field<T> {
  /** How filter values of this field are parsed and compared. */
  readonly kind: FilterValueKind;
  /** The field's value in a row. */
  readonly get: (row: T) => string | number;
  /** For enums: the TypeScript enum object, whose names filters use (`eq(phase,RUNNING)`). */
  readonly names?: Readonly<Record<string, string | number>>;
}

/** A row of a list: the stored value and its insertion sequence number (unique; the tie-breaker of every sort). */
export interface Row<T> {
  /** Insertion order, unique within the store. */
  readonly seq: number;
  /** The current value (replaced in place by updates). */
  value: T;
}

/** What a list accepts: its filter fields, sort keys and default order. */
export interface ListDefinition<T> {
  /** Plural name of what is listed, for error messages (`executions`). */
  readonly name: string;
  /** Fields filters may name. */
  readonly fields: { readonly [field: string]: Field<T> };
  /** Keys `sortBy` may name. */
  readonly sortKeys: { readonly [key: string]: Field<T> };
  /** The default order; undefined means insertion order. */
  readonly defaultSort?: { readonly key: string; readonly direction: SortDirection } | undefined;
}

/** Page size when the query gives none. */
export const DEFAULT_LIMIT = DEFAULT_PAGE_LIMIT;
/** Largest page size: larger limits are capped. */
export const MAX_LIMIT = MAX_PAGE_LIMIT;

/** Options of {@link listPage}. */
export interface ListPageOptions<T, R> {
  /** What else distinguishes this query (the execution listed, a parent node id): part of the token check. */
  readonly scope?: string;
  /** A condition beyond the query's filters. */
  readonly where?: (row: T) => boolean;
  /** Maps each returned row to the page item. */
  readonly map: (row: T) => R;
}

type Compare = (a: string | number, b: string | number) => number;
interface Keyed<T> {
  readonly row: Row<T>;
  readonly key: string | number;
}

/**
 * One page of `rows` (given in insertion order) for `query`.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an unknown field or sort key, a value the field cannot
 * hold, a bad limit, or a token this query did not issue.
 */
export function listPage<T, R>(
  definition: ListDefinition<T>,
  rows: readonly Row<T>[],
  query: ListQuery | undefined,
  options: ListPageOptions<T, R>,
): Page<R> {
  const limit = resolvePageLimit(query?.limit);
  const filters = query?.filters ?? [];
  const predicates = filters.map((filter) => compileFilter(definition, filter));
  const sort = resolveSort(definition, query?.sortBy);
  const fingerprint = hash(
    [definition.name, options.scope ?? '', sort.key, sort.direction, formatFilters(filters)].join('\u0001'),
  );
  const after = query?.token === undefined ? undefined : decodeToken(query.token, fingerprint, sort.field);
  const where = options.where;
  const matches = (value: T): boolean => {
    if (where !== undefined && !where(value)) return false;
    for (const predicate of predicates) if (!predicate(value)) return false;
    return true;
  };

  const selected: Keyed<T>[] = [];
  if (sort.field === undefined) {
    // Insertion order: rows are already sorted by seq, so a page is a binary search and a short scan.
    const ascending = sort.direction === 'asc';
    let i = after === undefined ? (ascending ? 0 : rows.length - 1) : firstAfterSeq(rows, after.seq, ascending);
    for (; ascending ? i < rows.length : i >= 0; ascending ? i++ : i--) {
      const row = rows[i]!;
      if (!matches(row.value)) continue;
      selected.push({ row, key: row.seq });
      if (selected.length > limit) break;
    }
  } else {
    const field = sort.field;
    const keyed: Keyed<T>[] = [];
    for (const row of rows) if (matches(row.value)) keyed.push({ row, key: field.get(row.value) });
    const sign = sort.direction === 'asc' ? 1 : -1;
    const order = (a: Keyed<T>, b: Keyed<T>) => sign * (compareValues(a.key, b.key) || a.row.seq - b.row.seq);
    keyed.sort(order);
    let start = 0;
    if (after !== undefined) {
      const probe = { row: { seq: after.seq, value: undefined as unknown as T }, key: after.key };
      let lo = 0;
      let hi = keyed.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (order(keyed[mid]!, probe) <= 0) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    for (let i = start; i < keyed.length && selected.length <= limit; i++) selected.push(keyed[i]!);
  }

  const more = selected.length > limit;
  const page = more ? selected.slice(0, limit) : selected;
  const last = page[page.length - 1];
  return {
    items: page.map((entry) => options.map(entry.row.value)),
    nextToken: more && last !== undefined ? encodeToken(fingerprint, last.key, last.row.seq) : undefined,
  };
}

function compileFilter<T>(definition: ListDefinition<T>, filter: Filter): (row: T) => boolean {
  const text = formatFilters([filter]);
  const field = Object.hasOwn(definition.fields, filter.field) ? definition.fields[filter.field] : undefined;
  if (field === undefined) {
    const fields = Object.keys(definition.fields);
    throw new InvalidArgumentError(
      `${definition.name} cannot be filtered on ${JSON.stringify(filter.field)} (in ${text}); ${fields.length === 0 ? 'they take no filters' : `filter on ${fields.join(', ')}`}`,
      { id: filter.field },
    );
  }
  checkFilterFunction(field.kind, filter);
  const values = filter.values.map((value) => parseFilterValue(field.kind, value, text, field.names));
  const get = field.get;
  const value = values[0]!;
  switch (filter.fn) {
    case 'eq':
      return (row) => get(row) === value;
    case 'ne':
      return (row) => get(row) !== value;
    case 'value_in': {
      const set = new Set(values);
      return (row) => set.has(get(row));
    }
    case 'contains':
      return (row) => (get(row) as string).includes(value as string);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const fn = filter.fn;
      return (row) => {
        const c = compareValues(get(row), value);
        return fn === 'gt' ? c > 0 : fn === 'gte' ? c >= 0 : fn === 'lt' ? c < 0 : c <= 0;
      };
    }
    default:
      throw new InvalidArgumentError(`unknown filter function ${JSON.stringify(filter.fn)} in ${text}`, {
        id: filter.field,
      });
  }
}

const compareValues: Compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Index of the first row after `seq` in the scan direction (rows sorted by ascending seq). */
function firstAfterSeq<T>(rows: readonly Row<T>[], seq: number, ascending: boolean): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  // lo: first row with a greater seq; descending scans start just before the first row not smaller.
  if (ascending) return lo;
  let i = lo - 1;
  while (i >= 0 && rows[i]!.seq >= seq) i--;
  return i;
}

function encodeToken(fingerprint: string, key: string | number, seq: number): string {
  return Buffer.from(JSON.stringify([fingerprint, key, seq]), 'utf8').toString('base64url');
}

function decodeToken<T>(
  token: string,
  fingerprint: string,
  field: Field<T> | undefined,
): { key: string | number; seq: number } {
  const invalid = () =>
    new InvalidArgumentError(
      'page token is not one this list issued for this query (filters and sort order must stay the same)',
      { id: token },
    );
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw invalid();
  const [tokenFingerprint, key, seq] = decoded as unknown[];
  const keyType = field === undefined || field.kind !== 'text' ? 'number' : 'string';
  if (tokenFingerprint !== fingerprint || typeof key !== keyType || !Number.isSafeInteger(seq)) throw invalid();
  if (typeof key === 'number' && !Number.isFinite(key)) throw invalid();
  return { key: key as string | number, seq: seq as number };
}

/** FNV-1a, 32 bits, hex: a fingerprint of a query, so that a token only continues the query that issued it. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}
