// Retries and errors, through a proxy that injects failures in front of s3rver: throttling and 5xx answers and reset
// connections are retried with backoff; what still fails after maxAttempts is UNAVAILABLE naming the URI; S3's
// answers map to NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT and CONFLICT; aborts reject with the reason.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PermissionDeniedError, S3BlobStore } from '@flyte-ts/blob-s3';
import { s3 } from './support/fault-proxy.js';
import { BUCKET, payload, prefix, rejection, storeAt, text, useProxies, useS3rver } from './support/s3.js';

const s3rver = useS3rver();
const proxy = useProxies(s3rver);

function keyOf(uri: string): string {
  return uri.slice(`s3://${BUCKET}/`.length);
}

/** An object written directly, and a store that reaches it through a fresh proxy. */
async function setUp(name: string, options: ConstructorParameters<typeof S3BlobStore>[0] = {}) {
  const direct = storeAt(s3rver(), s3rver().endpoint);
  const uri = `${prefix(name)}/object.txt`;
  await direct.put(uri, text(`content of ${name}`));
  const fault = await proxy();
  const store = storeAt(s3rver(), fault.endpoint, options);
  return { direct, uri, fault, store, key: keyOf(uri) };
}

describe('S3BlobStore retries', () => {
  it('retries a get answered 503 SlowDown twice, and succeeds on the third attempt', async () => {
    const { uri, fault, store, key } = await setUp('slowdown', { maxAttempts: 3 });
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 503, code: 'SlowDown' }, 2);
    expect(new TextDecoder().decode(await store.get(uri))).toBe('content of slowdown');
    expect(fault.seen(s3.object(BUCKET, key, 'GET')).map((r) => r.fault)).toEqual(['error', 'error', undefined]);
  });

  it('retries a put answered 500 InternalError, resending the whole body', async () => {
    const { uri, fault, store, key, direct } = await setUp('internal', { maxAttempts: 3 });
    fault.inject(s3.object(BUCKET, key, 'PUT'), { kind: 'error', status: 500, code: 'InternalError' }, 2);
    const bytes = payload(200_000, 1);
    expect((await store.put(uri, bytes)).size).toBe(bytes.byteLength);
    const puts = fault.seen(s3.object(BUCKET, key, 'PUT'));
    expect(puts).toHaveLength(3);
    for (const put of puts) expect(put.body.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(await direct.get(uri)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('retries a request whose connection was reset', async () => {
    const { uri, fault, store, key } = await setUp('reset', { maxAttempts: 3 });
    fault.inject(s3.object(BUCKET, key, 'HEAD'), { kind: 'reset' });
    fault.inject(s3.listObjects, { kind: 'reset' });
    expect((await store.head(uri))?.size).toBe('content of reset'.length);
    expect((await store.list(uri)).items.map((item) => item.uri)).toEqual([uri]);
    expect(fault.seen(s3.object(BUCKET, key, 'HEAD'))).toHaveLength(2);
    expect(fault.seen(s3.listObjects)).toHaveLength(2);
  });

  it('retries 429 throttling with the adaptive retry mode', async () => {
    const { uri, fault, store, key } = await setUp('adaptive', { maxAttempts: 3, retryMode: 'adaptive' });
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 429, code: 'TooManyRequests' });
    expect(new TextDecoder().decode(await store.get(uri))).toBe('content of adaptive');
    expect(fault.seen(s3.object(BUCKET, key, 'GET')).map((r) => r.fault)).toEqual(['error', undefined]);
  });

  it('fails UNAVAILABLE naming the URI once maxAttempts attempts failed, and sends no more', async () => {
    const { uri, fault, store, key } = await setUp('exhausted', { maxAttempts: 2 });
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 503, code: 'SlowDown' }, 10);
    const error = await rejection(store.get(uri));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.id).toBe(uri);
    expect(error.message).toContain(uri);
    expect(error.message).toContain('after 2 attempts');
    expect(fault.seen(s3.object(BUCKET, key, 'GET'))).toHaveLength(2);
  });

  it('fails UNAVAILABLE when the server cannot be reached at all', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = storeAt(s3rver(), `http://127.0.0.1:${port}`, { maxAttempts: 2 });
    const uri = `s3://${BUCKET}/unreachable.txt`;
    const operations = [() => store.get(uri), () => store.put(uri, text('x')), () => store.list(`s3://${BUCKET}/`)];
    for (const operation of operations) {
      const error = await rejection(operation());
      expect(error.code).toBe('UNAVAILABLE');
    }
  });

  it('surfaces a connection cut midway through getStream as UNAVAILABLE while iterating', async () => {
    const { direct, fault } = await setUp('cut');
    const store = storeAt(s3rver(), fault.endpoint);
    const uri = `${prefix('cut')}/big.bin`;
    await direct.put(uri, payload(2 * 1024 * 1024, 2));
    fault.inject(s3.object(BUCKET, keyOf(uri), 'GET'), { kind: 'truncate', afterBytes: 300_000 });
    const stream = await store.getStream(uri);
    let received = 0;
    const error = await rejection(
      (async () => {
        for await (const chunk of stream) received += chunk.byteLength;
      })(),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.id).toBe(uri);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(2 * 1024 * 1024);
  });
});

