// The blob stores of `flyte-ts-execute`, chosen by URI scheme and configured from the environment. The adapters
// are optional peer dependencies, loaded on first use: an image installs the ones its URIs need.
import type { BlobStore } from '@flyte-ts/core';

/** Environment variables `flyte-ts-execute` reads (the pod's environment). */
export type ExecuteEnv = { readonly [name: string]: string | undefined };

/** Root directory of `file://` URIs (default `/`, so every absolute path); set it to confine the entrypoint. */
export const BLOB_ROOT_ENV = 'FLYTE_TS_BLOB_ROOT';
/** URL of an S3-compatible server (MinIO, Ceph, s3rver) for `s3://` URIs; unset means AWS S3. */
export const S3_ENDPOINT_ENV = 'FLYTE_TS_S3_ENDPOINT';

/** A URI scheme no installed adapter serves, or whose adapter is not installed. */
export class BlobStoreUnavailableError extends Error {
  /** @param message what is missing and how to provide it */
  constructor(message: string) {
    super(message);
    this.name = 'BlobStoreUnavailableError';
  }
}

/**
 * Blob stores by URI scheme, one per scheme, created on first use: `file:` is `LocalFsBlobStore` of
 * `@flyte-ts/store-memory` rooted at `$FLYTE_TS_BLOB_ROOT` (default `/`); `s3:` is `S3BlobStore` of
 * `@flyte-ts/blob-s3` on `$FLYTE_TS_S3_ENDPOINT` (default AWS), with the region and credentials of the AWS SDK's
 * standard chain (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, web identity, ...).
 */
export class BlobStores {
  private readonly stores = new Map<string, Promise<BlobStore>>();

  /** @param env the environment the stores are configured from */
  constructor(private readonly env: ExecuteEnv = process.env) {}

  /**
   * The store serving `uri`.
   * @throws {BlobStoreUnavailableError} for an unsupported scheme or a missing adapter package
   */
  async for(uri: string): Promise<BlobStore> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === undefined) throw new BlobStoreUnavailableError(`${uri} is not a URI`);
    let store = this.stores.get(scheme);
    if (store === undefined) {
      store = this.create(scheme, uri);
      this.stores.set(scheme, store);
    }
    return store;
  }

  /** Releases what the stores hold (the S3 client's sockets); the stores are not used after. */
  async close(): Promise<void> {
    const stores = await Promise.allSettled(this.stores.values());
    this.stores.clear();
    for (const store of stores) {
      if (store.status !== 'fulfilled') continue;
      const destroy = (store.value as { destroy?: unknown }).destroy;
      if (typeof destroy === 'function') (destroy as () => void).call(store.value);
    }
  }

  private async create(scheme: string, uri: string): Promise<BlobStore> {
    switch (scheme) {
      case 'file': {
        const { LocalFsBlobStore } = await load(() => import('@flyte-ts/store-memory'), '@flyte-ts/store-memory', uri);
        return new LocalFsBlobStore({ root: this.env[BLOB_ROOT_ENV] || '/' });
      }
      case 's3': {
        const { S3BlobStore } = await load(() => import('@flyte-ts/blob-s3'), '@flyte-ts/blob-s3', uri);
        const endpoint = this.env[S3_ENDPOINT_ENV] || undefined;
        const region = this.env['AWS_REGION'] || this.env['AWS_DEFAULT_REGION'] || undefined;
        const accessKeyId = this.env['AWS_ACCESS_KEY_ID'];
        const secretAccessKey = this.env['AWS_SECRET_ACCESS_KEY'];
        const sessionToken = this.env['AWS_SESSION_TOKEN'] || undefined;
        // Keys given in this environment are used as they are; otherwise the SDK's chain finds credentials.
        const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined;
        return new S3BlobStore({ endpoint, region, ...(credentials === undefined ? {} : { credentials }) });
      }
      default:
        throw new BlobStoreUnavailableError(
          `flyte-ts-execute has no blob store for ${scheme}:// URIs (${uri}); it serves file:// and s3://`,
        );
    }
  }
}

async function load<T>(importer: () => Promise<T>, name: string, uri: string): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new BlobStoreUnavailableError(`${uri} needs the package ${name}: install it in the image`);
    }
    throw error;
  }
}
