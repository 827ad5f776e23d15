// Pagination of blob listings: lexicographic URI order, opaque tokens holding the last URI returned, checked
// against the listed prefix.
import { InvalidArgumentError, type ListBlobsOptions } from '@flyte-ts/core';

/** Page size of listings when none is asked for, and the largest one served. */
export const BLOB_PAGE_LIMIT = 1000;

/** One page of URIs out of all the matching ones, and the token of the next. */
export interface UriPage {
  /** The URIs of this page, in order. */
  readonly uris: readonly string[];
  /** Token of the next page; undefined on the last page. */
  readonly nextToken?: string | undefined;
}

/**
 * The page of `sorted` (matching URIs, in lexicographic order) that `options` asks for.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a bad limit or a token not issued for `prefix`.
 */
export function pageOfUris(sorted: readonly string[], prefix: string, options: ListBlobsOptions | undefined): UriPage {
  const limit = options?.limit ?? BLOB_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(`list limit must be a positive integer, got ${String(limit)}`, { id: prefix });
  }
  const size = Math.min(limit, BLOB_PAGE_LIMIT);
  let start = 0;
  if (options?.token !== undefined) {
    const after = decodeToken(options.token, prefix);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const uris = sorted.slice(start, start + size);
  const more = start + size < sorted.length;
  return { uris, nextToken: more ? encodeToken(uris[uris.length - 1]!) : undefined };
}

/** Sorts URIs by code unit, the order listings promise. */
export function sortUris(uris: string[]): string[] {
  return uris.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function encodeToken(lastUri: string): string {
  return Buffer.from(lastUri, 'utf8').toString('base64url');
}

function decodeToken(token: string, prefix: string): string {
  const uri = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!uri.startsWith(prefix) || uri === '') {
    throw new InvalidArgumentError(`list token is not one issued for prefix ${prefix}`, { id: token });
  }
  return uri;
}
