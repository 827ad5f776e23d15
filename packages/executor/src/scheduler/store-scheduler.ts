// The reference Scheduler: one loop per ACTIVE scheduled launch plan name, sleeping on the Clock until its next
// fire, with the bookkeeping of every schedule (the scheduled time of its last fire: the cursor) in the Store, so
// that a restart neither loses nor doubles a fire and several processes sharing a Store fire each time once.
//
// How one fire happens (`step`), and why in this order:
//   1. Read the ACTIVE version of the launch plan from the Store (authoritative: another process may have swapped
//      or deactivated it) and the cursor `last` of its schedule.
//   2. The next time after `last` is computed from that version's schedule. Every process reading the same
//      (version, cursor) computes the same time, hence the same execution name.
//   3. Create the execution under that name (the FireHandler; ALREADY_EXISTS counts as success), THEN advance the
//      cursor from `last` to the time with a compare-and-set (Store.recordScheduleFire).
// Create-then-record is safe in every crash window: a process dying after the create and before the record leaves
// the cursor behind, and whoever steps next recomputes the same time and name, finds the execution (ALREADY_EXISTS)
// and records it. Two processes stepping together both create (one gets ALREADY_EXISTS), and only one
// compare-and-set succeeds; the loser re-reads the cursor. A time is never fired twice (one name per time) and
// never skipped (the cursor only moves past a time once its execution exists, or once the skip was reported).
// Record-then-create would instead lose a fire whenever a process died between the two.
//
// Anchors: a schedule activated when no scheduled version of its name was ACTIVE starts at its activation
// (`upsert` with `activatedAt` moves the cursor there, to the second), as flyteadmin's scheduler starts a schedule
// at its activation (the launch plan's updated_at). A fixed rate therefore fires every period after its
// activation; a cron fires at its times after the activation. A version swap keeps the cursor: the new version's
// schedule continues from the last fire. A schedule found ACTIVE with no bookkeeping at all (activated without a
// scheduler) starts when it is first seen.
import {
  isFlyteError,
  MAX_PAGE_LIMIT,
  systemClock,
  type Clock,
  type FireHandler,
  type idl,
  type OperationOptions,
  type ScheduledFire,
  type Scheduler,
  type SchedulerListener,
  type ScheduleUpsertOptions,
  type Store,
} from '@flyte-ts/core';
import { scheduledExecutionName, scheduleKey } from './names.js';
import { parseSchedule, type ScheduleTimes } from './schedule.js';

/** Settings of the reference scheduler (all optional). */
export interface SchedulesConfig {
  /**
   * Largest number of missed fires launched when a schedule is behind (after downtime): the latest ones, in order;
   * the older ones are skipped and reported (`schedule-skipped`). Default 100; at least 1 (1: only the latest).
   */
  readonly catchUpLimit?: number;
  /**
   * How often the ACTIVE launch plans are read again from the Store, in ms, to pick up schedules other processes
   * activated (default 30,000). Deactivations and version swaps by other processes are seen at the next fire
   * regardless: each fire reads the ACTIVE version first.
   */
  readonly syncIntervalMs?: number;
  /**
   * Retries of a fire whose execution could not be created for a reason that may pass (the Store unavailable, a
   * conflict, the project-domain at its execution limit): attempts in all (default 5) and the delay before each
   * retry, doubled per attempt from `baseMs` (default 1,000) up to `maxMs` (default 60,000). A fire failing for a
   * lasting reason (invalid inputs, an unknown workflow, ...) or out of attempts is skipped and reported.
   */
  readonly retry?: { readonly attempts?: number; readonly baseMs?: number; readonly maxMs?: number };
}

/** Options of {@link StoreScheduler}. */
export interface StoreSchedulerOptions extends SchedulesConfig {
  /** The Store of the launch plans and of the bookkeeping: the engine's. */
  readonly store: Store;
  /** Source of time (default: the wall clock): the engine's. */
  readonly clock?: Clock;
}

/** Errors after which a fire is retried; any other flyte-ts error is lasting and the fire is skipped at once. */
const RETRYABLE_CODES = new Set(['UNAVAILABLE', 'CONFLICT', 'TOO_MANY_EXECUTIONS', 'ENGINE_STOPPED']);

