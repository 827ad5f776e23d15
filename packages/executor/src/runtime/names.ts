// Deterministic names derived from (execution, node, attempt): external resources are created under them, so
// a repeated `handle` (or a new engine after a crash) finds rather than duplicates them.
import { hash } from 'node:crypto';
import type { idl } from '@flyte-ts/core';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

/** A short hash of text, in lowercase base32. */
export function shortHash(text: string, length = 12): string {
  return base32(hash('sha256', text, 'buffer'), length);
}

/**
 * The name of one task attempt: lowercase alphanumerics and `-`, at most 63 characters, unique per (execution,
 * node, attempt) and stable across engine restarts.
 */
export function attemptName(execution: idl.core.WorkflowExecutionIdentifier, nodeKey: string, attempt: number): string {
  const base = execution.name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  const hash = shortHash(`${execution.project}/${execution.domain}/${execution.name}/${nodeKey}`, 12);
  return `${base === '' ? 'x' : base}-${hash}-${attempt}`;
}

/** The name of the child execution a launch plan node starts (at most 20 characters, like Flyte's). */
export function childExecutionName(
  parent: idl.core.WorkflowExecutionIdentifier,
  nodeKey: string,
  attempt: number,
): string {
  return `f${shortHash(`${parent.project}/${parent.domain}/${parent.name}/${nodeKey}/${attempt}`, 19)}`;
}
