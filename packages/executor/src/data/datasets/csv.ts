// CSV codec (RFC 4180): a header row of column names, then one record per row. Written and parsed here rather
// than with csv-stringify/csv-parse: telling a null (an empty field) from an empty string (a quoted empty field,
// `""`) needs to know whether a field was quoted, which csv-parse exposes only through its `cast` hook (about
// ten times slower than the parser itself), and csv-stringify's `quoted_empty` quotes nulls as well.
//
// Cells: int/int64 as decimal integers (read back exactly as bigint); floats in the shortest text that reads back
// as the same double (`-0`, `NaN`, `Infinity`, `-Infinity` spelled so); booleans `true`/`false`; datetimes as
// RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.000Z`); durations as ISO 8601 seconds
// (`PT1.5S`, `-PT0.000000001S`), exact to the nanosecond; strings as they are.
import { FlyteError, LiteralTypeError } from '@flyte-ts/core';
import {
  cellPath,
  dateAt,
  integerAs,
  KIND_DESCRIPTIONS,
  msFromNs,
  setCell,
  type ColumnarChunk,
  type DatasetColumnKind,
  type DatasetRow,
  type NormalizedValue,
  type ResolvedColumn,
} from './columns.js';

/** Content type of CSV part files. */
export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as written: quoted when it holds a comma, a quote or a line break, or is an empty string. */
function field(text: string): string {
  if (text === '') return '""';
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV text of a float: shortest round-trip form, with `-0`, `NaN`, `Infinity`, `-Infinity`. */
export function formatFloat(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

/** ISO 8601 duration (seconds only) of a number of nanoseconds: `PT1.5S`, `-PT0.000000001S`, `PT0S`. */
export function formatDuration(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const seconds = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}PT${seconds}${fraction === '' ? '' : `.${fraction}`}S`;
}

function formatCell(kind: DatasetColumnKind, value: NormalizedValue): string {
  // A null is an empty, unquoted field.
  if (value === null) return '';
  switch (kind) {
    case 'int':
    case 'int64':
      return String(value);
    case 'float':
      return formatFloat(value as number);
    case 'string':
      return field(value as string);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'datetime':
      return new Date(value as number).toISOString();
    case 'duration':
      return formatDuration(value as bigint);
  }
}

/** The text of a CSV part file: header and records, `\n` after each line (no header when there are no columns). */
export function encodeCsv(chunk: ColumnarChunk): string {
  const { columns, values } = chunk;
  if (columns.length === 0) return '';
  const lines: string[] = [columns.map((c) => field(c.name)).join(',')];
  const cells = new Array<string>(columns.length);
  for (let r = 0; r < chunk.rows; r++) {
    for (let c = 0; c < columns.length; c++) cells[c] = formatCell(columns[c]!.kind, values[c]![r]!);
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One parsed record: the fields, where an unquoted empty field is `null` and a quoted empty field (`""`) is the
 * empty string; `line` is the 1-based line where the record starts.
 */
export interface CsvRecord {
  /** The fields: `null` for an unquoted empty field, `''` for `""`. */
  readonly fields: (string | null)[];
  /** 1-based line where the record starts. */
  readonly line: number;
}

// Parser states.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: an escaped quote (`""`) or the field's end. */
const QUOTE_IN_QUOTED = 3;
/** After a CR ending a record: a LF here belongs to it. */
const AFTER_CR = 4;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Streaming RFC 4180 parser: feed text in chunks of any size (`push`), then `end`. Records end with CRLF, LF or a
 * lone CR; a quote may only open a field or, doubled, stand inside a quoted one. Malformed input throws
 * `INVALID_FORMAT` naming `source` and the line.
 */
export class CsvParser {
  readonly #source: string;
  #state: number = FIELD_START;
  #fields: (string | null)[] = [];
  /** Text of the current field from earlier chunks or before an escaped quote. */
  #pending = '';
  #line = 1;
  #recordLine = 1;

  /** @param source the file's URI, for error messages */
  constructor(source: string) {
    this.#source = source;
  }

  #error(detail: string): FlyteError {
    return new FlyteError('INVALID_FORMAT', `${this.#source} line ${this.#line}: malformed CSV: ${detail}`, {
      id: this.#source,
    });
  }

  #endRecord(out: CsvRecord[]): void {
    out.push({ fields: this.#fields, line: this.#recordLine });
    this.#fields = [];
  }

  /** Parses a chunk of text; returns the records it completes. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const n = text.length;
    let start = 0;
    let i = 0;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (this.#state === AFTER_CR) {
        // The LF of a CRLF; after a lone CR, this character starts the next record.
        this.#state = FIELD_START;
        if (ch === LF) {
          i++;
          continue;
        }
      }
      switch (this.#state) {
        case FIELD_START:
          if (this.#fields.length === 0) this.#recordLine = this.#line;
          if (ch === QUOTE) {
            this.#state = QUOTED;
            start = i + 1;
          } else if (ch === COMMA) {
            this.#fields.push(null);
          } else if (ch === LF || ch === CR) {
            this.#fields.push(null);
            this.#endRecord(out);
            this.#line++;
            if (ch === CR) this.#state = AFTER_CR;
          } else {
            this.#state = UNQUOTED;
            start = i;
          }
          i++;
          break;
        case UNQUOTED: {
          // Scan to the end of the field.
          while (i < n) {
            const c = text.charCodeAt(i);
            if (c === COMMA || c === LF || c === CR) break;
            if (c === QUOTE) throw this.#error('a quote inside an unquoted field (quote the whole field)');
            i++;
          }
          if (i === n) break;
          const c = text.charCodeAt(i);
          this.#fields.push(this.#pending + text.slice(start, i));
          this.#pending = '';
          if (c === COMMA) {
            this.#state = FIELD_START;
          } else {
            this.#endRecord(out);
            this.#line++;
            this.#state = c === CR ? AFTER_CR : FIELD_START;
          }
          i++;
          break;
        }
        case QUOTED: {
          while (i < n) {
            const c = text.charCodeAt(i);
            if (c === QUOTE) break;
            if (c === LF) this.#line++;
            i++;
          }
          if (i === n) break;
          this.#pending += text.slice(start, i);
          this.#state = QUOTE_IN_QUOTED;
          i++;
          break;
        }
        case QUOTE_IN_QUOTED:
          if (ch === QUOTE) {
            this.#pending += '"';
            this.#state = QUOTED;
            start = i + 1;
          } else if (ch === COMMA) {
            this.#fields.push(this.#pending);
            this.#pending = '';
            this.#state = FIELD_START;
          } else if (ch === LF || ch === CR) {
            this.#fields.push(this.#pending);
            this.#pending = '';
            this.#endRecord(out);
            this.#line++;
            this.#state = ch === CR ? AFTER_CR : FIELD_START;
          } else {
            throw this.#error('a character after the closing quote of a field (a quote inside one must be doubled)');
          }
          i++;
          break;
      }
    }
    // Keep the unfinished field's text for the next chunk.
    if (this.#state === UNQUOTED || this.#state === QUOTED) {
      this.#pending += text.slice(start, n);
    }
    return out;
  }

  /** Ends the input; returns the last record when the text did not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    switch (this.#state) {
      case QUOTED:
        throw this.#error('a quoted field is not closed before the end of the file');
      case UNQUOTED:
      case QUOTE_IN_QUOTED:
        this.#fields.push(this.#pending);
        this.#pending = '';
        this.#endRecord(out);
        break;
      case FIELD_START:
        // `a,b` then EOF right after a comma: the record ends with an empty field.
        if (this.#fields.length > 0) {
          this.#fields.push(null);
          this.#endRecord(out);
        }
        break;
      case AFTER_CR:
        break;
    }
    this.#state = FIELD_START;
    return out;
  }
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOATS: ReadonlyMap<string, number> = new Map([
  ['nan', NaN],
  ['+nan', NaN],
  ['-nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
]);
const DATETIME =
  /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)? ?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const DURATION = /^([+-])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$/;

/** Value of the `count` decimal digits of `text` at `at`; NaN when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Fast path of {@link parseDatetime} for what this codec writes: `YYYY-MM-DDTHH:mm:ss.sssZ`, years 1000–9999. */
function parseCanonicalDatetime(text: string): number | undefined {
  if (text.length !== 24 || text.charCodeAt(23) !== 0x5a /* Z */ || text.charCodeAt(10) !== 0x54 /* T */) return;
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':' || text[19] !== '.') return;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = digits(text, 20, 3);
  // NaN fails every comparison, so a non-digit falls to the general parser (which refuses it).
  if (!(year >= 1000 && month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) return;
  if (!(ms >= 0) || day > DAYS_IN_MONTH[month - 1]!) return;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/**
 * Milliseconds since the epoch of an RFC 3339 / ISO 8601 date-time (`2024-05-01T12:00:00.123Z`, offsets
 * `+02:00`, a space instead of `T`, a date alone for midnight); without an offset the time is taken as UTC.
 * Digits below the millisecond are truncated. Undefined when the text is not such a date-time.
 */
export function parseDatetime(text: string): number | undefined {
  const fast = parseCanonicalDatetime(text);
  if (fast !== undefined) return fast;
  const m = DATETIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (Number(oh) > 23 || Number(om) > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // 2023-02-30 and the like
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  date.setUTCHours(hour, minute, second, ms);
  const offset = (Number(oh) * 60 + Number(om)) * 60_000 * (sign === '-' ? -1 : 1);
  const time = date.getTime() - offset;
  return Number.isNaN(time) ? undefined : time;
}

/** Nanoseconds of an ISO 8601 duration made of days, hours, minutes and seconds; undefined otherwise. */
export function parseDuration(text: string): bigint | undefined {
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  const [, sign, days, hours, minutes, seconds, fraction] = m;
  if (days === undefined && hours === undefined && minutes === undefined && seconds === undefined) return undefined;
  if (text.endsWith('T')) return undefined; // `PT` with nothing after
  const big = (v: string | undefined) => BigInt(v ?? '0');
  const ns =
    ((big(days) * 24n + big(hours)) * 60n + big(minutes)) * 60_000_000_000n +
    big(seconds) * 1_000_000_000n +
    BigInt((fraction ?? '').padEnd(9, '0'));
  return sign === '-' ? -ns : ns;
}

/** Parses a float cell: decimal or exponent notation, NaN and infinities in any case; undefined otherwise. */
export function parseFloatCell(text: string): number | undefined {
  if (DECIMAL.test(text)) return Number(text);
  return SPECIAL_FLOATS.get(text.toLowerCase());
}

/** How one declared column is read from a CSV file: which field holds it. */
export interface CsvSelection {
  /** The output column. */
  readonly column: ResolvedColumn;
  /** Index of the field holding it. */
  readonly field: number;
}

/**
 * Converts a record to a row of the selected columns. An unquoted empty field is null; so is a quoted empty field
 * in a column that is not a string column. A null in a non-nullable string column reads as the empty string.
 * @throws {LiteralTypeError} `TYPE_MISMATCH` (a cell that is not of its column's kind, a null in a non-nullable
 *   column), `INTEGER_OUT_OF_RANGE`, naming the file, row and column.
 */
export function csvRow(
  record: CsvRecord,
  selection: readonly CsvSelection[],
  file: string,
  rowIndex: number,
): DatasetRow {
  const row: Record<string, unknown> = {};
  for (const { column, field } of selection) {
    const cell = record.fields[field]!;
    setCell(row, column.name, csvCell(column, cell, file, rowIndex, record.line));
  }
  return row;
}

function csvCell(column: ResolvedColumn, cell: string | null, file: string, row: number, line: number): unknown {
  if (column.kind === 'string') {
    if (cell !== null) return cell;
    return column.nullable ? null : '';
  }
  const text = cell === null ? '' : cell.trim();
  if (text === '') {
    if (column.nullable) return null;
    throw new LiteralTypeError(
      'TYPE_MISMATCH',
      cellPath(file, row, column.name),
      KIND_DESCRIPTIONS[column.kind],
      'an empty field',
      `line ${line}; the column is not nullable`,
    );
  }
  let value: unknown;
  switch (column.kind) {
    case 'int':
    case 'int64':
      if (INTEGER.test(text)) value = integerAs(column.kind, BigInt(text), file, row, column.name);
      break;
    case 'float':
      value = parseFloatCell(text);
      break;
    case 'boolean': {
      const lower = text.toLowerCase();
      value = lower === 'true' ? true : lower === 'false' ? false : undefined;
      break;
    }
    case 'datetime': {
      const ms = parseDatetime(text);
      if (ms !== undefined) value = dateAt(ms, file, row, column.name);
      break;
    }
    case 'duration': {
      const ns = parseDuration(text);
      if (ns !== undefined) value = msFromNs(ns);
      break;
    }
  }
  if (value === undefined) {
    throw new LiteralTypeError(
      'TYPE_MISMATCH',
      cellPath(file, row, column.name),
      KIND_DESCRIPTIONS[column.kind],
      JSON.stringify(cell),
      `line ${line}`,
    );
  }
  return value;
}

/**
 * Records of a CSV file read as a stream of bytes (UTF-8, a leading BOM skipped), one batch per chunk read. The
 * signal is checked between chunks.
 * @throws {FlyteError} `INVALID_FORMAT` naming the file for malformed CSV or bytes that are not UTF-8.
 */
export async function* csvRecords(
  stream: AsyncIterable<Uint8Array>,
  file: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<CsvRecord[]> {
  const parser = new CsvParser(file);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch (error) {
      throw new FlyteError('INVALID_FORMAT', `${file} is not UTF-8 text`, { id: file, cause: error });
    }
  };
  for await (const chunk of stream) {
    if (signal?.aborted === true) throw signal.reason;
    const records = parser.push(decode(chunk));
    if (records.length > 0) yield records;
  }
  const records = [...parser.push(decode()), ...parser.end()];
  if (records.length > 0) yield records;
}