/** Largest number of skipped fires counted one by one (a cron behind by years reports this many). */
const COUNT_CAP = 100_000;

const ACTIVE_FILTER = [{ fn: 'eq', field: 'state', values: ['ACTIVE'] }] as const;

/** One scheduled launch plan name and its loop. */
interface Entry {
  readonly key: string;
  /** The ACTIVE version last seen (upserted, synced or read at a fire). */
  launchPlan: idl.core.Identifier;
  /** Upsert sequence number: a sync that listed before it does not drop it. */
  seq: number;
  /** Ends the loop (removed, deactivated, or the scheduler stopped). */
  readonly stop: AbortController;
  /** Set while the loop sleeps: aborting it wakes the loop. */
  wake: AbortController | undefined;
  /** While sleeping: until when (Infinity: until woken). */
  wakeAt: number | undefined;
  /** Stepping (not sleeping). */
  busy: boolean;
  /** Woken while stepping: step again instead of sleeping. */
  woken: boolean;
  /** The fire being retried, and its attempts so far. */
  failure: { readonly time: number; readonly attempts: number } | undefined;
  /** Consecutive failed steps (the Store unreachable, ...). */
  errors: number;
  /** Version whose unreadable schedule was already reported. */
  invalid: string | undefined;
  loop: Promise<void> | undefined;
}

/** A started scheduler: what `start` was given, and its loops. */
interface Run {
  readonly handler: FireHandler;
  readonly listener: SchedulerListener;
  readonly stop: AbortController;
  readonly loops: Set<Promise<void>>;
  syncLoop: Promise<void> | undefined;
}

/**
 * The reference {@link Scheduler}: cron schedules (croner: five fields, aliases, `CRON_TZ=` time zones, offsets)
 * and fixed rates of the ACTIVE launch plans of a Store, fired exactly once each with the bookkeeping in that Store
 * (see `recordScheduleFire`). Every process sharing the Store may run one: they agree through the Store. Timers
 * go through the Clock, so tests drive time. The engine creates one on its Store and Clock unless told otherwise.
 */
export class StoreScheduler implements Scheduler {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #catchUpLimit: number;
  readonly #syncIntervalMs: number;
  readonly #retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
  readonly #entries = new Map<string, Entry>();
  /** Entries whose loop has not ended (dropped ones included). */
  readonly #live = new Set<Entry>();
  #run: Run | undefined;
  #seq = 0;
  #syncing = false;
  #idleWaiters: (() => void)[] = [];

