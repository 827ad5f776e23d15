// Data between tasks by reference: a task exports a CSV file, the next loads it into a Parquet dataset, the last
// reads two of the dataset's columns and writes a Markdown report. Files and datasets live in the engine's
// BlobStore (S3 in the test), under each attempt's raw-output prefix; tasks only see lazy handles.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { t, task, workflow } from '@flyte-ts/core';

const REGIONS = ['north', 'south', 'east', 'west'] as const;

/** The columns of the sales dataset. */
export const salesColumns = {
  region: t.string(),
  amount: t.float(),
  units: t.int(),
  soldAt: t.datetime(),
};

/** Exports `count` sales as a CSV file (a deterministic sample), as a system of record would. */
export const exportSales = task(
  {
    name: 'examples.sales.export',
    inputs: { count: t.int() },
    outputs: { csv: t.file({ format: 'csv' }) },
  },
  async ({ count }, { attempt }) => {
    const lines = ['region,amount,units,sold_at'];
    for (let i = 0; i < count; i++) {
      const region = REGIONS[i % REGIONS.length]!;
      const units = 1 + (i % 7);
      const amount = Math.round(units * (9.5 + (i % 13)) * 100) / 100;
      lines.push(`${region},${amount},${units},${new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString()}`);
    }
    // A local file: the engine uploads it when the task returns its path.
    const path = join(tmpdir(), `sales-${process.pid}-${attempt}-${Date.now()}.csv`);
    await writeFile(path, lines.join('\n') + '\n');
    return { csv: path };
  },
);

/** Loads the CSV export into a Parquet dataset with typed columns. */
export const loadSales = task(
  {
    name: 'examples.sales.load',
    inputs: { csv: t.file({ format: 'csv' }) },
    outputs: { sales: t.structuredDataset({ format: 'parquet', columns: salesColumns }), rows: t.int() },
  },
  async ({ csv }) => {
    const [, ...lines] = (await csv.text()).trim().split('\n');
    const rows = lines.map((line) => {
      const [region, amount, units, soldAt] = line.split(',');
      return { region: region!, amount: Number(amount), units: Number(units), soldAt: new Date(soldAt!) };
    });
    return { sales: { rows }, rows: rows.length };
  },
);

/** Totals per region, from two columns of the dataset, as a Markdown report file and as numbers. */
export const reportSales = task(
  {
    name: 'examples.sales.report',
    // Column subsetting: this task declares only the columns it reads.
    inputs: { sales: t.structuredDataset({ format: 'parquet', columns: { region: t.string(), amount: t.float() } }) },
    outputs: { report: t.file({ format: 'md' }), totals: t.map(t.float()) },
  },
  async ({ sales }) => {
    const totals: Record<string, number> = {};
    for await (const row of sales.rows()) {
      const region = row.region as string;
      totals[region] = Math.round(((totals[region] ?? 0) + (row.amount as number)) * 100) / 100;
    }
    const body = [
      '# Sales by region',
      '',
      '| region | amount |',
      '|---|---:|',
      ...Object.keys(totals)
        .sort()
        .map((region) => `| ${region} | ${totals[region]!.toFixed(2)} |`),
      '',
    ].join('\n');
    return { report: { body, name: 'report.md' }, totals };
  },
);

/** Export → load → report. */
export const salesReport = workflow(
  {
    name: 'examples.sales.sales_report',
    inputs: { count: t.int() },
    outputs: { report: t.file({ format: 'md' }), totals: t.map(t.float()), rows: t.int() },
  },
  ({ count }) => {
    const { csv } = exportSales({ count });
    const loaded = loadSales({ csv });
    const { report, totals } = reportSales({ sales: loaded.sales });
    return { report, totals, rows: loaded.rows };
  },
);
