// The shared BlobStore contract of @flyte-ts/core/testing, run against S3BlobStore on s3rver: once with an
// allow-list of one bucket (URIs of the other bucket are refused), once serving any bucket through a client given
// to it.
import { S3Client } from '@aws-sdk/client-s3';
import { blobStoreContract } from '@flyte-ts/core/testing';
import { S3BlobStore } from '@flyte-ts/blob-s3';
import { BUCKET, OTHER_BUCKET, useS3rver } from './support/s3.js';

const s3rver = useS3rver();

/** URIs every S3BlobStore refuses: they would alias another object, or are not object URIs at all. */
const MALFORMED = [
  `s3://${BUCKET}/contract/../escape`,
  `s3://${BUCKET}/contract/./here`,
  `s3://${BUCKET}/contract//double`,
  `s3://${BUCKET}/contract/..`,
  `s3://${BUCKET}/contract/with\u0000nul`,
  `S3://${BUCKET}/contract/upper-scheme`,
  `s3:///no-bucket`,
  's3://Not_A$Bucket/key',
  's3://ab/too-short-bucket',
];

blobStoreContract('S3BlobStore (allow-list of one bucket)', async () => {
  const server = s3rver();
  const blob = new S3BlobStore({ endpoint: server.endpoint, credentials: server.credentials, buckets: [BUCKET] });
  return {
    blob,
    base: `s3://${BUCKET}/contract`,
    outside: [...MALFORMED, `s3://${OTHER_BUCKET}/contract/object`, `s3://${BUCKET}x/contract/object`],
    cleanup: async () => blob.destroy(),
  };
});

blobStoreContract('S3BlobStore (any bucket, client given)', async () => {
  const server = s3rver();
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    blob: new S3BlobStore({ client }),
    base: `s3://${OTHER_BUCKET}/contract`,
    outside: MALFORMED,
    cleanup: async () => client.destroy(),
  };
});
