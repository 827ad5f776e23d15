// MemoryBlobStore: the BlobStore port in memory, for `mem://bucket/key` URIs. Objects are copied in and out, so
// callers may reuse their buffers; a put becomes visible whole, only after its last chunk.
import { createHash } from 'node:crypto';
import {
  InvalidArgumentError,
  NotFoundError,
  type BlobBody,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type ListBlobsOptions,
  type OperationOptions,
  type PutOptions,
} from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';
import { copyOf, readBody } from './blob-body.js';
import { pageOfUris, sortUris } from './blob-pages.js';

/** Size of the chunks `getStream` yields. */
const STREAM_CHUNK = 64 * 1024;
const SCHEME = 'mem';
const OBJECT_URI = /^mem:\/\/[^/?#]+\/[^?#]+$/;

interface StoredObject {
  readonly bytes: Uint8Array;
  /** When it was written (ms). */
  readonly modifiedMs: number;
  /** MD5 of the bytes, computed when first asked for (the engine writes many objects and asks for few). */
  etag?: string;
  readonly contentType: string | undefined;
}

/**
 * The BlobStore port in memory: every `mem://<bucket>/<key>` URI. Buckets need no creation. Not durable: use it in
 * tests, examples and single-process apps.
 */
export class MemoryBlobStore implements BlobStore {
  /** URI scheme this store serves. */
  readonly scheme = SCHEME;
  readonly #objects = new Map<string, StoredObject>();

  /** Creates an empty store. */
  constructor() {}

  async get(uri: string, options?: OperationOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    return this.#stored(uri).bytes.slice();
  }

  async getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    throwIfAborted(options?.signal);
    const { bytes } = this.#stored(uri);
    const signal = options?.signal;
    return (async function* () {
      for (let offset = 0; offset < bytes.byteLength; offset += STREAM_CHUNK) {
        throwIfAborted(signal);
        yield bytes.slice(offset, offset + STREAM_CHUNK);
      }
    })();
  }

  async put(uri: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo> {
    throwIfAborted(options?.signal);
    checkObjectUri(uri);
    // Bytes are copied at once; only streams are read chunk by chunk.
    const bytes = body instanceof Uint8Array ? copyOf(body) : await readBody(body, options?.signal);
    const stored: StoredObject = {
      bytes,
      modifiedMs: Date.now(),
      contentType: options?.contentType,
    };
    this.#objects.set(uri, stored);
    return info(uri, stored);
  }

  async head(uri: string, options?: OperationOptions): Promise<BlobInfo | undefined> {
    throwIfAborted(options?.signal);
    checkObjectUri(uri);
    const stored = this.#objects.get(uri);
    return stored === undefined ? undefined : info(uri, stored);
  }

  async list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage> {
    throwIfAborted(options?.signal);
    if (!prefix.startsWith(`${SCHEME}://`)) throw outside(prefix);
    const matching: string[] = [];
    for (const uri of this.#objects.keys()) if (uri.startsWith(prefix)) matching.push(uri);
    const page = pageOfUris(sortUris(matching), prefix, options);
    return { items: page.uris.map((uri) => info(uri, this.#objects.get(uri)!)), nextToken: page.nextToken };
  }

  async delete(uris: string | readonly string[], options?: OperationOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const all = typeof uris === 'string' ? [uris] : uris;
    for (const uri of all) checkObjectUri(uri);
    for (const uri of all) this.#objects.delete(uri);
  }

  async copy(from: string, to: string, options?: OperationOptions): Promise<BlobInfo> {
    throwIfAborted(options?.signal);
    checkObjectUri(to);
    const source = this.#stored(from);
    // Stored bytes are never mutated or handed out, so the copy may share them.
    const stored: StoredObject = { ...source, modifiedMs: Date.now() };
    this.#objects.set(to, stored);
    return info(to, stored);
  }

  #stored(uri: string): StoredObject {
    checkObjectUri(uri);
    const stored = this.#objects.get(uri);
    if (stored === undefined) throw new NotFoundError(`no object at ${uri}`, { id: uri });
    return stored;
  }
}

function outside(uri: string): InvalidArgumentError {
  return new InvalidArgumentError(`${uri} is not a ${SCHEME}://<bucket>/<key> URI: this store serves only those`, {
    id: uri,
  });
}

function checkObjectUri(uri: string): void {
  if (!OBJECT_URI.test(uri)) throw outside(uri);
}

function info(uri: string, stored: StoredObject): BlobInfo {
  return {
    uri,
    size: stored.bytes.byteLength,
    get lastModified() {
      return new Date(stored.modifiedMs);
    },
    get etag() {
      return (stored.etag ??= createHash('md5').update(stored.bytes).digest('hex'));
    },
    contentType: stored.contentType,
  };
}
