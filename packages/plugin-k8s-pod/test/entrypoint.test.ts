// flyte-ts-execute in this process (runExecute): arguments, task loading, inputs and outputs on file:// and s3://
// blob stores, error documents. The end-to-end test through pods is execute-pods.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { startS3rver } from '@flyte-ts/blob-s3/testing';
import { fromLiteralMap, idl, t, toLiteralMap, type BlobStore } from '@flyte-ts/core';
import { LocalFsBlobStore } from '@flyte-ts/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EXIT_NO_ERROR_DOCUMENT,
  EXIT_TASK_FAILED,
  EXIT_USAGE,
  ExecuteUsageError,
  parseExecuteArgs,
  runExecute,
  TASK_NOT_FOUND,
} from '../src/entrypoint/index.js';

const MODULE = new URL('./support/pod-tasks.ts', import.meta.url).href;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempStore(): { blob: LocalFsBlobStore; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flyte-execute-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { blob: new LocalFsBlobStore({ root: dir }), root: dir };
}

function argv(base: string, taskName: string, module: string | null = MODULE): string[] {
  return [
    '--inputs',
    `${base}/in/inputs.pb`,
    '--output-prefix',
    `${base}/out`,
    '--raw-output-data-prefix',
    `${base}/raw`,
    '--checkpoint-path',
    `${base}/cp`,
    '--prev-checkpoint',
    '""',
    '--',
    ...(module === null ? [] : ['task-module', module]),
    'task-name',
    taskName,
  ];
}

async function errorDocument(blob: BlobStore, base: string): Promise<idl.core.ContainerError | undefined> {
  return fromBinary(idl.core.ErrorDocumentSchema, await blob.get(`${base}/out/error.pb`)).error;
}

const env = {
  FLYTE_INTERNAL_EXECUTION_PROJECT: 'p',
  FLYTE_INTERNAL_EXECUTION_DOMAIN: 'd',
  FLYTE_INTERNAL_EXECUTION_ID: 'exec-7',
  FLYTE_ATTEMPT_NUMBER: '2',
};
const quiet = { log: () => undefined };

describe('parseExecuteArgs', () => {
  it('reads the options and the resolver arguments of a task template', () => {
    expect(parseExecuteArgs(argv('file:///b', 'my.task'))).toEqual({
      inputs: 'file:///b/in/inputs.pb',
      outputPrefix: 'file:///b/out',
      rawOutputDataPrefix: 'file:///b/raw',
      checkpointPath: 'file:///b/cp',
      prevCheckpoint: undefined,
      taskModule: MODULE,
      taskName: 'my.task',
    });
    expect(
      parseExecuteArgs(['--inputs=a', '--output-prefix=b', '--raw-output-data-prefix=c', '--', 'task-name', 'n']),
    ).toMatchObject({ inputs: 'a', outputPrefix: 'b', rawOutputDataPrefix: 'c', taskName: 'n' });
  });

  it('refuses unknown, repeated, valueless and missing arguments', () => {
    const base = argv('file:///b', 'n');
    expect(() => parseExecuteArgs(['--verbose', ...base])).toThrow(/unknown argument --verbose/);
    expect(() => parseExecuteArgs(['--inputs', 'x', ...base])).toThrow(/--inputs is given twice/);
    expect(() => parseExecuteArgs(base.slice(0, -1))).toThrow(/task-name needs a value/);
    expect(() => parseExecuteArgs([...base, 'task-resolver', 'x'])).toThrow(/unknown resolver argument/);
    expect(() => parseExecuteArgs(base.slice(2))).toThrow(ExecuteUsageError);
    expect(() => parseExecuteArgs(base.slice(0, 10))).toThrow(/task-name is required/);
  });
});

