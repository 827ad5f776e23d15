// LocalFsBlobStore beyond the contract, under each confinement: no URI reaches outside the root or aliases another
// object (traversal, encodings, symbolic links), writes are atomic through hidden temporary files, and names map
// to files. local-fs-race.test.ts covers links swapped in while the store works.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFsBlobStore, type LocalFsConfinement } from '@flyte-ts/store-memory';

/** The confinements this platform has: `descriptor` needs Linux's /proc/self/fd. */
const CONFINEMENTS: LocalFsConfinement[] = process.platform === 'linux' ? ['descriptor', 'path'] : ['path'];

const encoder = new TextEncoder();

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe.each(CONFINEMENTS)('LocalFsBlobStore (%s confinement)', (confinement) => {
  let dir: string;
  let outsideDir: string;
  let store: LocalFsBlobStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flyte-ts-fs-'));
    outsideDir = join(dir, 'outside');
    await mkdir(outsideDir);
    await writeFile(join(outsideDir, 'secret.txt'), 'secret');
    store = new LocalFsBlobStore({ root: join(dir, 'root'), confinement });
    await store.put(`${store.rootUri}/inside/a.txt`, encoder.encode('a'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves URIs under its root, given as a path or a file URL', async () => {
    expect(store.rootUri).toBe(pathToFileURL(join(dir, 'root')).href);
    const same = new LocalFsBlobStore({ root: pathToFileURL(join(dir, 'root')), confinement });
    expect(same.root).toBe(store.root);
    expect(new TextDecoder().decode(await same.get(`${store.rootUri}/inside/a.txt`))).toBe('a');
    expect(await readFile(join(dir, 'root', 'inside', 'a.txt'), 'utf8')).toBe('a');
  });

  it.each([
    ['a ".." segment that leaves the root', () => `${store.rootUri}/../outside/secret.txt`],
    ['a ".." segment that stays inside (an alias)', () => `${store.rootUri}/inside/../inside/a.txt`],
    ['a "." segment', () => `${store.rootUri}/./inside/a.txt`],
    ['a percent-encoded ".."', () => `${store.rootUri}/%2e%2e/outside/secret.txt`],
    ['a mixed-case encoded ".."', () => `${store.rootUri}/inside/%2E./a.txt`],
    ['an encoded "."', () => `${store.rootUri}/inside/%2e/a.txt`],
    ['an empty segment', () => `${store.rootUri}/inside//a.txt`],
    ['an encoded slash', () => `${store.rootUri}/inside%2Fa.txt`],
    ['an encoded backslash', () => `${store.rootUri}/inside%5Ca.txt`],
    ['an encoded NUL', () => `${store.rootUri}/inside/a.txt%00`],
    ['a malformed escape', () => `${store.rootUri}/inside/%zz`],
    ['a query', () => `${store.rootUri}/inside/a.txt?x=1`],
    ['a fragment', () => `${store.rootUri}/inside/a.txt#x`],
    ['a host', () => `file://example.com${store.root}/inside/a.txt`],
    ['a sibling directory sharing the root name as prefix', () => `${store.rootUri}-other/a.txt`],
    ['an absolute path elsewhere', () => 'file:///etc/passwd'],
    ['the root itself', () => store.rootUri],
    ['a directory-like URI', () => `${store.rootUri}/inside/`],
    ['another scheme', () => 's3://bucket/inside/a.txt'],
    ['a relative file URI', () => 'file:inside/a.txt'],
  ])('refuses %s with INVALID_ARGUMENT', async (_case, uri) => {
    expect(await code(store.get(uri()))).toBe('INVALID_ARGUMENT');
    expect(await code(store.head(uri()))).toBe('INVALID_ARGUMENT');
    expect(await code(store.put(uri(), encoder.encode('x')))).toBe('INVALID_ARGUMENT');
    expect(await code(store.delete(uri()))).toBe('INVALID_ARGUMENT');
    expect(await readFile(join(outsideDir, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('refuses list prefixes outside the root, and accepts the root with or without a slash', async () => {
    expect(await code(store.list(`${store.rootUri}/../`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list(`${store.rootUri}-other`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list('file:///'))).toBe('INVALID_ARGUMENT');
    const all = (await store.list(store.rootUri)).items.map((i) => i.uri);
    expect(all).toContain(`${store.rootUri}/inside/a.txt`);
    expect((await store.list(`${store.rootUri}/`)).items.map((i) => i.uri)).toEqual(all);
  });

  it('refuses to read or write through a symbolic link that leads outside the root', async () => {
    await symlink(outsideDir, join(store.root, 'escape-dir'));
    await symlink(join(outsideDir, 'secret.txt'), join(store.root, 'escape-file'));
    expect(await code(store.get(`${store.rootUri}/escape-dir/secret.txt`))).toBe('INVALID_ARGUMENT');
    // Whether the name exists out there or not: the answer tells nothing about outside.
    expect(await code(store.get(`${store.rootUri}/escape-dir/no-such-file`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.head(`${store.rootUri}/escape-dir/no/such/file`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.delete(`${store.rootUri}/escape-dir/no/such/file`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.getStream(`${store.rootUri}/escape-dir/secret.txt`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.get(`${store.rootUri}/escape-file`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.head(`${store.rootUri}/escape-file`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.copy(`${store.rootUri}/escape-file`, `${store.rootUri}/copied`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list(`${store.rootUri}/escape-dir/`))).toBe('INVALID_ARGUMENT');
    expect(await code(store.put(`${store.rootUri}/escape-dir/new.txt`, encoder.encode('x')))).toBe('INVALID_ARGUMENT');
    expect(await code(store.put(`${store.rootUri}/escape-dir/deeper/new.txt`, encoder.encode('x')))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await code(store.delete(`${store.rootUri}/escape-dir/secret.txt`))).toBe('INVALID_ARGUMENT');
    expect(await readdir(outsideDir)).toEqual(['secret.txt']);
    // Listings do not follow links.
    const listed = (await store.list(`${store.rootUri}/`)).items.map((i) => i.uri);
    expect(listed.some((uri) => uri.includes('escape'))).toBe(false);
    await rm(join(store.root, 'escape-dir'));
    // Deleting a link removes the link, the object's name inside the root, never what it points at.
    await store.delete(`${store.rootUri}/escape-file`);
    expect(await readdir(store.root)).not.toContain('escape-file');
    expect(await readFile(join(outsideDir, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('treats a FIFO as no object, without blocking on it', async () => {
    execFileSync('mkfifo', [join(store.root, 'fifo')]);
    expect(await code(store.get(`${store.rootUri}/fifo`))).toBe('NOT_FOUND');
    expect(await code(store.getStream(`${store.rootUri}/fifo`))).toBe('NOT_FOUND');
    expect(await store.head(`${store.rootUri}/fifo`)).toBeUndefined();
    await rm(join(store.root, 'fifo'));
  });

  it.runIf(confinement === 'descriptor')(
    'takes back an object whose directory was moved out of the root while it was written, and says so',
    async () => {
      await store.put(`${store.rootUri}/moving/first`, encoder.encode('first'));
      async function* body(): AsyncIterable<Uint8Array> {
        yield encoder.encode('half');
        await rename(join(store.root, 'moving'), join(outsideDir, 'moved'));
        yield encoder.encode(' and half');
      }
      expect(await code(store.put(`${store.rootUri}/moving/second`, body()))).toBe('INVALID_ARGUMENT');
      // What the mover took out is theirs; nothing the store wrote stayed out there.
      expect(await readdir(join(outsideDir, 'moved'))).toEqual(['first']);
      await rm(join(outsideDir, 'moved'), { recursive: true });
    },
  );

  it('follows a symbolic link that stays inside the root', async () => {
    await symlink(join(store.root, 'inside'), join(store.root, 'alias'));
    expect(new TextDecoder().decode(await store.get(`${store.rootUri}/alias/a.txt`))).toBe('a');
    await rm(join(store.root, 'alias'));
  });

  it('answers NOT_FOUND, not an escape, once its root was removed, and makes it again on a put', async () => {
    const removed = new LocalFsBlobStore({ root: join(dir, `removed-${confinement}`), confinement });
    const uri = `${removed.rootUri}/a/b.txt`;
    await removed.put(uri, encoder.encode('before'));
    await rm(removed.root, { recursive: true });
    expect(await code(removed.get(uri))).toBe('NOT_FOUND');
    expect(await removed.head(uri)).toBeUndefined();
    expect((await removed.list(`${removed.rootUri}/`)).items).toEqual([]);
    await removed.delete(uri);
    await removed.put(uri, encoder.encode('after'));
    expect(new TextDecoder().decode(await removed.get(uri))).toBe('after');
  });

  it('maps percent-encoded names to file names and back', async () => {
    const uri = `${store.rootUri}/names/a%20b%C3%A9.txt`;
    await store.put(uri, encoder.encode('spaced'));
    expect(await readFile(join(store.root, 'names', 'a bé.txt'), 'utf8')).toBe('spaced');
    expect((await store.list(`${store.rootUri}/names/`)).items.map((i) => i.uri)).toEqual([uri]);
    expect((await store.head(uri))?.uri).toBe(uri);
  });

  it('leaves no temporary file behind, whether a put succeeds or fails', async () => {
    const uri = `${store.rootUri}/temp/object.bin`;
    await store.put(uri, encoder.encode('ok'));
    async function* failing(): AsyncIterable<Uint8Array> {
      yield encoder.encode('partial');
      throw new Error('source failed');
    }
    await expect(store.put(uri, failing())).rejects.toThrow('source failed');
    expect(await readdir(join(store.root, 'temp'))).toEqual(['object.bin']);
    expect(await readFile(join(store.root, 'temp', 'object.bin'), 'utf8')).toBe('ok');
  });

  it('hides in-flight temporary files from listings', async () => {
    await mkdir(join(store.root, 'inflight'), { recursive: true });
    await writeFile(join(store.root, 'inflight', '.flyte-tmp-0123456789abcdef'), 'partial');
    await store.put(`${store.rootUri}/inflight/done`, encoder.encode('done'));
    expect((await store.list(`${store.rootUri}/inflight/`)).items.map((i) => i.uri)).toEqual([
      `${store.rootUri}/inflight/done`,
    ]);
  });

  it('treats a directory as no object, and refuses to write over one', async () => {
    await store.put(`${store.rootUri}/tree/leaf/file`, encoder.encode('x'));
    expect(await code(store.get(`${store.rootUri}/tree/leaf`))).toBe('NOT_FOUND');
    expect(await code(store.getStream(`${store.rootUri}/tree/leaf`))).toBe('NOT_FOUND');
    expect(await store.head(`${store.rootUri}/tree/leaf`)).toBeUndefined();
    expect(await code(store.put(`${store.rootUri}/tree/leaf`, encoder.encode('x')))).toBe('INVALID_ARGUMENT');
    expect(await code(store.put(`${store.rootUri}/tree/leaf/file/under-a-file`, encoder.encode('x')))).toBe(
      'INVALID_ARGUMENT',
    );
    await store.delete(`${store.rootUri}/tree/leaf`);
    expect(await store.head(`${store.rootUri}/tree/leaf/file`)).toBeDefined();
  });

  it('refuses a list token issued for another prefix', async () => {
    for (const key of ['p/1', 'p/2', 'p/3']) await store.put(`${store.rootUri}/${key}`, encoder.encode(key));
    const first = await store.list(`${store.rootUri}/p/`, { limit: 1 });
    expect(first.nextToken).toBeDefined();
    expect(await code(store.list(`${store.rootUri}/inside/`, { token: first.nextToken! }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list(`${store.rootUri}/p/`, { token: 'garbage!' }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list(`${store.rootUri}/p/`, { limit: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('streams a file in bounded chunks and stops reading when the consumer stops', async () => {
    const uri = `${store.rootUri}/big.bin`;
    await store.put(uri, new Uint8Array(1024 * 1024).fill(7));
    let chunks = 0;
    for await (const chunk of await store.getStream(uri)) {
      expect(chunk.byteLength).toBeLessThanOrEqual(64 * 1024);
      chunks += 1;
      if (chunks === 2) break;
    }
    expect(chunks).toBe(2);
  });
});

describe('LocalFsBlobStore options', () => {
  it('refuses an unknown confinement with INVALID_ARGUMENT', () => {
    const make = () => new LocalFsBlobStore({ root: tmpdir(), confinement: 'chroot' as LocalFsConfinement });
    expect(make).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