describe('S3BlobStore errors', () => {
  it('maps a missing bucket to NOT_FOUND naming the bucket, for reads and writes', async () => {
    const store = new S3BlobStore({ endpoint: s3rver().endpoint, credentials: s3rver().credentials });
    const uri = 's3://no-such-bucket/some/key';
    const operations = [
      () => store.get(uri),
      () => store.getStream(uri),
      () => store.put(uri, text('x')),
      () => store.list(uri),
      () => store.delete([uri, `${uri}-2`]),
    ];
    for (const operation of operations) {
      const error = await rejection(operation());
      expect(error.code).toBe('NOT_FOUND');
      expect(error.id).toBe(uri);
      expect(error.message).toContain('bucket no-such-bucket does not exist');
    }
  });

  it('maps an unknown access key or a wrong signature to PERMISSION_DENIED', async () => {
    const uri = `${prefix('denied')}/object.txt`;
    const credentials = { accessKeyId: 'NOBODY', secretAccessKey: 'S3RVER' };
    const unknown = new S3BlobStore({ endpoint: s3rver().endpoint, credentials, buckets: [BUCKET] });
    const error = await rejection(unknown.put(uri, text('x')));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.code).toBe('PERMISSION_DENIED');
    expect((error as PermissionDeniedError).s3Code).toBe('InvalidAccessKeyId');
    expect(error.id).toBe(uri);
    expect(error.message).toContain('check the credentials');

    // s3rver checks the access key of SigV4 requests but not their signature: the answer of a server that does.
    const { uri: other, fault, store, key } = await setUp('bad-signature');
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 403, code: 'SignatureDoesNotMatch' });
    const mismatch = await rejection(store.get(other));
    expect(mismatch.code).toBe('PERMISSION_DENIED');
    expect((mismatch as PermissionDeniedError).s3Code).toBe('SignatureDoesNotMatch');
  });

  it('maps AccessDenied to PERMISSION_DENIED, also for head (which does not pretend the object is missing)', async () => {
    const { uri, fault, store, key } = await setUp('access-denied');
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 403, code: 'AccessDenied' });
    fault.inject(s3.object(BUCKET, key, 'HEAD'), { kind: 'error', status: 403, code: 'AccessDenied' });
    expect((await rejection(store.get(uri))).code).toBe('PERMISSION_DENIED');
    const error = await rejection(store.head(uri));
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.id).toBe(uri);
  });

  it('maps other refusals to INVALID_ARGUMENT, and failed preconditions to CONFLICT', async () => {
    const { uri, fault, store, key } = await setUp('refusals');
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'error', status: 400, code: 'InvalidRequest' });
    fault.inject(s3.object(BUCKET, key, 'PUT'), { kind: 'error', status: 412, code: 'PreconditionFailed' });
    const invalid = await rejection(store.get(uri));
    expect(invalid.code).toBe('INVALID_ARGUMENT');
    expect(invalid.message).toContain('InvalidRequest');
    expect((await rejection(store.put(uri, text('y')))).code).toBe('CONFLICT');
  });

  it('rejects with the reason when aborted while S3 has not answered', async () => {
    const { uri, fault, store, key } = await setUp('held');
    fault.inject(s3.object(BUCKET, key, 'GET'), { kind: 'hold' });
    const controller = new AbortController();
    const reason = new Error('no longer needed');
    const pending = store.get(uri, { signal: controller.signal });
    await fault.arrived(s3.object(BUCKET, key, 'GET'));
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
  });

  it('rejects with the reason when aborted while iterating getStream', async () => {
    const { direct, fault } = await setUp('abort-stream');
    const store = storeAt(s3rver(), fault.endpoint);
    const uri = `${prefix('abort-stream')}/big.bin`;
    await direct.put(uri, payload(4 * 1024 * 1024, 3));
    const controller = new AbortController();
    const reason = new Error('reader went away');
    const stream = await store.getStream(uri, { signal: controller.signal });
    const error = await rejection(
      (async () => {
        for await (const chunk of stream) {
          expect(chunk.byteLength).toBeGreaterThan(0);
          controller.abort(reason);
        }
      })(),
    );
    expect(error).toBe(reason);
  });

  it('reports the objects a batch delete could not delete, with PERMISSION_DENIED or UNAVAILABLE', async () => {
    const fault = await proxy();
    const store = storeAt(s3rver(), fault.endpoint);
    const root = prefix('delete-errors');
    const uris = ['a', 'b', 'c'].map((name) => `${root}/${name}`);
    const result = (entries: string) =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${entries}</DeleteResult>`;
    const entry = (uri: string, code: string) =>
      `<Error><Key>${keyOf(uri)}</Key><Code>${code}</Code><Message>${code} for this key</Message></Error>`;

    fault.inject(s3.deleteObjects, {
      kind: 'respond',
      status: 200,
      body: result(entry(uris[0]!, 'AccessDenied') + entry(uris[2]!, 'InternalError')),
    });
    const denied = await rejection(store.delete(uris));
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(denied.id).toBe(uris[0]);
    expect((denied as unknown as { failures: unknown }).failures).toEqual([
      { uri: uris[0], s3Code: 'AccessDenied', message: 'AccessDenied for this key' },
      { uri: uris[2], s3Code: 'InternalError', message: 'InternalError for this key' },
    ]);

    fault.inject(s3.deleteObjects, { kind: 'respond', status: 200, body: result(entry(uris[1]!, 'InternalError')) });
    const transient = await rejection(store.delete(uris));
    expect(transient.code).toBe('UNAVAILABLE');
    expect(transient.message).toContain(uris[1]);
  });
});