describe('runExecute', { timeout: 30_000 }, () => {
  it('runs a task on its inputs and writes outputs.pb, with the attempt and execution of the environment', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    await blob.put(
      `${base}/in/inputs.pb`,
      toBinary(idl.core.LiteralMapSchema, toLiteralMap({ x: t.int() }, { x: 12 })),
    );
    expect(await runExecute(argv(base, 'pods.square'), { env, ...quiet })).toBe(0);
    const outputs = fromBinary(idl.core.LiteralMapSchema, await blob.get(`${base}/out/outputs.pb`));
    expect(fromLiteralMap({ y: t.int() }, outputs)).toEqual({ y: 144 });
    expect(await blob.head(`${base}/out/error.pb`)).toBeUndefined();
  });

  it('uploads returned local files under the raw-output prefix and reads file inputs from the store', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    const write = toLiteralMap({ title: t.string(), lines: t.int() }, { title: 'a b', lines: 3 });
    await blob.put(`${base}/in/inputs.pb`, toBinary(idl.core.LiteralMapSchema, write));
    expect(await runExecute(argv(base, 'pods.write_report'), { env, ...quiet })).toBe(0);
    const written = fromBinary(idl.core.LiteralMapSchema, await blob.get(`${base}/out/outputs.pb`));
    const uri =
      written.literals['report']?.value.case === 'scalar' ? written.literals['report'].value.value : undefined;
    const fileUri = uri?.value.case === 'blob' ? uri.value.value.uri : '';
    expect(fileUri.startsWith(`${base}/raw/`)).toBe(true);
    expect(new TextDecoder().decode(await blob.get(fileUri))).toBe('a b line 1\na b line 2\na b line 3\n');

    // The file output, as the next task's input.
    await blob.put(`${base}/in/inputs.pb`, toBinary(idl.core.LiteralMapSchema, written));
    await blob.delete(`${base}/out/outputs.pb`);
    expect(await runExecute(argv(base, 'pods.count_words'), { env, ...quiet })).toBe(0);
    const counted = fromBinary(idl.core.LiteralMapSchema, await blob.get(`${base}/out/outputs.pb`));
    expect(fromLiteralMap({ words: t.int(), summary: t.string() }, counted)).toEqual({
      words: 12,
      summary: '12 words, execution exec-7, attempt 2',
    });
  });

  it('writes a recoverable USER error document when the task throws, non-recoverable when the error says so', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    await blob.put(
      `${base}/in/inputs.pb`,
      toBinary(idl.core.LiteralMapSchema, toLiteralMap({ x: t.int() }, { x: -1 })),
    );
    const lines: string[] = [];
    expect(await runExecute(argv(base, 'pods.validate'), { env, log: (l) => lines.push(l) })).toBe(EXIT_TASK_FAILED);
    expect(await errorDocument(blob, base)).toMatchObject({
      code: 'USER:ValidationError',
      message: 'x must not be negative, got -1',
      kind: idl.core.ContainerError_Kind.RECOVERABLE,
      origin: idl.core.ExecutionError_ErrorKind.USER,
    });
    expect(await blob.head(`${base}/out/outputs.pb`)).toBeUndefined();
    expect(lines.join('\n')).toMatch(/USER:ValidationError[\s\S]*at /);

    await blob.put(`${base}/in/inputs.pb`, toBinary(idl.core.LiteralMapSchema, toLiteralMap({}, {})));
    expect(await runExecute(argv(base, 'pods.refuse'), { env, ...quiet })).toBe(EXIT_TASK_FAILED);
    expect(await errorDocument(blob, base)).toMatchObject({
      code: 'USER:RangeError',
      kind: idl.core.ContainerError_Kind.NON_RECOVERABLE,
      origin: idl.core.ExecutionError_ErrorKind.USER,
    });
  });

  it('writes a SYSTEM, non-recoverable error document for a task it cannot find', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    await blob.put(`${base}/in/inputs.pb`, toBinary(idl.core.LiteralMapSchema, toLiteralMap({}, {})));
    const cases: [string | null, RegExp][] = [
      [MODULE, /does not export task pods\.missing/],
      [new URL('./support/no-such-module.ts', import.meta.url).href, /does not load/],
      [null, /names no module/],
    ];
    for (const [module, message] of cases) {
      expect(await runExecute(argv(base, 'pods.missing', module), { env, ...quiet })).toBe(EXIT_TASK_FAILED);
      const error = await errorDocument(blob, base);
      expect(error).toMatchObject({
        code: TASK_NOT_FOUND,
        kind: idl.core.ContainerError_Kind.NON_RECOVERABLE,
        origin: idl.core.ExecutionError_ErrorKind.SYSTEM,
      });
      expect(error?.message).toMatch(message);
    }
  });

  it('writes a SYSTEM, recoverable error document when the inputs cannot be read', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    expect(await runExecute(argv(base, 'pods.square'), { env, ...quiet })).toBe(EXIT_TASK_FAILED);
    expect(await errorDocument(blob, base)).toMatchObject({
      code: 'SYSTEM:InputsNotReadable',
      kind: idl.core.ContainerError_Kind.RECOVERABLE,
      origin: idl.core.ExecutionError_ErrorKind.SYSTEM,
    });
  });

  it('answers a bad command line with the usage, and an error document when the output prefix is known', async () => {
    const { blob } = tempStore();
    const base = blob.rootUri;
    const lines: string[] = [];
    const bad = ['--output-prefix', `${base}/out`, '--', 'task-name', 'x'];
    expect(await runExecute(bad, { env, log: (l) => lines.push(l) })).toBe(EXIT_USAGE);
    expect(lines.join('\n')).toContain('usage: flyte-ts-execute');
    expect(await errorDocument(blob, base)).toMatchObject({
      code: 'SYSTEM:BadArguments',
      kind: idl.core.ContainerError_Kind.NON_RECOVERABLE,
    });
    expect(await runExecute(['--nope'], { env, ...quiet })).toBe(EXIT_USAGE);
  });

  it('exits without a document when no blob store serves the URIs', async () => {
    const lines: string[] = [];
    expect(await runExecute(argv('mem://bucket', 'pods.square'), { env, log: (l) => lines.push(l) })).toBe(
      EXIT_NO_ERROR_DOCUMENT,
    );
    expect(lines.join('\n')).toContain('no blob store for mem:// URIs');
  });

  it('reads and writes s3:// URIs on the S3 endpoint and credentials of the environment', async () => {
    const s3 = await startS3rver({ buckets: ['flyte'] });
    cleanups.push(() => s3.close());
    const s3env = {
      ...env,
      FLYTE_TS_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const { S3BlobStore } = await import('@flyte-ts/blob-s3');
    const blob = new S3BlobStore({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    cleanups.push(() => blob.destroy());
    const base = 's3://flyte/meta';
    await blob.put(`${base}/in/inputs.pb`, toBinary(idl.core.LiteralMapSchema, toLiteralMap({ x: t.int() }, { x: 9 })));
    expect(await runExecute(argv(base, 'pods.square'), { env: s3env, ...quiet })).toBe(0);
    const outputs = fromBinary(idl.core.LiteralMapSchema, await blob.get(`${base}/out/outputs.pb`));
    expect(fromLiteralMap({ y: t.int() }, outputs)).toEqual({ y: 81 });
  });
});
