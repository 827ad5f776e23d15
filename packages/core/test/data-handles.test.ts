// File, directory and dataset values outside an engine: local paths become file:// references that handles read
// from disk; uploads and remote reads need a data access and say so; with one, returned local files, content and
// directories are uploaded under the raw-output prefix at paths named after the output.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  fromLiteralMap,
  NotFoundError,
  t,
  task,
  toLiteralMap,
  withDataAccess,
  type BlobBody,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type DataAccess,
  type ListBlobsOptions,
} from '@flyte-ts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The smallest BlobStore that serves these tests (the real adapters run the contract suite elsewhere). */
class MapBlobStore implements BlobStore {
  readonly scheme = 'mem';
  readonly objects = new Map<string, Uint8Array>();
  async get(uri: string): Promise<Uint8Array> {
    const bytes = this.objects.get(uri);
    if (bytes === undefined) throw new NotFoundError(`${uri} does not exist`, { id: uri });
    return bytes;
  }
  async getStream(uri: string): Promise<AsyncIterable<Uint8Array>> {
    const bytes = await this.get(uri);
    return (async function* () {
      for (let i = 0; i < bytes.byteLength; i += 3) yield bytes.subarray(i, i + 3);
    })();
  }
  async put(uri: string, body: BlobBody): Promise<BlobInfo> {
    const parts: Uint8Array[] = [];
    if (body instanceof Uint8Array) parts.push(body);
    else for await (const chunk of body) parts.push(chunk);
    const bytes = Buffer.concat(parts);
    this.objects.set(uri, bytes);
    return { uri, size: bytes.byteLength };
  }
  async head(uri: string): Promise<BlobInfo | undefined> {
    const bytes = this.objects.get(uri);
    return bytes === undefined ? undefined : { uri, size: bytes.byteLength };
  }
  async list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage> {
    const all = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = options?.token === undefined ? 0 : Number(options.token);
    const limit = options?.limit ?? 1000;
    const items = all.slice(start, start + limit).map((uri) => ({ uri, size: this.objects.get(uri)!.byteLength }));
    return start + limit < all.length ? { items, nextToken: String(start + limit) } : { items };
  }
  async delete(uris: string | readonly string[]): Promise<void> {
    for (const uri of typeof uris === 'string' ? [uris] : uris) this.objects.delete(uri);
  }
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flyte-ts-core-data-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('outside an engine', () => {
  it('turns a returned local file into its file:// URI and reads it back through the handle', async () => {
    const path = join(scratch, 'local.txt');
    await writeFile(path, 'local bytes');
    const make = task({ name: 'handles.make', outputs: { f: t.file() } }, () => ({ f: path }));
    const { f } = await make.run({});
    expect(f.uri).toBe(pathToFileURL(path).href);
    expect(await f.text()).toBe('local bytes');
    expect(await f.download()).toBe(path);
  });

  it('reads a local directory given by file:// URI', async () => {
    const root = join(scratch, 'tree');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(root, 'b.txt'), 'b');
    await writeFile(join(root, 'sub', 'a.txt'), 'a');
    const list = task(
      { name: 'handles.list', inputs: { d: t.directory() }, outputs: { names: t.list(t.string()) } },
      async ({ d }) => ({ names: (await d.list()).map((f) => f.uri.slice(d.uri.length + 1)) }),
    );
    expect(await list.run({ d: pathToFileURL(root).href })).toEqual({ names: ['b.txt', 'sub/a.txt'] });
  });

  it('refuses content, rows and remote reads with NO_DATA_ACCESS naming what was concerned', async () => {
    const content = task({ name: 'handles.content', outputs: { f: t.file() } }, () => ({ f: { body: 'x' } }));
    await expect(content.run({})).rejects.toMatchObject({ code: 'NO_DATA_ACCESS', id: 'handles.content.outputs.f' });
    const rows = task({ name: 'handles.rows', outputs: { d: t.structuredDataset() } }, () => ({
      d: { rows: [{ a: 1 }] },
    }));
    await expect(rows.run({})).rejects.toMatchObject({ code: 'NO_DATA_ACCESS' });
    const remote = task(
      { name: 'handles.remote', inputs: { f: t.file() }, outputs: { s: t.string() } },
      async ({ f }) => ({
        s: await f.text(),
      }),
    );
    await expect(remote.run({ f: 's3://bucket/key' })).rejects.toMatchObject({
      code: 'NO_DATA_ACCESS',
      id: 's3://bucket/key',
    });
  });

  it('refuses a local path that does not exist, or of the wrong kind, naming the value', () => {
    expect(() => toLiteralMap({ f: t.file() }, { f: join(scratch, 'absent') }, { path: 'out' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', id: 'out.f' }),
    );
    expect(() => toLiteralMap({ f: t.file() }, { f: scratch }, { path: 'out' })).toThrow(/is not a file/);
    expect(() => toLiteralMap({ d: t.directory() }, { d: join(scratch, 'local.txt') })).toThrow(/is not a directory/);
  });

  it('tells apart URIs, local paths, content and rows, and refuses other shapes', () => {
    const f = t.file();
    expect(f.accepts('s3://b/k')).toBe(true);
    expect(f.accepts('./relative/path')).toBe(true);
    expect(f.accepts({ body: new Uint8Array(1), name: 'x' })).toBe(true);
    expect(f.accepts({ uri: 's3://b/k', path: '/x' })).toBe(false);
    expect(f.accepts({ rows: [] })).toBe(false);
    expect(f.accepts(42)).toBe(false);
    expect(t.directory().accepts({ body: 'x' })).toBe(false);
    const d = t.structuredDataset();
    expect(d.accepts({ rows: [{ a: 1 }] })).toBe(true);
    expect(d.accepts('./local.parquet')).toBe(false);
    expect(d.accepts('s3://b/table')).toBe(true);
  });

  it('refuses dataset column types that rows cannot hold when rows are written', async () => {
    const nested = t.structuredDataset({ columns: { xs: t.list(t.int()) } });
    const access: DataAccess = { blob: new MapBlobStore(), rawOutputPrefix: 'mem://raw' };
    await expect(withDataAccess(access, 'out', () => nested.toLiteral({ rows: [] }, 'out.d'))).rejects.toThrow(
      /column xs has type list<integer>/,
    );
    // A reference to such a dataset is fine.
    expect(() => nested.toLiteral('s3://b/t', 'out.d')).not.toThrow();
  });
});

describe('with a data access', () => {
  it('uploads returned local files, content and directories under paths named after the outputs', async () => {
    const blob = new MapBlobStore();
    const root = join(scratch, 'upload-tree');
    await mkdir(join(root, 'x'), { recursive: true });
    await writeFile(join(root, 'x', 'one.txt'), '1');
    await writeFile(join(root, 'two.txt'), '22');
    await writeFile(join(scratch, 'report.csv'), 'a,b\n1,2\n');
    const produce = task(
      {
        name: 'handles.produce',
        outputs: { report: t.file({ format: 'csv' }), parts: t.list(t.file()), tree: t.directory() },
      },
      () => ({
        report: join(scratch, 'report.csv'),
        parts: [{ body: new Uint8Array([1, 2, 3]), name: 'p.bin' }, { body: 'text part' }],
        tree: root,
      }),
    );
    const access: DataAccess = { blob, rawOutputPrefix: 'mem://raw/attempt-0' };
    const out = await produce.run({}, { data: access });
    expect(out.report.uri).toBe('mem://raw/attempt-0/report/report.csv');
    expect(out.report.format).toBe('csv');
    expect(out.parts.map((p) => p.uri)).toEqual([
      'mem://raw/attempt-0/parts/0/p.bin',
      'mem://raw/attempt-0/parts/1/data',
    ]);
    expect(out.tree.uri).toBe('mem://raw/attempt-0/tree');
    expect([...blob.objects.keys()].sort()).toEqual([
      'mem://raw/attempt-0/parts/0/p.bin',
      'mem://raw/attempt-0/parts/1/data',
      'mem://raw/attempt-0/report/report.csv',
      'mem://raw/attempt-0/tree/two.txt',
      'mem://raw/attempt-0/tree/x/one.txt',
    ]);
    expect(new TextDecoder().decode(blob.objects.get('mem://raw/attempt-0/parts/1/data'))).toBe('text part');
  });

  it('gives values whose paths read alike once sanitized their own upload locations', async () => {
    const blob = new MapBlobStore();
    const out = await withDataAccess({ blob, rawOutputPrefix: 'mem://raw' }, 'out', () =>
      toLiteralMap(
        { files: t.map(t.file()) },
        { files: { 'a b': { body: 'one', name: 'x' }, a_b: { body: 'two', name: 'x' } } },
        { path: 'out' },
      ),
    );
    const { files } = fromLiteralMap({ files: t.map(t.file()) }, out);
    const uris = Object.values(files).map((f) => f.uri);
    expect(uris).toEqual(['mem://raw/files/a_b/x', 'mem://raw/files/a_b-2/x']);
    expect(new TextDecoder().decode(blob.objects.get('mem://raw/files/a_b-2/x'))).toBe('two');
  });

  it('downloads files and directories into the work directory, once, streaming', async () => {
    const blob = new MapBlobStore();
    await blob.put('mem://data/dir/a.txt', new TextEncoder().encode('alpha'));
    await blob.put('mem://data/dir/deep/b.txt', new TextEncoder().encode('beta'));
    const workDir = join(scratch, 'work');
    const use = task(
      { name: 'handles.use', inputs: { f: t.file(), d: t.directory() }, outputs: { s: t.string() } },
      async ({ f, d }) => {
        const path = await f.download();
        expect(path.startsWith(workDir)).toBe(true);
        expect(await f.download()).toBe(path);
        const local = await d.download();
        const b = await readFile(join(local, 'deep', 'b.txt'), 'utf8');
        expect(await d.file('deep/b.txt').text()).toBe('beta');
        expect(() => d.file('../escape')).toThrow(/relative path/);
        return { s: `${await readFile(path, 'utf8')}+${b}` };
      },
    );
    const out = await use.run(
      { f: 'mem://data/dir/a.txt', d: 'mem://data/dir' },
      { data: { blob, workDir, rawOutputPrefix: 'mem://raw' } },
    );
    expect(out).toEqual({ s: 'alpha+beta' });
    expect(existsSync(join(workDir))).toBe(true);
  });

  it('rejects a missing remote file with NOT_FOUND from the store', async () => {
    const use = task(
      { name: 'handles.missing', inputs: { f: t.file() }, outputs: { s: t.string() } },
      async ({ f }) => ({
        s: await f.text(),
      }),
    );
    await expect(
      use.run({ f: 'mem://nowhere/x' }, { data: { blob: new MapBlobStore(), rawOutputPrefix: 'mem://raw' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
