// S3BlobStore: the BlobStore port on Amazon S3 and S3-compatible servers. Objects are `s3://bucket/key`; puts go
// through lib-storage's Upload (one PutObject, or a multipart upload in parts), so S3 makes each put atomic.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type DeleteObjectsCommandOutput,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  InvalidArgumentError,
  UnavailableError,
  type BlobBody,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type ListBlobsOptions,
  type OperationOptions,
  type PutOptions,
  type SignedUrlOptions,
} from '@flyte-ts/core';
import { BodySource } from './body.js';
import { DeleteObjectsError, mapS3Error, s3ErrorCode, type DeleteFailure, type ErrorContext } from './errors.js';
import { decodeListToken, encodeListToken } from './list-token.js';
import { resolveBuckets, resolveClient, resolveUploadOptions, type S3BlobStoreOptions } from './options.js';
import { objectUri, parseObjectUri, parsePrefixUri, S3_SCHEME, type S3Location } from './s3-uri.js';
import { chunksOf, readAll, toReadable } from './streams.js';

/** Keys per DeleteObjects request: S3's limit. */
const DELETE_BATCH = 1000;
/** The largest page of a listing: S3's limit. */
const MAX_PAGE = 1000;
/** Parts of a multipart upload: S3's limit. */
const MAX_PARTS = 10_000;
/** The longest a SigV4 presigned URL may live: seven days. */
const MAX_URL_SECONDS = 7 * 24 * 3600;

