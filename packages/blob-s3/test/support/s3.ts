// One s3rver per test file (each file runs in its own worker), stores pointed at it, and small helpers.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore, type S3BlobStoreOptions } from '@flyte-ts/blob-s3';
import { startS3rver, type S3rverHandle } from '@flyte-ts/blob-s3/testing';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

// The SDK warns about Node 20 on every client; CI silences it the same way.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The bucket tests write to. */
export const BUCKET = 'flyte-test';
/** A second bucket, outside the allow-list of most stores. */
export const OTHER_BUCKET = 'flyte-other';

/** Starts s3rver (with both buckets) before the file's tests and stops it after; returns a getter. */
export function useS3rver(): () => S3rverHandle {
  let server: S3rverHandle | undefined;
  beforeAll(async () => {
    server = await startS3rver({ buckets: [BUCKET, OTHER_BUCKET] });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
  }, 30_000);
  return () => server!;
}

/** Starts a fault proxy in front of the file's s3rver for each test that asks for one; closes them after. */
export function useProxies(s3rver: () => S3rverHandle): () => Promise<FaultProxy> {
  const open: FaultProxy[] = [];
  afterAll(async () => {
    await Promise.all(open.map((proxy) => proxy.close()));
  });
  return async () => {
    const proxy = await startFaultProxy(s3rver().endpoint);
    open.push(proxy);
    return proxy;
  };
}

/** A store on `endpoint` with s3rver's credentials. */
export function storeAt(server: S3rverHandle, endpoint: string, options: S3BlobStoreOptions = {}): S3BlobStore {
  return new S3BlobStore({ endpoint, credentials: server.credentials, buckets: [BUCKET], ...options });
}

let counter = 0;
/** A fresh URI prefix under the test bucket. */
export function prefix(name: string): string {
  counter += 1;
  return `s3://${BUCKET}/${name}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A deterministic pseudo-random payload. */
export function payload(size: number, seed: number): Uint8Array {
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

/** `bytes` as a stream of `chunkSize` chunks (views: the store must not rely on the caller keeping them). */
export async function* chunked(bytes: Uint8Array, chunkSize: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += chunkSize) {
    await Promise.resolve();
    yield bytes.subarray(offset, offset + chunkSize);
  }
}

/** SHA-256 of some bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a stream, hex, and its size. */
export async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { hash: hash.digest('hex'), size };
}

/** Text as bytes. */
export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Awaits `promise`, expecting a rejection; returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; id?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; id?: string };
  }
  throw new Error('expected a rejection, but the operation resolved');
}
