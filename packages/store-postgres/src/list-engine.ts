// Flyte list queries as SQL: filters become parameterized conditions on columns (values are always bound
// parameters, never spliced into the text), sort keys an ORDER BY with the row's sequence number as tie-breaker,
// and page tokens opaque keyset positions (the last row's sort value and sequence number), bound to the query.
import {
  checkFilterFunction,
  DEFAULT_PAGE_LIMIT,
  formatFilters,
  InvalidArgumentError,
  MAX_PAGE_LIMIT,
  parseFilterValue,
  parseRfc3339Nanos,
  resolvePageLimit,
  resolveSort,
  type Filter,
  type FilterValueKind,
  type ListQuery,
  type SortDirection,
} from '@flyte-ts/core';
import { sql, type AliasedRawBuilder, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { int8, int8Number } from './codec.js';

/** A queryable field: a column of the listed table and how its filter values are read. */
export interface SqlField {
  /** How filter values are parsed and compared. */
  readonly kind: FilterValueKind;
  /** The column (a constant of this package, never user input). */
  readonly column: string;
  /** For enums: the TypeScript enum object, whose names filters use (`eq(phase,RUNNING)`). */
  readonly names?: Readonly<Record<string, string | number>>;
}

/** What a list accepts: filter fields, sort keys, default order, and the column of insertion order. */
export interface SqlListDefinition {
  /** Plural name of what is listed, for error messages (`executions`). */
  readonly name: string;
  /** Fields filters may name. */
  readonly fields: { readonly [field: string]: SqlField };
  /** Keys `sortBy` may name. */
  readonly sortKeys: { readonly [key: string]: SqlField };
  /** The default order; undefined means insertion order. */
  readonly defaultSort?: { readonly key: string; readonly direction: SortDirection } | undefined;
  /** The identity column giving insertion order (the tie-breaker of every sort). */
  readonly seqColumn: string;
}

/** Page size when the query gives none. */
export const DEFAULT_LIMIT = DEFAULT_PAGE_LIMIT;
/** Largest page size: larger limits are capped. */
export const MAX_LIMIT = MAX_PAGE_LIMIT;

/** Bounds of int8: times outside them cannot be stored, so filter bounds beyond them are clamped. */
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/** The SQL parts of one page query, for the caller to put into its SELECT. */
export interface SqlPage {
  /** The filters and the token's keyset position, ANDed (`true` when there are none). */
  readonly where: Expression<SqlBool>;
  /** ORDER BY: the sort column, then the sequence column, in the query's direction. */
  readonly orderBy: RawBuilder<unknown>;
  /** Selections the page needs back to issue the next token. */
  readonly keys: readonly [AliasedRawBuilder<unknown, 'list_key'>, AliasedRawBuilder<unknown, 'list_seq'>];
  /** Rows to fetch: one more than the page size, to know whether another page follows. */
  readonly limit: number;
}

/** A row of a page query, with the selections of {@link SqlPage.keys}. */
export interface KeyedRow {
  readonly list_key: unknown;
  readonly list_seq: unknown;
}

/** Options of {@link listPage}. */
export interface ListPageOptions {
  /** What else distinguishes this query (the execution listed, a parent node id): part of the token check. */
  readonly scope?: string;
}

/**
 * Runs one page of a list query: validates the query, lets `fetch` run the SELECT built from the returned
 * {@link SqlPage}, and computes the next token.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an unknown field or sort key, a value the field cannot
 * hold, a bad limit, or a token this query did not issue.
 */
export async function listPage<R extends KeyedRow>(
  definition: SqlListDefinition,
  query: ListQuery | undefined,
  options: ListPageOptions,
  fetch: (page: SqlPage) => Promise<readonly R[]>,
): Promise<{ readonly rows: readonly R[]; readonly nextToken: string | undefined }> {
  const limit = resolvePageLimit(query?.limit);
  const filters = query?.filters ?? [];
  const conditions = filters.map((filter) => compileFilter(definition, filter));
  const sort = resolveSort(definition, query?.sortBy);
  const fingerprint = hash(
    [definition.name, options.scope ?? '', sort.key, sort.direction, formatFilters(filters)].join('\u0001'),
  );
  const seq = sql.ref(definition.seqColumn);
  const direction = sort.direction === 'asc' ? sql`asc` : sql`desc`;
  const after = query?.token === undefined ? undefined : decodeToken(query.token, fingerprint, sort.field);
  if (after !== undefined) {
    const op = sort.direction === 'asc' ? sql`>` : sql`<`;
    const seqValue = sql`cast(${String(after.seq)} as bigint)`;
    conditions.push(
      sort.field === undefined
        ? sql<SqlBool>`${seq} ${op} ${seqValue}`
        : sql<SqlBool>`(${sql.ref(sort.field.column)}, ${seq}) ${op} (${typed(sort.field.kind, after.key)}, ${seqValue})`,
    );
  }
  // int8 keys are read as text, so the pool's int8 parser (which may round to a number) never touches them.
  const keyColumn =
    sort.field === undefined || sort.field.kind === 'time'
      ? sql`cast(${sort.field === undefined ? seq : sql.ref(sort.field.column)} as text)`
      : sql.ref(sort.field.column);
  const rows = await fetch({
    where: conditions.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`${sql.join(conditions, sql` and `)}`,
    orderBy:
      sort.field === undefined
        ? sql`${seq} ${direction}`
        : sql`${sql.ref(sort.field.column)} ${direction}, ${seq} ${direction}`,
    keys: [sql`${keyColumn}`.as('list_key'), sql`cast(${seq} as text)`.as('list_seq')],
    limit: limit + 1,
  });
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return {
    rows: page,
    nextToken:
      more && last !== undefined
        ? encodeToken(fingerprint, tokenKey(sort.field, last.list_key), int8Number(asInt8(last.list_seq), 'seq'))
        : undefined,
  };
}

/** One filter as a SQL condition; every value is a bound parameter cast to the column's type. */
function compileFilter(definition: SqlListDefinition, filter: Filter): RawBuilder<SqlBool> {
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
  const values = filter.values.map((value) => {
    const parsed = parseFilterValue(field.kind, value, text, field.names);
    return field.kind === 'time' ? clampInt8(parseRfc3339Nanos(value)!).toString() : parsed;
  });
  const column = sql.ref(field.column);
  const value = typed(field.kind, values[0]!);
  switch (filter.fn) {
    case 'eq':
      return sql<SqlBool>`${column} = ${value}`;
    case 'ne':
      return sql<SqlBool>`${column} <> ${value}`;
    case 'value_in':
      return sql<SqlBool>`${column} in (${sql.join(values.map((v) => typed(field.kind, v)))})`;
    case 'contains':
      return sql<SqlBool>`strpos(${column}, ${value}) > 0`;
    case 'gt':
      return sql<SqlBool>`${column} > ${value}`;
    case 'gte':
      return sql<SqlBool>`${column} >= ${value}`;
    case 'lt':
      return sql<SqlBool>`${column} < ${value}`;
    case 'lte':
      return sql<SqlBool>`${column} <= ${value}`;
    default:
      throw new InvalidArgumentError(`unknown filter function ${JSON.stringify(filter.fn)} in ${text}`, {
        id: filter.field,
      });
  }
}

/** A bound parameter cast to the SQL type of a field kind (numbers compare as double precision, like JS). */
function typed(kind: FilterValueKind, value: string | number): RawBuilder<unknown> {
  switch (kind) {
    case 'text':
      return sql`cast(${value} as text)`;
    case 'number':
      return sql`cast(${value} as double precision)`;
    case 'time':
      return sql`cast(${String(value)} as bigint)`;
    case 'enum':
      return sql`cast(${value} as integer)`;
  }
}

function clampInt8(value: bigint): bigint {
  return value < INT8_MIN ? INT8_MIN : value > INT8_MAX ? INT8_MAX : value;
}

function asInt8(value: unknown): string | number | bigint {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return value;
  throw new TypeError(`expected an int8 value, got ${typeof value}`);
}

/** The token's form of a row's sort value: text and times as strings, numbers as numbers. */
function tokenKey(field: SqlField | undefined, value: unknown): string | number {
  if (field === undefined) return 0;
  switch (field.kind) {
    case 'text':
      return String(value);
    case 'time':
      return int8(asInt8(value), field.column).toString();
    case 'number':
    case 'enum': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) throw new TypeError(`${field.column}: expected a number, got ${String(value)}`);
      return n;
    }
  }
}

function encodeToken(fingerprint: string, key: string | number, seq: number): string {
  return Buffer.from(JSON.stringify([fingerprint, key, seq]), 'utf8').toString('base64url');
}

function decodeToken(
  token: string,
  fingerprint: string,
  field: SqlField | undefined,
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
  if (tokenFingerprint !== fingerprint || !Number.isSafeInteger(seq)) throw invalid();
  const kind = field?.kind;
  if (kind === 'text' && typeof key !== 'string') throw invalid();
  if (kind === 'time' && (typeof key !== 'string' || !/^-?\d{1,19}$/.test(key))) throw invalid();
  if (
    (kind === undefined || kind === 'number' || kind === 'enum') &&
    (typeof key !== 'number' || !Number.isFinite(key))
  )
    throw invalid();
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
