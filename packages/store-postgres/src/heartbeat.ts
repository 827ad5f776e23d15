// The heartbeat of the data directory locks this process holds: the modification time of each held generation
// file, refreshed on an interval, so that a process that cannot check the holder's pid (on another host, or in
// another PID namespace) can tell that it runs. It beats from one worker thread per process, not from the main
// thread: PGlite runs each query synchronously in WebAssembly, and a long one (a migration, an index build) would
// stop a main-thread timer for as long as it runs, so a busy holder would look like a dead one.
import { Worker } from 'node:worker_threads';

/** A held generation file to keep fresh. */
export interface HeartbeatTarget {
  /** The generation file. */
  readonly file: string;
  /** The lock directory it is in. */
  readonly lockDir: string;
  /** Its generation number: a higher one in `lockDir` means the lock was taken over. */
  readonly generation: number;
  /** How often to refresh it, in ms. */
  readonly intervalMs: number;
}

/**
 * Why a heartbeat stopped on its own: a higher generation exists (another process took the lock over), the
 * generation file or its directory is gone (deleted by hand), or the heartbeat thread failed.
 */
export type HeartbeatLoss = 'superseded' | 'deleted' | 'failed';

/** Who hears from a heartbeat. */
export interface HeartbeatListener {
  /** The lock is lost: the heartbeat has stopped, for the given reason. */
  lost(reason: HeartbeatLoss): void;
  /** After each refresh (the tests' event); when absent, refreshes are not reported. */
  readonly beat?: (() => void) | undefined;
}

// CommonJS, evaluated as the worker's script: a file of its own would not resolve from both `src` (tests run
// TypeScript) and the bundled `dist`. Synchronous calls are fine here: this thread does nothing else. An error
// other than ENOENT (EIO, say) skips one refresh; the next one tries again.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readdirSync, utimesSync } = require('node:fs');
const timers = new Map();
function stop(id) {
  clearInterval(timers.get(id));
  timers.delete(id);
}
function beat(id, target) {
  let lost;
  try {
    const names = readdirSync(target.lockDir);
    if (names.some((name) => /^[0-9]{1,15}$/.test(name) && Number(name) > target.generation)) {
      lost = 'superseded';
    } else {
      const now = new Date();
      utimesSync(target.file, now, now);
    }
  } catch (error) {
    if (error.code === 'ENOENT') lost = 'deleted';
  }
  if (lost !== undefined) {
    stop(id);
    parentPort.postMessage({ id, lost });
  } else if (target.report) {
    parentPort.postMessage({ id });
  }
}
parentPort.on('message', (message) => {
  if (message.stop !== undefined) stop(message.stop);
  else timers.set(message.id, setInterval(beat, message.target.intervalMs, message.id, message.target));
});
`;

let thread: Worker | undefined;
const listeners = new Map<number, HeartbeatListener>();
let nextId = 0;

/**
 * Refreshes `target.file` every `target.intervalMs` until the returned function is called or the lock is lost.
 * The thread is unref'd: it never keeps the process alive.
 * @param target the generation file
 * @param listener told when the lock is lost (and of each refresh, for tests)
 * @returns stops the heartbeat; idempotent
 */
export function startHeartbeat(target: HeartbeatTarget, listener: HeartbeatListener): () => void {
  const id = nextId++;
  const worker = (thread ??= startThread());
  listeners.set(id, listener);
  worker.postMessage({ id, target: { ...target, report: listener.beat !== undefined } });
  return () => {
    if (!listeners.delete(id)) return;
    worker.postMessage({ stop: id });
    if (listeners.size === 0 && thread === worker) {
      thread = undefined;
      void worker.terminate();
    }
  };
}

function startThread(): Worker {
  const worker = new Worker(THREAD_SOURCE, { eval: true, name: 'flyte-ts data directory lock heartbeat' });
  worker.unref();
  worker.on('message', (message: { readonly id: number; readonly lost?: HeartbeatLoss }) => {
    const listener = listeners.get(message.id);
    if (listener === undefined) return;
    if (message.lost === undefined) {
      listener.beat?.();
    } else {
      listeners.delete(message.id);
      listener.lost(message.lost);
    }
  });
  // The thread died: nothing keeps this process's locks fresh any more, so others will take them over.
  worker.on('error', () => {
    if (thread !== worker) return;
    thread = undefined;
    const orphaned = [...listeners.values()];
    listeners.clear();
    for (const listener of orphaned) listener.lost('failed');
  });
  return worker;
}
