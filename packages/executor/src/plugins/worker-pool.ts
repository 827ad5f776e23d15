// Worker threads for CPU-bound function tasks. Each worker runs one task function at a time; it loads the task
// from the module that exports it (TaskConfig.module) and exchanges LiteralMaps with this thread by structured
// clone (protobuf-es messages are plain objects). Aborting a job terminates its worker: a CPU-bound function
// cannot be interrupted any other way. Idle workers exit after a while and never keep the process alive.
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DataAccess, idl } from '@flyte-ts/core';
import {
  DataServer,
  isDataRequest,
  refuseStale,
  reviveError,
  ROW_BATCH,
  STREAM_WINDOW,
  type DataRequest,
  type SerializedError,
  type WorkerDataInfo,
} from './worker-data.js';

/** Options of the worker threads that run `worker: true` tasks. */
export interface WorkerPoolOptions {
  /** Largest number of worker threads (default: available cores − 1, at least 1). */
  readonly maxThreads?: number;
  /** Node options of the workers (default: this process's `execArgv`, Node's own default). */
  readonly execArgv?: readonly string[];
  /**
   * Modules each worker imports before any task module, e.g. one that registers a loader hook
   * (`tsx/esm/api`'s `register()`) when task modules are TypeScript.
   */
  readonly preload?: readonly string[];
  /** How long an idle worker lives before it exits, in milliseconds (default 30,000). */
  readonly idleTimeoutMs?: number;
}

/** What a job runs: the task `name` exported by `module`, on `inputs`. */
export interface WorkerJob {
  /** Module that exports the task: a file URL, an absolute or cwd-relative path, or a package specifier. */
  readonly module: string;
  /** The task's Flyte name. */
  readonly name: string;
  /** Input LiteralMap. */
  readonly inputs: idl.core.LiteralMap;
  /** Attempt number. */
  readonly attempt: number;
  /** The execution the task runs in. */
  readonly execution: idl.core.WorkflowExecutionIdentifier;
  /** Prefix for the task's raw data. */
  readonly rawOutputPrefix: string;
  /**
   * Directory the task's downloads go to, when it runs with data access (the worker uses the path directly: same
   * filesystem). The data access's `workDir` is read on this thread when the task first uses it.
   */
  readonly workDir?: string | undefined;
}

/** The task could not be loaded in a worker (module failed to import, or does not export the task). */
export class WorkerLoadError extends Error {
  /** @inheritDoc */
  override readonly name = 'WorkerLoadError';
}

/** A worker thread died while running a task (uncaught error, `process.exit`, out of memory). */
export class WorkerCrashError extends Error {
  /** @inheritDoc */
  override readonly name = 'WorkerCrashError';
}

type Reply =
  | { readonly type: 'done'; readonly outputs: idl.core.LiteralMap }
  | ({ readonly type: 'failed' } & SerializedError)
  | { readonly type: 'load-failed'; readonly message: string };

/** What a worker is sent: the job, its number, and the serializable parts of its data access. */
interface JobMessage {
  readonly type: 'job';
  readonly seq: number;
  readonly job: WorkerJob;
  readonly data: WorkerDataInfo | undefined;
}

interface Pending {
  readonly job: WorkerJob;
  readonly signal: AbortSignal;
  readonly data: DataAccess | undefined;
  readonly resolve: (outputs: idl.core.LiteralMap) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  current: Pending | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  /** Number of the current job (data requests carry it). */
  seq: number;
  /** Serves the current job's data requests. */
  session: DataServer | undefined;
}

// Runs in each worker (CommonJS, evaluated): loads task modules once, runs one job at a time. A job that comes with
// data access gets a `TaskRunContext.data` whose blob store and dataset codec are proxies: each call is a request
// `{ type: 'rpc', seq, id, op, args }` answered by `{ type: 'reply', id, ok, value | error }` (see worker-data.ts).
// Reads are pulled chunk by chunk (row batch by row batch) with WINDOW pulls ahead; writes are pushed with at most
// WINDOW pushes unacknowledged. Byte chunks are copied into fresh buffers, which are transferred.
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ready = (async () => { for (const m of workerData.preload) await import(m); })();
const modules = new Map();
async function load(specifier, name) {
  let loading = modules.get(specifier);
  if (loading === undefined) { loading = import(specifier); modules.set(specifier, loading); }
  const ns = await loading;
  const candidates = Object.values(ns);
  if (ns.default !== null && typeof ns.default === 'object') candidates.push(...Object.values(ns.default));
  return candidates.find((v) => v != null && (typeof v === 'function' || typeof v === 'object') &&
    v.kind === 'task' && v.name === name && typeof v.execute === 'function');
}

