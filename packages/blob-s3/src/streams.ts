// Response bodies of GetObject: Node streams (or web streams, from a client with a fetch handler), read whole or
// chunk by chunk, with the operation's signal cutting them short.
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';

/** The body of a GetObject response as a Node stream. */
export function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    return Readable.fromWeb(body as NodeWebStream<Uint8Array>);
  }
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    return Readable.fromWeb(body.stream() as NodeWebStream<Uint8Array>);
  }
  throw new TypeError(`S3 returned a response body of an unexpected kind (${typeof body})`);
}

/**
 * The chunks of `stream`; an abort of `signal` destroys it (the iteration rejects with the reason), and so does
 * leaving the loop early, which releases the connection.
 */
export async function* chunksOf(stream: Readable, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const onAbort = () => stream.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    for await (const chunk of stream) {
      signal?.throwIfAborted();
      yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    }
    signal?.throwIfAborted();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!stream.destroyed) stream.destroy();
  }
}

/** All the bytes of `stream`, in one array. */
export async function readAll(stream: Readable, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(stream, signal)) {
    parts.push(chunk);
    size += chunk.byteLength;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
