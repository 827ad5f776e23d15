// S3BlobStore beyond the contract: presigned URLs used with fetch, batch deletes over S3's 1,000-key limit,
// server-side copies, listing tokens, bucket allow-lists, a client given by the caller, and option checks.
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3BlobStore } from '@flyte-ts/blob-s3';
import { s3 } from './support/fault-proxy.js';
import {
  BUCKET,
  OTHER_BUCKET,
  payload,
  prefix,
  rejection,
  sha256,
  storeAt,
  text,
  useProxies,
  useS3rver,
} from './support/s3.js';

const s3rver = useS3rver();
const proxy = useProxies(s3rver);

function direct(options: ConstructorParameters<typeof S3BlobStore>[0] = {}): S3BlobStore {
  return storeAt(s3rver(), s3rver().endpoint, options);
}

/** Runs `work` over `items` with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('S3BlobStore presigned URLs', () => {
  it('grants GET of the object to a plain fetch', async () => {
    const store = direct();
    const uri = `${prefix('url-get')}/data.bin`;
    const bytes = payload(100_000, 1);
    await store.put(uri, bytes);
    const url = await store.signedUrl(uri, { method: 'GET', expiresInSeconds: 300 });
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('300');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(bytes));
  });

  it('grants PUT to a plain fetch, which replaces the object', async () => {
    const store = direct();
    const uri = `${prefix('url-put')}/data.bin`;
    await store.put(uri, text('before'));
    const url = await store.signedUrl(uri, { method: 'PUT', expiresInSeconds: 60 });
    const bytes = payload(50_000, 2);
    const response = await fetch(url, { method: 'PUT', body: bytes });
    expect(response.status).toBe(200);
    expect(sha256(await store.get(uri))).toBe(sha256(bytes));
  });

  it('leaves checksum parameters out of PUT URLs even when the SDK computes checksums', async () => {
    const store = direct({ checksums: 'WHEN_SUPPORTED' });
    const uri = `${prefix('url-checksums')}/data.txt`;
    const url = await store.signedUrl(uri, { method: 'PUT', expiresInSeconds: 60 });
    const names = [...new URL(url).searchParams.keys()].map((name) => name.toLowerCase());
    expect(names.filter((name) => name.includes('checksum'))).toEqual([]);
    expect((await fetch(url, { method: 'PUT', body: 'uploaded through the URL' })).status).toBe(200);
    expect(new TextDecoder().decode(await store.get(uri))).toBe('uploaded through the URL');
  });

  it('signs URLs of missing objects (fetching one is a 404), and refuses bad options', async () => {
    const store = direct();
    const uri = `${prefix('url-missing')}/nothing.txt`;
    expect((await fetch(await store.signedUrl(uri, { method: 'GET', expiresInSeconds: 60 }))).status).toBe(404);
    for (const expiresInSeconds of [0, 1.5, 7 * 24 * 3600 + 1]) {
      expect((await rejection(store.signedUrl(uri, { method: 'GET', expiresInSeconds }))).code).toBe(
        'INVALID_ARGUMENT',
      );
    }
    const method = 'DELETE' as 'GET';
    expect((await rejection(store.signedUrl(uri, { method, expiresInSeconds: 60 }))).code).toBe('INVALID_ARGUMENT');
    const outside = `s3://${OTHER_BUCKET}/x`;
    expect((await rejection(store.signedUrl(outside, { method: 'GET', expiresInSeconds: 60 }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('S3BlobStore batch delete', () => {
  it('deletes 1,005 objects in DeleteObjects batches of 1,000 with a Content-MD5, ignoring missing ones', async () => {
    const fault = await proxy();
    const store = storeAt(s3rver(), fault.endpoint);
    const root = prefix('batch');
    const uris = Array.from({ length: 1005 }, (_, i) => `${root}/${String(i).padStart(4, '0')}`);
    const writer = direct();
    await eachLimited(uris, 16, (uri) => writer.put(uri, text(uri)));
    const keep = `${root}-kept/object`;
    await writer.put(keep, text('kept'));
    writer.destroy();

    await store.delete([...uris, `${root}/missing-1`, `${root}/missing-2`, uris[0]!]);

    const batches = fault.seen(s3.deleteObjects);
    expect(batches.map((r) => r.status)).toEqual([200, 200]);
    expect(batches.map((r) => (r.body.toString('utf8').match(/<Key>/g) ?? []).length)).toEqual([1000, 7]);
    for (const batch of batches) {
      expect(batch.headers['content-md5']).toBe(createHash('md5').update(batch.body).digest('base64'));
    }
    expect((await store.list(`${root}/`)).items).toEqual([]);
    expect((await store.head(keep))?.size).toBe(4);
  }, 30_000);

  it('checks every URI before deleting any', async () => {
    const fault = await proxy();
    const store = storeAt(s3rver(), fault.endpoint);
    const uri = `${prefix('check-first')}/object`;
    await direct().put(uri, text('x'));
    const error = await rejection(store.delete([uri, `s3://${OTHER_BUCKET}/object`]));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.id).toBe(`s3://${OTHER_BUCKET}/object`);
    expect(fault.requests).toHaveLength(0);
    expect(await store.head(uri)).toBeDefined();
  });
});

describe('S3BlobStore copy', () => {
  it('copies server-side across buckets, with keys holding spaces and non-ASCII characters, keeping the content type', async () => {
    const fault = await proxy();
    const store = new S3BlobStore({ endpoint: fault.endpoint, credentials: s3rver().credentials });
    const from = `${prefix('copy')}/a file é.txt`;
    const to = `s3://${OTHER_BUCKET}/copies/ünïcode copy.txt`;
    await store.put(from, text('copied content'), { contentType: 'text/plain' });
    const info = await store.copy(from, to);
    expect(info).toMatchObject({ uri: to, size: 14, contentType: 'text/plain' });
    expect(new TextDecoder().decode(await store.get(to))).toBe('copied content');
    // One CopyObject request: the bytes never came through the client.
    expect(fault.requests.filter((r) => r.headers['x-amz-copy-source'] !== undefined)).toHaveLength(1);
    expect(fault.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
  });

  it('answers a copy onto itself with the object, and NOT_FOUND naming a missing source', async () => {
    const store = direct();
    const root = prefix('copy-self');
    const uri = `${root}/object`;
    await store.put(uri, text('self'));
    expect((await store.copy(uri, uri)).size).toBe(4);
    const missing = `${root}/missing`;
    const error = await rejection(store.copy(missing, `${root}/target`));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.id).toBe(missing);
    expect(await store.head(`${root}/target`)).toBeUndefined();
    expect((await rejection(store.copy(missing, missing))).code).toBe('NOT_FOUND');
  });
});

describe('S3BlobStore listing', () => {
  it('lists a whole bucket through s3://bucket, and refuses a token issued for another prefix', async () => {
    const store = new S3BlobStore({ endpoint: s3rver().endpoint, credentials: s3rver().credentials });
    const root = prefix('tokens');
    for (const name of ['a', 'b', 'c']) await store.put(`${root}/${name}`, text(name));
    const first = await store.list(`${root}/`, { limit: 1 });
    expect(first.items.map((item) => item.uri)).toEqual([`${root}/a`]);
    expect(first.nextToken).toBeDefined();
    const error = await rejection(store.list(`${root}/b`, { limit: 1, token: first.nextToken }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect((await rejection(store.list(`${root}/`, { token: 'not-a-token' }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(store.list(`${root}/`, { limit: 0 }))).code).toBe('INVALID_ARGUMENT');

    const whole = await store.list(`s3://${BUCKET}`, { limit: 1000 });
    expect(whole.items.some((item) => item.uri === `${root}/a`)).toBe(true);
  });
});

describe('S3BlobStore configuration', () => {
  it('serves any bucket without an allow-list, and only the listed ones with it, refusing before any request', async () => {
    const fault = await proxy();
    const creds = s3rver().credentials;
    const any = new S3BlobStore({ endpoint: fault.endpoint, credentials: creds });
    const one = new S3BlobStore({ endpoint: fault.endpoint, credentials: creds, buckets: [BUCKET] });
    expect(one.buckets).toEqual([BUCKET]);
    expect(any.buckets).toBeUndefined();
    const uri = `s3://${OTHER_BUCKET}/allow-list/object`;
    await any.put(uri, text('x'));
    const before = fault.requests.length;
    const error = await rejection(one.get(uri));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(`bucket ${OTHER_BUCKET} is not one this store serves`);
    expect(fault.requests).toHaveLength(before);
  });

  it('uses a client given to it, and leaves it open on destroy', async () => {
    const server = s3rver();
    const client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      credentials: server.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const store = new S3BlobStore({ client, buckets: [BUCKET] });
    expect(store.client).toBe(client);
    const uri = `${prefix('client')}/object`;
    await store.put(uri, text('through the given client'));
    store.destroy();
    expect(new TextDecoder().decode(await new S3BlobStore({ client }).get(uri))).toBe('through the given client');
    client.destroy();
  });

  it('refuses contradictory or impossible options with INVALID_ARGUMENT naming them', () => {
    const client = new S3Client({ region: 'us-east-1' });
    const cases: [ConstructorParameters<typeof S3BlobStore>[0], string][] = [
      [{ client, endpoint: 'http://127.0.0.1:9000' }, 'endpoint'],
      [{ client, maxAttempts: 5 }, 'maxAttempts'],
      [{ partSize: 1024 * 1024 }, 'partSize'],
      [{ queueSize: 0 }, 'queueSize'],
      [{ buckets: [] }, 'buckets'],
      [{ buckets: ['s3://bucket'] }, 'buckets'],
      [{ endpoint: 'not a url' }, 'endpoint'],
      [{ endpoint: 'ftp://127.0.0.1' }, 'endpoint'],
      [{ maxAttempts: 0 }, 'maxAttempts'],
      [{ retryMode: 'legacy' as 'standard' }, 'retryMode'],
      [{ checksums: 'ALWAYS' as 'WHEN_REQUIRED' }, 'checksums'],
    ];
    for (const [options, name] of cases) {
      let error: { code?: string; id?: string } | undefined;
      try {
        new S3BlobStore(options);
      } catch (caught) {
        error = caught as { code?: string; id?: string };
      }
      expect(error?.code, name).toBe('INVALID_ARGUMENT');
      expect(error?.id, name).toBe(name);
    }
    client.destroy();
  });

  it('says to configure a region when neither the options nor the environment give one', async () => {
    const saved = { ...process.env };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
    try {
      const store = new S3BlobStore({ credentials: s3rver().credentials });
      const error = await rejection(store.get(`s3://${BUCKET}/x`));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('no AWS region is configured');
      store.destroy();
    } finally {
      process.env = saved;
    }
  });

  it('defaults to path-style and WHEN_REQUIRED checksums with an endpoint, to the SDK defaults for AWS', async () => {
    const custom = new S3BlobStore({ endpoint: 'http://127.0.0.1:9000', credentials: s3rver().credentials });
    expect(custom.client.config.forcePathStyle).toBe(true);
    expect(await custom.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await custom.client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await custom.client.config.region()).toBe('us-east-1');
    const aws = new S3BlobStore({ region: 'eu-west-1', credentials: s3rver().credentials });
    expect(aws.client.config.forcePathStyle).toBe(false);
    expect(await aws.client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    const url = new URL(await aws.signedUrl(`s3://${BUCKET}/key`, { method: 'GET', expiresInSeconds: 60 }));
    expect(url.host).toBe(`${BUCKET}.s3.eu-west-1.amazonaws.com`);
    custom.destroy();
    aws.destroy();
  });
});
