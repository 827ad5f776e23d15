// @flyte-ts/blob-s3/testing: a local S3 (s3rver in a child process) for tests, examples and demos. It needs the
// `s3rver` package installed (an optional peer dependency); the main entry never loads it.

export { startS3rver, type S3rverHandle, type S3rverOptions } from './s3rver.js';
