// LocalFsBlobStore against a concurrent attacker: a worker thread (truly parallel, on another core) flips a
// directory inside the root between a real directory and a symbolic link to a directory outside the root, while
// the store writes, reads, lists, copies and deletes under it. Nothing outside may change and no outside byte
// may come back; each escape the store notices must be a coded error naming the URI.
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlyteError, type FlyteError } from '@flyte-ts/core';
import { LocalFsBlobStore } from '@flyte-ts/store-memory';

/** Rounds of operations run while the directory flips (each round runs every operation once, concurrently). */
const ROUNDS = 200;
/** Object names reused across rounds, so reads find objects written earlier. */
const SLOTS = 6;
/** Outside files are this long; every object the store writes is shorter, so a size this long came from outside. */
const OUTSIDE_SIZE = 256;
/**
 * Where the trees live: tmpfs where there is one. On a journalled disk the store's fsyncs force journal commits,
 * and the flipper's renames wait for them, frozen in one state for long stretches (a whole run, at worst).
 */
const BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
/** The errors the store may answer with while the tree changes under it. */
const CODES = ['INVALID_ARGUMENT', 'NOT_FOUND', 'CONFLICT'];

// The attacker. It never writes outside: it only renames the real directory away (inside the root), puts a link
// in its place, removes the link and renames the directory back. When the store recreated the directory in a
// gap, the held one stays where it is (inside the root) and the next round moves the new one away.
const FLIPPER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { dir, held, outside, control } = workerData;
const flags = new Int32Array(control);
for (let n = 0; Atomics.load(flags, 0) === 0; n++) {
  const away = held + n;
  try { fs.renameSync(dir, away); } catch {}
  try { fs.symlinkSync(outside, dir, 'dir'); } catch {}
  if (Atomics.add(flags, 1, 1) === 0) parentPort.postMessage('flipping');
  try { fs.unlinkSync(dir); } catch {}
  try { fs.renameSync(away, dir); } catch {}
}
`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Every entry under `dir` (not following links): file contents, `<dir>`, or `-> target` for links. */
async function snapshot(dir: string, out = new Map<string, string>(), rel = ''): Promise<Map<string, string>> {
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const path = join(rel, name);
    const stats = await lstat(join(dir, path));
    if (stats.isDirectory()) {
      out.set(path, '<dir>');
      await snapshot(dir, out, path);
    } else {
      out.set(path, stats.isFile() ? await readFile(join(dir, path), 'utf8') : '<other>');
    }
  }
  return out;
}

async function* chunksOf(text: string): AsyncIterable<Uint8Array> {
  const bytes = encoder.encode(text);
  yield bytes.subarray(0, 4);
  yield bytes.subarray(4);
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('LocalFsBlobStore while a directory in its root flips to a symbolic link outside', () => {
  let dir: string;
  let outside: string;
  let store: LocalFsBlobStore;
  let flipper: Worker | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(BASE, 'flyte-ts-fs-race-'));
    outside = join(dir, 'outside');
    await mkdir(join(outside, 'sub'), { recursive: true });
    for (let k = 0; k < SLOTS; k++) {
      await writeFile(join(outside, `x${k}`), 'o'.repeat(OUTSIDE_SIZE));
      await writeFile(join(outside, 'sub', `y${k}`), 'o'.repeat(OUTSIDE_SIZE));
    }
    store = new LocalFsBlobStore({ root: join(dir, 'root') });
  });

  afterAll(async () => {
    await flipper?.terminate();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, reads, lists and deletes nothing outside, and refuses escapes with INVALID_ARGUMENT naming the URI', async () => {
    const uri = (key: string) => `${store.rootUri}/a/${key}`;
    const content = (key: string) => `inside:${key}`;
    for (let k = 0; k < SLOTS; k++) {
      for (const key of [`x${k}`, `sub/y${k}`]) await store.put(uri(key), encoder.encode(content(key)));
    }
    const before = await snapshot(outside);

    const control = new SharedArrayBuffer(8);
    const flags = new Int32Array(control);
    flipper = new Worker(FLIPPER, {
      eval: true,
      workerData: { dir: join(store.root, 'a'), held: join(store.root, 'held-'), outside, control },
    });
    const running = flipper;
    const exited = new Promise((resolve, reject) => {
      running.once('exit', resolve);
      running.once('error', reject);
    });
    await new Promise((resolve) => running.once('message', resolve));

    const outsideData: string[] = [];
    const badErrors: string[] = [];
    let refused = 0;
    const read = (op: string, key: string, text: string) => {
      if (!text.startsWith('inside:')) outsideData.push(`${op} ${key}: ${text.length} bytes`);
    };
    const sized = (op: string, key: string, size: number) => {
      if (size >= OUTSIDE_SIZE) outsideData.push(`${op} ${key}: size ${size}`);
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const k = round % SLOTS;
        const next = (round + 1) % SLOTS;
        const ops: [string, string, () => Promise<unknown>][] = [
          ['put', uri(`x${k}`), () => store.put(uri(`x${k}`), encoder.encode(content(`x${k}`)))],
          ['put stream', uri(`sub/y${k}`), () => store.put(uri(`sub/y${k}`), chunksOf(content(`sub/y${k}`)))],
          ['put new dir', uri(`new/z${k}`), () => store.put(uri(`new/z${k}`), encoder.encode(content(`new/z${k}`)))],
          [
            'get',
            uri(`x${next}`),
            async () => read('get', `x${next}`, decoder.decode(await store.get(uri(`x${next}`)))),
          ],
          [
            'getStream',
            uri(`sub/y${next}`),
            async () => read('getStream', `sub/y${next}`, await drain(await store.getStream(uri(`sub/y${next}`)))),
          ],
          [
            'head',
            uri(`x${next}`),
            async () => {
              const info = await store.head(uri(`x${next}`));
              if (info !== undefined) sized('head', `x${next}`, info.size);
            },
          ],
          [
            'list',
            `${store.rootUri}/a/`,
            async () => {
              for (const item of (await store.list(`${store.rootUri}/a/`)).items) sized('list', item.uri, item.size);
            },
          ],
          [
            'copy',
            uri(`sub/c${k}`),
            async () => {
              const info = await store.copy(uri(`x${next}`), uri(`sub/c${k}`));
              sized('copy', `x${next}`, info.size);
            },
          ],
          ['delete', uri(`x${(round + 2) % SLOTS}`), () => store.delete(uri(`x${(round + 2) % SLOTS}`))],
        ];
        const results = await Promise.allSettled(ops.map(([, , run]) => run()));
        results.forEach((result, i) => {
          if (result.status === 'fulfilled') return;
          const [op, id] = ops[i]!;
          const error: unknown = result.reason;
          // NOT_FOUND: the directory was away or a link at that moment; CONFLICT: it kept vanishing while a write
          // created it. A copy names whichever of its URIs failed.
          const coded =
            CODES.some((code) => isFlyteError(error, code)) &&
            ((error as FlyteError).id === id || (op === 'copy' && (error as FlyteError).id === uri(`x${next}`)));
          if (!coded) badErrors.push(`${op} ${id}: ${String(error)}`);
          else if (isFlyteError(error, 'INVALID_ARGUMENT')) refused += 1;
        });
      }
    } finally {
      Atomics.store(flags, 0, 1);
      await exited;
    }

    const after = await snapshot(outside);
    const changedOutside = [...new Set([...before.keys(), ...after.keys()])].filter(
      (path) => before.get(path) !== after.get(path),
    );
    expect({
      changedOutside: changedOutside.length,
      outsideData: outsideData.length,
      badErrors: badErrors.length,
      examples: [...changedOutside.slice(0, 3), ...outsideData.slice(0, 3), ...badErrors.slice(0, 3)],
    }).toEqual({ changedOutside: 0, outsideData: 0, badErrors: 0, examples: [] });
    // The race was run: the store met the link and said so.
    expect(refused).toBeGreaterThan(0);
  }, 60_000);
});
