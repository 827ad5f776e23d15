// Structured datasets: CSV and Parquet codecs through a BlobStore (round trips of every kind, exact int64, floats,
// strings, nulls, multi-file datasets, column subsetting, schema and type errors, hand-written CSV, files from
// another Parquet writer, abort).
import { gzipSync } from 'node:zlib';
import { isFlyteError, type BlobStore, type OperationOptions } from '@flyte-ts/core';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { CsvParser } from '../src/data/datasets/csv.js';
import {
  readDataset,
  readDatasetRows,
  writeDataset,
  type DatasetColumn,
  type DatasetColumnKind,
  type DatasetFormat,
  type DatasetRow,
} from '../src/data/datasets/index.js';

const FORMATS: readonly DatasetFormat[] = ['parquet', 'csv'];
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Sample values of each kind, each read back as itself. */
const SAMPLES: { readonly [K in DatasetColumnKind]: readonly unknown[] } = {
  int: [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
  int64: [0n, INT64_MIN, INT64_MAX, -1n, 9007199254740993n],
  float: [0, -0, NaN, Infinity, -Infinity, 1e-310, 5e-324, Number.MAX_VALUE, 0.1 + 0.2, -1.5],
  string: ['', 'a,b', 'say "hi"', 'line\nbreak', 'crlf\r\nend', 'cr\ronly', ' padded ', 'NaN', 'ünïcödé 日本 🎉', '""'],
  boolean: [true, false],
  datetime: [
    new Date(0),
    new Date(-1),
    new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
    new Date('0001-01-01T00:00:00.000Z'),
    new Date(-8.64e15),
    new Date(8.64e15),
  ],
  duration: [0, 1.5, -0.000001, 86_400_000, 123.456789, 9_000_000_000_000],
};

const KINDS = Object.keys(SAMPLES) as DatasetColumnKind[];

async function expectCode(promise: Promise<unknown>, code: string, ...mentions: string[]): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFlyteError(error, code), `expected a ${code} FlyteError, got ${String(error)}`).toBe(true);
  for (const text of mentions) expect((error as Error).message).toContain(text);
  return error as Error;
}

async function collect(rows: AsyncIterable<DatasetRow>): Promise<DatasetRow[]> {
  const out: DatasetRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A BlobStore that streams objects one byte at a time (to split CSV tokens and UTF-8 sequences). */
function byteByByte(blob: MemoryBlobStore): BlobStore {
  return {
    scheme: blob.scheme,
    get: (uri, options) => blob.get(uri, options),
    async getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
      const bytes = await blob.get(uri, options);
      return (async function* () {
        for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
      })();
    },
    put: (uri, body, options) => blob.put(uri, body, options),
    head: (uri, options) => blob.head(uri, options),
    list: (prefix, options) => blob.list(prefix, options),
    delete: (uris, options) => blob.delete(uris, options),
  };
}

/**
 * A BlobStore whose `get` returns a Node Buffer viewing the middle of a larger allocation (as the AWS SDK and
 * fs streams do): readers must honour the view's offset and length.
 */
function pooledViews(blob: MemoryBlobStore): BlobStore {
  return {
    ...byteByByte(blob),
    async get(uri: string, options?: OperationOptions): Promise<Uint8Array> {
      const bytes = await blob.get(uri, options);
      const pool = Buffer.alloc(bytes.byteLength + 64, 0x5a);
      pool.set(bytes, 17);
      return pool.subarray(17, 17 + bytes.byteLength);
    },
  };
}

