// Files, directories and datasets through the engine: tasks return local files, content, directories and rows;
// the engine uploads them under the attempt's raw-output prefix; downstream tasks get lazy handles.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { idl } from '@flyte-ts/core';
import { fromLiteralMap, t, task, workflow, type FlyteFile } from '@flyte-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execId, phaseOf, settings, startEngine } from './support.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flyte-ts-data-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const rawOf = (name: string, node: string, attempt = 0) =>
  `mem://flyte/raw/${settings.project}/${settings.domain}/${name}/${node}/${attempt}`;

function errorOf(execution: idl.admin.Execution): idl.core.ExecutionError {
  return execution.closure?.outputResult.value as idl.core.ExecutionError;
}

describe('files', () => {
  const write = task(
    {
      name: 'data.write',
      inputs: { text: t.string() },
      outputs: { report: t.file({ format: 'txt' }), note: t.file() },
    },
    async ({ text }, { attempt }) => {
      const path = join(scratch, `report-${attempt}-${Math.random().toString(36).slice(2)}.txt`);
      await writeFile(path, text);
      return { report: path, note: { body: `note: ${text}`, name: 'note.md' } };
    },
  );
  const seen: { download?: string; streamed?: string } = {};
  const read = task(
    {
      name: 'data.read',
      inputs: { report: t.file({ format: 'txt' }), note: t.file() },
      outputs: { text: t.string(), same: t.file() },
    },
    async ({ report, note }) => {
      const path = await report.download();
      seen.download = path;
      expect(await report.download()).toBe(path);
      const chunks: Uint8Array[] = [];
      for await (const chunk of await note.stream()) chunks.push(chunk);
      seen.streamed = Buffer.concat(chunks).toString('utf8');
      return { text: `${await readFile(path, 'utf8')} | ${await note.text()}`, same: report };
    },
  );
  const wf = workflow(
    { name: 'data.files', inputs: { text: t.string() }, outputs: { text: t.string(), same: t.file() } },
    ({ text }) => {
      const made = write({ text });
      return read({ report: made.report, note: made.note });
    },
  );

  it('uploads a returned local file and content under the raw-output prefix, and hands them on as handles', async () => {
    const { engine, blob } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'files', inputs: { text: 'hello' } });
    const execution = await engine.waitForExecution(execId('files'));
    expect(phaseOf(execution)).toBe('SUCCEEDED');
    const outputs = await engine.getExecutionOutputs(execId('files'));
    expect(outputs.literals.text?.value.case === 'scalar' && outputs.literals.text.value.value.value.value).toEqual(
      expect.objectContaining({ value: { case: 'stringValue', value: 'hello | note: hello' } }),
    );

    const made = await engine.getNodeExecutionOutputs({
      nodeId: 'n0',
      executionId: execId('files'),
    } as idl.core.NodeExecutionIdentifier);
    const { report, note } = fromLiteralMap(write.outputs, made);
    expect(report.uri).toMatch(new RegExp(`^${rawOf('files', 'n0')}/report/report-0-[a-z0-9]+\\.txt$`));
    expect(report.format).toBe('txt');
    expect(note.uri).toBe(`${rawOf('files', 'n0')}/note/note.md`);
    expect(new TextDecoder().decode(await blob.get(report.uri))).toBe('hello');
    expect(seen.streamed).toBe('note: hello');
    // A handle returned as is is passed on by reference, not copied.
    const { same } = fromLiteralMap(wf.outputs, outputs);
    expect(same.uri).toBe(report.uri);
    // The downloads of an attempt are removed once it ends.
    expect(seen.download).toBeDefined();
    expect(existsSync(seen.download!)).toBe(false);
    await engine.stop();
  });

  it('puts raw data under the raw-output prefix an execution asks for', async () => {
    const { engine, blob } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({
      workflow: wf.id(settings),
      name: 'elsewhere',
      inputs: { text: 'x' },
      rawOutputPrefix: 'mem://custom/raw',
    });
    expect(phaseOf(await engine.waitForExecution(execId('elsewhere')))).toBe('SUCCEEDED');
    const listed = await blob.list('mem://custom/raw/', { limit: 100 });
    expect(listed.items.map((i) => i.uri)).toContain(
      `mem://custom/raw/${settings.project}/${settings.domain}/elsewhere/n0/0/note/note.md`,
    );
    await engine.stop();
  });

  it('fails the task with NOT_FOUND naming the output when a returned local file does not exist', async () => {
    const ghost = task({ name: 'data.ghost', outputs: { f: t.file() } }, () => ({ f: join(scratch, 'missing.bin') }));
    const gwf = workflow({ name: 'data.ghost_wf', outputs: { f: t.file() } }, () => ({ f: ghost().f }));
    const { engine } = await startEngine();
    await engine.register([gwf], settings);
    await engine.createExecution({ workflow: gwf.id(settings), name: 'ghost' });
    const execution = await engine.waitForExecution(execId('ghost'));
    expect(phaseOf(execution)).toBe('FAILED');
    expect(errorOf(execution).message).toContain('data.ghost.outputs.f');
    expect(errorOf(execution).message).toContain('missing.bin');
    await engine.stop();
  });
});

