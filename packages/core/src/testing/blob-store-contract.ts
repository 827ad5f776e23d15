// The BlobStore contract: every guarantee of the BlobStore port as a vitest suite that the memory, filesystem
// and S3 stores all run. One store instance serves the suite; each test writes under its own URI prefix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../ports/blob-store.js';
import { joinUri } from '../ports/data-store.js';
import {
  abortedSignal,
  allByteValues,
  byteList,
  collectPages,
  expectAbortReason,
  expectCode,
  sameBytes,
  unique,
} from './support.js';

/** A BlobStore to run the contract against. */
export interface BlobStoreUnderTest {
  /** The adapter. */
  readonly blob: BlobStore;
  /** A URI prefix the store serves and the suite may write under (`mem://bucket`, `file:///tmp/x`, `s3://b/p`). */
  readonly base: string;
  /**
   * URIs in the store's own scheme that it must refuse with `INVALID_ARGUMENT` (outside its root, path
   * traversal, ...). The suite always checks a URI of a foreign scheme.
   */
  readonly outside?: readonly string[] | undefined;
  /** Called once after the suite. */
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/** Creates the BlobStore under test; called once per suite. */
export type BlobStoreFactory = () => Promise<BlobStoreUnderTest>;

const SETUP_TIMEOUT_MS = 120_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

async function* chunks(parts: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield part;
  }
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk);
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** A deterministic pseudo-random payload (compresses badly, so no store can cheat on size). */
function payload(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/**
 * Registers the BlobStore contract suite: bytes and streams, overwrite, NOT_FOUND naming the URI, head, list by
 * prefix with pagination in lexicographic order, idempotent and batch delete, copy (when implemented), refusal
 * of URIs outside the store, and atomic puts that an abort leaves undone.
 * @param name the adapter's name, shown in the test report
 * @param factory creates the adapter once for the whole suite
 */
export function blobStoreContract(name: string, factory: BlobStoreFactory): void {
  describe(`${name} (BlobStore contract)`, () => {
    let subject: BlobStoreUnderTest | undefined;
    let blob: BlobStore;

    beforeAll(async () => {
      subject = await factory();
      blob = subject.blob;
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await subject?.cleanup?.();
    }, SETUP_TIMEOUT_MS);

    /** A fresh prefix under the base for one test. */
    function prefix(): string {
      return joinUri(subject!.base, unique('t'));
    }

    it('reads back the bytes it stored, and describes them in put and head', async () => {
      const uri = joinUri(prefix(), 'dir', 'object.bin');
      const bytes = allByteValues();
      const info = await blob.put(uri, bytes, { contentType: 'application/octet-stream' });
      expect(info.uri).toBe(uri);
      expect(info.size).toBe(bytes.byteLength);
      expect(byteList(await blob.get(uri))).toEqual(byteList(bytes));

      const head = await blob.head(uri);
      expect(head?.uri).toBe(uri);
      expect(head?.size).toBe(bytes.byteLength);
      if (head?.lastModified !== undefined) expect(head.lastModified).toBeInstanceOf(Date);
      if (head?.contentType !== undefined) expect(head.contentType).toBe('application/octet-stream');
    });

    it('stores an empty object', async () => {
      const uri = joinUri(prefix(), 'empty');
      expect((await blob.put(uri, new Uint8Array(0))).size).toBe(0);
      expect((await blob.get(uri)).byteLength).toBe(0);
      expect((await blob.head(uri))?.size).toBe(0);
    });

    it('writes a stream of many chunks and reads it back whole and as a stream', async () => {
      const uri = joinUri(prefix(), 'streamed.bin');
      const parts = [payload(1, 1), payload(64 * 1024 + 3, 2), text('middle'), payload(300 * 1024, 3), payload(7, 4)];
      const whole = await readAll(chunks(parts));
      const info = await blob.put(uri, chunks(parts));
      expect(info.size).toBe(whole.byteLength);
      expect(sameBytes(await blob.get(uri), whole), 'get returns the bytes written').toBe(true);
      const streamed = await readAll(await blob.getStream(uri));
      expect(sameBytes(streamed, whole), 'the stream yields the bytes written').toBe(true);
    });

    it('replaces an object on a second put', async () => {
      const uri = joinUri(prefix(), 'object.txt');
      await blob.put(uri, text('first version, longer'));
      const info = await blob.put(uri, text('second'));
      expect(info.size).toBe(6);
      expect(decoder.decode(await blob.get(uri))).toBe('second');
      expect((await blob.head(uri))?.size).toBe(6);
    });

    it('rejects get of a missing object with NOT_FOUND naming the URI, and head resolves undefined', async () => {
      const uri = joinUri(prefix(), 'missing.txt');
      const error = await expectCode(blob.get(uri), 'NOT_FOUND');
      expect(`${error.id ?? ''} ${error.message}`).toContain(uri);
      expect(await blob.head(uri)).toBeUndefined();
    });

    it('rejects getStream of a missing object before any chunk is read', async () => {
      const uri = joinUri(prefix(), 'missing.bin');
      const error = await expectCode(blob.getStream(uri), 'NOT_FOUND');
      expect(`${error.id ?? ''} ${error.message}`).toContain(uri);
    });

    it('lists by prefix in lexicographic order, page by page, each object exactly once', async () => {
      const root = prefix();
      const keys = ['b', 'a', 'c/d', 'c/e', 'ab', 'a-z', 'c/f/g', 'd'];
      for (const key of keys) await blob.put(joinUri(root, key), text(key));
      const expected = keys.map((key) => joinUri(root, key)).sort();

      const all = await blob.list(`${root}/`);
      expect(all.items.map((item) => item.uri)).toEqual(expected);
      expect(all.nextToken).toBeUndefined();
      for (const item of all.items) {
        const key = item.uri.slice(root.length + 1);
        expect(item.size, item.uri).toBe(key.length);
      }

      for (const limit of [1, 2, 3]) {
        const { items } = await collectPages(
          (token) => blob.list(`${root}/`, { limit, ...(token === undefined ? {} : { token }) }),
          limit,
        );
        expect(
          items.map((item) => item.uri),
          `limit ${limit}`,
        ).toEqual(expected);
      }
    });

    it('lists by string prefix, not only by directory', async () => {
      const root = prefix();
      for (const key of ['a', 'ab', 'ax/y', 'b', 'c/a']) await blob.put(joinUri(root, key), text(key));
      const uris = async (p: string) => (await blob.list(p)).items.map((item) => item.uri.slice(root.length + 1));
      expect(await uris(`${root}/a`)).toEqual(['a', 'ab', 'ax/y']);
      expect(await uris(`${root}/ax/`)).toEqual(['ax/y']);
      expect(await uris(`${root}/c`)).toEqual(['c/a']);
      expect(await uris(`${root}/nothing`)).toEqual([]);
      expect(await uris(`${root}/`)).toEqual(['a', 'ab', 'ax/y', 'b', 'c/a']);
    });

    it('deletes idempotently, one object or several', async () => {
      const root = prefix();
      const [a, b, c] = ['a', 'b', 'c'].map((key) => joinUri(root, key));
      for (const uri of [a!, b!, c!]) await blob.put(uri, text('x'));

      await blob.delete(a!);
      await blob.delete(a!);
      await expectCode(blob.get(a!), 'NOT_FOUND');
      expect(await blob.head(a!)).toBeUndefined();

      await blob.delete([b!, c!, joinUri(root, 'never-written')]);
      expect(await blob.head(b!)).toBeUndefined();
      expect(await blob.head(c!)).toBeUndefined();
      expect((await blob.list(`${root}/`)).items).toEqual([]);
      await blob.delete([]);
    });

    it('copies an object within the store, when it implements copy', async (ctx) => {
      if (blob.copy === undefined) {
        ctx.skip();
        return;
      }
      const root = prefix();
      const from = joinUri(root, 'from.bin');
      const to = joinUri(root, 'nested', 'to.bin');
      const bytes = payload(10_000, 9);
      await blob.put(from, bytes);
      const info = await blob.copy(from, to);
      expect(info.uri).toBe(to);
      expect(info.size).toBe(bytes.byteLength);
      expect(sameBytes(await blob.get(to), bytes)).toBe(true);
      expect(sameBytes(await blob.get(from), bytes)).toBe(true);

      await blob.put(to, text('old'));
      await blob.copy(from, to);
      expect((await blob.get(to)).byteLength).toBe(bytes.byteLength);
      await expectCode(blob.copy(joinUri(root, 'missing'), joinUri(root, 'x')), 'NOT_FOUND');
      expect(await blob.head(joinUri(root, 'x'))).toBeUndefined();
    });

    it('refuses URIs of another scheme or outside its root with INVALID_ARGUMENT, touching nothing', async () => {
      const foreign = blob.scheme === 'other' ? 'elsewhere://bucket/key' : 'other://bucket/key';
      for (const uri of [foreign, ...(subject!.outside ?? [])]) {
        await expectCode(blob.get(uri), 'INVALID_ARGUMENT');
        await expectCode(blob.getStream(uri), 'INVALID_ARGUMENT');
        await expectCode(blob.put(uri, text('x')), 'INVALID_ARGUMENT');
        await expectCode(blob.head(uri), 'INVALID_ARGUMENT');
        await expectCode(blob.list(uri), 'INVALID_ARGUMENT');
        await expectCode(blob.delete(uri), 'INVALID_ARGUMENT');
        if (blob.copy !== undefined) {
          const inside = joinUri(prefix(), 'inside');
          await blob.put(inside, text('inside'));
          await expectCode(blob.copy(inside, uri), 'INVALID_ARGUMENT');
          await expectCode(blob.copy(uri, inside), 'INVALID_ARGUMENT');
          expect(decoder.decode(await blob.get(inside))).toBe('inside');
        }
      }
    });

    it('keeps the previous object when a streamed put is aborted midway', async () => {
      const uri = joinUri(prefix(), 'atomic.bin');
      await blob.put(uri, text('previous'));
      const controller = new AbortController();
      const reason = new Error('stop writing');
      async function* body(): AsyncIterable<Uint8Array> {
        yield payload(64 * 1024, 5);
        await Promise.resolve();
        controller.abort(reason);
        yield payload(64 * 1024, 6);
        yield payload(64 * 1024, 7);
      }
      await expectAbortReason(blob.put(uri, body(), { signal: controller.signal }), reason);
      expect(decoder.decode(await blob.get(uri))).toBe('previous');
      expect((await blob.head(uri))?.size).toBe(8);
      // Nothing else appeared next to it (no temporary or partial object is visible).
      expect((await blob.list(uri)).items.map((item) => item.uri)).toEqual([uri]);
    });

    it('leaves no object when a put of a new object fails midway', async () => {
      const uri = joinUri(prefix(), 'never.bin');
      async function* body(): AsyncIterable<Uint8Array> {
        yield payload(1024, 8);
        throw new Error('source failed');
      }
      await expect(blob.put(uri, body())).rejects.toThrow('source failed');
      expect(await blob.head(uri)).toBeUndefined();
      expect((await blob.list(uri)).items).toEqual([]);
    });

    it('rejects with the reason of an already-aborted signal, and writes nothing', async () => {
      const uri = joinUri(prefix(), 'aborted.txt');
      const { signal, reason } = abortedSignal();
      await expectAbortReason(blob.put(uri, text('x'), { signal }), reason);
      expect(await blob.head(uri)).toBeUndefined();
      await expectAbortReason(blob.get(uri, { signal }), reason);
      await expectAbortReason(blob.list(uri, { signal }), reason);
    });
  });
}