describe.each(FORMATS)('%s round trips', (format) => {
  it('reads objects a store returns as views into a larger buffer', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [
      { name: 'id', kind: 'int' },
      { name: 's', kind: 'string' },
    ];
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, s: `v${i}` }));
    await writeDataset(blob, 'mem://b/views', format, columns, rows);
    expect((await readDataset(pooledViews(blob), 'mem://b/views', format, columns)).rows).toEqual(rows);
  });

  it.each(KINDS)('keeps every %s value, in non-nullable and nullable columns', async (kind) => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [
      { name: 'v', kind },
      { name: 'n', kind, nullable: true },
    ];
    const samples = SAMPLES[kind];
    const rows = samples.map((v, i) => ({ v, n: i % 2 === 0 ? null : v }));
    rows.push({ v: samples[0], n: undefined });
    const written = await writeDataset(blob, 'mem://b/ds', format, columns, rows);
    expect(written).toEqual({
      files: ['mem://b/ds/00000'],
      rows: rows.length,
      columns: [
        { name: 'v', kind, nullable: false },
        { name: 'n', kind, nullable: true },
      ],
    });

    const read = await readDataset(blob, 'mem://b/ds', format, columns);
    expect(read.columns).toEqual(written.columns);
    expect(read.rows).toHaveLength(rows.length);
    read.rows.forEach((row, i) => {
      expect(Object.keys(row)).toEqual(['v', 'n']);
      expect(row.v).toStrictEqual(rows[i]!.v);
      expect(row.n).toStrictEqual(rows[i]!.n ?? null);
      if (typeof row.v === 'number') expect(Object.is(row.v, rows[i]!.v), `row ${i}: ${row.v}`).toBe(true);
    });
  });

  it('reads int64 extremes back exactly and refuses an unsafe integer in an int column', async () => {
    const blob = new MemoryBlobStore();
    await writeDataset(
      blob,
      'mem://b/ints',
      format,
      [{ name: 'x', kind: 'int64' }],
      [{ x: INT64_MIN }, { x: INT64_MAX }, { x: 2n ** 53n + 1n }],
    );
    const exact = await readDataset(blob, 'mem://b/ints', format, [{ name: 'x', kind: 'int64' }]);
    expect(exact.rows.map((r) => r.x)).toEqual([INT64_MIN, INT64_MAX, 2n ** 53n + 1n]);

    const error = await expectCode(
      readDataset(blob, 'mem://b/ints', format, [{ name: 'x', kind: 'int' }]),
      'INTEGER_OUT_OF_RANGE',
      'mem://b/ints/00000 rows[0].x',
    );
    expect(error).toMatchObject({ path: 'mem://b/ints/00000 rows[0].x' });
  });

  it('refuses on write an unsafe number, a fraction or a bigint outside int64 in integer columns', async () => {
    const blob = new MemoryBlobStore();
    const int = [{ name: 'x', kind: 'int' }] as const;
    await expectCode(
      writeDataset(blob, 'mem://b/w1', format, int, [{ x: 1 }, { x: 2 ** 53 }]),
      'INTEGER_OUT_OF_RANGE',
      'rows[1].x',
    );
    await expectCode(writeDataset(blob, 'mem://b/w2', format, int, [{ x: 1.5 }]), 'TYPE_MISMATCH', 'rows[0].x');
    await expectCode(
      writeDataset(blob, 'mem://b/w3', format, [{ name: 'x', kind: 'int64' }], [{ x: INT64_MAX + 1n }]),
      'INTEGER_OUT_OF_RANGE',
      'rows[0].x',
    );
    expect((await blob.list('mem://b/')).items).toEqual([]);
  });

  it('splits rows into part files and reads them back in order', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [{ name: 'i', kind: 'int' }];
    async function* rows() {
      for (let i = 0; i < 10; i++) yield { i };
    }
    const written = await writeDataset(blob, 'mem://b/parts/', format, columns, rows(), { rowsPerFile: 3 });
    expect(written.files).toEqual([
      'mem://b/parts/00000',
      'mem://b/parts/00001',
      'mem://b/parts/00002',
      'mem://b/parts/00003',
    ]);
    expect(written.rows).toBe(10);
    // Hidden files of other writers are not data.
    await blob.put('mem://b/parts/_SUCCESS', new Uint8Array());
    await blob.put('mem://b/parts/.00000.crc', new Uint8Array([1, 2, 3]));

    const all = await readDataset(blob, 'mem://b/parts', format, columns);
    expect(all.rows.map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const streamed = await collect(readDatasetRows(blob, 'mem://b/parts', format, columns));
    expect(streamed).toEqual(all.rows);
  });

  it('subsets columns: declared ones in their order, the others dropped', async () => {
    const blob = new MemoryBlobStore();
    await writeDataset(
      blob,
      'mem://b/abc',
      format,
      [
        { name: 'a', kind: 'int' },
        { name: 'b', kind: 'string' },
        { name: 'c', kind: 'float' },
      ],
      [
        { a: 1, b: 'x', c: 0.5 },
        { a: 2, b: 'y', c: 1.5 },
      ],
    );
    const read = await readDataset(blob, 'mem://b/abc', format, [
      { name: 'c', kind: 'float' },
      { name: 'a', kind: 'int' },
    ]);
    expect(read.rows).toEqual([
      { c: 0.5, a: 1 },
      { c: 1.5, a: 2 },
    ]);
    expect(read.rows.map((r) => Object.keys(r))).toEqual([
      ['c', 'a'],
      ['c', 'a'],
    ]);

    const missing = await expectCode(
      readDataset(blob, 'mem://b/abc', format, [{ name: 'd', kind: 'int' }]),
      'TYPE_MISMATCH',
      'mem://b/abc/00000',
      '"d"',
      '"a", "b", "c"',
    );
    expect(missing).toMatchObject({ path: 'mem://b/abc/00000 columns.d' });
  });

  it('names the dataset, row and column of a bad value on write, and leaves no part behind', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [
      { name: 'id', kind: 'int' },
      { name: 'when', kind: 'datetime', nullable: true },
      { name: 'odd name', kind: 'string' },
    ];
    const ok = (id: number) => ({ id, when: null, 'odd name': 's' });
    const write = (rows: unknown[]) =>
      writeDataset(blob, 'mem://b/bad', format, columns, rows as DatasetRow[], { rowsPerFile: 2 });

    await expectCode(write([ok(0), { ...ok(1), id: '1' }]), 'TYPE_MISMATCH', 'mem://b/bad rows[1].id', 'got string');
    await expectCode(write([ok(0), ok(1), ok(2), { ...ok(3), extra: 1 }]), 'TYPE_MISMATCH', 'rows[3].extra');
    await expectCode(write([{ id: 0, when: null }]), 'TYPE_MISMATCH', 'rows[0]["odd name"]', 'not nullable');
    await expectCode(write([{ ...ok(0), id: null }]), 'TYPE_MISMATCH', 'rows[0].id', 'not nullable');
    await expectCode(write([{ ...ok(0), when: new Date(NaN) }]), 'TYPE_MISMATCH', 'rows[0].when');
    await expectCode(write([{ ...ok(0), when: '2024-01-01' }]), 'TYPE_MISMATCH', 'rows[0].when', 'got string');
    await expectCode(write([ok(0), 'not a row']), 'TYPE_MISMATCH', 'rows[1]');
    // The failures above happened in the first or a later part: nothing is left.
    expect((await blob.list('mem://b/')).items).toEqual([]);
  });

  it('infers columns from the rows when none are declared', async () => {
    const blob = new MemoryBlobStore();
    const rows = [
      { n: 1, big: 2n, s: 'x', flag: true },
      { n: 2.5, big: null, s: 'y', flag: false, at: new Date(5), empty: null },
    ];
    const written = await writeDataset(blob, 'mem://b/inferred', format, undefined, rows);
    expect(written.columns).toEqual([
      { name: 'n', kind: 'float', nullable: true },
      { name: 'big', kind: 'int64', nullable: true },
      { name: 's', kind: 'string', nullable: true },
      { name: 'flag', kind: 'boolean', nullable: true },
      { name: 'at', kind: 'datetime', nullable: true },
      { name: 'empty', kind: 'string', nullable: true },
    ]);
    const read = await readDataset(blob, 'mem://b/inferred', format, written.columns);
    expect(read.rows).toEqual([
      { n: 1, big: 2n, s: 'x', flag: true, at: null, empty: null },
      { n: 2.5, big: null, s: 'y', flag: false, at: new Date(5), empty: null },
    ]);
    await expectCode(
      writeDataset(blob, 'mem://b/inferred2', format, undefined, [{ x: 1 }, { x: { nested: true } }]),
      'TYPE_MISMATCH',
      'rows[1].x',
    );
  });

  it('writes an empty dataset as one file, with or without columns', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [{ name: 'a', kind: 'int64', nullable: true }];
    const withColumns = await writeDataset(blob, 'mem://b/empty', format, columns, []);
    expect(withColumns).toEqual({
      files: ['mem://b/empty/00000'],
      rows: 0,
      columns: [{ ...columns[0], nullable: true }],
    });
    expect(await readDataset(blob, 'mem://b/empty', format, undefined)).toEqual({
      columns: [{ name: 'a', kind: format === 'csv' ? 'string' : 'int64', nullable: true }],
      rows: [],
    });

    const none = await writeDataset(blob, 'mem://b/none', format, undefined, []);
    expect(none).toEqual({ files: ['mem://b/none/00000'], rows: 0, columns: [] });
    expect(await readDataset(blob, 'mem://b/none', format, undefined)).toEqual({ columns: [], rows: [] });
    await expectCode(readDataset(blob, 'mem://b/none', format, columns), 'TYPE_MISMATCH', 'no columns');
  });

  it('refuses to mix with an existing dataset unless told to overwrite it', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [{ name: 'i', kind: 'int' }];
    await writeDataset(blob, 'mem://b/again', format, columns, [{ i: 1 }, { i: 2 }, { i: 3 }], { rowsPerFile: 1 });
    await expectCode(
      writeDataset(blob, 'mem://b/again', format, columns, [{ i: 9 }]),
      'ALREADY_EXISTS',
      'mem://b/again/',
    );
    const replaced = await writeDataset(blob, 'mem://b/again', format, columns, [{ i: 9 }], { overwrite: true });
    expect(replaced.files).toEqual(['mem://b/again/00000']);
    expect((await readDataset(blob, 'mem://b/again', format, columns)).rows).toEqual([{ i: 9 }]);
  });

  it('reports a missing dataset as NOT_FOUND', async () => {
    await expectCode(
      readDataset(new MemoryBlobStore(), 'mem://b/nothing', format, undefined),
      'NOT_FOUND',
      'mem://b/nothing',
    );
  });

  it('reads a column named __proto__ as a plain own property', async () => {
    const blob = new MemoryBlobStore();
    const row = JSON.parse('{"__proto__": "p", "x": 1}') as DatasetRow;
    const columns: DatasetColumn[] = [
      { name: '__proto__', kind: 'string' },
      { name: 'x', kind: 'int' },
    ];
    await writeDataset(blob, 'mem://b/proto', format, columns, [row]);
    const [read] = (await readDataset(blob, 'mem://b/proto', format, columns)).rows;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.keys(read!)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toBe('p');
  });

  it('honours an abort signal when writing and reading', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [{ name: 'i', kind: 'int' }];
    const before = new AbortController();
    before.abort(new Error('stop early'));
    await expect(
      writeDataset(blob, 'mem://b/ab', format, columns, [{ i: 1 }], { signal: before.signal }),
    ).rejects.toThrow('stop early');

    // Aborted while rows stream in, after a first part was written: that part is removed.
    const during = new AbortController();
    async function* rows() {
      for (let i = 0; i < 10; i++) {
        if (i === 6) during.abort(new Error('stop writing'));
        yield { i };
      }
    }
    await expect(
      writeDataset(blob, 'mem://b/ab', format, columns, rows(), { rowsPerFile: 5, signal: during.signal }),
    ).rejects.toThrow('stop writing');
    expect((await blob.list('mem://b/ab/')).items).toEqual([]);

    await writeDataset(blob, 'mem://b/ab', format, columns, [{ i: 1 }, { i: 2 }, { i: 3 }], { rowsPerFile: 1 });
    const reading = new AbortController();
    const seen: DatasetRow[] = [];
    await expect(
      (async () => {
        for await (const row of readDatasetRows(blob, 'mem://b/ab', format, columns, { signal: reading.signal })) {
          seen.push(row);
          reading.abort(new Error('stop reading'));
        }
      })(),
    ).rejects.toThrow('stop reading');
    expect(seen).toEqual([{ i: 1 }]);
    await expect(readDataset(blob, 'mem://b/ab', format, columns, { signal: before.signal })).rejects.toThrow(
      'stop early',
    );
  });
});