describe('execution inputs', () => {
  it('uploads local files given as execution inputs under the execution, and refuses missing ones', async () => {
    const count = task({ name: 'data.count', inputs: { f: t.file() }, outputs: { n: t.int() } }, async ({ f }) => ({
      n: (await f.bytes()).byteLength,
    }));
    const wf = workflow({ name: 'data.count_wf', inputs: { f: t.file() }, outputs: { n: t.int() } }, ({ f }) => ({
      n: count({ f }).n,
    }));
    const path = join(scratch, 'input.bin');
    await writeFile(path, new Uint8Array(1234));
    const { engine, blob } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'local-input', inputs: { f: path } });
    expect(phaseOf(await engine.waitForExecution(execId('local-input')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('local-input')))).toEqual({ n: 1234 });
    // Under a prefix of the call that created the execution (`inputs-` and a random suffix).
    const under = `mem://flyte/raw/${settings.project}/${settings.domain}/local-input/`;
    const uploaded = (await blob.list(under)).items.filter((item) =>
      /^inputs-[0-9a-f]+\/f\/input\.bin$/.test(item.uri.slice(under.length)),
    );
    expect(uploaded.map((item) => item.size)).toEqual([1234]);

    await expect(
      engine.createExecution({ workflow: wf.id(settings), name: 'no-input', inputs: { f: join(scratch, 'nope.bin') } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUTS', id: 'f' });
    expect(await engine.getExecution(execId('no-input'))).toBeUndefined();
    await engine.stop();
  });
});

describe('directories', () => {
  it('uploads a returned local directory file by file, and lists and downloads it downstream', async () => {
    const make = task({ name: 'data.make_dir', outputs: { dir: t.directory() } }, async () => {
      const root = join(scratch, `dir-${Math.random().toString(36).slice(2)}`);
      await mkdir(join(root, 'nested', 'deep'), { recursive: true });
      await writeFile(join(root, 'a.txt'), 'A');
      await writeFile(join(root, 'nested', 'b.txt'), 'BB');
      await writeFile(join(root, 'nested', 'deep', 'c.txt'), 'CCC');
      return { dir: root };
    });
    const summarize = task(
      {
        name: 'data.summarize_dir',
        inputs: { dir: t.directory() },
        outputs: { files: t.list(t.string()), total: t.int(), b: t.string() },
      },
      async ({ dir }) => {
        const files = await dir.list();
        const local = await dir.download();
        const b = await readFile(join(local, 'nested', 'b.txt'), 'utf8');
        let total = 0;
        for (const file of files) total += (await file.bytes()).byteLength;
        return { files: files.map((f: FlyteFile) => f.uri.slice(dir.uri.length + 1)), total, b };
      },
    );
    const wf = workflow(
      { name: 'data.dirs', outputs: { files: t.list(t.string()), total: t.int(), b: t.string() } },
      () => summarize({ dir: make().dir }),
    );
    const { engine } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'dirs' });
    expect(phaseOf(await engine.waitForExecution(execId('dirs')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('dirs')))).toEqual({
      files: ['a.txt', 'nested/b.txt', 'nested/deep/c.txt'],
      total: 6,
      b: 'BB',
    });
    await engine.stop();
  });
});

describe('structured datasets', () => {
  const columns = { id: t.int64(), name: t.string(), score: t.optional(t.float()), at: t.datetime() };
  for (const format of ['parquet', 'csv'] as const) {
    it(`writes returned rows as ${format} and reads them downstream with the declared (subset) columns`, async () => {
      const produce = task(
        {
          name: `data.produce_${format}`,
          inputs: { n: t.int() },
          outputs: { table: t.structuredDataset({ format, columns }) },
        },
        ({ n }) => ({
          table: {
            rows: Array.from({ length: n }, (_, i) => ({
              id: BigInt(i) * 1_000_000_000_000n,
              name: `row "${i}", with comma`,
              score: i % 3 === 0 ? null : i / 4,
              at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
            })),
          },
        }),
      );
      const consume = task(
        {
          name: `data.consume_${format}`,
          inputs: { table: t.structuredDataset({ format, columns: { score: t.optional(t.float()), id: t.int64() } }) },
          outputs: { count: t.int(), nulls: t.int(), lastId: t.int64(), keys: t.list(t.string()) },
        },
        async ({ table }) => {
          const { rows } = await table.read();
          let streamed = 0;
          for await (const _ of table.rows()) streamed++;
          expect(streamed).toBe(rows.length);
          return {
            count: rows.length,
            nulls: rows.filter((r) => r.score === null).length,
            lastId: rows[rows.length - 1]!.id as bigint,
            keys: Object.keys(rows[0]!).sort(),
          };
        },
      );
      const wf = workflow(
        {
          name: `data.datasets_${format}`,
          inputs: { n: t.int() },
          outputs: { count: t.int(), nulls: t.int(), lastId: t.int64(), keys: t.list(t.string()) },
        },
        ({ n }) => consume({ table: produce({ n }).table }),
      );
      const { engine, blob } = await startEngine();
      await engine.register([wf], settings);
      const name = `ds-${format}`;
      await engine.createExecution({ workflow: wf.id(settings), name, inputs: { n: 30 } });
      expect(phaseOf(await engine.waitForExecution(execId(name)))).toBe('SUCCEEDED');
      expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId(name)))).toEqual({
        count: 30,
        nulls: 10,
        lastId: 29_000_000_000_000n,
        keys: ['id', 'score'],
      });
      const made = await engine.getNodeExecutionOutputs({
        nodeId: 'n0',
        executionId: execId(name),
      } as idl.core.NodeExecutionIdentifier);
      const literal = made.literals.table?.value;
      const dataset = literal?.case === 'scalar' ? literal.value.value : undefined;
      expect(dataset?.case).toBe('structuredDataset');
      const sd = dataset?.value as idl.core.StructuredDataset;
      expect(sd.uri).toBe(`${rawOf(name, 'n0')}/table`);
      expect(sd.metadata?.structuredDatasetType?.format).toBe(format);
      expect(sd.metadata?.structuredDatasetType?.columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'at']);
      expect((await blob.list(`${sd.uri}/`)).items.length).toBeGreaterThan(0);
      await engine.stop();
    });
  }
});