const WINDOW = ${STREAM_WINDOW};
const ROW_BATCH = ${ROW_BATCH};
const pending = new Map();
let lastId = 0;
const noop = () => undefined;

function serialize(e) {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out = { name: e.name, message: e.message, stack: e.stack };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.id === 'string') out.id = e.id;
  return out;
}
function revive(s) {
  const error = new Error(s.message);
  error.name = s.name;
  if (s.code !== undefined) error.code = s.code;
  if (s.id !== undefined) error.id = s.id;
  return error;
}
// A chunk to send: Uint8Arrays are copied into a buffer of their own, which is transferred (the task keeps its own).
function outgoing(chunk) {
  if (!(chunk instanceof Uint8Array)) return { value: chunk, transfer: [] };
  const copy = new Uint8Array(chunk.byteLength);
  copy.set(chunk);
  return { value: copy, transfer: [copy.buffer] };
}

class Job {
  constructor(seq) {
    this.seq = seq;
    this.controller = new AbortController();
    this.ended = false;
    this.requests = new Set();
  }
  // Sends a request and resolves to its reply; the signal abandons it (the main thread is told).
  call(op, args, signal, transfer) {
    return new Promise((resolve, reject) => {
      if (this.ended) { reject(new Error('the task attempt has ended: its data access is closed')); return; }
      if (signal != null && signal.aborted) { reject(signal.reason); return; }
      const id = ++lastId;
      const onAbort = () => {
        if (!this.settle(id)) return;
        parentPort.postMessage({ type: 'cancel', seq: this.seq, id });
        reject(signal.reason);
      };
      pending.set(id, { job: this, signal, onAbort, resolve, reject });
      this.requests.add(id);
      if (signal != null) signal.addEventListener('abort', onAbort, { once: true });
      try {
        parentPort.postMessage({ type: 'rpc', seq: this.seq, id, op, args }, transfer || []);
      } catch (e) {
        this.settle(id);
        reject(e);
      }
    });
  }
  // Forgets a request; whether it was still waiting.
  settle(id) {
    const entry = pending.get(id);
    if (entry === undefined) return undefined;
    pending.delete(id);
    this.requests.delete(id);
    if (entry.signal != null) entry.signal.removeEventListener('abort', entry.onAbort);
    return entry;
  }
  post(message) {
    if (!this.ended) parentPort.postMessage(message);
  }
  // The task returned or threw: requests still waiting fail, and later ones are refused.
  end() {
    this.ended = true;
    const error = new Error('the task attempt has ended: its data access is closed');
    for (const id of [...this.requests]) { const entry = this.settle(id); if (entry) entry.reject(error); }
    this.controller.abort(error);
  }
}

// A stream the main thread reads and this thread pulls, WINDOW pulls ahead.
function pulled(job, sid, signal) {
  const ahead = [];
  let finished = false;
  const close = () => {
    if (finished) return;
    finished = true;
    ahead.length = 0;
    job.call('close', [sid]).catch(noop);
  };
  const iterator = {
    [Symbol.asyncIterator]() { return iterator; },
    async next() {
      if (finished) return { done: true, value: undefined };
      while (ahead.length < WINDOW) {
        const step = job.call('pull', [sid], signal);
        step.catch(noop);
        ahead.push(step);
      }
      let step;
      try {
        step = await ahead.shift();
      } catch (e) {
        close();
        throw e;
      }
      if (step.done) { finished = true; ahead.length = 0; return { done: true, value: undefined }; }
      return { done: false, value: step.value };
    },
    async return() { close(); return { done: true, value: undefined }; },
  };
  return iterator;
}

