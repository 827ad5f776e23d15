// What S3's answers (and the network's failures) become: flyte-ts errors with a stable code, the URI as `id`, and a
// message that says what to change. The SDK's own error is kept as `cause`.
import {
  ConflictError,
  FlyteError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type FlyteErrorOptions,
} from '@flyte-ts/core';

/** Stable error codes this package adds to those of `@flyte-ts/core`. */
export const S3_ERROR_CODES = [
  /**
   * S3 refused the credentials or the permission: access denied, an unknown access key, a wrong secret, an expired
   * token, or no credentials found at all. Retrying does not help; fix the credentials or the bucket policy.
   */
  'PERMISSION_DENIED',
] as const;

/** One of {@link S3_ERROR_CODES}. */
export type S3ErrorCode = (typeof S3_ERROR_CODES)[number];

/** Options of {@link PermissionDeniedError}. */
export interface PermissionDeniedErrorOptions extends FlyteErrorOptions {
  /** S3's error code (`AccessDenied`, `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `ExpiredToken`, ...). */
  readonly s3Code?: string | undefined;
}

/** S3 refused the request's credentials or permissions (`PERMISSION_DENIED`); `id` is the URI. */
export class PermissionDeniedError extends FlyteError<'PERMISSION_DENIED'> {
  /** S3's error code, when S3 answered (`AccessDenied`, `SignatureDoesNotMatch`, ...). */
  readonly s3Code: string | undefined;

  /**
   * @param message what happened and what to change
   * @param options the URI, S3's code and the cause
   */
  constructor(message: string, options: PermissionDeniedErrorOptions = {}) {
    super('PERMISSION_DENIED', message, options);
    this.s3Code = options.s3Code;
  }
}

/** One object that a batch delete could not delete. */
export interface DeleteFailure {
  /** The object's URI. */
  readonly uri: string;
  /** S3's error code for it (`AccessDenied`, `InternalError`, ...). */
  readonly s3Code: string;
  /** S3's message for it. */
  readonly message: string;
}

/**
 * Some objects of a batch delete were not deleted (S3 answered per key). `failures` lists each; `code` is
 * `PERMISSION_DENIED` when any was refused for access, else `UNAVAILABLE` (S3 failed transiently: retry the
 * delete, which is idempotent). `id` is the first failing URI.
 */
export class DeleteObjectsError extends FlyteError<'PERMISSION_DENIED' | 'UNAVAILABLE'> {
  /** The objects that were not deleted, and why. */
  readonly failures: readonly DeleteFailure[];

  /**
   * @param failures the objects not deleted (at least one)
   * @param total how many objects the delete was asked for
   */
  constructor(failures: readonly DeleteFailure[], total: number) {
    const denied = failures.some((failure) => ACCESS_CODES.has(failure.s3Code));
    const shown = failures
      .slice(0, 5)
      .map((failure) => `${failure.uri} (${failure.s3Code}: ${failure.message})`)
      .join(', ');
    const more = failures.length > 5 ? ` and ${failures.length - 5} more` : '';
    super(
      denied ? 'PERMISSION_DENIED' : 'UNAVAILABLE',
      `could not delete ${failures.length} of ${total} objects: ${shown}${more}` +
        (denied ? '' : '; the delete is idempotent, retry it'),
      { id: failures[0]?.uri },
    );
    this.failures = failures;
  }
}

/** S3 codes that mean "these credentials may not do this". */
export const ACCESS_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'NotSignedUp',
  'Forbidden',
  'CredentialsProviderError',
]);

/** S3 codes of throttling and transient failures (retried by the SDK, UNAVAILABLE once retries are spent). */
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
]);

/** Node's codes of network failures. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** What the SDK's errors carry (service exceptions and network errors alike). */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly BucketName?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number } | undefined;
}

/** Where an error happened, to name it. */
export interface ErrorContext {
  /** What was being done (`get`, `put`, `list`, ...). */
  readonly operation: string;
  /** The URI the operation was about; the error's `id`. */
  readonly uri: string;
  /** The bucket the URI names. */
  readonly bucket: string;
  /** The operation's signal: once aborted, its reason is the error, whatever the SDK said. */
  readonly signal?: AbortSignal | undefined;
}

/** S3's error code of an SDK error (`NoSuchKey`, `SlowDown`, ...), or the network error code. */
export function s3ErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as SdkErrorShape;
  if (typeof shape.Code === 'string') return shape.Code;
  if (typeof shape.code === 'string') return shape.code;
  if (typeof shape.name === 'string' && shape.name !== 'Error') return shape.name;
  return undefined;
}

/**
 * The error an operation rejects with for `error`: the signal's reason once aborted; flyte-ts errors as they are;
 * S3's answers and network failures as flyte-ts errors naming the URI; anything else (a bug, a failing body
 * source) unchanged.
 */
export function mapS3Error(error: unknown, context: ErrorContext): unknown {
  if (context.signal?.aborted === true) return context.signal.reason;
  if (error instanceof FlyteError) return error;
  if (typeof error !== 'object' || error === null) return error;
  const shape = error as SdkErrorShape;
  const code = s3ErrorCode(error) ?? '';
  const status = shape.$metadata?.httpStatusCode;
  const attempts = shape.$metadata?.attempts;
  const message = typeof shape.message === 'string' ? shape.message : '';
  const what = `${context.operation} ${context.uri}`;
  const detail = `${code === '' ? '' : `${code}: `}${message}`;
  const options = { id: context.uri, cause: error };

  if (message === 'Region is missing') {
    return new InvalidArgumentError(
      `${what}: no AWS region is configured; give S3BlobStore the region option, or set AWS_REGION`,
      options,
    );
  }
  if (code === 'NoSuchBucket') {
    const bucket = typeof shape.BucketName === 'string' ? shape.BucketName : context.bucket;
    return new NotFoundError(`bucket ${bucket} does not exist (${what}); create it or fix the URI`, options);
  }
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchUpload')) {
    return new NotFoundError(`no object at ${context.uri}`, options);
  }
  if (ACCESS_CODES.has(code) || status === 403) {
    return new PermissionDeniedError(
      `S3 denied ${what} (${detail}): check the credentials, and that they may access bucket ${context.bucket}`,
      { ...options, s3Code: code === '' ? undefined : code },
    );
  }
  const retried = attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
  if (
    TRANSIENT_CODES.has(code) ||
    NETWORK_CODES.has(code) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (status === undefined && shape.$metadata !== undefined)
  ) {
    if (code !== 'NotImplemented') {
      return new UnavailableError(`S3 is unavailable for ${what}${retried} (${detail})`, options);
    }
  }
  if (status === 409 || status === 412 || code === 'PreconditionFailed') {
    return new ConflictError(`S3 refused ${what}: ${detail}`, options);
  }
  if (status !== undefined && status >= 400) {
    return new InvalidArgumentError(`S3 refused ${what} (${detail})`, options);
  }
  return error;
}
