// The shared contract suites of @flyte-ts/core/testing, run against every adapter of this package: what any
// other Store, Catalog, BlobStore or ResourceManager must also pass.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreContract, catalogContract, resourceManagerContract, storeContract } from '@flyte-ts/core/testing';
import {
  LocalFsBlobStore,
  MemoryBlobStore,
  MemoryCatalog,
  MemoryResourceManager,
  MemoryStore,
} from '@flyte-ts/store-memory';

storeContract('MemoryStore', async () => ({ store: new MemoryStore() }));

catalogContract('MemoryCatalog', async () => ({ catalog: new MemoryCatalog() }));

resourceManagerContract('MemoryResourceManager', async () => ({ resourceManager: new MemoryResourceManager() }));

blobStoreContract('MemoryBlobStore', async () => ({ blob: new MemoryBlobStore(), base: 'mem://contract-bucket' }));

blobStoreContract('LocalFsBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flyte-ts-blob-'));
  const blob = new LocalFsBlobStore({ root: join(dir, 'root') });
  return {
    blob,
    base: blob.rootUri,
    outside: [
      'file:///etc/passwd',
      `${blob.rootUri}/../outside.txt`,
      `${blob.rootUri}/%2e%2e/outside.txt`,
      `${blob.rootUri}-sibling/object.txt`,
      `file://somehost${blob.root}/object.txt`,
    ],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
