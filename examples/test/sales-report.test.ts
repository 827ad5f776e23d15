// Files, directories and datasets through the engine on S3: s3rver on 127.0.0.1, the real AWS SDK through
// S3BlobStore, the engine's metadata and raw data in one bucket. Checks the results and where the data went.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3BlobStore } from '@flyte-ts/blob-s3';
import { startS3rver, type S3rverHandle } from '@flyte-ts/blob-s3/testing';
import { fromLiteralMap, idl, t, task, workflow } from '@flyte-ts/core';
import { createEngine, readDataset, type Engine } from '@flyte-ts/executor';
import { MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeExecutionId, settings } from '../src/engine.js';
import { exportSales, loadSales, salesReport } from '../src/sales-report.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

describe('sales report: a file and a dataset between tasks, on S3', () => {
  let s3: S3rverHandle;
  let blob: S3BlobStore;
  let engine: Engine;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['flyte'] });
    blob = new S3BlobStore({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      buckets: ['flyte'],
    });
    engine = createEngine({
      store: new MemoryStore(),
      blob,
      catalog: new MemoryCatalog(),
      config: { metadataPrefix: 's3://flyte/metadata', rawOutputPrefix: 's3://flyte/raw' },
    });
    await engine.start();
    await engine.register([salesReport], settings);
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
    await s3?.close();
  }, 60_000);

  it('exports a CSV, loads it as Parquet and reports totals per region from two columns', async () => {
    const created = await engine.createExecution({
      workflow: salesReport.id(settings),
      name: 'sales',
      inputs: { count: 400 },
    });
    const done = await engine.waitForExecution(created.id!);
    const result = done.closure?.outputResult;
    expect(result?.case === 'error' ? result.value.message : 'no error').toBe('no error');
    expect(idl.core.WorkflowExecution_Phase[done.closure?.phase ?? 0]).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(salesReport.outputs, await engine.getExecutionOutputs(created.id!));
    expect(outputs.rows).toBe(400);

    // The same totals, computed here from the rule that generated the sample.
    const expected: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const region = ['north', 'south', 'east', 'west'][i % 4]!;
      const units = 1 + (i % 7);
      const amount = Math.round(units * (9.5 + (i % 13)) * 100) / 100;
      expected[region] = Math.round(((expected[region] ?? 0) + amount) * 100) / 100;
    }
    expect(outputs.totals).toEqual(expected);

    const raw = `s3://flyte/raw/${settings.project}/${settings.domain}/sales`;
    expect(outputs.report.uri).toBe(`${raw}/n2/0/report/report.md`);
    const report = new TextDecoder().decode(await blob.get(outputs.report.uri));
    expect(report).toContain(`| north | ${expected.north!.toFixed(2)} |`);

    // The CSV export and the Parquet dataset are objects in the bucket, readable outside the engine too.
    const exported = await engine.getNodeExecutionOutputs(nodeExecutionId(created.id!, 'n0'));
    const { csv } = fromLiteralMap(exportSales.outputs, exported);
    expect(csv.uri.startsWith(`${raw}/n0/0/csv/`)).toBe(true);
    expect((await blob.head(csv.uri))?.size).toBeGreaterThan(400 * 20);
    const loaded = await engine.getNodeExecutionOutputs(nodeExecutionId(created.id!, 'n1'));
    const { sales } = fromLiteralMap(loadSales.outputs, loaded);
    expect(sales.uri).toBe(`${raw}/n1/0/sales`);
    const parts = await blob.list(`${sales.uri}/`);
    expect(parts.items.map((item) => item.uri)).toEqual([`${sales.uri}/00000`]);
    const table = await readDataset(blob, sales.uri, 'parquet', [
      { name: 'units', kind: 'int' },
      { name: 'soldAt', kind: 'datetime' },
    ]);
    expect(table.rows).toHaveLength(400);
    expect(table.rows[1]).toEqual({ units: 2, soldAt: new Date(Date.UTC(2026, 0, 1, 1)) });
  }, 60_000);

  it('moves a directory between tasks and uploads a local file given as an execution input, on S3', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'flyte-ts-s3-dir-'));
    const snapshot = task(
      { name: 'examples.s3.snapshot', inputs: { seed: t.file() }, outputs: { dir: t.directory() } },
      async ({ seed }) => {
        const root = join(scratch, 'out');
        await mkdir(join(root, 'logs'), { recursive: true });
        await writeFile(join(root, 'seed.txt'), await seed.text());
        await writeFile(join(root, 'logs', 'a.log'), 'x'.repeat(3000));
        return { dir: root };
      },
    );
    const inventory = task(
      {
        name: 'examples.s3.inventory',
        inputs: { dir: t.directory() },
        outputs: { files: t.list(t.string()), seed: t.string() },
      },
      async ({ dir }) => {
        const local = await dir.download();
        return {
          files: (await dir.list()).map((f) => f.uri.slice(dir.uri.length + 1)),
          seed: await readFile(join(local, 'seed.txt'), 'utf8'),
        };
      },
    );
    const wf = workflow(
      {
        name: 'examples.s3.dirs',
        inputs: { seed: t.file() },
        outputs: { files: t.list(t.string()), seed: t.string() },
      },
      ({ seed }) => inventory({ dir: snapshot({ seed }).dir }),
    );
    await engine.register([wf], settings);
    const seedPath = join(scratch, 'seed.txt');
    await writeFile(seedPath, 'seeded on S3');
    const created = await engine.createExecution({
      workflow: wf.id(settings),
      name: 'dirs',
      inputs: { seed: seedPath },
    });
    const done = await engine.waitForExecution(created.id!);
    expect(idl.core.WorkflowExecution_Phase[done.closure?.phase ?? 0]).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(created.id!))).toEqual({
      files: ['logs/a.log', 'seed.txt'],
      seed: 'seeded on S3',
    });
    const raw = `s3://flyte/raw/${settings.project}/${settings.domain}/dirs`;
    // The file given as input was uploaded under the execution's own inputs prefix, where its inputs point.
    const seed = (await engine.getExecutionInputs(created.id!)).literals.seed?.value;
    const seedUri = seed?.case === 'scalar' && seed.value.value.case === 'blob' ? seed.value.value.value.uri : '';
    expect(seedUri).toMatch(new RegExp(`^${raw}/inputs-[0-9a-f]{16}/seed/seed\\.txt$`));
    expect((await blob.head(seedUri))?.size).toBe(12);
    expect((await blob.list(`${raw}/n0/0/dir/`)).items.map((item) => item.uri)).toEqual([
      `${raw}/n0/0/dir/logs/a.log`,
      `${raw}/n0/0/dir/seed.txt`,
    ]);
    await rm(scratch, { recursive: true, force: true });
  }, 60_000);
});
