// flytekit's `_dnsify`: a name turned into a DNS-1123-ish label (lowercase, `-`, at most 62 characters),
// used for the ids of array sub-nodes.
import { createHash } from 'node:crypto';

const ALNUM = /^[A-Za-z0-9]$/;
const LOWER_OR_DIGIT = /^[a-z0-9]$/;

/** The DNS-safe form of `value`, as flytekit computes it. */
export function dnsify(value: string): string {
  const max = 63;
  let source = value;
  if (source.length >= max) {
    source = `${createHash('sha224').update(source).digest('hex').slice(0, 10)}-${source.slice(-(max - 11))}`;
  }
  let result = '';
  for (const ch of source) {
    if (ch === '_' || ch === '-' || ch === '.') {
      if (result !== '' && result.length < max - 1) result += '-';
    } else if (!ALNUM.test(ch)) {
      continue;
    } else if (LOWER_OR_DIGIT.test(ch)) {
      result += ch;
    } else {
      if (result !== '' && !result.endsWith('-') && result.length < max - 1) result += '-';
      result += ch.toLowerCase();
    }
  }
  return result.endsWith('-') ? result.slice(0, -1) : result;
}
