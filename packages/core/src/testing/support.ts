// Helpers shared by the contract suites: unique names (suites share one adapter instance, so tests isolate
// themselves by name), error assertions by stable code, and a fixed clock origin for caller-supplied times.
import { expect } from 'vitest';
import type { Page } from '../ports/list-query.js';

/** A fixed instant far from the wall clock: contract tests pass times explicitly, never `Date.now()`. */
export const BASE_MS = Date.UTC(2030, 0, 1);

let counter = 0;
const RUN = Math.random().toString(36).slice(2, 8);

/** A name no other test of this process (or of a previous run against the same database) uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${RUN}-${counter.toString(36)}`;
}

/** What a flyte-ts error looks like from the outside (matched by shape, not class, so two copies of core agree). */
export interface CodedError {
  readonly code: string;
  readonly id?: string | undefined;
  readonly message: string;
}

/** Awaits `promise`, expects it to reject with a flyte-ts error of `code`, and returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<CodedError> {
  let rejected = false;
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    rejected = true;
    error = caught;
  }
  expect(rejected, `expected a rejection with code ${code}, but the operation resolved`).toBe(true);
  expect(error, `expected an error object with code ${code}`).toBeTypeOf('object');
  expect((error as { code?: unknown }).code, String((error as Error)?.message)).toBe(code);
  return error as CodedError;
}

/** Awaits `promise` and expects it to reject with exactly `reason` (an aborted signal's reason). */
export async function expectAbortReason(promise: Promise<unknown>, reason: unknown): Promise<void> {
  let rejected = false;
  try {
    await promise;
  } catch (error) {
    rejected = true;
    expect(error).toBe(reason);
  }
  expect(rejected, 'expected the aborted operation to reject').toBe(true);
}

/** An AbortSignal that is already aborted, and its reason. */
export function abortedSignal(): { signal: AbortSignal; reason: Error } {
  const reason = new Error('aborted by the contract test');
  const controller = new AbortController();
  controller.abort(reason);
  return { signal: controller.signal, reason };
}

/**
 * Reads every page of a list (following `nextToken`), checking that no page exceeds `limit`. Fails after
 * `maxPages` to turn a token that never ends into a test failure instead of a hang.
 */
export async function collectPages<T>(
  fetch: (token: string | undefined) => Promise<Page<T>>,
  limit: number,
  maxPages = 1000,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await fetch(token);
    pages += 1;
    expect(page.items.length, 'a page holds at most `limit` items').toBeLessThanOrEqual(limit);
    items.push(...page.items);
    token = page.nextToken;
    if (pages > maxPages) throw new Error(`pagination did not end after ${maxPages} pages`);
  } while (token !== undefined);
  return { items, pages };
}

/** Every byte value once, so that an adapter that mangles text encodings or NULs fails. */
export function allByteValues(): Uint8Array {
  const bytes = new Uint8Array(512);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
  return bytes;
}

/** The bytes of a Uint8Array (or Buffer) as a plain array, so comparisons ignore the view's class. */
export function byteList(bytes: Uint8Array | undefined): number[] | undefined {
  return bytes === undefined ? undefined : Array.from(bytes);
}

/** True when two byte arrays hold the same bytes (fast enough for objects of megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
