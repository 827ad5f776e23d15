// Column model of structured datasets: the kinds we support, checking declared columns, inferring columns from
// rows, and checking and normalizing each value written. Shared by the CSV and Parquet codecs.
import { INT64_MAX, INT64_MIN, InvalidArgumentError, LiteralTypeError, describeValue } from '@flyte-ts/core';

/** Column kinds we support; `int` reads as number (unsafe integers are refused), `int64` as bigint. */
export type DatasetColumnKind = 'int' | 'int64' | 'float' | 'string' | 'boolean' | 'datetime' | 'duration';

/** A column of a structured dataset. */
export interface DatasetColumn {
  /** Column name (a CSV header cell, a Parquet top-level field name). */
  readonly name: string;
  /** What the column holds. */
  readonly kind: DatasetColumnKind;
  /** Whether the column may hold nulls (default false). */
  readonly nullable?: boolean;
}

/** One row: column name → value (`null` or `undefined` for a missing value). */
export type DatasetRow = { readonly [column: string]: unknown };

/** A column after checks: `nullable` is explicit. */
export interface ResolvedColumn {
  /** Column name. */
  readonly name: string;
  /** What the column holds. */
  readonly kind: DatasetColumnKind;
  /** Whether the column may hold nulls. */
  readonly nullable: boolean;
}

/** Every supported kind. */
export const COLUMN_KINDS: readonly DatasetColumnKind[] = [
  'int',
  'int64',
  'float',
  'string',
  'boolean',
  'datetime',
  'duration',
];

const KIND_SET = new Set<string>(COLUMN_KINDS);

/** What a kind's values are, for error messages. */
export const KIND_DESCRIPTIONS: { readonly [K in DatasetColumnKind]: string } = {
  int: 'int (a safe integer)',
  int64: 'int64 (a bigint or a safe integer)',
  float: 'float (a number)',
  string: 'string',
  boolean: 'boolean',
  datetime: 'datetime (a valid Date)',
  duration: 'duration (a finite number of milliseconds)',
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const NS_PER_S = 1_000_000_000n;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `name` as a path step: `.price`, or `["odd name"]`. */
export function columnStep(name: string): string {
  return IDENTIFIER.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** Path of a cell in error messages: `mem://b/ds/00000 rows[3].price`. */
export function cellPath(where: string, row: number, column: string): string {
  return `${where} rows[${row}]${columnStep(column)}`;
}

/** Path of a column in error messages: `mem://b/ds/00000 columns.price`. */
export function columnPath(where: string, column: string): string {
  return `${where} columns${columnStep(column)}`;
}

/**
 * Checks declared columns: unique names, known kinds, boolean `nullable`.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the bad column.
 */
export function resolveColumns(columns: readonly DatasetColumn[]): ResolvedColumn[] {
  if (!Array.isArray(columns)) throw new InvalidArgumentError('dataset columns must be an array of columns');
  const seen = new Set<string>();
  return columns.map((column: unknown, i) => {
    if (typeof column !== 'object' || column === null) {
      throw new InvalidArgumentError(`columns[${i}] must be a column object, got ${describeValue(column)}`, {
        id: `columns[${i}]`,
      });
    }
    const { name, kind, nullable } = column as { name?: unknown; kind?: unknown; nullable?: unknown };
    if (typeof name !== 'string') {
      throw new InvalidArgumentError(`columns[${i}].name must be a string`, { id: `columns[${i}]` });
    }
    if (seen.has(name))
      throw new InvalidArgumentError(`column ${JSON.stringify(name)} is declared twice`, { id: name });
    seen.add(name);
    if (typeof kind !== 'string' || !KIND_SET.has(kind)) {
      throw new InvalidArgumentError(
        `column ${JSON.stringify(name)} has kind ${JSON.stringify(kind)}; expected one of ${COLUMN_KINDS.join(', ')}`,
        { id: name },
      );
    }
    if (nullable !== undefined && typeof nullable !== 'boolean') {
      throw new InvalidArgumentError(`column ${JSON.stringify(name)}: nullable must be a boolean`, { id: name });
    }
    return { name, kind: kind as DatasetColumnKind, nullable: nullable === true };
  });
}

/** Reads a cell of a row; a column named `__proto__` is read as an own property only. */
export function getCell(row: DatasetRow, name: string): unknown {
  if (name === '__proto__') return Object.hasOwn(row, name) ? row[name] : undefined;
  return row[name];
}

/** Sets a cell of a row being built (a column named `__proto__` becomes an own property, not the prototype). */
export function setCell(row: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    row[name] = value;
  }
}

function checkRowObject(row: unknown, where: string, index: number): asserts row is DatasetRow {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new LiteralTypeError('TYPE_MISMATCH', `${where} rows[${index}]`, 'a row object', describeValue(row));
  }
}

