// startS3rver (@flyte-ts/blob-s3/testing): a local S3 in a child process, with buckets, paginated listings in S3's
// order, and a directory that is removed on close unless the caller gave it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { S3BlobStore } from '@flyte-ts/blob-s3';
import { startS3rver } from '@flyte-ts/blob-s3/testing';
import { rejection, text } from './support/s3.js';

describe('startS3rver', () => {
  it('serves its buckets until closed, then removes its temporary directory', async () => {
    const server = await startS3rver({ buckets: ['first-bucket', 'second-bucket'] });
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    const store = new S3BlobStore({ endpoint: server.endpoint, credentials: server.credentials, maxAttempts: 1 });
    for (const bucket of server.buckets) await store.put(`s3://${bucket}/hello.txt`, text(bucket));
    expect(new TextDecoder().decode(await store.get('s3://second-bucket/hello.txt'))).toBe('second-bucket');
    expect(existsSync(server.directory)).toBe(true);

    await server.close();
    await server.close();
    expect(existsSync(server.directory)).toBe(false);
    expect((await rejection(store.get('s3://first-bucket/hello.txt'))).code).toBe('UNAVAILABLE');
    store.destroy();
  });

  it('keeps a directory it was given, so a restarted server finds the objects', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'flyte-ts-s3rver-test-'));
    try {
      const first = await startS3rver({ buckets: ['kept-bucket'], directory });
      const writer = new S3BlobStore({ endpoint: first.endpoint, credentials: first.credentials });
      await writer.put('s3://kept-bucket/persisted.txt', text('still here'));
      writer.destroy();
      await first.close();
      expect(existsSync(directory)).toBe(true);

      const second = await startS3rver({ directory });
      const reader = new S3BlobStore({ endpoint: second.endpoint, credentials: second.credentials });
      expect(new TextDecoder().decode(await reader.get('s3://kept-bucket/persisted.txt'))).toBe('still here');
      reader.destroy();
      await second.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('stops the server and removes its directory when the process that started it dies without closing it', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/abandon-s3rver.ts', import.meta.url));
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=@flyte-ts/source', fixture]);
    const failure = (await run.then(
      () => undefined,
      (error: unknown) => error,
    )) as { code?: number; stdout?: string } | undefined;
    expect(failure?.code).toBe(3);
    const { endpoint, directory } = JSON.parse(failure!.stdout!) as { endpoint: string; directory: string };
    // The server notices the end of its parent's pipe at once; give it up to ten seconds to finish.
    for (let i = 0; i < 100 && existsSync(directory); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(existsSync(directory)).toBe(false);
    await expect(fetch(endpoint)).rejects.toThrow();
  }, 30_000);

  it('pages listings in the byte order of the keys, as S3 does (s3rver alone lists a-z before a)', async () => {
    const server = await startS3rver({ buckets: ['order-bucket'] });
    const store = new S3BlobStore({ endpoint: server.endpoint, credentials: server.credentials });
    const keys = ['a', 'a-z', 'a.b', 'a/b', 'ab', 'b', 'z', 'é'];
    for (const key of [...keys].reverse()) await store.put(`s3://order-bucket/${key}`, text(key));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await store.list('s3://order-bucket/', { limit: 3, ...(token === undefined ? {} : { token }) });
      seen.push(...page.items.map((item) => item.uri.slice('s3://order-bucket/'.length)));
      token = page.nextToken;
    } while (token !== undefined);
    expect(seen).toEqual(keys);
    store.destroy();
    await server.close();
  });
});