/** `send` of a client, without the SDK's overloads. */
type Send = (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

/**
 * The BlobStore port on Amazon S3, MinIO, Ceph RGW or any S3-compatible server, for `s3://bucket/key` URIs.
 *
 * - Puts are atomic: bytes and streams go through lib-storage's `Upload`, one PutObject up to `partSize` and a
 *   multipart upload above, which S3 makes visible only when complete. A failed or aborted put aborts its multipart
 *   upload, so the previous object stays and no parts are left behind. Streams are read part by part: memory stays
 *   about `partSize × (queueSize + 1)` whatever the size.
 * - Reads stream: `getStream` resolves once S3 answered (so `NOT_FOUND` comes before any chunk) and then yields the
 *   response as it arrives.
 * - Requests are retried by the SDK (throttling, 5xx, network errors) up to `maxAttempts`; what still fails is
 *   `UNAVAILABLE` naming the URI. A missing object or bucket is `NOT_FOUND`, refused credentials
 *   `PERMISSION_DENIED` ({@link PermissionDeniedError}).
 * - URIs of other schemes, of buckets outside `buckets`, and keys with empty, `.` or `..` segments are refused with
 *   `INVALID_ARGUMENT` before any request, so no two URIs name one object.
 */
export class S3BlobStore implements BlobStore {
  /** URI scheme this store serves. */
  readonly scheme = S3_SCHEME;
  /** The S3 client requests go through (the one given, or the one built from the options). */
  readonly client: S3Client;
  /** The buckets this store may touch; undefined when any. */
  readonly buckets: readonly string[] | undefined;
  readonly #allowed: ReadonlySet<string> | undefined;
  readonly #ownsClient: boolean;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #warn: (message: string, cause: unknown) => void;

  /**
   * @param options the buckets served, and the client (or how to build it)
   * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a bad option, naming it.
   */
  constructor(options: S3BlobStoreOptions = {}) {
    this.#allowed = resolveBuckets(options.buckets);
    this.buckets = this.#allowed === undefined ? undefined : [...this.#allowed];
    const { partSize, queueSize } = resolveUploadOptions(options);
    this.#partSize = partSize;
    this.#queueSize = queueSize;
    const { client, owned } = resolveClient(options);
    this.client = client;
    this.#ownsClient = owned;
    this.#warn =
      options.onWarning ??
      ((message: string, cause: unknown) =>
        process.emitWarning(`${message}${cause instanceof Error ? ` (${cause.message})` : ''}`, 'S3BlobStoreWarning'));
  }

  /** Reads a whole object (GetObject); a missing object or bucket is `NOT_FOUND`. */
  async get(uri: string, options?: OperationOptions): Promise<Uint8Array> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const target = this.#object(uri);
    const context = this.#context('get', target, signal);
    const stream = await this.#open(target, context, signal);
    try {
      return await readAll(stream, signal);
    } catch (error) {
      throw readFailure(error, context);
    }
  }

  /**
   * Streams an object. The request is sent at once: a missing object rejects the returned promise. Iterate the
   * result to the end or leave the loop (`break`, `return`): either releases the connection; a stream never
   * iterated holds it.
   */
  async getStream(uri: string, options?: OperationOptions): Promise<AsyncIterable<Uint8Array>> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const target = this.#object(uri);
    const context = this.#context('getStream', target, signal);
    const stream = await this.#open(target, context, signal);
    return (async function* () {
      try {
        yield* chunksOf(stream, signal);
      } catch (error) {
        throw readFailure(error, context);
      }
    })();
  }

  /**
   * Writes an object atomically: one PutObject up to `partSize`, a multipart upload above (aborted if the put fails
   * or is aborted before its final request). Resolves to its URI, size, ETag and content type.
   */
  async put(uri: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const target = this.#object(uri);
    const context = this.#context('put', target, signal);
    const contentType = options?.contentType;
    let source: BodySource | undefined;
    let readable: Readable | undefined;
    let partSize = this.#partSize;
    if (body instanceof Uint8Array) {
      partSize = Math.max(partSize, Math.ceil(body.byteLength / MAX_PARTS));
    } else if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
      source = new BodySource(body, signal);
      // One chunk of read-ahead: the upload buffers whole parts itself.
      readable = Readable.from(source, { highWaterMark: 1 });
    } else {
      throw new InvalidArgumentError(`put of ${uri}: the body must be a Uint8Array or an AsyncIterable of them`, {
        id: uri,
      });
    }
    const upload = new Upload({
      client: this.#uploadClient(target, signal),
      params: {
        Bucket: target.bucket,
        Key: target.key,
        Body: readable ?? (body as Uint8Array),
        ...(contentType === undefined ? {} : { ContentType: contentType }),
      },
      partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    let etag: string | undefined;
    try {
      etag = (await upload.done()).ETag;
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      if (source?.failed === true) throw source.sourceError;
      if (error instanceof Error && /Exceeded \d+ parts/.test(error.message)) {
        throw new InvalidArgumentError(
          `put of ${uri}: the stream is larger than ${MAX_PARTS} parts of ${partSize} bytes; raise partSize`,
          { id: uri, cause: error },
        );
      }
      throw mapS3Error(error, context);
    } finally {
      if (readable !== undefined && !readable.destroyed) readable.destroy();
    }
    return {
      uri,
      size: source === undefined ? (body as Uint8Array).byteLength : source.bytes,
      etag: unquote(etag),
      contentType,
    };
  }

  /** Describes an object; undefined when it (or its bucket: S3 answers a bare 404 to HEAD) does not exist. */
  async head(uri: string, options?: OperationOptions): Promise<BlobInfo | undefined> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const target = this.#object(uri);
    try {
      const output = await this.#send<HeadObjectCommandOutput>(
        new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }),
        signal,
      );
      return {
        uri,
        size: output.ContentLength ?? 0,
        lastModified: output.LastModified,
        etag: unquote(output.ETag),
        contentType: output.ContentType,
      };
    } catch (error) {
      if (signal?.aborted !== true && isMissing(error)) return undefined;
      throw mapS3Error(error, this.#context('head', target, signal));
    }
  }

  /**
   * Lists by prefix (`s3://bucket/dir/`, `s3://bucket/dir/pre`, or `s3://bucket` for the whole bucket) in S3's
   * order (UTF-8 bytes of the keys), at most 1,000 per page. The token is S3's continuation token, valid only for
   * the same prefix.
   */
  async list(prefix: string, options?: ListBlobsOptions): Promise<BlobPage> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const target = parsePrefixUri(prefix, this.#allowed);
    const limit = options?.limit ?? MAX_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(`list limit must be a positive integer, got ${String(limit)}`, { id: prefix });
    }
    const continuation = options?.token === undefined ? undefined : decodeListToken(options.token, prefix);
    try {
      const output = await this.#send<ListObjectsV2CommandOutput>(
        new ListObjectsV2Command({
          Bucket: target.bucket,
          MaxKeys: Math.min(limit, MAX_PAGE),
          ...(target.key === '' ? {} : { Prefix: target.key }),
          ...(continuation === undefined ? {} : { ContinuationToken: continuation }),
        }),
        signal,
      );
      const items: BlobInfo[] = (output.Contents ?? []).flatMap((object) =>
        object.Key === undefined
          ? []
          : [
              {
                uri: objectUri(target.bucket, object.Key),
                size: object.Size ?? 0,
                lastModified: object.LastModified,
                etag: unquote(object.ETag),
              },
            ],
      );
      const next = output.IsTruncated === true ? output.NextContinuationToken : undefined;
      return { items, nextToken: next === undefined || next === '' ? undefined : encodeListToken(prefix, next) };
    } catch (error) {
      throw mapS3Error(error, this.#context('list', target, signal));
    }
  }

  /**
   * Deletes objects; missing ones are ignored. Every URI is checked before anything is deleted. Several objects go
   * in DeleteObjects requests of up to 1,000 keys (with a Content-MD5, which older S3-compatible servers demand);
   * objects S3 did not delete are reported together in a {@link DeleteObjectsError} once every batch was tried.
   * An abort stops between batches and may leave some objects.
   */
  async delete(uris: string | readonly string[], options?: OperationOptions): Promise<void> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const all = typeof uris === 'string' ? [uris] : uris;
    const targets = all.map((uri) => this.#object(uri));
    if (targets.length === 0) return;
    if (targets.length === 1) {
      const [target] = targets as [S3Location];
      try {
        await this.#send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }), signal);
      } catch (error) {
        if (signal?.aborted !== true && isMissingKey(error)) return;
        throw mapS3Error(error, this.#context('delete', target, signal));
      }
      return;
    }
    const byBucket = new Map<string, Set<string>>();
    for (const target of targets) {
      let keys = byBucket.get(target.bucket);
      if (keys === undefined) byBucket.set(target.bucket, (keys = new Set()));
      keys.add(target.key);
    }
    const failures: DeleteFailure[] = [];
    for (const [bucket, keySet] of byBucket) {
      const keys = [...keySet];
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        signal?.throwIfAborted();
        const batch = keys.slice(start, start + DELETE_BATCH);
        const command = new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((key) => ({ Key: key })), Quiet: true },
        });
        addContentMd5(command);
        let errors: readonly { Key?: string; Code?: string; Message?: string }[];
        try {
          errors = (await this.#send<DeleteObjectsCommandOutput>(command, signal)).Errors ?? [];
        } catch (error) {
          const first: S3Location = { uri: objectUri(bucket, batch[0]!), bucket, key: batch[0]! };
          throw mapS3Error(error, this.#context('delete', first, signal));
        }
        for (const error of errors) {
          if (error.Code === 'NoSuchKey' || error.Key === undefined) continue;
          failures.push({
            uri: objectUri(bucket, error.Key),
            s3Code: error.Code ?? 'Unknown',
            message: error.Message ?? '',
          });
        }
      }
    }
    if (failures.length > 0) throw new DeleteObjectsError(failures, targets.length);
  }

  /**
   * Copies an object server-side (CopyObject, with its content type), then describes the copy. A missing source is
   * `NOT_FOUND` naming it, and nothing is written. S3 copies objects of up to 5 GiB this way; larger ones are
   * refused with `INVALID_ARGUMENT` (read and put them instead).
   */
  async copy(from: string, to: string, options?: OperationOptions): Promise<BlobInfo> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const source = this.#object(from);
    const target = this.#object(to);
    if (from !== to) {
      try {
        await this.#send(
          new CopyObjectCommand({ Bucket: target.bucket, Key: target.key, CopySource: copySource(source) }),
          signal,
        );
      } catch (error) {
        // A missing key can only be the source's; a missing bucket either one's.
        const code = s3ErrorCode(error);
        const sourceFailed =
          code === 'NoSuchKey' ||
          (code === 'NoSuchBucket' && (error as { BucketName?: unknown }).BucketName !== target.bucket);
        const at = sourceFailed ? source : target;
        throw mapS3Error(error, this.#context('copy', at, signal));
      }
    }
    const info = await this.head(to, options);
    if (info === undefined) {
      throw mapS3Error(Object.assign(new Error('the copy vanished'), { name: 'NotFound' }), {
        ...this.#context('copy', from === to ? source : target, signal),
      });
    }
    return info;
  }

  /**
   * A presigned URL (SigV4, at most 7 days) that lets anyone GET or PUT the object until it expires. A PUT through
   * it replaces the object whole; it carries no checksum parameters, so any body is accepted.
   */
  async signedUrl(uri: string, options: SignedUrlOptions): Promise<string> {
    const signal = options.signal;
    signal?.throwIfAborted();
    const target = this.#object(uri);
    if (options.method !== 'GET' && options.method !== 'PUT') {
      throw new InvalidArgumentError(`signedUrl method must be GET or PUT, got ${String(options.method)}`, { id: uri });
    }
    const seconds = options.expiresInSeconds;
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_URL_SECONDS) {
      throw new InvalidArgumentError(
        `signedUrl expiresInSeconds must be an integer from 1 to ${MAX_URL_SECONDS} (7 days), got ${String(seconds)}`,
        { id: uri },
      );
    }
    const input = { Bucket: target.bucket, Key: target.key };
    const command = options.method === 'GET' ? new GetObjectCommand(input) : new PutObjectCommand(input);
    withoutChecksums(command);
    try {
      const url = await getSignedUrl(this.client, command, { expiresIn: seconds });
      signal?.throwIfAborted();
      return url;
    } catch (error) {
      throw mapS3Error(error, this.#context('signedUrl', target, signal));
    }
  }

  /** Closes the connections of the client this store built; a client given in the options is left to its owner. */
  destroy(): void {
    if (this.#ownsClient) this.client.destroy();
  }

  #object(uri: string): S3Location {
    return parseObjectUri(uri, this.#allowed);
  }

  /** Sends GetObject and returns the body as a stream; a missing object or bucket is `NOT_FOUND`. */
  async #open(target: S3Location, context: ErrorContext, signal: AbortSignal | undefined): Promise<Readable> {
    try {
      const output = await this.#send<GetObjectCommandOutput>(
        new GetObjectCommand({ Bucket: target.bucket, Key: target.key }),
        signal,
      );
      return toReadable(output.Body);
    } catch (error) {
      throw mapS3Error(error, context);
    }
  }

  #context(operation: string, target: S3Location, signal: AbortSignal | undefined): ErrorContext {
    return { operation, uri: target.uri, bucket: target.bucket, signal };
  }

  /** Sends a command with the operation's signal; `O` is the command's output type. */
  #send<O>(command: object, signal: AbortSignal | undefined): Promise<O> {
    const options = signal === undefined ? {} : { abortSignal: signal };
    return (this.client.send as Send).call(this.client, command, options) as Promise<O>;
  }

  /**
   * The client an Upload sends through: every request carries the put's signal, except the final
   * CompleteMultipartUpload (once sent, S3 decides: the put resolves if it committed) and AbortMultipartUpload
   * (the clean-up must go out after an abort), whose failure becomes a warning so the put's own error surfaces.
   */
  #uploadClient(target: S3Location, signal: AbortSignal | undefined): S3Client {
    const client = this.client;
    const send = client.send as Send;
    const warn = this.#warn;
    const scoped = Object.create(client) as S3Client;
    const scopedSend: Send = async (command, options) => {
      if (command instanceof AbortMultipartUploadCommand) {
        try {
          return await send.call(client, command, options);
        } catch (error) {
          warn(
            `S3BlobStore could not abort multipart upload ${command.input.UploadId ?? '?'} of ${target.uri}: its parts ` +
              'stay until a lifecycle rule for incomplete multipart uploads removes them',
            error,
          );
          return { $metadata: {} };
        }
      }
      signal?.throwIfAborted();
      if (command instanceof CompleteMultipartUploadCommand) return send.call(client, command, options);
      return send.call(client, command, signal === undefined ? options : { ...options, abortSignal: signal });
    };
    Object.defineProperty(scoped, 'send', { value: scopedSend });
    return scoped;
  }
}

