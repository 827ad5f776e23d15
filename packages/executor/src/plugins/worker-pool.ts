// Worker threads for CPU-bound function tasks. Each worker runs one task function at a time; it loads the task
// from the module that exports it (TaskConfig.module) and exchanges LiteralMaps with this thread by structured
// clone (protobuf-es messages are plain objects). Aborting a job terminates its worker: a CPU-bound function
// cannot be interrupted any other way. Idle workers exit after a while and never keep the process alive.
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { idl } from '@flyte-ts/core';

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
  | { readonly type: 'failed'; readonly name: string; readonly message: string; readonly stack?: string }
  | { readonly type: 'load-failed'; readonly message: string };

interface Pending {
  readonly job: WorkerJob;
  readonly signal: AbortSignal;
  readonly resolve: (outputs: idl.core.LiteralMap) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  current: Pending | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

// Runs in each worker (CommonJS, evaluated): loads task modules once, runs one job at a time.
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
parentPort.on('message', async (job) => {
  let task;
  try {
    await ready;
    task = await load(job.module, job.name);
  } catch (e) {
    parentPort.postMessage({ type: 'load-failed', message: String((e && e.message) || e) });
    return;
  }
  if (task === undefined) {
    parentPort.postMessage({ type: 'load-failed', message: 'module ' + job.module + ' does not export task ' + job.name });
    return;
  }
  try {
    const outputs = await task.execute(job.inputs, {
      signal: new AbortController().signal,
      attempt: job.attempt,
      execution: job.execution,
      rawOutputPrefix: job.rawOutputPrefix,
    });
    parentPort.postMessage({ type: 'done', outputs });
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    parentPort.postMessage({ type: 'failed', name: error.name, message: error.message, stack: error.stack });
  }
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
   * Runs a job on a free worker (queued while all are busy). Rejects with the task's error (name and message
   * preserved), {@link WorkerLoadError}, {@link WorkerCrashError}, or the signal's reason when aborted.
   */
  run(job: WorkerJob, signal: AbortSignal): Promise<idl.core.LiteralMap> {
    return new Promise((resolvePromise, rejectPromise) => {
      if (signal.aborted) {
        rejectPromise(signal.reason);
        return;
      }
      const pending: Pending = {
        job: { ...job, module: moduleUrl(job.module) },
        signal,
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
    const slot: Slot = { worker, current: undefined, idleTimer: undefined, onAbort: undefined };
    this.slots.add(slot);
    worker.on('message', (reply: Reply) => this.settle(slot, reply));
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
    slot.worker.postMessage(pending.job);
  }

  private settle(slot: Slot, reply: Reply): void {
    const pending = slot.current;
    if (pending === undefined) return;
    this.release(slot);
    if (reply.type === 'done') pending.resolve(reply.outputs);
    else if (reply.type === 'load-failed') pending.reject(new WorkerLoadError(reply.message));
    else {
      const error = new Error(reply.message);
      error.name = reply.name;
      if (reply.stack !== undefined) error.stack = reply.stack;
      pending.reject(error);
    }
    this.dispatch();
  }

  private release(slot: Slot): void {
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