async function* byteChunks(body) {
  for await (const chunk of body) yield outgoing(chunk);
}
async function* rowBatches(rows) {
  let batch = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= ROW_BATCH) { yield { value: batch, transfer: [] }; batch = []; }
  }
  if (batch.length > 0) yield { value: batch, transfer: [] };
}

// Pushes the items of a source to the main thread, at most WINDOW unacknowledged, then ends the stream (with the
// source's error when it throws). Stops as soon as the request consuming it has settled or the main thread stops.
async function pump(job, sid, items, state) {
  const inflight = [];
  try {
    for await (const item of items) {
      if (state.settled) return;
      const push = job.call('push', [sid, item.value], undefined, item.transfer);
      push.catch(noop);
      inflight.push(push);
      if (inflight.length >= WINDOW) {
        try {
          await inflight.shift();
        } catch (e) {
          // Not read any more (the main side answers the request), or not sendable (the main side must learn it).
          job.post({ type: 'end', seq: job.seq, stream: sid, error: serialize(e) });
          return;
        }
      }
    }
  } catch (e) {
    state.sourceError = e;
    job.post({ type: 'end', seq: job.seq, stream: sid, error: serialize(e) });
    return;
  }
  // Every push must have gone through: a chunk that could not be sent must not end the stream as if complete.
  for (const push of inflight) {
    try {
      await push;
    } catch (e) {
      job.post({ type: 'end', seq: job.seq, stream: sid, error: serialize(e) });
      return;
    }
  }
  job.post({ type: 'end', seq: job.seq, stream: sid });
}

// A request whose body (bytes or rows) is pushed as a stream: args holds { stream } where the body goes.
async function streamed(job, op, args, at, items, signal) {
  const sid = ++lastId;
  const state = { settled: false, sourceError: undefined };
  const all = args.slice();
  all[at] = { stream: sid };
  const result = job.call(op, all, signal);
  pump(job, sid, items, state).catch(noop);
  try {
    return await result;
  } catch (e) {
    throw state.sourceError !== undefined ? state.sourceError : e;
  } finally {
    state.settled = true;
  }
}

function signalOf(options) {
  return options == null ? undefined : options.signal;
}

function dataAccess(job, info) {
  const blob = {
    scheme: info.scheme,
    get: async (uri, options) => job.call('blob.get', [uri], signalOf(options)),
    getStream: async (uri, options) => {
      const signal = signalOf(options);
      return pulled(job, await job.call('blob.getStream', [uri], signal), signal);
    },
    put: async (uri, body, options) => {
      const signal = signalOf(options);
      const rest = options != null && options.contentType !== undefined ? { contentType: options.contentType } : {};
      if (body instanceof Uint8Array) {
        const { value, transfer } = outgoing(body);
        return job.call('blob.put', [uri, value, rest], signal, transfer);
      }
      if (body == null || typeof body[Symbol.asyncIterator] !== 'function') {
        return job.call('blob.put', [uri, body, rest], signal);
      }
      return streamed(job, 'blob.put', [uri, undefined, rest], 1, byteChunks(body), signal);
    },
    head: async (uri, options) => job.call('blob.head', [uri], signalOf(options)),
    list: async (prefix, options) => {
      const rest = {};
      if (options != null && options.token !== undefined) rest.token = options.token;
      if (options != null && options.limit !== undefined) rest.limit = options.limit;
      return job.call('blob.list', [prefix, rest], signalOf(options));
    },
    delete: async (uris, options) => job.call('blob.delete', [uris], signalOf(options)),
  };
  if (info.copy) blob.copy = async (from, to, options) => job.call('blob.copy', [from, to], signalOf(options));
  if (info.signedUrl) {
    blob.signedUrl = async (uri, options) =>
      job.call('blob.signedUrl', [uri, { method: options.method, expiresInSeconds: options.expiresInSeconds }],
        options.signal);
  }
  let noted = false;
  const access = {
    blob,
    rawOutputPrefix: info.rawOutputPrefix,
    signal: job.controller.signal,
    get workDir() {
      if (!noted && info.workDir !== undefined) { noted = true; job.post({ type: 'note', seq: job.seq, what: 'workDir' }); }
      return info.workDir;
    },
  };
  if (info.datasets) {
    // The blob argument is this access's store: the main thread's real one is used.
    access.datasets = {
      write: async (_blob, uri, format, columns, rows, options) =>
        streamed(job, 'datasets.write', [uri, format, columns, undefined], 3, rowBatches(rows), signalOf(options)),
      read: async (_blob, uri, format, columns, options) =>
        job.call('datasets.read', [uri, format, columns], signalOf(options)),
      readRows: (_blob, uri, format, columns, options) => ({
        [Symbol.asyncIterator]: async function* () {
          const signal = signalOf(options);
          const batches = pulled(job, await job.call('datasets.readRows', [uri, format, columns], signal), signal);
          try {
            for (;;) {
              const step = await batches.next();
              if (step.done) return;
              yield* step.value;
            }
          } finally {
            await batches.return();
          }
        },
      }),
    };
  }
  return access;
}