  /**
   * @param options the Store and Clock (the engine's), and settings
   * @throws {RangeError} when a setting is out of range
   */
  constructor(options: StoreSchedulerOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#catchUpLimit = options.catchUpLimit ?? 100;
    this.#syncIntervalMs = options.syncIntervalMs ?? 30_000;
    this.#retry = {
      attempts: options.retry?.attempts ?? 5,
      baseMs: options.retry?.baseMs ?? 1_000,
      maxMs: options.retry?.maxMs ?? 60_000,
    };
    if (!Number.isSafeInteger(this.#catchUpLimit) || this.#catchUpLimit < 1) {
      throw new RangeError(`schedules.catchUpLimit must be a positive integer, not ${this.#catchUpLimit}`);
    }
    if (!Number.isFinite(this.#syncIntervalMs) || this.#syncIntervalMs <= 0) {
      throw new RangeError(`schedules.syncIntervalMs must be positive, not ${this.#syncIntervalMs}`);
    }
    for (const [key, value] of Object.entries(this.#retry)) {
      const ok = key === 'attempts' ? Number.isSafeInteger(value) && value >= 1 : Number.isFinite(value) && value >= 0;
      if (!ok) throw new RangeError(`schedules.retry.${key} is out of range: ${value}`);
    }
  }

  /**
   * Registers or replaces the schedule of a launch plan name. With `activatedAt`, first moves the cursor of the
   * schedule to that instant (to the second) unless it is already past it: the schedule fires only later times.
   * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the schedule cannot be read
   */
  async upsert(
    launchPlan: idl.core.Identifier,
    schedule: idl.admin.Schedule,
    options: ScheduleUpsertOptions = {},
  ): Promise<void> {
    parseSchedule(schedule);
    const key = scheduleKey(launchPlan);
    if (options.activatedAt !== undefined) {
      await this.#advanceCursor(key, floorSecond(options.activatedAt.getTime()), { signal: options.signal });
    }
    const run = this.#run;
    if (run === undefined) return;
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#add(run, launchPlan);
      return;
    }
    entry.launchPlan = launchPlan;
    entry.seq = ++this.#seq;
    entry.failure = undefined;
    this.#wake(entry);
  }

  /** Removes the schedule of a launch plan name; resolves when its fire in flight, if any, is done. */
  async remove(launchPlan: idl.core.Identifier, options: OperationOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const entry = this.#entries.get(scheduleKey(launchPlan));
    if (entry === undefined) return;
    this.#drop(entry);
    await entry.loop;
  }

  /** Loads the ACTIVE scheduled launch plans of the Store and starts their loops, and the periodic sync. */
  async start(handler: FireHandler, listener: SchedulerListener = {}): Promise<void> {
    if (this.#run !== undefined) return;
    const run: Run = { handler, listener, stop: new AbortController(), loops: new Set(), syncLoop: undefined };
    this.#run = run;
    let failures = 0;
    this.#syncing = true;
    try {
      await this.#sync(run);
    } catch (error) {
      failures = 1;
      this.#warn(run, 'could not read the ACTIVE launch plans; retrying', error);
    } finally {
      this.#syncing = false;
      this.#notify();
    }
    if (this.#run === run) run.syncLoop = this.#syncLoop(run, failures);
  }

  /** Stops every loop; resolves when no fire is in flight. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    run.stop.abort(new Error('scheduler stopped'));
    for (const entry of [...this.#entries.values()]) this.#drop(entry);
    await Promise.all([...run.loops, run.syncLoop]);
    this.#notify();
  }

  /**
   * Resolves once the scheduler waits for time to pass: every due fire is done (or waits for a retry), and each
   * schedule sleeps until a later time. For tests driving a manual clock: advance it, then await this.
   */
  onIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Number of launch plan names scheduled now. */
  get size(): number {
    return this.#entries.size;
  }

  // ------------------------------------------------------------------ loops

  #add(run: Run, launchPlan: idl.core.Identifier): Entry {
    const entry: Entry = {
      key: scheduleKey(launchPlan),
      launchPlan,
      seq: ++this.#seq,
      stop: new AbortController(),
      wake: undefined,
      wakeAt: undefined,
      busy: true,
      woken: false,
      failure: undefined,
      errors: 0,
      invalid: undefined,
      loop: undefined,
    };
    this.#entries.set(entry.key, entry);
    this.#live.add(entry);
    const loop = this.#loop(run, entry);
    entry.loop = loop;
    run.loops.add(loop);
    void loop.finally(() => run.loops.delete(loop)).catch(() => undefined);
    return entry;
  }

  /** Ends the loop of an entry (it finishes the fire in flight first). */
  #drop(entry: Entry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    entry.stop.abort(new Error('schedule removed'));
    entry.wake?.abort();
    this.#notify();
  }

  #wake(entry: Entry): void {
    if (entry.wake !== undefined) {
      entry.busy = true;
      entry.wakeAt = undefined;
      entry.wake.abort();
    } else {
      entry.woken = true;
    }
  }

