// The main-thread side of the data access of worker-thread tasks. A BlobStore or a dataset codec cannot cross the
// thread boundary, so a worker's `TaskRunContext.data` is a proxy whose calls come here as messages, one
// DataServer per running job. Streams stay streams: the worker pulls the chunks (or row batches) of a read one at a
// time with a small read-ahead, and pushes those of a write, each push acknowledged only when the consumer here
// (the real `blob.put` or dataset writer) has taken it, so at most a few chunks are in flight either way. When the
// job ends, is aborted or its worker dies, `close` aborts the operations still running and ends every stream.
import type { BlobBody, DataAccess, DatasetColumn, DatasetRow } from '@flyte-ts/core';

/** An error as it crosses the thread boundary: a FlyteError's `name`, `message`, `code` and `id` survive. */
export interface SerializedError {
  /** Error name (`NotFoundError`, `TypeError`, ...). */
  readonly name: string;
  /** Error message. */
  readonly message: string;
  /** Stable code (FlyteError `code`, Node's `ENOENT`, ...), when a string. */
  readonly code?: string | undefined;
  /** Id of what was wrong (FlyteError `id`), when a string. */
  readonly id?: string | undefined;
  /** Stack trace, when known. */
  readonly stack?: string | undefined;
}

/** What the worker is told of the data access of its job (the serializable parts). */
export interface WorkerDataInfo {
  /** URI scheme of the blob store. */
  readonly scheme: string;
  /** Prefix under which returned files, content and rows are uploaded. */
  readonly rawOutputPrefix: string | undefined;
  /** Local directory downloads go to (same filesystem): the main thread is told when the task first uses it. */
  readonly workDir: string | undefined;
  /** Whether the store has `copy`. */
  readonly copy: boolean;
  /** Whether the store has `signedUrl`. */
  readonly signedUrl: boolean;
  /** Whether a dataset codec is at hand. */
  readonly datasets: boolean;
}

/** Messages of the data protocol, from a worker. `seq` names the job they belong to. */
export type DataRequest =
  /** Calls `op` with `args`; answered by a {@link DataReply} of the same `id`. */
  | { readonly type: 'rpc'; readonly seq: number; readonly id: number; readonly op: string; readonly args: unknown[] }
  /** The task gave up on request `id` (its abort signal fired). */
  | { readonly type: 'cancel'; readonly seq: number; readonly id: number }
  /** The task's pushed stream `stream` ended (with the error its source threw, if any). */
  | { readonly type: 'end'; readonly seq: number; readonly stream: number; readonly error?: SerializedError }
  /** The task uses its work directory (so that the attempt removes it at the end). */
  | { readonly type: 'note'; readonly seq: number; readonly what: 'workDir' };

/** The answer to a `rpc` request. */
export type DataReply =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/** How a DataServer answers its worker: `postMessage` with a transfer list. */
export type PostReply = (reply: DataReply, transfer: ArrayBuffer[]) => void;

/** A reference to a stream the worker pushes, in place of a body or rows. */
interface StreamRef {
  readonly stream: number;
}

/** Rows per message of a dataset read or write. */
export const ROW_BATCH = 256;

/** Pulls a worker keeps ahead of its reads, and pushes it may leave unacknowledged, per stream. */
export const STREAM_WINDOW = 2;

/** Whether a message from a worker belongs to the data protocol. */
export function isDataRequest(message: unknown): message is DataRequest {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'rpc' || type === 'cancel' || type === 'end' || type === 'note';
}

/** An error in the shape that crosses threads. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, id } = error as { code?: unknown; id?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof id === 'string' ? { id } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

/** An Error with the name, message, code, id and stack of a serialized one. */
export function reviveError(serialized: SerializedError): Error {
  const error = new Error(serialized.message) as Error & { code?: string; id?: string };
  error.name = serialized.name;
  if (serialized.code !== undefined) error.code = serialized.code;
  if (serialized.id !== undefined) error.id = serialized.id;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}

/** Answers a data request of a job that is no longer running: requests fail, other messages are dropped. */
export function refuseStale(request: DataRequest, post: PostReply): void {
  if (request.type !== 'rpc') return;
  post({ type: 'reply', id: request.id, ok: false, error: ended() }, []);
}

