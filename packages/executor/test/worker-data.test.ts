// Data access of worker-thread tasks: their file, directory and dataset handles, returned files, content and rows
// go through the engine's blob store and dataset codec on the main thread, by messages; streams stay streams.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import {
  fromLiteralMap,
  idl,
  t,
  task,
  toLiteralMap,
  workflow,
  type BlobBody,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type InputsOf,
  type OperationOptions,
  type TypeMap,
} from '@flyte-ts/core';
import { DATASET_CODEC, FunctionTaskPlugin, WorkerCrashError } from '@flyte-ts/executor';
import { afterAll, describe, expect, it } from 'vitest';
import { STREAM_WINDOW } from '../src/plugins/worker-data.js';
import { WorkerPool } from '../src/plugins/worker-pool.js';
import {
  badBody,
  BIG_CHUNK,
  BIG_CHUNKS,
  bigStream,
  blobOps,
  cancelRead,
  fillChunk,
  listDirectory,
  pullSome,
  pushEndless,
  readInput,
  readMissing,
  readMissingUncaught,
  readOne,
  readRows,
  readText,
  writeOutputs,
  writeRows,
} from './fixtures/data-tasks.js';
import { execId, phaseOf, settings, settle, startEngine } from './support.js';

const tasksModule = new URL('./fixtures/data-tasks.ts', import.meta.url).href;
const workerOptions = {
  // The task modules are TypeScript, and workspace packages resolve to their sources.
  execArgv: ['--conditions=@flyte-ts/source'],
  preload: [new URL('./fixtures/register-tsx.mjs', import.meta.url).href],
};
const plugin = new FunctionTaskPlugin({ workers: { maxThreads: 2, ...workerOptions } });
afterAll(() => plugin.close());

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const rawOf = (name: string, node = 'n0', attempt = 0) =>
  `mem://flyte/raw/${settings.project}/${settings.domain}/${name}/${node}/${attempt}`;

async function attemptsOf(engine: Awaited<ReturnType<typeof startEngine>>['engine'], name: string) {
  const page = await engine.listTaskExecutions({
    nodeId: 'n0',
    executionId: execId(name),
  } as idl.core.NodeExecutionIdentifier);
  return page.items.map((a) => {
    const error = a.closure?.outputResult.case === 'error' ? a.closure.outputResult.value : undefined;
    return {
      phase: idl.core.TaskExecution_Phase[a.closure!.phase],
      code: error?.code,
      kind: error === undefined ? undefined : idl.core.ExecutionError_ErrorKind[error.kind],
      message: error?.message,
    };
  });
}