describe('csv', () => {
  const mixed: DatasetColumn[] = [
    { name: 'id', kind: 'int64' },
    { name: 'name', kind: 'string', nullable: true },
    { name: 'score', kind: 'float', nullable: true },
    { name: 'ok', kind: 'boolean' },
    { name: 'at', kind: 'datetime' },
    { name: 'took', kind: 'duration', nullable: true },
  ];

  it('writes RFC 4180 text: header, quoting, nulls as empty fields and empty strings as ""', async () => {
    const blob = new MemoryBlobStore();
    await writeDataset(blob, 'mem://b/out', 'csv', mixed, [
      { id: 1n, name: 'a, "b"\nc', score: -0, ok: true, at: new Date(Date.UTC(2024, 4, 1, 12)), took: 1500 },
      { id: -2n, name: '', score: null, ok: false, at: new Date(-1), took: null },
      { id: 3n, name: null, score: NaN, ok: false, at: new Date(0), took: -0.000001 },
    ]);
    expect(text(await blob.get('mem://b/out/00000'))).toBe(
      'id,name,score,ok,at,took\n' +
        '1,"a, ""b""\nc",-0,true,2024-05-01T12:00:00.000Z,PT1.5S\n' +
        '-2,"",,false,1969-12-31T23:59:59.999Z,\n' +
        '3,,NaN,false,1970-01-01T00:00:00.000Z,-PT0.000000001S\n',
    );
    const head = await blob.head('mem://b/out/00000');
    expect(head?.contentType).toBe('text/csv; charset=utf-8');
  });

  it('reads a hand-written file with declared columns', async () => {
    const blob = new MemoryBlobStore();
    const csv =
      '\uFEFFextra,id,name,score,ok,at,took\r\n' +
      'x,42,"Smith, ""Jo""",1e-310,True,2024-05-01T14:00:00+02:00,P1DT2H3M4.5S\r\n' +
      'y,-9223372036854775808,"multi\r\nline",-inf, FALSE ,2024-05-01 12:00:00.123456,\r\n' +
      '\r\n' +
      'z,+7,"",  2.5 ,false,2024-05-01,PT0S\r\n' +
      'w,8,,NaN,true,2024-05-01T12:00Z,-PT0.25S';
    await blob.put('mem://b/hand.csv', new TextEncoder().encode(csv));
    const read = await readDataset(blob, 'mem://b/hand.csv', 'csv', mixed);
    expect(read.rows).toStrictEqual([
      {
        id: 42n,
        name: 'Smith, "Jo"',
        score: 1e-310,
        ok: true,
        at: new Date(Date.UTC(2024, 4, 1, 12)),
        took: ((26 * 60 + 3) * 60 + 4.5) * 1000,
      },
      {
        id: INT64_MIN,
        name: 'multi\r\nline',
        score: -Infinity,
        ok: false,
        at: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 123)),
        took: null,
      },
      { id: 7n, name: '', score: 2.5, ok: false, at: new Date(Date.UTC(2024, 4, 1)), took: 0 },
      { id: 8n, name: null, score: NaN, ok: true, at: new Date(Date.UTC(2024, 4, 1, 12)), took: -250 },
    ]);
    // Streamed one byte at a time (CRLF, quotes and the BOM split across chunks): the same rows.
    expect(await collect(readDatasetRows(byteByByte(blob), 'mem://b/hand.csv', 'csv', mixed))).toStrictEqual(read.rows);

    // Undeclared: every column a nullable string; a quoted empty field is '' and an unquoted one null.
    const raw = await readDataset(blob, 'mem://b/hand.csv', 'csv', undefined);
    expect(raw.columns.map((c) => [c.name, c.kind, c.nullable])).toEqual(
      ['extra', 'id', 'name', 'score', 'ok', 'at', 'took'].map((n) => [n, 'string', true]),
    );
    expect(raw.rows[2]).toEqual({
      extra: 'z',
      id: '+7',
      name: '',
      score: '  2.5 ',
      ok: 'false',
      at: '2024-05-01',
      took: 'PT0S',
    });
    expect(raw.rows[3]!.name).toBeNull();
  });

  it('reads an empty field of a non-nullable string column as the empty string', async () => {
    const blob = new MemoryBlobStore();
    await blob.put('mem://b/s.csv', new TextEncoder().encode('a,b\n,""\n'));
    const read = await readDataset(blob, 'mem://b/s.csv', 'csv', [
      { name: 'a', kind: 'string' },
      { name: 'b', kind: 'string', nullable: true },
    ]);
    expect(read.rows).toEqual([{ a: '', b: '' }]);
  });

  it('keeps blank lines of a one-column file as values', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [{ name: 's', kind: 'string', nullable: true }];
    await writeDataset(blob, 'mem://b/one', 'csv', columns, [{ s: null }, { s: '' }, { s: null }]);
    expect(text(await blob.get('mem://b/one/00000'))).toBe('s\n\n""\n\n');
    expect((await readDataset(blob, 'mem://b/one', 'csv', columns)).rows).toEqual([
      { s: null },
      { s: '' },
      { s: null },
    ]);
  });

  it('names file, row, column and line of a cell that does not parse', async () => {
    const blob = new MemoryBlobStore();
    const put = (name: string, csv: string) => blob.put(`mem://b/${name}`, new TextEncoder().encode(csv));
    await put('bad-int.csv', 'a,n\nx,1\ny,1.5\n');
    const error = await expectCode(
      readDataset(blob, 'mem://b/bad-int.csv', 'csv', [{ name: 'n', kind: 'int' }]),
      'TYPE_MISMATCH',
      'mem://b/bad-int.csv rows[1].n',
      '"1.5"',
      'line 3',
    );
    expect(error).toMatchObject({ path: 'mem://b/bad-int.csv rows[1].n' });

    await put('unsafe.csv', 'n\n9007199254740993\n');
    await expectCode(
      readDataset(blob, 'mem://b/unsafe.csv', 'csv', [{ name: 'n', kind: 'int' }]),
      'INTEGER_OUT_OF_RANGE',
      'rows[0].n',
    );
    await put('big.csv', 'n\n9223372036854775808\n');
    await expectCode(
      readDataset(blob, 'mem://b/big.csv', 'csv', [{ name: 'n', kind: 'int64' }]),
      'INTEGER_OUT_OF_RANGE',
      'rows[0].n',
    );

    const check = async (kind: DatasetColumnKind, cell: string) => {
      await put('cell.csv', `v\n${cell}\n`);
      await expectCode(
        readDataset(blob, 'mem://b/cell.csv', 'csv', [{ name: 'v', kind }]),
        'TYPE_MISMATCH',
        'rows[0].v',
      );
    };
    await check('float', '0x10');
    await check('float', '1.5.2');
    await check('boolean', 'yes');
    await check('datetime', '2023-02-29T00:00:00.000Z');
    await check('datetime', '2024-13-01');
    await check('duration', 'P1Y');
    await check('duration', 'PT');
    await check('int64', '');
  });

  it('refuses malformed CSV with INVALID_FORMAT naming file and line', async () => {
    const blob = new MemoryBlobStore();
    const put = (csv: string) => blob.put('mem://b/m.csv', new TextEncoder().encode(csv));
    const read = () => readDataset(blob, 'mem://b/m.csv', 'csv', undefined);
    await put('a,b\n1,2\n3\n');
    await expectCode(read(), 'INVALID_FORMAT', 'mem://b/m.csv line 3', '1 fields where the header has 2');
    await put('a,b\n1,"open\n');
    await expectCode(read(), 'INVALID_FORMAT', 'not closed');
    await put('a,b\n1,x"y\n');
    await expectCode(read(), 'INVALID_FORMAT', 'line 2', 'quote inside an unquoted field');
    await put('a,b\n1,"x"y\n');
    await expectCode(read(), 'INVALID_FORMAT', 'after the closing quote');
    await put('a,a\n1,2\n');
    await expectCode(read(), 'INVALID_FORMAT', 'several columns named "a"');
    await blob.put('mem://b/m.csv', new Uint8Array([0x61, 0x0a, 0xff, 0x0a]));
    await expectCode(read(), 'INVALID_FORMAT', 'not UTF-8');
  });

  it('parses the same records whatever the chunk boundaries', () => {
    const input = 'a,"b ""q"" , c",\r\n"",x\r"multi\nline",\n\n"é🎉",z,"end"';
    const whole = new CsvParser('t');
    const expected = [...whole.push(input), ...whole.end()];
    expect(expected.map((r) => r.fields)).toEqual([
      ['a', 'b "q" , c', null],
      ['', 'x'],
      ['multi\nline', null],
      [null],
      ['é🎉', 'z', 'end'],
    ]);
    expect(expected.map((r) => r.line)).toEqual([1, 2, 3, 5, 6]);
    for (let cut = 0; cut <= input.length; cut++) {
      const parser = new CsvParser('t');
      const records = [...parser.push(input.slice(0, cut)), ...parser.push(input.slice(cut)), ...parser.end()];
      expect(records, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('requires every file of an undeclared read to have the first file’s columns', async () => {
    const blob = new MemoryBlobStore();
    await blob.put('mem://b/mix/00000', new TextEncoder().encode('a,b\n1,2\n'));
    await blob.put('mem://b/mix/00001', new TextEncoder().encode('b,a\n3,4\n'));
    expect((await readDataset(blob, 'mem://b/mix', 'csv', undefined)).rows).toEqual([
      { a: '1', b: '2' },
      { a: '4', b: '3' },
    ]);
    await blob.put('mem://b/mix/00002', new TextEncoder().encode('a,b,c\n5,6,7\n'));
    await expectCode(
      readDataset(blob, 'mem://b/mix', 'csv', undefined),
      'TYPE_MISMATCH',
      'mem://b/mix/00002 columns.c',
    );
    // Declared columns subset every file.
    expect((await readDataset(blob, 'mem://b/mix', 'csv', [{ name: 'a', kind: 'int' }])).rows).toEqual([
      { a: 1 },
      { a: 4 },
      { a: 5 },
    ]);
  });
});

describe('parquet', () => {
  it('stores each kind as the Parquet type pyarrow reads back as such', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = KINDS.map((kind) => ({ name: kind, kind, nullable: kind === 'string' }));
    const row = Object.fromEntries(KINDS.map((kind) => [kind, SAMPLES[kind][0]]));
    await writeDataset(blob, 'mem://b/types', 'parquet', columns, [row]);
    const bytes = await blob.get('mem://b/types/00000');
    const metadata = parquetMetadata(bytes.slice().buffer);
    const schema = Object.fromEntries(metadata.schema.slice(1).map((e) => [e.name, e]));
    expect(schema).toMatchObject({
      int: { type: 'INT64', repetition_type: 'REQUIRED', logical_type: undefined },
      int64: { type: 'INT64', repetition_type: 'REQUIRED', logical_type: undefined },
      float: { type: 'DOUBLE', repetition_type: 'REQUIRED' },
      string: { type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', logical_type: { type: 'STRING' } },
      boolean: { type: 'BOOLEAN', repetition_type: 'REQUIRED' },
      datetime: {
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
      },
      duration: { type: 'INT64', logical_type: undefined, converted_type: undefined },
    });
    expect(metadata.row_groups[0]!.columns[0]!.meta_data?.codec).toBe('SNAPPY');
    expect((await blob.head('mem://b/types/00000'))?.contentType).toBe('application/vnd.apache.parquet');

    // Undeclared reads get the kinds back from the file's flyte-ts metadata (int stays int, duration a duration).
    const read = await readDataset(blob, 'mem://b/types', 'parquet', undefined);
    expect(read.columns).toEqual(columns.map((c) => ({ ...c, nullable: c.nullable === true })));
    expect(read.rows).toStrictEqual([row]);
  });

  it('refuses a declared kind the file column cannot be read as', async () => {
    const blob = new MemoryBlobStore();
    await writeDataset(
      blob,
      'mem://b/k',
      'parquet',
      [
        { name: 'n', kind: 'int64' },
        { name: 'd', kind: 'duration' },
      ],
      [{ n: 1n, d: 5 }],
    );
    const bad = async (column: DatasetColumn, ...mentions: string[]) =>
      expectCode(readDataset(blob, 'mem://b/k', 'parquet', [column]), 'TYPE_MISMATCH', 'mem://b/k/00000', ...mentions);
    await bad({ name: 'n', kind: 'string' }, 'columns.n', 'Parquet INT64');
    await bad({ name: 'n', kind: 'datetime' }, 'columns.n');
    await bad({ name: 'n', kind: 'duration' }, 'columns.n', 'readable as int64 or int');
    await bad({ name: 'd', kind: 'int64' }, 'columns.d', 'readable as duration');
    expect((await readDataset(blob, 'mem://b/k', 'parquet', [{ name: 'n', kind: 'int' }])).rows).toEqual([{ n: 1 }]);
  });

  it('reads files of another writer: unannotated and narrow types, other time units, GZIP, a null in a REQUIRED read', async () => {
    const blob = new MemoryBlobStore();
    const buffer = parquetWriteBuffer({
      codec: 'GZIP',
      compressors: { GZIP: (input) => gzipSync(input) },
      schema: [
        { name: 'schema', num_children: 8 },
        { name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' },
        { name: 'i64', type: 'INT64', repetition_type: 'OPTIONAL' },
        { name: 'f32', type: 'FLOAT', repetition_type: 'OPTIONAL' },
        { name: 'raw', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
        {
          name: 'ms',
          type: 'INT64',
          repetition_type: 'OPTIONAL',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' },
        },
        { name: 'day', type: 'INT32', repetition_type: 'OPTIONAL', converted_type: 'DATE' },
        { name: 'u64', type: 'INT64', repetition_type: 'OPTIONAL', converted_type: 'UINT_64' },
        { name: 'json', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'JSON' },
      ],
      columnData: [
        { name: 'i32', data: [7, null] },
        { name: 'i64', data: [1_500_000n, null] },
        { name: 'f32', data: [0.5, null] },
        { name: 'raw', data: [new TextEncoder().encode('héllo'), null] },
        { name: 'ms', data: [-1_500_001n, null] },
        { name: 'day', data: [19_000, null] },
        { name: 'u64', data: [2n ** 64n - 1n, 3n] },
        { name: 'json', data: [{ a: 1 }, null] },
      ],
    });
    await blob.put('mem://b/foreign.parquet', new Uint8Array(buffer));

    // Without declared columns, the JSON column cannot be read.
    await expectCode(
      readDataset(blob, 'mem://b/foreign.parquet', 'parquet', undefined),
      'TYPE_MISMATCH',
      'mem://b/foreign.parquet columns.json',
      'Parquet BYTE_ARRAY JSON',
    );
    const columns: DatasetColumn[] = [
      { name: 'i32', kind: 'int', nullable: true },
      { name: 'i64', kind: 'duration', nullable: true },
      { name: 'f32', kind: 'float', nullable: true },
      { name: 'raw', kind: 'string', nullable: true },
      { name: 'ms', kind: 'datetime', nullable: true },
      { name: 'day', kind: 'datetime', nullable: true },
    ];
    const read = await readDataset(blob, 'mem://b/foreign.parquet', 'parquet', columns);
    expect(read.rows).toStrictEqual([
      { i32: 7, i64: 1.5, f32: 0.5, raw: 'héllo', ms: new Date(-2), day: new Date(19_000 * 86_400_000) },
      { i32: null, i64: null, f32: null, raw: null, ms: null, day: null },
    ]);
    await expectCode(
      readDataset(blob, 'mem://b/foreign.parquet', 'parquet', [{ name: 'i32', kind: 'int' }]),
      'TYPE_MISMATCH',
      'mem://b/foreign.parquet rows[1].i32',
      'not nullable',
    );
    await expectCode(
      readDataset(blob, 'mem://b/foreign.parquet', 'parquet', [{ name: 'u64', kind: 'int64' }]),
      'INTEGER_OUT_OF_RANGE',
      'rows[0].u64',
    );
  });

  it('refuses bytes that are not Parquet with INVALID_FORMAT', async () => {
    const blob = new MemoryBlobStore();
    await blob.put('mem://b/x.parquet', new TextEncoder().encode('a,b\n1,2\n'));
    await expectCode(
      readDataset(blob, 'mem://b/x.parquet', 'parquet', undefined),
      'INVALID_FORMAT',
      'mem://b/x.parquet',
    );
  });

  it('reads row group by row group, dictionary-encoded strings included', async () => {
    const blob = new MemoryBlobStore();
    const columns: DatasetColumn[] = [
      { name: 'i', kind: 'int' },
      { name: 's', kind: 'string', nullable: true },
    ];
    // Few distinct strings: dictionary-encoded pages, with nulls.
    const rows = Array.from({ length: 2500 }, (_, i) => ({ i, s: i % 4 === 3 ? null : `v${i % 3}` }));
    await writeDataset(blob, 'mem://b/groups', 'parquet', columns, rows);
    const metadata = parquetMetadata((await blob.get('mem://b/groups/00000')).slice().buffer);
    expect(metadata.row_groups.length).toBeGreaterThan(1);
    const read = await collect(readDatasetRows(blob, 'mem://b/groups', 'parquet', columns));
    expect(read).toEqual(rows);
  });
});

describe('arguments', () => {
  it('refuses bad formats, columns and options with INVALID_ARGUMENT', async () => {
    const blob = new MemoryBlobStore();
    const write = (format: unknown, columns: unknown, options: object = {}) =>
      writeDataset(blob, 'mem://b/args', format as DatasetFormat, columns as DatasetColumn[], [], options);
    await expectCode(write('json', undefined), 'INVALID_ARGUMENT', "'parquet' or 'csv'");
    await expectCode(write('csv', [{ name: 'a', kind: 'text' }]), 'INVALID_ARGUMENT', 'kind "text"');
    await expectCode(
      write('csv', [
        { name: 'a', kind: 'int' },
        { name: 'a', kind: 'int' },
      ]),
      'INVALID_ARGUMENT',
      'declared twice',
    );
    await expectCode(write('csv', undefined, { rowsPerFile: 0 }), 'INVALID_ARGUMENT', 'rowsPerFile');
    expect(() => readDatasetRows(blob, 'mem://b/args', 'xml' as DatasetFormat, undefined)).toThrow(
      /'parquet' or 'csv'/,
    );
  });
});
