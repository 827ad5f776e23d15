// The BlobStore port: an object store addressed by URI (`s3://bucket/key`, `file:///path`, `mem://...`).
// Inputs, outputs, errors and raw data of executions live here. Adapters: MemoryBlobStore and LocalFsBlobStore
// (@flyte-ts/store-memory), S3BlobStore (@flyte-ts/blob-s3).
import type { OperationOptions } from './common.js';

/** What a BlobStore knows of an object. */
export interface BlobInfo {
  /** The object's URI. */
  readonly uri: string;
  /** Size in bytes. */
  readonly size: number;
  /** When it was last written, when the store knows. */
  readonly lastModified?: Date | undefined;
  /** Entity tag of the content, when the store computes one. */
  readonly etag?: string | undefined;
  /** Content type given at write time, if any. */
  readonly contentType?: string | undefined;
}

/** Options of {@link BlobStore.put}. */
export interface PutOptions extends OperationOptions {
  /** Content type stored with the object. */
  readonly contentType?: string | undefined;
}

/** Options of {@link BlobStore.list}. */
export interface ListBlobsOptions extends OperationOptions {
  /** Continuation token from a previous page. */
  readonly token?: string | undefined;
  /** Page size; the store may return fewer. */
  readonly limit?: number | undefined;
}

/** One page of a listing. */
export interface BlobPage {
  /** Objects of this page, in lexicographic URI order. */
  readonly items: readonly BlobInfo[];
  /** Token of the next page; undefined on the last page. */
  readonly nextToken?: string | undefined;
}

/** Options of {@link BlobStore.signedUrl}. */
export interface SignedUrlOptions extends OperationOptions {
  /** What the URL allows. */
  readonly method: 'GET' | 'PUT';
  /** Lifetime of the URL in seconds. */
  readonly expiresInSeconds: number;
}

/** Body of a write: bytes, or a stream of chunks (written without buffering the whole object). */
export type BlobBody = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * An object store addressed by URI. Guarantees every adapter must meet:
 * - a `put` is atomic: readers see the old object or the whole new one, never a partial write, and an aborted
 *   or failed `put` leaves the previous object (or none) in place;
 * - `get` of a missing object rejects with a `NOT_FOUND` FlyteError naming the URI; `head` resolves undefined;
 * - `delete` is idempotent (missing objects are not an error);
 * - URIs outside the store's scheme or root reject with `INVALID_ARGUMENT`, never touch anything else.
 */
export interface BlobStore {
  /** URI scheme this store serves (`s3`, `file`, `mem`). */
  readonly scheme: string;
  /** Reads a whole object. */
  get(uri: string, options?: OperationOptions): Promise<Uint8Array>;
  /**
   * Reads an object as a stream of chunks (constant memory whatever the size). A missing object rejects the
   * returned promise with `NOT_FOUND` (before any chunk); later failures surface while iterating.
   */
  getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>>;
  /** Writes an object, replacing any previous one, and resolves to what was stored. */
  put(uri: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo>;
  /** Describes an object, or undefined when it does not exist. */
  head(uri: string, options?: OperationOptions): Promise<BlobInfo | undefined>;
  /** Lists the objects whose URI starts with `prefix`, one page at a time. */
  list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage>;
  /** Deletes objects; missing ones are ignored. Deleting several is not atomic: an abort may leave some. */
  delete(uris: string | readonly string[], options?: OperationOptions): Promise<void>;
  /**
   * Copies an object within the store (server-side where the store can). Optional: without it, callers read
   * and write.
   */
  copy?(from: string, to: string, options?: OperationOptions): Promise<BlobInfo>;
  /**
   * A URL that grants `method` on the object without credentials, for `expiresInSeconds`. Optional: stores
   * without such URLs leave it undefined.
   */
  signedUrl?(uri: string, options: SignedUrlOptions): Promise<string>;
}
