// The stream side of uploads: a caller's AsyncIterable read chunk by chunk, counted, copied (callers may reuse
// their buffers while the upload still holds a part) and cut short by an abort even while the source is stuck.
import { InvalidArgumentError } from '@flyte-ts/core';

/** A body source as the uploader reads it, and what it saw. */
export class BodySource implements AsyncIterable<Uint8Array> {
  /** Bytes read so far. */
  bytes = 0;
  /** The error the caller's source threw, if it did (rethrown as it is, never mapped). */
  sourceError: unknown = undefined;
  /** True once the source threw. */
  failed = false;
  readonly #source: AsyncIterable<Uint8Array>;
  readonly #signal: AbortSignal | undefined;

  /**
   * @param source the caller's chunks
   * @param signal stops the reading: the next read rejects with its reason
   */
  constructor(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#signal = signal;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const signal = this.#signal;
    const iterator = this.#source[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        signal?.throwIfAborted();
        let result: IteratorResult<Uint8Array>;
        try {
          result = await untilAborted(iterator.next(), signal);
        } catch (error) {
          if (signal?.aborted === true) throw signal.reason;
          this.failed = true;
          this.sourceError = error;
          finished = true;
          throw error;
        }
        if (result.done === true) {
          finished = true;
          signal?.throwIfAborted();
          return;
        }
        const chunk = result.value;
        if (!(chunk instanceof Uint8Array)) {
          const error = new InvalidArgumentError(
            `a blob body stream must yield Uint8Array chunks, got ${typeof chunk}`,
          );
          this.failed = true;
          this.sourceError = error;
          throw error;
        }
        if (chunk.byteLength === 0) continue;
        this.bytes += chunk.byteLength;
        yield chunk.slice();
      }
    } finally {
      // Let the caller's source release what it holds (a file, a socket) when the upload stops early.
      if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
