// Page tokens of listings: S3's continuation token, bound to the prefix that issued it so that a token is never
// replayed against another listing.
import { InvalidArgumentError } from '@flyte-ts/core';

/** The port's token for S3's continuation token of a listing of `prefix`. */
export function encodeListToken(prefix: string, continuation: string): string {
  return Buffer.from(JSON.stringify([prefix, continuation]), 'utf8').toString('base64url');
}

/**
 * S3's continuation token inside a port token.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` for a token that was not issued for `prefix`.
 */
export function decodeListToken(token: string, prefix: string): string {
  let decoded: unknown;
  try {
    decoded = /^[A-Za-z0-9_-]+$/.test(token) ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    decoded[0] !== prefix ||
    typeof decoded[1] !== 'string' ||
    decoded[1] === ''
  ) {
    throw new InvalidArgumentError(`list token is not one issued for prefix ${prefix}`, { id: token });
  }
  return decoded[1];
}