/**
 * Infers columns from sample rows: columns in order of first appearance, kind from the first non-null value
 * (bigint → int64, number → float, string, boolean, Date → datetime; a column with only nulls is a string
 * column), every inferred column nullable.
 * @throws {LiteralTypeError} `TYPE_MISMATCH` for a row that is not an object or a value of no supported kind.
 */
export function inferColumns(rows: readonly unknown[], where: string, firstIndex: number): ResolvedColumn[] {
  const kinds = new Map<string, DatasetColumnKind | undefined>();
  rows.forEach((row, i) => {
    checkRowObject(row, where, firstIndex + i);
    for (const name of Object.keys(row)) {
      if (kinds.get(name) !== undefined) continue;
      const value = row[name];
      if (value == null) {
        if (!kinds.has(name)) kinds.set(name, undefined);
        continue;
      }
      kinds.set(name, kindOfValue(value, cellPath(where, firstIndex + i, name)));
    }
  });
  return [...kinds].map(([name, kind]) => ({ name, kind: kind ?? 'string', nullable: true }));
}

function kindOfValue(value: unknown, path: string): DatasetColumnKind {
  switch (typeof value) {
    case 'bigint':
      return 'int64';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    default:
      if (value instanceof Date) return 'datetime';
      throw new LiteralTypeError(
        'TYPE_MISMATCH',
        path,
        'a value of a dataset column kind (bigint, number, string, boolean, Date)',
        describeValue(value),
        'declare the columns to store other values',
      );
  }
}

/**
 * A normalized cell value: int and int64 as bigint, float as number, string, boolean, datetime as integer
 * milliseconds since the epoch, duration as bigint nanoseconds; null for a missing value.
 */
export type NormalizedValue = bigint | number | string | boolean | null;

/** Columns of normalized values, one array per column, filled row by row. */
export interface ColumnarChunk {
  /** The columns, in order. */
  readonly columns: readonly ResolvedColumn[];
  /** One array of normalized values per column. */
  readonly values: NormalizedValue[][];
  /** Number of rows. */
  rows: number;
}

/** Checks rows against columns and stores their normalized values column by column. */
export class ChunkBuilder {
  readonly #columns: readonly ResolvedColumn[];
  readonly #byName: Map<string, number>;
  readonly #where: string;

  /**
   * @param columns the dataset's columns
   * @param where the dataset URI, for error messages
   */
  constructor(columns: readonly ResolvedColumn[], where: string) {
    this.#columns = columns;
    this.#byName = new Map(columns.map((c, i) => [c.name, i]));
    this.#where = where;
  }