async function run(message) {
  const spec = message.job;
  let task;
  try {
    await ready;
    task = await load(spec.module, spec.name);
  } catch (e) {
    parentPort.postMessage({ type: 'load-failed', message: String((e && e.message) || e) });
    return;
  }
  if (task === undefined) {
    parentPort.postMessage({ type: 'load-failed', message: 'module ' + spec.module + ' does not export task ' + spec.name });
    return;
  }
  const job = new Job(message.seq);
  try {
    const context = {
      signal: job.controller.signal,
      attempt: spec.attempt,
      execution: spec.execution,
      rawOutputPrefix: spec.rawOutputPrefix,
    };
    if (message.data !== undefined) context.data = dataAccess(job, message.data);
    const outputs = await task.execute(spec.inputs, context);
    job.end();
    parentPort.postMessage({ type: 'done', outputs });
  } catch (e) {
    job.end();
    parentPort.postMessage(Object.assign({ type: 'failed' }, serialize(e)));
  }
}

parentPort.on('message', (message) => {
  if (message.type === 'reply') {
    const entry = pending.get(message.id);
    if (entry === undefined) return;
    entry.job.settle(message.id);
    if (message.ok) entry.resolve(message.value);
    else entry.reject(revive(message.error));
    return;
  }
  if (message.type === 'job') void run(message);
});
`;

/** A pool of worker threads running task functions, one job per worker at a time. */
export class WorkerPool {
  private readonly maxThreads: number;
  private readonly execArgv: readonly string[] | undefined;
  private readonly preload: readonly string[];
  private readonly idleTimeoutMs: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private seq = 0;

  /** @param options thread count, Node options, preloaded modules, idle timeout */
  constructor(options: WorkerPoolOptions = {}) {
    const max = options.maxThreads ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxThreads must be a positive integer, not ${max}`);
    this.maxThreads = max;
    this.execArgv = options.execArgv;
    this.preload = (options.preload ?? []).map(moduleUrl);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  /** Worker threads alive now. */
  get threads(): number {
    return this.slots.size;
  }

  /**
   * Runs a job on a free worker (queued while all are busy). Rejects with the task's error (name, message, code
   * and id preserved), {@link WorkerLoadError}, {@link WorkerCrashError}, or the signal's reason when aborted.
   * With `data`, the task gets a `TaskRunContext.data` whose blob store and dataset codec calls are served here,
   * on this thread, with `data` (streams stay streams); they are cut off when the job ends.
   */
  run(job: WorkerJob, signal: AbortSignal, data?: DataAccess): Promise<idl.core.LiteralMap> {
    return new Promise((resolvePromise, rejectPromise) => {
      if (signal.aborted) {
        rejectPromise(signal.reason);
        return;
      }
      const pending: Pending = {
        job: { ...job, module: moduleUrl(job.module) },
        signal,
        data,
        resolve: resolvePromise,
        reject: rejectPromise,
      };
      this.queue.push(pending);
      signal.addEventListener(
        'abort',
        () => {
          const at = this.queue.indexOf(pending);
          if (at >= 0) {
            this.queue.splice(at, 1);
            rejectPromise(signal.reason);
          }
        },
        { once: true },
      );
      this.dispatch();
    });
  }

  /** Terminates every worker; running jobs reject with {@link WorkerCrashError}, queued ones too. */
  async close(): Promise<void> {
    for (const pending of this.queue.splice(0)) pending.reject(new WorkerCrashError('the worker pool was closed'));
    await Promise.all(
      [...this.slots].map((slot) => this.retire(slot, new WorkerCrashError('the worker pool was closed'))),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => s.current === undefined);
      if (slot === undefined) {
        if (this.slots.size >= this.maxThreads) return;
        slot = this.spawn();
      }
      this.assign(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { preload: this.preload },
      ...(this.execArgv === undefined ? {} : { execArgv: [...this.execArgv] }),
    });
    const slot: Slot = {
      worker,
      current: undefined,
      idleTimer: undefined,
      onAbort: undefined,
      seq: 0,
      session: undefined,
    };
    this.slots.add(slot);
    worker.on('message', (message: Reply | DataRequest) => {
      if (!isDataRequest(message)) this.settle(slot, message);
      else if (slot.session !== undefined && message.seq === slot.seq) slot.session.receive(message);
      else refuseStale(message, (reply, transfer) => worker.postMessage(reply, transfer));
    });
    worker.on('error', (error) => void this.retire(slot, new WorkerCrashError(`the worker failed: ${error.message}`)));
    worker.on('exit', (code) => void this.retire(slot, new WorkerCrashError(`the worker exited with code ${code}`)));
    return slot;
  }

  private assign(slot: Slot, pending: Pending): void {
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    slot.current = pending;
    slot.worker.ref();
    // A CPU-bound function cannot see an abort signal: stopping it means stopping its thread.
    slot.onAbort = () => void this.retire(slot, pending.signal.reason);
    pending.signal.addEventListener('abort', slot.onAbort, { once: true });
    slot.seq = ++this.seq;
    const { data, job } = pending;
    slot.session =
      data === undefined
        ? undefined
        : new DataServer(data, (reply, transfer) => slot.worker.postMessage(reply, transfer));
    const message: JobMessage = {
      type: 'job',
      seq: slot.seq,
      job,
      data: data === undefined ? undefined : DataServer.describe(data, job.workDir, job.rawOutputPrefix),
    };
    slot.worker.postMessage(message);
  }

  /** Ends the data access of the slot's job (its running operations and open streams). */
  private endSession(slot: Slot, reason: unknown): void {
    slot.session?.close(reason);
    slot.session = undefined;
  }

  private settle(slot: Slot, reply: Reply): void {
    const pending = slot.current;
    if (pending === undefined) return;
    this.release(slot);
    if (reply.type === 'done') pending.resolve(reply.outputs);
    else if (reply.type === 'load-failed') pending.reject(new WorkerLoadError(reply.message));
    else pending.reject(reviveError(reply));
    this.dispatch();
  }

  private release(slot: Slot): void {
    this.endSession(slot, new Error('the task attempt has ended'));
    if (slot.onAbort !== undefined) slot.current?.signal.removeEventListener('abort', slot.onAbort);
    slot.onAbort = undefined;
    slot.current = undefined;
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => void this.retire(slot, undefined), this.idleTimeoutMs);
    slot.idleTimer.unref();
  }

  private async retire(slot: Slot, reason: unknown): Promise<void> {
    if (!this.slots.delete(slot)) return;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    const pending = slot.current;
    this.endSession(slot, reason ?? new WorkerCrashError('the worker stopped'));
    if (pending !== undefined) {
      if (slot.onAbort !== undefined) pending.signal.removeEventListener('abort', slot.onAbort);
      slot.current = undefined;
      pending.reject(reason ?? new WorkerCrashError('the worker stopped'));
    }
    await slot.worker.terminate();
    this.dispatch();
  }
}

/** A module specifier a worker can import: paths become file URLs; URLs and package names stay. */
function moduleUrl(specifier: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  if (isAbsolute(specifier) || specifier.startsWith('.')) return pathToFileURL(resolve(specifier)).href;
  return specifier;
}
