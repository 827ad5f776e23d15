// Options of S3BlobStore, and the S3 client built from them: defaults for AWS S3 when no endpoint is given, and for
// S3-compatible servers (MinIO, Ceph, s3rver) when one is.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { InvalidArgumentError } from '@flyte-ts/core';
import { isBucketName } from './s3-uri.js';

/** When the SDK computes checksums of requests and validates those of responses. */
export type ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

/** How the SDK retries: `standard` (exponential backoff with jitter) or `adaptive` (also rate-limits itself). */
export type RetryMode = 'standard' | 'adaptive';

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  /**
   * The buckets this store may touch. URIs of any other bucket are refused with `INVALID_ARGUMENT` before any
   * request. Omitted: every bucket the credentials reach.
   */
  readonly buckets?: readonly string[] | undefined;
  /**
   * A client to use as it is (its own endpoint, region, credentials, retries and checksum settings). The store
   * never destroys it. Give either `client` or the client options below, not both.
   */
  readonly client?: S3Client | undefined;
  /**
   * URL of an S3-compatible server (`http://127.0.0.1:9000` for MinIO, a Ceph RGW, s3rver). Omitted: AWS S3. Giving
   * one changes the defaults of `region`, `forcePathStyle` and `checksums`.
   */
  readonly endpoint?: string | undefined;
  /** Region to sign for. Default: the SDK's (`AWS_REGION`, the shared config), or `us-east-1` with an `endpoint`. */
  readonly region?: string | undefined;
  /** Credentials, or a provider of them. Default: the SDK's chain (environment, shared files, SSO, IMDS, ...). */
  readonly credentials?: S3ClientConfig['credentials'];
  /**
   * Address buckets in the path (`http://host/bucket/key`) instead of the host name (`bucket.host`). Default: true
   * with an `endpoint` (MinIO, Ceph and s3rver serve path-style without DNS set-up), false for AWS.
   */
  readonly forcePathStyle?: boolean | undefined;
  /**
   * When the SDK adds CRC32 checksums to requests and validates those of responses. Default: `WHEN_SUPPORTED` for
   * AWS (end-to-end integrity checks), `WHEN_REQUIRED` with an `endpoint`: several S3-compatible servers (s3rver,
   * older MinIO and Ceph releases) do not understand the `aws-chunked` trailers of streamed uploads and store the
   * framing inside the object, silently.
   */
  readonly checksums?: ChecksumMode | undefined;
  /** Attempts per request, the first included (default 3, the SDK's). Throttling and 5xx answers are retried. */
  readonly maxAttempts?: number | undefined;
  /** The SDK's retry strategy (default `standard`). */
  readonly retryMode?: RetryMode | undefined;
  /** Milliseconds to wait for a TCP connection before the attempt fails and is retried (default 10,000). */
  readonly connectionTimeoutMs?: number | undefined;
  /**
   * Milliseconds a socket may stay idle while a request or response is in flight before the attempt fails
   * (default: no limit, the SDK's; a slow reader of `getStream` keeps its socket idle).
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Size of the parts of multipart uploads, in bytes (at least 5 MiB, S3's minimum; default 8 MiB). Objects up to
   * this size go up in one PutObject. A streamed upload may have 10,000 parts, so this also caps its size
   * (8 MiB: 78 GiB). Memory of an upload is about `partSize × (queueSize + 1)`.
   */
  readonly partSize?: number | undefined;
  /** Parts of one multipart upload sent at once (default 4). */
  readonly queueSize?: number | undefined;
  /**
   * Told when something went wrong that the operation itself survived: a failed or aborted multipart upload whose
   * abort S3 refused (its parts remain until the bucket's lifecycle rule for incomplete uploads removes them).
   * Default: `process.emitWarning`.
   */
  readonly onWarning?: ((message: string, cause: unknown) => void) | undefined;
}

/** The smallest part S3 accepts (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The default part size. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** The default number of parts in flight. */
export const DEFAULT_QUEUE_SIZE = 4;
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

const CLIENT_OPTIONS = [
  'endpoint',
  'region',
  'credentials',
  'forcePathStyle',
  'checksums',
  'maxAttempts',
  'retryMode',
  'connectionTimeoutMs',
  'requestTimeoutMs',
] as const satisfies readonly (keyof S3BlobStoreOptions)[];

/**
 * Checks the options, and creates the client they describe (or takes the one given).
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the bad option.
 */
export function resolveClient(options: S3BlobStoreOptions): { client: S3Client; owned: boolean } {
  if (options.client !== undefined) {
    const given = CLIENT_OPTIONS.filter((name) => options[name] !== undefined);
    if (given.length > 0) {
      throw new InvalidArgumentError(
        `S3BlobStore: give either a client or client options (${given.join(', ')}), not both: configure the client`,
        { id: given[0] },
      );
    }
    return { client: options.client, owned: false };
  }
  const custom = options.endpoint !== undefined;
  if (custom) {
    let url: URL;
    try {
      url = new URL(options.endpoint!);
    } catch {
      throw invalid('endpoint', `is not a URL: ${String(options.endpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('endpoint', 'must be http(s)://');
  }
  positiveInteger('maxAttempts', options.maxAttempts);
  positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs);
  positiveInteger('requestTimeoutMs', options.requestTimeoutMs);
  if (options.retryMode !== undefined && options.retryMode !== 'standard' && options.retryMode !== 'adaptive') {
    throw invalid('retryMode', `must be 'standard' or 'adaptive', got ${String(options.retryMode)}`);
  }
  const checksums = options.checksums ?? (custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED');
  if (checksums !== 'WHEN_SUPPORTED' && checksums !== 'WHEN_REQUIRED') {
    throw invalid('checksums', `must be 'WHEN_SUPPORTED' or 'WHEN_REQUIRED', got ${String(checksums)}`);
  }
  const region = options.region ?? (custom ? 'us-east-1' : undefined);
  const config: S3ClientConfig = {
    forcePathStyle: options.forcePathStyle ?? custom,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    },
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(region === undefined ? {} : { region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retryMode === undefined ? {} : { retryMode: options.retryMode }),
  };
  return { client: new S3Client(config), owned: true };
}

/**
 * The allow-list of buckets, checked.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for an empty list or a bad name.
 */
export function resolveBuckets(buckets: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (buckets === undefined) return undefined;
  if (buckets.length === 0) throw invalid('buckets', 'is empty: omit it to allow every bucket');
  for (const bucket of buckets) {
    if (typeof bucket !== 'string' || !isBucketName(bucket)) {
      throw invalid('buckets', `holds ${JSON.stringify(bucket)}, not a bucket name (give names, not s3:// URIs)`);
    }
  }
  return new Set(buckets);
}

/**
 * The part size and queue size of uploads, checked.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a part size under 5 MiB or a queue size under 1.
 */
export function resolveUploadOptions(options: S3BlobStoreOptions): { partSize: number; queueSize: number } {
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw invalid('partSize', `must be an integer of at least ${MIN_PART_SIZE} bytes (5 MiB), got ${partSize}`);
  }
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  positiveInteger('queueSize', queueSize);
  return { partSize, queueSize };
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw invalid(name, `must be a positive integer, got ${String(value)}`);
  }
}

function invalid(name: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`S3BlobStore option ${name} ${why}`, { id: name });
}