function ended(): SerializedError {
  return { name: 'Error', message: 'the task attempt has ended: its data access is closed' };
}

/** The bytes of `chunk` in a fresh buffer that may be transferred (the original may be owned by someone else). */
function transferable(chunk: Uint8Array): { copy: Uint8Array; buffer: ArrayBuffer } {
  const buffer = new ArrayBuffer(chunk.byteLength);
  const copy = new Uint8Array(buffer);
  copy.set(chunk);
  return { copy, buffer };
}

function isStreamRef(value: unknown): value is StreamRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    typeof (value as Partial<StreamRef>).stream === 'number'
  );
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  return value;
}

function columnsOf(value: unknown): readonly DatasetColumn[] | undefined {
  return value === undefined ? undefined : (value as readonly DatasetColumn[]);
}

/** A stream read here and pulled by the worker. */
interface Outbound {
  readonly iterator: AsyncIterator<unknown>;
  readonly rows: boolean;
  readonly controller: AbortController;
  tail: Promise<unknown>;
  finished: boolean;
}

interface Queued {
  readonly value: unknown;
  readonly ack: () => void;
  readonly nack: (error: unknown) => void;
}

/**
 * A stream the worker pushes and a consumer here reads: a push is acknowledged when the consumer takes it, so the
 * worker (which keeps only a few pushes unacknowledged) cannot run ahead of the consumer.
 */
class Inbound implements AsyncIterator<unknown> {
  private readonly queue: Queued[] = [];
  private waiter: { resolve: (step: IteratorResult<unknown>) => void; reject: (error: unknown) => void } | undefined;
  private ended = false;
  private closed = false;
  private failure: { readonly error: unknown } | undefined;

  /** A chunk (or row batch) from the worker; `ack` when taken, `nack` when it never will be. */
  push(value: unknown, ack: () => void, nack: (error: unknown) => void): void {
    if (this.closed || this.ended) {
      nack(new Error('the stream is no longer read'));
      return;
    }
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      ack();
      waiter.resolve({ done: false, value });
    } else {
      this.queue.push({ value, ack, nack });
    }
  }

  /** The worker's source ended, or failed with `error`. */
  end(error?: unknown): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
  }

  /** Ends the stream from this side: the session ended (`reason`) or the consumer stopped reading. */
  close(reason?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (reason !== undefined && this.failure === undefined) this.failure = { error: reason };
    for (const item of this.queue.splice(0)) item.nack(reason ?? new Error('the stream is no longer read'));
    this.wake();
  }

  async next(): Promise<IteratorResult<unknown>> {
    const item = this.queue.shift();
    if (item !== undefined) {
      item.ack();
      return { done: false, value: item.value };
    }
    if (this.failure !== undefined) throw this.failure.error;
    if (this.ended || this.closed) return { done: true, value: undefined };
    if (this.waiter !== undefined) throw new Error('a pushed stream is read by one consumer at a time');
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.close();
    return { done: true, value: undefined };
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined || this.queue.length > 0) return;
    this.waiter = undefined;
    if (this.failure !== undefined) waiter.reject(this.failure.error);
    else waiter.resolve({ done: true, value: undefined });
  }
}

interface Result {
  readonly value: unknown;
  readonly transfer?: ArrayBuffer[];
}

/** Serves the data requests of one worker job with the real data access, until {@link DataServer.close}. */
export class DataServer {
  private readonly access: DataAccess;
  private readonly post: PostReply;
  private readonly requests = new Map<number, AbortController>();
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Map<number, Inbound>();
  private closed = false;

  /**
   * @param access the job's data access (blob store, dataset codec, work directory)
   * @param post sends a reply to the job's worker
   */
  constructor(access: DataAccess, post: PostReply) {
    this.access = access;
    this.post = post;
  }

  /** What the worker is told of the access. */
  static describe(access: DataAccess, workDir: string | undefined, rawOutputPrefix: string): WorkerDataInfo {
    return {
      scheme: access.blob.scheme,
      rawOutputPrefix: access.rawOutputPrefix ?? rawOutputPrefix,
      workDir,
      copy: typeof access.blob.copy === 'function',
      signedUrl: typeof access.blob.signedUrl === 'function',
      datasets: access.datasets !== undefined,
    };
  }

