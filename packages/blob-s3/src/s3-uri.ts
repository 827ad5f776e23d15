// `s3://bucket/key` URIs: parsing and the checks that keep a store inside its buckets. Keys are taken as written
// (S3 keys are not percent-decoded), and refused rather than normalized when two spellings could name one object.
import { InvalidArgumentError } from '@flyte-ts/core';

/** The URI scheme of S3 objects. */
export const S3_SCHEME = 's3';

const PREFIX = 's3://';
/** Bucket names: today's rules (lowercase, digits, dots, hyphens) and the legacy ones (uppercase, underscores). */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The longest key S3 accepts, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/** An object (or a listing prefix) of S3. */
export interface S3Location {
  /** The URI as given. */
  readonly uri: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key (for a prefix: the key prefix, possibly empty). */
  readonly key: string;
}

/** True when `name` is a bucket name S3 could have (checked before any request names it). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..');
}

/**
 * Parses the URI of an object: `s3://bucket/key`, the key made of non-empty segments, none `.` or `..`, no
 * control characters, at most 1,024 UTF-8 bytes.
 * @param allowed the buckets the store serves (undefined means every bucket)
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the URI and what is wrong with it.
 */
export function parseObjectUri(uri: string, allowed: ReadonlySet<string> | undefined): S3Location {
  return parse(uri, allowed, false);
}

/**
 * Parses a listing prefix: `s3://bucket`, `s3://bucket/` or `s3://bucket/key-prefix`. The prefix's last segment
 * may be empty (`s3://bucket/dir/`) or partial (`s3://bucket/dir/fi`); the others follow the rules of object keys.
 * @param allowed the buckets the store serves (undefined means every bucket)
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the URI and what is wrong with it.
 */
export function parsePrefixUri(uri: string, allowed: ReadonlySet<string> | undefined): S3Location {
  return parse(uri, allowed, true);
}

/** The URI of an object. */
export function objectUri(bucket: string, key: string): string {
  return `${PREFIX}${bucket}/${key}`;
}

function parse(uri: string, allowed: ReadonlySet<string> | undefined, isPrefix: boolean): S3Location {
  const refuse = (why: string) => new InvalidArgumentError(`${uri} is refused: ${why}`, { id: uri });
  if (typeof uri !== 'string' || !uri.startsWith(PREFIX)) throw refuse('not an s3:// URI');
  const rest = uri.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!isBucketName(bucket)) throw refuse(`${JSON.stringify(bucket)} is not a valid bucket name`);
  if (allowed !== undefined && !allowed.has(bucket)) {
    throw refuse(`bucket ${bucket} is not one this store serves (${[...allowed].join(', ')})`);
  }
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (key === '' && !isPrefix) throw refuse('it names a bucket, not an object (s3://bucket/key)');
  if (CONTROL.test(key)) throw refuse('a control character in the key');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw refuse(`a key longer than ${MAX_KEY_BYTES} bytes`);
  if (key !== '') {
    const segments = key.split('/');
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (segment === '' && !(isPrefix && last)) throw refuse('an empty path segment');
      if (segment === '.' || segment === '..') throw refuse('a "." or ".." segment');
    });
  }
  return { uri, bucket, key };
}