/** What a failed read becomes: mapped like any S3 error, and a failure midway (a cut connection) `UNAVAILABLE`. */
function readFailure(error: unknown, context: ErrorContext): unknown {
  if (context.signal?.aborted === true) return context.signal.reason;
  const mapped = mapS3Error(error, context);
  if (mapped !== error || !(error instanceof Error)) return mapped;
  return new UnavailableError(`reading ${context.uri} failed midway (${error.message})`, {
    id: context.uri,
    cause: error,
  });
}

function isMissing(error: unknown): boolean {
  const code = s3ErrorCode(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchBucket' || status === 404;
}

function isMissingKey(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound';
}

/** An ETag without its quotes (S3 quotes them; the port's etag is the value). */
function unquote(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^"(.*)"$/, '$1');
}

/** The x-amz-copy-source of an object: bucket and key, each key segment percent-encoded. */
function copySource(source: S3Location): string {
  return `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The request of a middleware: headers and the serialized body. */
interface MiddlewareRequest {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  readonly query?: Record<string, unknown>;
}

/** Adds a Content-MD5 of the serialized body: DeleteObjects needs one on older MinIO and Ceph releases. */
function addContentMd5(command: DeleteObjectsCommand): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as MiddlewareRequest | undefined;
      const body = request?.body;
      if (request !== undefined && (typeof body === 'string' || body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'flyteTsContentMd5', priority: 'low' },
  );
}

/**
 * Drops the checksum headers the SDK adds to a request before it is presigned: a presigned PUT would otherwise
 * carry the CRC32 of an empty body and refuse every real one.
 */
function withoutChecksums(command: GetObjectCommand | PutObjectCommand): void {
  // The middleware touches only the HTTP request, the same for both commands' stacks.
  (command.middlewareStack as unknown as DeleteObjectsCommand['middlewareStack']).add(
    (next) => async (args) => {
      const request = args.request as MiddlewareRequest | undefined;
      if (request !== undefined) {
        for (const name of Object.keys(request.headers)) {
          const lower = name.toLowerCase();
          if (lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-')) {
            delete request.headers[name];
          }
        }
      }
      return next(args);
    },
    { step: 'build', name: 'flyteTsPresignWithoutChecksums', priority: 'low' },
  );
}