  async #loop(run: Run, entry: Entry): Promise<void> {
    try {
      while (!entry.stop.signal.aborted) {
        entry.woken = false;
        let wakeAt: number | 'now';
        try {
          wakeAt = await this.#step(run, entry);
          entry.errors = 0;
        } catch (error) {
          if (entry.stop.signal.aborted) break;
          entry.errors += 1;
          this.#warn(run, `schedule of launch plan ${entry.key} failed a step; retrying`, error);
          wakeAt = this.#now() + this.#backoff(entry.errors);
        }
        if (entry.stop.signal.aborted) break;
        if (wakeAt === 'now' || entry.woken) continue;
        await this.#sleep(entry, wakeAt);
      }
    } finally {
      entry.busy = false;
      entry.wakeAt = undefined;
      this.#live.delete(entry);
      this.#notify();
    }
  }

  async #sleep(entry: Entry, until: number): Promise<void> {
    const wake = new AbortController();
    entry.wake = wake;
    entry.wakeAt = until;
    entry.busy = false;
    this.#notify();
    try {
      if (until === Infinity) {
        await new Promise<void>((resolve) => wake.signal.addEventListener('abort', () => resolve(), { once: true }));
      } else {
        await this.#clock.sleep(Math.max(0, until - this.#now()), wake.signal);
      }
    } catch {
      // Woken (upsert, remove, stop).
    }
    entry.wake = undefined;
    entry.wakeAt = undefined;
    entry.busy = true;
  }

  /** One step of a schedule: a fire, a skip, or the time to sleep until. See the head of this file. */
  async #step(run: Run, entry: Entry): Promise<number | 'now'> {
    const store = this.#store;
    const key = entry.key;
    const signal = entry.stop.signal;
    const { project, domain, name } = entry.launchPlan;
    const launchPlan = await store.getActiveLaunchPlan(project, domain, name, { signal });
    const schedule = scheduleOf(launchPlan);
    if (launchPlan?.id === undefined || schedule === undefined) {
      // Deactivated (or replaced by an unscheduled version), maybe by another process.
      this.#drop(entry);
      return 'now';
    }
    const id = launchPlan.id;
    entry.launchPlan = id;
    let times: ScheduleTimes;
    try {
      times = parseSchedule(schedule);
    } catch (error) {
      if (entry.invalid !== id.version) {
        entry.invalid = id.version;
        this.#warn(
          run,
          `launch plan ${key} version ${id.version} has a schedule that cannot be read; not firing it`,
          error,
        );
      }
      return Infinity;
    }
    const state = await store.getScheduleState(key, { signal });
    const last = state?.lastFireTime?.getTime();
    const now = this.#now();
    if (last === undefined) {
      // ACTIVE with no bookkeeping (activated without a scheduler): the schedule starts now. Whichever process
      // records first sets the anchor; the others read it back.
      await store.recordScheduleFire(key, new Date(floorSecond(now)), undefined, { signal });
      return 'now';
    }
    const next = times.next(last);
    if (next === undefined) return Infinity;
    if (next > now) return next;

    // Due. After downtime several times may be: the latest `catchUpLimit` are launched, the older ones skipped
    // (the cursor jumps to the last skipped time; only the process whose compare-and-set succeeds reports it).
    const following = times.next(next);
    if (following !== undefined && following <= now) {
      const latest = times.latest(this.#catchUpLimit + 1, last, now);
      if (latest.length > this.#catchUpLimit) {
        const skipTo = latest[this.#catchUpLimit]!;
        if (await store.recordScheduleFire(key, new Date(skipTo), new Date(last), { signal })) {
          this.#skipped(run, {
            launchPlan: id,
            reason: 'catch-up-limit',
            first: new Date(next),
            last: new Date(skipTo),
            count: times.count(last, skipTo, COUNT_CAP),
          });
        }
        return 'now';
      }
    }

    // Fire `next`: create its execution (idempotent by name), then advance the cursor over it.
    const scheduledTime = new Date(next);
    const fire: ScheduledFire = {
      launchPlan: id,
      schedule,
      scheduledTime,
      executionName: scheduledExecutionName(id, scheduledTime),
    };
    try {
      await run.handler(fire, { signal });
    } catch (error) {
      if (signal.aborted) throw error;
      const attempts = entry.failure?.time === next ? entry.failure.attempts + 1 : 1;
      const retryable = !isFlyteError(error) || RETRYABLE_CODES.has(error.code);
      if (retryable && attempts < this.#retry.attempts) {
        entry.failure = { time: next, attempts };
        this.#warn(
          run,
          `fire of launch plan ${key} at ${scheduledTime.toISOString()} failed (attempt ${attempts} of ${this.#retry.attempts}); retrying`,
          error,
        );
        return now + this.#backoff(attempts);
      }
      entry.failure = undefined;
      if (await store.recordScheduleFire(key, scheduledTime, new Date(last), { signal })) {
        this.#skipped(run, {
          launchPlan: id,
          reason: 'launch-failed',
          first: scheduledTime,
          last: scheduledTime,
          count: 1,
          error,
        });
      }
      return 'now';
    }
    entry.failure = undefined;
    // False when another process recorded this time (or moved past it) first: the execution exists either way.
    if (!(await store.recordScheduleFire(key, scheduledTime, new Date(last), { signal }))) return 'now';
    // The cursor is `next` now: sleep until the following time when it is ahead (the wake reads everything again).
    return following !== undefined && following > now ? following : 'now';
  }

  /** Moves the cursor of a schedule forward to `to`, unless it is there or beyond already. */
  async #advanceCursor(key: string, to: number, options: OperationOptions): Promise<void> {
    for (;;) {
      const last = (await this.#store.getScheduleState(key, options))?.lastFireTime;
      if (last !== undefined && last.getTime() >= to) return;
      if (await this.#store.recordScheduleFire(key, new Date(to), last, options)) return;
    }
  }

  // ------------------------------------------------------------------ sync with the Store

  async #syncLoop(run: Run, initialFailures: number): Promise<void> {
    let failures = initialFailures;
    while (!run.stop.signal.aborted) {
      const wait = failures === 0 ? this.#syncIntervalMs : Math.min(this.#syncIntervalMs, this.#backoff(failures));
      // A fresh signal per sleep, tied to the run's: a clock never accumulates listeners on the long-lived one.
      const sleep = new AbortController();
      const onStop = () => sleep.abort();
      run.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        await this.#clock.sleep(wait, sleep.signal);
      } catch {
        return;
      } finally {
        run.stop.signal.removeEventListener('abort', onStop);
      }
      this.#syncing = true;
      try {
        await this.#sync(run);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (!run.stop.signal.aborted) this.#warn(run, 'could not read the ACTIVE launch plans; retrying', error);
      } finally {
        this.#syncing = false;
        this.#notify();
      }
    }
  }

  /** Schedules every ACTIVE scheduled launch plan of the Store, and drops the names no longer ACTIVE there. */
  async #sync(run: Run): Promise<void> {
    const seq = this.#seq;
    const active = new Map<string, idl.core.Identifier>();
    let token: string | undefined;
    do {
      const page = await this.#store.listLaunchPlans(
        { filters: ACTIVE_FILTER, limit: MAX_PAGE_LIMIT, ...(token === undefined ? {} : { token }) },
        { signal: run.stop.signal },
      );
      for (const lp of page.items) {
        if (lp.id !== undefined && scheduleOf(lp) !== undefined) active.set(scheduleKey(lp.id), lp.id);
      }
      token = page.nextToken;
    } while (token !== undefined);
    if (this.#run !== run) return;
    for (const [key, id] of active) {
      const entry = this.#entries.get(key);
      if (entry === undefined) this.#add(run, id);
      else if (entry.launchPlan.version !== id.version) {
        entry.launchPlan = id;
        this.#wake(entry);
      }
    }
    for (const entry of [...this.#entries.values()]) {
      if (!active.has(entry.key) && entry.seq <= seq) this.#drop(entry);
    }
  }

  // ------------------------------------------------------------------ helpers

  #now(): number {
    return this.#clock.now().getTime();
  }

  #backoff(attempt: number): number {
    return Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** Math.max(0, attempt - 1));
  }

  #idle(): boolean {
    if (this.#run === undefined) return true;
    if (this.#syncing) return false;
    const now = this.#now();
    for (const entry of this.#live) {
      if (entry.busy || entry.wakeAt === undefined || entry.wakeAt <= now) return false;
    }
    return true;
  }

  #notify(): void {
    if (this.#idleWaiters.length === 0 || !this.#idle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #warn(run: Run, message: string, error?: unknown): void {
    try {
      run.listener.warning?.(message, error);
    } catch {
      // A listener must not break the scheduler.
    }
  }

  #skipped(run: Run, event: Parameters<NonNullable<SchedulerListener['skipped']>>[0]): void {
    try {
      run.listener.skipped?.(event);
    } catch {
      // A listener must not break the scheduler.
    }
  }
}

/** The schedule of a launch plan, when it has one with an expression. */
export function scheduleOf(launchPlan: idl.admin.LaunchPlan | undefined): idl.admin.Schedule | undefined {
  const schedule = launchPlan?.spec?.entityMetadata?.schedule;
  return schedule?.ScheduleExpression.case === undefined ? undefined : schedule;
}

function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