describe('worker-thread tasks with data access', () => {
  it('read a file input as text and download it into the attempt work directory, removed at the end', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await blob.put('mem://inputs/hello.txt', encode('hello from the main thread'));
    await engine.register([readInput], settings);
    await engine.createExecution({
      task: readInput.id(settings),
      name: 'wd-read',
      inputs: { f: 'mem://inputs/hello.txt' },
    });
    expect(phaseOf(await engine.waitForExecution(execId('wd-read')))).toBe('SUCCEEDED');
    const out = fromLiteralMap(readInput.outputs, await engine.getExecutionOutputs(execId('wd-read')));
    expect(out.text).toBe('hello from the main thread');
    expect(out.downloaded).toBe('hello from the main thread');
    expect(out.thread).not.toBe(threadId);
    // The worker asked for its work directory: the attempt removed it when it ended.
    expect(existsSync(out.path)).toBe(false);
    await engine.stop();
  });

  it('upload a local file and directory they wrote and { body } content under the raw-output prefix', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await engine.register([writeOutputs], settings);
    await engine.createExecution({ task: writeOutputs.id(settings), name: 'wd-write', inputs: { text: 'hi' } });
    expect(phaseOf(await engine.waitForExecution(execId('wd-write')))).toBe('SUCCEEDED');
    const out = fromLiteralMap(writeOutputs.outputs, await engine.getExecutionOutputs(execId('wd-write')));
    expect(out.report.uri).toBe(`${rawOf('wd-write')}/report/report.txt`);
    expect(out.report.format).toBe('txt');
    expect(out.note.uri).toBe(`${rawOf('wd-write')}/note/note.md`);
    expect(decode(await blob.get(out.report.uri))).toBe('report: hi');
    expect(decode(await blob.get(out.note.uri))).toBe('note: hi');
    expect(out.folder.uri).toBe(`${rawOf('wd-write')}/folder`);
    const listed = await blob.list(`${out.folder.uri}/`);
    expect(listed.items.map((i) => [i.uri.slice(out.folder.uri.length + 1), i.size])).toEqual([
      ['sub/y.txt', 2],
      ['x.txt', 1],
    ]);
    expect(existsSync(out.local)).toBe(false);
    await engine.stop();
  });

  it('list, read and download a directory input', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await blob.put('mem://inputs/dir/a.txt', encode('A'));
    await blob.put('mem://inputs/dir/nested/b.txt', encode('BB'));
    await blob.put('mem://inputs/dir/nested/deep/c.txt', encode('CCC'));
    await engine.register([listDirectory], settings);
    await engine.createExecution({
      task: listDirectory.id(settings),
      name: 'wd-dir',
      inputs: { dir: 'mem://inputs/dir' },
    });
    expect(phaseOf(await engine.waitForExecution(execId('wd-dir')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(listDirectory.outputs, await engine.getExecutionOutputs(execId('wd-dir')))).toEqual({
      files: ['a.txt', 'nested/b.txt', 'nested/deep/c.txt'],
      total: 6,
      b: 'BB',
    });
    await engine.stop();
  });

  it('write { rows } as a Parquet dataset and read a dataset with rows() and read()', async () => {
    const wf = workflow({ name: 'wdata.rows', inputs: { n: t.int() }, outputs: readRows.outputs }, ({ n }) =>
      readRows({ table: writeRows({ n }).table }),
    );
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await engine.register([wf], settings);
    // More rows than one message carries: both ways, rows cross in several batches.
    await engine.createExecution({ workflow: wf.id(settings), name: 'wd-rows', inputs: { n: 600 } });
    expect(phaseOf(await engine.waitForExecution(execId('wd-rows')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('wd-rows')))).toEqual({
      count: 600,
      nulls: 200,
      lastId: 599_000_000_000_000n,
      read: 600,
      keys: ['id', 'score'],
    });
    const uri = `${rawOf('wd-rows')}/table`;
    const parts = (await blob.list(`${uri}/`)).items;
    expect(parts.map((p) => [p.uri, p.contentType])).toEqual([[`${uri}/00000`, 'application/vnd.apache.parquet']]);
    const table = await DATASET_CODEC.read(blob, uri, 'parquet', undefined);
    expect(table.rows.length).toBe(600);
    expect(table.rows[7]).toEqual({
      id: 7_000_000_000_000n,
      name: 'row 7',
      score: 7 / 4,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, 7)),
    });
    await engine.stop();
  });

  it('stream a 5 MiB file in and out chunk by chunk, byte for byte', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
    await blob.put('mem://inputs/big.bin', big);
    await engine.register([bigStream], settings);
    await engine.createExecution({
      task: bigStream.id(settings),
      name: 'wd-big',
      inputs: { f: 'mem://inputs/big.bin' },
    });
    expect(phaseOf(await engine.waitForExecution(execId('wd-big')))).toBe('SUCCEEDED');
    const out = fromLiteralMap(bigStream.outputs, await engine.getExecutionOutputs(execId('wd-big')));
    expect(out.size).toBe(big.byteLength);
    expect(out.chunks).toBe(80); // the memory store's 64 KiB chunks, one message each
    expect(out.sha).toBe(sha256(big));
    expect(out.copy.uri).toBe(`${rawOf('wd-big')}/copy/copy.bin`);
    expect(sha256(await blob.get(out.copy.uri))).toBe(sha256(big));
    // Generated from one reused buffer: every chunk arrived with the content it had when it was yielded.
    const expected = new Uint8Array(BIG_CHUNK * BIG_CHUNKS);
    for (let i = 0; i < BIG_CHUNKS; i++) fillChunk(expected.subarray(i * BIG_CHUNK, (i + 1) * BIG_CHUNK), i);
    expect(sha256(await blob.get(out.made.uri))).toBe(sha256(expected));
    await engine.stop();
  });

  it('get the store errors as FlyteErrors (a missing file is NOT_FOUND), failing like in-process tasks', async () => {
    const missing = 'mem://inputs/missing.bin';
    const inProcess = task(
      { name: 'wdata.read_missing_inproc', inputs: { f: t.file() }, outputs: { text: t.string() } },
      readText,
    );
    const { engine } = await startEngine({ plugins: [plugin] });
    await engine.register([readMissing, readMissingUncaught, inProcess], settings);
    await engine.createExecution({ task: readMissing.id(settings), name: 'wd-missing', inputs: { f: missing } });
    expect(phaseOf(await engine.waitForExecution(execId('wd-missing')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(readMissing.outputs, await engine.getExecutionOutputs(execId('wd-missing')))).toEqual({
      name: 'NotFoundError',
      code: 'NOT_FOUND',
      id: missing,
      message: expect.stringContaining(missing),
      isError: true,
    });

    await engine.createExecution({
      task: readMissingUncaught.id(settings),
      name: 'wd-uncaught',
      inputs: { f: missing },
    });
    await engine.createExecution({ task: inProcess.id(settings), name: 'wd-inproc', inputs: { f: missing } });
    expect(phaseOf(await engine.waitForExecution(execId('wd-uncaught')))).toBe('FAILED');
    expect(phaseOf(await engine.waitForExecution(execId('wd-inproc')))).toBe('FAILED');
    const inWorker = await attemptsOf(engine, 'wd-uncaught');
    expect(inWorker[0]).toMatchObject({ code: 'USER:NotFoundError', kind: 'USER' });
    expect(inWorker).toEqual(await attemptsOf(engine, 'wd-inproc'));
    await engine.stop();
  });

  it('fail with the error of a content stream that breaks, leaving no object behind', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await engine.register([badBody], settings);
    await engine.createExecution({ task: badBody.id(settings), name: 'wd-bad' });
    expect(phaseOf(await engine.waitForExecution(execId('wd-bad')))).toBe('FAILED');
    const attempts = await attemptsOf(engine, 'wd-bad');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ code: 'USER:SourceError', kind: 'USER', message: 'the source broke' });
    expect(await blob.head(`${rawOf('wd-bad')}/f/bad.bin`)).toBeUndefined();
    await engine.stop();
  });

  it('use the blob store directly: put, head, get, copy, list, delete', async () => {
    const { engine, blob } = await startEngine({ plugins: [plugin] });
    await engine.register([blobOps], settings);
    await engine.createExecution({
      task: blobOps.id(settings),
      name: 'wd-ops',
      inputs: { prefix: 'mem://scratch/ops' },
    });
    expect(phaseOf(await engine.waitForExecution(execId('wd-ops')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(blobOps.outputs, await engine.getExecutionOutputs(execId('wd-ops')))).toEqual({
      size: 5,
      contentType: 'text/plain',
      got: 'hello',
      listed: ['mem://scratch/ops/a.txt', 'mem://scratch/ops/b.txt'],
      copied: 'hello',
      gone: true,
    });
    expect(await blob.head('mem://scratch/ops/a.txt')).toBeUndefined();
    expect(decode(await blob.get('mem://scratch/ops/b.txt'))).toBe('hello');
    await engine.stop();
  });
});

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** What happened to one stream the fake store served. */
interface ReadProbe {
  nexts: number;
  returned: boolean;
  readonly signal: AbortSignal | undefined;
}

