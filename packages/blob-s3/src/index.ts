// @flyte-ts/blob-s3: the BlobStore port of flyte-ts on Amazon S3 and S3-compatible servers (MinIO, Ceph, s3rver).
// This file is the package's public API: what it exports is supported, nothing else is.

export { S3BlobStore } from './s3-blob-store.js';
export {
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MIN_PART_SIZE,
  type ChecksumMode,
  type RetryMode,
  type S3BlobStoreOptions,
} from './options.js';
export {
  DeleteObjectsError,
  PermissionDeniedError,
  S3_ERROR_CODES,
  type DeleteFailure,
  type PermissionDeniedErrorOptions,
  type S3ErrorCode,
} from './errors.js';
export { S3_SCHEME } from './s3-uri.js';
