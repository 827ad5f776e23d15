// Bodies of blob writes: bytes or a stream of chunks, read with the abort signal checked between chunks so
// that an aborted write stops before anything is committed.
import { InvalidArgumentError, type BlobBody } from '@flyte-ts/core';
import { throwIfAborted } from './abort.js';

/** The chunks of a body, checking `signal` after every chunk and at the end. */
export async function* bodyChunks(body: BlobBody, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    throwIfAborted(signal);
    yield body;
    return;
  }
  for await (const chunk of body) {
    throwIfAborted(signal);
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidArgumentError(`a blob body stream must yield Uint8Array chunks, got ${typeof chunk}`);
    }
    yield chunk;
  }
  throwIfAborted(signal);
}

/** Below this size, copies go into Node's Buffer pool: no ArrayBuffer of their own for the GC to track. */
const POOLED = Buffer.poolSize >>> 1;

/** A copy of `bytes` as a plain Uint8Array (whose `slice` copies). */
export function copyOf(bytes: Uint8Array): Uint8Array {
  // A new plain Uint8Array: a Buffer's `slice` would be a view of the caller's memory, and its species a Buffer.
  if (bytes.byteLength >= POOLED) return new Uint8Array(bytes);
  const pooled = Buffer.from(bytes);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}

/** The whole body as one new array (never a view of the caller's buffers, which may be reused). */
export async function readBody(body: BlobBody, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (body instanceof Uint8Array) {
    throwIfAborted(signal);
    return copyOf(body);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of bodyChunks(body, signal)) {
    parts.push(new Uint8Array(chunk));
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
