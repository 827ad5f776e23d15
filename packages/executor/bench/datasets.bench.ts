// Structured datasets through MemoryBlobStore: writes and reads back 1,000,000 rows × 4 columns (int64, float,
// string, datetime) in Parquet and CSV, and prints time and size. Asserts nothing but the row count.
// Run: tsx --conditions=@flyte-ts/source bench/datasets.bench.ts [rows]
import { performance } from 'node:perf_hooks';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import {
  readDataset,
  readDatasetRows,
  writeDataset,
  type DatasetColumn,
  type DatasetFormat,
  type DatasetRow,
} from '../src/data/datasets/index.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const columns: DatasetColumn[] = [
  { name: 'id', kind: 'int64' },
  { name: 'value', kind: 'float' },
  { name: 'label', kind: 'string' },
  { name: 'at', kind: 'datetime' },
];

function* rows(): Generator<DatasetRow> {
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < ROWS; i++) {
    yield {
      id: BigInt(i) * 7919n,
      value: i * 0.37 + 1 / (i + 1),
      label: `item-${i % 5000}`,
      at: new Date(start + i * 1000),
    };
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function bench(format: DatasetFormat): Promise<void> {
  const blob = new MemoryBlobStore();
  const uri = `mem://bench/${format}`;
  let t = performance.now();
  const written = await writeDataset(blob, uri, format, columns, rows());
  const writeMs = performance.now() - t;
  let size = 0;
  for (const file of written.files) size += (await blob.head(file))!.size;

  t = performance.now();
  const read = await readDataset(blob, uri, format, columns);
  const readMs = performance.now() - t;
  if (read.rows.length !== ROWS) throw new Error(`read ${read.rows.length} rows, wrote ${ROWS}`);

  t = performance.now();
  let streamed = 0;
  for await (const _ of readDatasetRows(blob, uri, format, columns)) streamed++;
  const streamMs = performance.now() - t;
  if (streamed !== ROWS) throw new Error(`streamed ${streamed} rows, wrote ${ROWS}`);

  console.log(
    `${format.padEnd(7)} ${ROWS.toLocaleString('en')} rows × 4 columns, ${written.files.length} files, ${mb(size)}: ` +
      `write ${(writeMs / 1000).toFixed(2)} s, readDataset ${(readMs / 1000).toFixed(2)} s, ` +
      `readDatasetRows ${(streamMs / 1000).toFixed(2)} s`,
  );
}

await bench('parquet');
await bench('csv');
