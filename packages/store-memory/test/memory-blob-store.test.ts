// MemoryBlobStore beyond the contract: its URI shape, and copies in and out so callers may reuse buffers.
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '@flyte-ts/store-memory';

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('MemoryBlobStore', () => {
  it.each(['mem://bucket', 'mem://bucket/', 'mem:///key', 'mem://bucket/key?x', 'memory://bucket/key', 'key'])(
    'refuses the object URI %s with INVALID_ARGUMENT',
    async (uri) => {
      const store = new MemoryBlobStore();
      expect(await code(store.put(uri, new Uint8Array([1])))).toBe('INVALID_ARGUMENT');
      expect(await code(store.get(uri))).toBe('INVALID_ARGUMENT');
    },
  );

  it('keeps its own copy of the bytes written and read', async () => {
    const store = new MemoryBlobStore();
    const buffer = new Uint8Array([1, 2, 3]);
    await store.put('mem://b/k', buffer);
    buffer[0] = 9;
    const read = await store.get('mem://b/k');
    expect(Array.from(read)).toEqual([1, 2, 3]);
    read[1] = 9;
    expect(Array.from(await store.get('mem://b/k'))).toEqual([1, 2, 3]);
  });

  it('keeps its own copy of Buffer bodies, small and large, and hands out copies', async () => {
    const store = new MemoryBlobStore();
    for (const size of [10, 5000]) {
      const body = Buffer.alloc(size, 7);
      await store.put(`mem://b/buf${size}`, body);
      body.fill(1);
      const read = await store.get(`mem://b/buf${size}`);
      expect(read.every((b) => b === 7)).toBe(true);
      read.fill(2);
      expect((await store.get(`mem://b/buf${size}`)).every((b) => b === 7)).toBe(true);
      const chunk = Buffer.alloc(size, 9);
      await store.put(
        `mem://b/stream${size}`,
        (async function* () {
          yield chunk;
          chunk.fill(3);
        })(),
      );
      expect((await store.get(`mem://b/stream${size}`)).every((b) => b === 9)).toBe(true);
    }
  });

  it('stores the content type and an etag of the content', async () => {
    const store = new MemoryBlobStore();
    const a = await store.put('mem://b/a', new Uint8Array([1]), { contentType: 'text/plain' });
    const b = await store.put('mem://b/b', new Uint8Array([1]));
    expect((await store.head('mem://b/a'))?.contentType).toBe('text/plain');
    expect(a.etag).toBe(b.etag);
    expect((await store.put('mem://b/a', new Uint8Array([2]))).etag).not.toBe(a.etag);
  });
});
