// The Clock port: the engine's only source of time, so tests control it (schedules, timeouts, backoff).

/**
 * A source of time. The engine never reads `Date.now()` or sets timers directly: it asks its Clock, so a
 * test clock can move time forward deterministically.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
  /**
   * The current time in milliseconds since the epoch, the same as `now().getTime()`; optional (the engine asks
   * for the time at every transition, and this saves a Date each time).
   */
  nowMs?(): number;
  /**
   * Resolves after `ms` milliseconds of this clock's time, or rejects with the signal's reason when aborted
   * first (the timer is then cancelled).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Longest delay a Node.js timer accepts (about 24.8 days); longer sleeps are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wall clock: `Date` and `setTimeout` (long sleeps chained, since timers cap at about 24.8 days). */
export const systemClock: Clock = {
  now: () => new Date(),
  nowMs: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const until = Date.now() + (Number.isFinite(ms) && ms > 0 ? ms : 0);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const arm = () => {
        const left = until - Date.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    }),
};
