// URIs: what an s3:// URI names, and the spellings refused because they would alias another object or escape.
import { describe, expect, it } from 'vitest';
import { parseObjectUri, parsePrefixUri } from '../src/s3-uri.js';

function refusal(parse: () => unknown): string | undefined {
  try {
    parse();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('s3:// URIs', () => {
  it('names a bucket and a key taken as written (no percent-decoding, so %2e%2e is a plain key)', () => {
    expect(parseObjectUri('s3://bucket/a/b.txt', undefined)).toEqual({
      uri: 's3://bucket/a/b.txt',
      bucket: 'bucket',
      key: 'a/b.txt',
    });
    expect(parseObjectUri('s3://bucket/%2e%2e/x y+é?#', undefined).key).toBe('%2e%2e/x y+é?#');
    expect(parseObjectUri('s3://Legacy_Bucket.Name/k', undefined).bucket).toBe('Legacy_Bucket.Name');
  });

  it('refuses object URIs that are not one object of a valid bucket', () => {
    const refused = [
      'file:///tmp/x',
      'S3://bucket/key',
      's3:/bucket/key',
      's3://bucket',
      's3://bucket/',
      's3://bucket/dir/',
      's3://bucket//key',
      's3://bucket/a//b',
      's3://bucket/./a',
      's3://bucket/a/..',
      's3://bucket/a/../b',
      's3://bucket/a\u0000b',
      's3://bucket/a\nb',
      `s3://bucket/${'k'.repeat(1025)}`,
      's3://ab/key',
      's3://-bucket/key',
      's3://bucket-/key',
      's3://buck..et/key',
      's3://bu/cket',
      's3://b@cket/key',
    ];
    for (const uri of refused)
      expect(
        refusal(() => parseObjectUri(uri, undefined)),
        uri,
      ).toBe('INVALID_ARGUMENT');
  });

  it('accepts listing prefixes that end anywhere, but not ones with empty or dot segments before the end', () => {
    expect(parsePrefixUri('s3://bucket', undefined).key).toBe('');
    expect(parsePrefixUri('s3://bucket/', undefined).key).toBe('');
    expect(parsePrefixUri('s3://bucket/dir/', undefined).key).toBe('dir/');
    expect(parsePrefixUri('s3://bucket/dir/fi', undefined).key).toBe('dir/fi');
    for (const uri of ['s3://bucket//', 's3://bucket/a//', 's3://bucket/../', 's3://bucket/a/..', 'other://bucket/']) {
      expect(
        refusal(() => parsePrefixUri(uri, undefined)),
        uri,
      ).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses buckets outside the allow-list, naming the ones served', () => {
    const allowed = new Set(['data', 'metadata']);
    expect(parseObjectUri('s3://data/x', allowed).bucket).toBe('data');
    expect(() => parseObjectUri('s3://database/x', allowed)).toThrow('bucket database is not one this store serves');
    expect(refusal(() => parsePrefixUri('s3://dat', allowed))).toBe('INVALID_ARGUMENT');
  });
});