/** A store whose reads are endless numbered chunks, and whose writes take `take` chunks (or all of them). */
class FakeStore implements BlobStore {
  readonly scheme = 'fake';
  readonly reads: ReadProbe[] = [];
  readonly received: number[] = [];
  /** Resolves when a read is first pulled. */
  readonly pulled = deferred();
  /** Resolves when a write gets its first chunk. */
  readonly written = deferred();
  /** Resolves when a write ends: `ok`, or its error. */
  readonly outcome = deferred<unknown>();

  constructor(private readonly take?: number) {}

  async getStream(_uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    const probe: ReadProbe = { nexts: 0, returned: false, signal: options?.signal };
    this.reads.push(probe);
    const pulled = this.pulled;
    const iterator: AsyncIterableIterator<Uint8Array> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        const chunk = new Uint8Array(16);
        chunk[0] = ++probe.nexts;
        pulled.resolve();
        return { done: false, value: chunk };
      },
      return: async () => {
        probe.returned = true;
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  async put(uri: string, body: BlobBody): Promise<BlobInfo> {
    try {
      if (body instanceof Uint8Array) throw new Error('expected a stream');
      for await (const chunk of body) {
        this.received.push(chunk[0]!);
        this.written.resolve();
        if (this.take !== undefined && this.received.length >= this.take) break;
        // A slow consumer: a producer that ignored backpressure would run far ahead meanwhile.
        if (this.received.length === 1) await settle(50);
      }
      this.outcome.resolve('ok');
      return { uri, size: this.received.length };
    } catch (error) {
      this.outcome.resolve(error);
      throw error;
    }
  }

  get(): Promise<Uint8Array> {
    throw new Error('not used');
  }
  async head(uri: string): Promise<BlobInfo | undefined> {
    // A probe: how many reads were closed (returned) so far.
    return { uri, size: this.reads.filter((r) => r.returned).length };
  }
  async list(): Promise<BlobPage> {
    throw new Error('not used');
  }
  async delete(): Promise<void> {
    throw new Error('not used');
  }
}

describe('WorkerPool data access', () => {
  const pool = new WorkerPool({ maxThreads: 1, ...workerOptions });
  afterAll(() => pool.close());

  function run<M extends TypeMap>(
    definition: { readonly name: string; readonly inputs: M },
    inputs: InputsOf<M>,
    store: FakeStore,
    signal = new AbortController().signal,
  ): Promise<idl.core.LiteralMap> {
    return pool.run(
      {
        module: tasksModule,
        name: definition.name,
        inputs: toLiteralMap(definition.inputs, inputs),
        attempt: 0,
        execution: execId('pool'),
        rawOutputPrefix: 'fake://raw',
      },
      signal,
      { blob: store },
    );
  }

  it('pulls a read only a few chunks ahead of the task, and closes it when the task stops reading', async () => {
    const store = new FakeStore();
    const outputs = await run(pullSome, { uri: 'fake://a', take: 3 }, store);
    expect(fromLiteralMap(pullSome.outputs, outputs)).toEqual({ got: [1, 2, 3] });
    const [probe] = store.reads;
    expect(probe!.nexts).toBeGreaterThanOrEqual(3);
    expect(probe!.nexts).toBeLessThanOrEqual(3 + STREAM_WINDOW);
    expect(probe!.returned).toBe(true);
  });

  it('pushes a write only a few chunks ahead of a slow consumer', async () => {
    const store = new FakeStore(3);
    const outputs = await run(pushEndless, { uri: 'fake://b' }, store);
    expect(store.received).toEqual([1, 2, 3]);
    expect(await store.outcome.promise).toBe('ok');
    const { produced } = fromLiteralMap(pushEndless.outputs, outputs);
    expect(produced).toBeGreaterThanOrEqual(3);
    expect(produced).toBeLessThanOrEqual(3 + STREAM_WINDOW);
  });

  it('closes a read on this thread when the task aborts it with its own signal', async () => {
    const store = new FakeStore();
    const outputs = await run(cancelRead, { uri: 'fake://g' }, store);
    expect(fromLiteralMap(cancelRead.outputs, outputs)).toEqual({ first: 1, error: 'enough', closed: 1 });
  });

  it('closes the streams of an aborted job: its read is returned and aborted, its write fails', async () => {
    const reading = new FakeStore();
    const stopReading = new AbortController();
    const read = run(readOne, { uri: 'fake://c', then: 'hang' }, reading, stopReading.signal);
    await reading.pulled.promise;
    stopReading.abort(new Error('stop reading'));
    await expect(read).rejects.toThrow('stop reading');
    expect(reading.reads[0]!.returned).toBe(true);
    expect(reading.reads[0]!.signal?.aborted).toBe(true);

    const writing = new FakeStore();
    const stopWriting = new AbortController();
    const write = run(pushEndless, { uri: 'fake://d' }, writing, stopWriting.signal);
    await writing.written.promise;
    stopWriting.abort(new Error('stop writing'));
    await expect(write).rejects.toThrow('stop writing');
    // The consumer waiting for the next chunk gets the abort reason instead of waiting forever.
    expect(await writing.outcome.promise).toMatchObject({ message: 'stop writing' });
  });

  it('closes the streams of a job whose worker dies', async () => {
    const store = new FakeStore();
    await expect(run(readOne, { uri: 'fake://e', then: 'exit' }, store)).rejects.toBeInstanceOf(WorkerCrashError);
    expect(store.reads[0]!.returned).toBe(true);
    expect(store.reads[0]!.signal?.aborted).toBe(true);
  });

  it('closes the streams a task leaves open when it returns', async () => {
    const store = new FakeStore();
    const outputs = await run(readOne, { uri: 'fake://f', then: 'return' }, store);
    expect(fromLiteralMap(readOne.outputs, outputs)).toEqual({ first: 1 });
    expect(store.reads[0]!.returned).toBe(true);
    expect(store.reads[0]!.signal?.aborted).toBe(true);
  });
});