  /** An empty chunk. */
  start(): ColumnarChunk {
    return { columns: this.#columns, values: this.#columns.map(() => []), rows: 0 };
  }

  /**
   * Appends a row to `chunk`. `index` is the row's position in the whole input (for error messages).
   * @throws {LiteralTypeError} `TYPE_MISMATCH` for an unknown column, a missing non-nullable value or a value of
   *   the wrong type; `INTEGER_OUT_OF_RANGE` for an integer that does not fit.
   */
  add(chunk: ColumnarChunk, row: unknown, index: number): void {
    checkRowObject(row, this.#where, index);
    const columns = this.#columns;
    const keys = Object.keys(row);
    for (const key of keys) {
      if (!this.#byName.has(key)) {
        throw new LiteralTypeError(
          'TYPE_MISMATCH',
          cellPath(this.#where, index, key),
          `one of the dataset's columns (${columns.map((c) => c.name).join(', ')})`,
          'an unknown column',
        );
      }
    }
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      const value = getCell(row, column.name);
      chunk.values[c]!.push(normalizeValue(column, value, this.#where, index));
    }
    chunk.rows++;
  }
}

/**
 * Checks one value against its column and normalizes it (see {@link NormalizedValue}).
 * @throws {LiteralTypeError} as {@link ChunkBuilder.add}.
 */
export function normalizeValue(column: ResolvedColumn, value: unknown, where: string, row: number): NormalizedValue {
  if (value == null) {
    if (column.nullable) return null;
    throw new LiteralTypeError(
      'TYPE_MISMATCH',
      cellPath(where, row, column.name),
      KIND_DESCRIPTIONS[column.kind],
      describeValue(value),
      'the column is not nullable',
    );
  }
  switch (column.kind) {
    case 'int':
    case 'int64':
      if (typeof value === 'bigint') {
        if (value < INT64_MIN || value > INT64_MAX) {
          throw new LiteralTypeError(
            'INTEGER_OUT_OF_RANGE',
            cellPath(where, row, column.name),
            column.kind,
            describeValue(value),
            'outside int64',
          );
        }
        return value;
      }
      if (typeof value === 'number' && Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) {
          throw new LiteralTypeError(
            'INTEGER_OUT_OF_RANGE',
            cellPath(where, row, column.name),
            column.kind,
            `number ${String(value)}`,
            'not a safe integer: it may already have lost precision; pass a bigint',
          );
        }
        return BigInt(value);
      }
      break;
    case 'float':
      if (typeof value === 'number') return value;
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'datetime':
      if (value instanceof Date) {
        const ms = value.getTime();
        if (!Number.isNaN(ms)) return ms;
      }
      break;
    case 'duration':
      if (typeof value === 'number' && Number.isFinite(value)) {
        const ns = nsFromMs(value);
        if (ns < INT64_MIN || ns > INT64_MAX) {
          throw new LiteralTypeError(
            'INTEGER_OUT_OF_RANGE',
            cellPath(where, row, column.name),
            'a duration within ±2^63 nanoseconds (about ±292 years)',
            `${String(value)} ms`,
          );
        }
        return ns;
      }
      break;
  }
  return mismatch(column, value, cellPath(where, row, column.name));
}

function mismatch(column: ResolvedColumn, value: unknown, path: string): never {
  throw new LiteralTypeError('TYPE_MISMATCH', path, KIND_DESCRIPTIONS[column.kind], describeValue(value));
}

/**
 * Nanoseconds of a duration in milliseconds, rounded to the nanosecond the way core's `durationFromMs` does
 * (whole seconds first, so large durations keep every representable nanosecond).
 */
export function nsFromMs(ms: number): bigint {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  return BigInt(seconds) * NS_PER_S + BigInt(nanos);
}

/** Milliseconds of a duration in nanoseconds (fractional below the millisecond), as core's `msFromDuration`. */
export function msFromNs(ns: bigint): number {
  return Number(ns / NS_PER_S) * 1000 + Number(ns % NS_PER_S) / 1_000_000;
}

/** Floor division of bigints (BigInt `/` truncates toward zero). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Largest |milliseconds| a JS Date can hold. */
export const MAX_DATE_MS = 8.64e15;

/**
 * Reads an integer cell (of file `where`, row `row`, column `column`) as the column's kind: `int` → number
 * (refusing unsafe integers), `int64` → bigint.
 * @throws {LiteralTypeError} `INTEGER_OUT_OF_RANGE` naming the cell.
 */
export function integerAs(
  kind: 'int' | 'int64',
  value: bigint,
  where: string,
  row: number,
  column: string,
): number | bigint {
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new LiteralTypeError(
      'INTEGER_OUT_OF_RANGE',
      cellPath(where, row, column),
      kind,
      `integer ${String(value)}`,
      'outside int64',
    );
  }
  if (kind === 'int64') return value;
  if (value > MAX_SAFE || value < MIN_SAFE) {
    throw new LiteralTypeError(
      'INTEGER_OUT_OF_RANGE',
      cellPath(where, row, column),
      'int within ±(2^53 − 1)',
      `integer ${String(value)}`,
      'declare the column int64 to read it as a bigint',
    );
  }
  return Number(value);
}

/**
 * A Date of `ms` milliseconds since the epoch, for the cell of file `where`, row `row`, column `column`.
 * @throws {LiteralTypeError} `TYPE_MISMATCH` naming the cell when outside the range of a JS Date.
 */
export function dateAt(ms: number, where: string, row: number, column: string): Date {
  if (!(Math.abs(ms) <= MAX_DATE_MS)) {
    throw new LiteralTypeError(
      'TYPE_MISMATCH',
      cellPath(where, row, column),
      'a datetime within the range of a JS Date (±8.64e15 ms)',
      `${String(ms)} ms since the epoch`,
    );
  }
  return new Date(ms);
}