  /** Handles a message of the job's worker. */
  receive(message: DataRequest): void {
    if (this.closed) {
      refuseStale(message, this.post);
      return;
    }
    switch (message.type) {
      case 'rpc':
        if (message.op === 'push') this.push(message.id, message.args);
        else void this.serve(message.id, message.op, message.args);
        return;
      case 'cancel':
        this.requests.get(message.id)?.abort(new Error('the task cancelled the operation'));
        // A stream opened by that request (the reply may have crossed the cancel) is closed too.
        this.closeOutbound(message.id);
        return;
      case 'end':
        this.inbound.get(message.stream)?.end(message.error === undefined ? undefined : reviveError(message.error));
        return;
      case 'note':
        // Reading the work directory is what notes it (the function plugin removes it when the attempt ends).
        void this.access.workDir;
        return;
    }
  }

  /**
   * Ends the job's data access: running operations are aborted with `reason`, streams read here are closed and
   * streams pushed by the worker fail their consumers; nothing is sent to the worker any more.
   */
  close(reason: unknown): void {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.requests.values()) controller.abort(reason);
    this.requests.clear();
    for (const stream of this.outbound.values()) this.finish(stream, reason);
    this.outbound.clear();
    for (const stream of this.inbound.values()) stream.close(reason);
    this.inbound.clear();
  }

  private reply(reply: DataReply, transfer: ArrayBuffer[] = []): void {
    if (this.closed) return;
    try {
      this.post(reply, transfer);
    } catch (error) {
      // A value that cannot be cloned: the request fails instead.
      this.post({ type: 'reply', id: reply.id, ok: false, error: serializeError(error) }, []);
    }
  }

  private async serve(id: number, op: string, args: unknown[]): Promise<void> {
    const controller = new AbortController();
    this.requests.set(id, controller);
    try {
      // `call` runs synchronously up to its first await: a pushed stream is registered before its first push.
      const result = await this.call(id, op, args, controller);
      this.reply({ type: 'reply', id, ok: true, value: result.value }, result.transfer);
    } catch (error) {
      this.reply({ type: 'reply', id, ok: false, error: serializeError(error) });
    } finally {
      this.requests.delete(id);
    }
  }

  private async call(id: number, op: string, args: unknown[], controller: AbortController): Promise<Result> {
    const { blob, datasets } = this.access;
    const signal = controller.signal;
    switch (op) {
      case 'blob.get': {
        const { copy, buffer } = transferable(await blob.get(text(args[0], 'uri'), { signal }));
        return { value: copy, transfer: [buffer] };
      }
      case 'blob.getStream': {
        const source = await blob.getStream(text(args[0], 'uri'), { signal });
        return { value: this.open(id, source, false, controller) };
      }
      case 'blob.put': {
        const options = (args[2] ?? {}) as { contentType?: string };
        return {
          value: await this.pushed(args[1], (body) =>
            blob.put(text(args[0], 'uri'), body as BlobBody, {
              signal,
              ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
            }),
          ),
        };
      }
      case 'blob.head':
        return { value: await blob.head(text(args[0], 'uri'), { signal }) };
      case 'blob.list': {
        const options = (args[1] ?? {}) as { token?: string; limit?: number };
        return { value: await blob.list(text(args[0], 'prefix'), { ...options, signal }) };
      }
      case 'blob.delete':
        return { value: await blob.delete(args[0] as string | readonly string[], { signal }) };
      case 'blob.copy':
        if (blob.copy === undefined) throw new TypeError('the blob store cannot copy');
        return { value: await blob.copy(text(args[0], 'from'), text(args[1], 'to'), { signal }) };
      case 'blob.signedUrl': {
        if (blob.signedUrl === undefined) throw new TypeError('the blob store has no signed URLs');
        const options = args[1] as { method: 'GET' | 'PUT'; expiresInSeconds: number };
        return { value: await blob.signedUrl(text(args[0], 'uri'), { ...options, signal }) };
      }
      case 'datasets.read':
      case 'datasets.readRows':
      case 'datasets.write': {
        if (datasets === undefined) throw new TypeError('no dataset codec');
        const [uri, format, columns] = [text(args[0], 'uri'), text(args[1], 'format'), columnsOf(args[2])];
        if (op === 'datasets.read') return { value: await datasets.read(blob, uri, format, columns, { signal }) };
        if (op === 'datasets.readRows') {
          return { value: this.open(id, datasets.readRows(blob, uri, format, columns, { signal }), true, controller) };
        }
        return {
          value: await this.pushed(args[3], (rows, streamed) =>
            datasets.write(
              blob,
              uri,
              format,
              columns,
              streamed ? flatten(rows as AsyncIterable<unknown>) : (rows as Iterable<DatasetRow>),
              { signal },
            ),
          ),
        };
      }
      case 'pull':
        return this.pull(args[0] as number);
      case 'close':
        this.closeOutbound(args[0] as number);
        return { value: undefined };
      default:
        throw new TypeError(`unknown data operation ${op}`);
    }
  }

  /** Registers a stream read here under the id of the request that opened it, and returns that id. */
  private open(id: number, source: AsyncIterable<unknown>, rows: boolean, controller: AbortController): number {
    // The stream outlives its request: its controller is aborted with the stream, not when the request ends.
    this.requests.delete(id);
    this.outbound.set(id, {
      iterator: source[Symbol.asyncIterator](),
      rows,
      controller,
      tail: Promise.resolve(),
      finished: false,
    });
    return id;
  }

  /** The next chunk (or batch of rows) of a stream read here; pulls of one stream are served in order. */
  private pull(id: number): Promise<Result> {
    const stream = this.outbound.get(id);
    if (stream === undefined) return Promise.resolve({ value: { done: true } });
    const step = stream.tail.then(() => this.step(id, stream));
    stream.tail = step.catch(() => undefined);
    return step;
  }

  private async step(id: number, stream: Outbound): Promise<Result> {
    if (stream.finished) return { value: { done: true } };
    try {
      if (!stream.rows) {
        const next = await stream.iterator.next();
        if (next.done === true) {
          this.outbound.delete(id);
          stream.finished = true;
          return { value: { done: true } };
        }
        if (!(next.value instanceof Uint8Array)) return { value: { done: false, value: next.value } };
        const { copy, buffer } = transferable(next.value);
        return { value: { done: false, value: copy }, transfer: [buffer] };
      }
      const batch: unknown[] = [];
      while (batch.length < ROW_BATCH) {
        const next = await stream.iterator.next();
        if (next.done === true) {
          this.outbound.delete(id);
          stream.finished = true;
          break;
        }
        batch.push(next.value);
      }
      return { value: batch.length === 0 ? { done: true } : { done: false, value: batch } };
    } catch (error) {
      this.outbound.delete(id);
      stream.finished = true;
      throw error;
    }
  }

  /** The worker stopped reading a stream. */
  private closeOutbound(id: number): void {
    const stream = this.outbound.get(id);
    if (stream === undefined) return;
    this.outbound.delete(id);
    this.finish(stream, undefined);
  }

  private finish(stream: Outbound, reason: unknown): void {
    if (!stream.finished) {
      stream.finished = true;
      try {
        const returned = stream.iterator.return?.();
        if (returned !== undefined) returned.catch(() => undefined);
      } catch {
        // The stream is abandoned either way.
      }
    }
    if (reason !== undefined) stream.controller.abort(reason);
  }

  /** Runs `consume` on what the worker sent: the value itself, or the stream it pushes (`streamed`). */
  private async pushed<T>(body: unknown, consume: (body: unknown, streamed: boolean) => Promise<T>): Promise<T> {
    if (!isStreamRef(body)) return consume(body, false);
    const id = body.stream;
    const stream = new Inbound();
    this.inbound.set(id, stream);
    try {
      return await consume({ [Symbol.asyncIterator]: () => stream }, true);
    } finally {
      stream.close();
      this.inbound.delete(id);
    }
  }

  private push(id: number, args: unknown[]): void {
    const stream = this.inbound.get(args[0] as number);
    const ack = () => this.reply({ type: 'reply', id, ok: true, value: undefined });
    const nack = (error: unknown) => this.reply({ type: 'reply', id, ok: false, error: serializeError(error) });
    if (stream === undefined) nack(new Error('the stream is no longer read'));
    else stream.push(args[1], ack, nack);
  }
}

/** The rows of a stream of row batches. */
async function* flatten(batches: AsyncIterable<unknown>): AsyncGenerator<DatasetRow> {
  for await (const batch of batches) yield* batch as DatasetRow[];
}
