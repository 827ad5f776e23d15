// Schedules of ACTIVE launch plans, on a manual clock: cron (aliases, time zones across a DST change) and fixed
// rates fire at their instants in mode SCHEDULED with the kickoff input set to the scheduled time; version swaps,
// deactivation and reactivation update the schedule at once; an outage is caught up exactly (up to the catch-up
// limit); crash windows and failed launches neither double nor lose a fire; two engines on one Store fire once.
import { create } from '@bufbuild/protobuf';
import {
  fromLiteralMap,
  idl,
  InvalidArgumentError,
  launchPlan,
  msFromTimestamp,
  t,
  task,
  UnavailableError,
  workflow,
  type SkippedFires,
  type Store,
} from '@flyte-ts/core';
import {
  createEngine,
  parseSchedule,
  scheduledExecutionName,
  scheduleKey,
  StoreScheduler,
  type Engine,
  type SchedulesConfig,
} from '@flyte-ts/executor';
import { MemoryBlobStore, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { ManualClock, phaseOf, settings } from './support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const Mode = idl.admin.ExecutionMetadata_ExecutionMode;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const stamp = task({ name: 'sched.stamp', inputs: { at: t.datetime() }, outputs: { at: t.datetime() } }, ({ at }) => ({
  at,
}));
const report = workflow(
  { name: 'sched.report', inputs: { at: t.datetime() }, outputs: { at: t.datetime() } },
  ({ at }) => ({ at: stamp({ at }).at }),
);
/** A workflow whose second input no schedule sets: every fire of it fails with INVALID_INPUTS. */
const needsMore = workflow(
  { name: 'sched.needs_more', inputs: { at: t.datetime(), n: t.int() }, outputs: { at: t.datetime() } },
  ({ at }) => ({ at: stamp({ at }).at }),
);

interface World {
  readonly store: Store;
  readonly blob: MemoryBlobStore;
  readonly clock: ManualClock;
  readonly engine: Engine;
  readonly scheduler: StoreScheduler;
  readonly skipped: SkippedFires[];
  readonly warnings: string[];
}

async function startWorld(
  options: {
    readonly store?: Store;
    readonly blob?: MemoryBlobStore;
    readonly clock?: ManualClock;
    readonly schedules?: SchedulesConfig;
    readonly id?: string;
  } = {},
): Promise<World> {
  const store = options.store ?? new MemoryStore();
  const blob = options.blob ?? new MemoryBlobStore();
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  const scheduler = new StoreScheduler({ store, clock, syncIntervalMs: HOUR, ...options.schedules });
  const engine = createEngine({
    store,
    blob,
    clock,
    scheduler,
    tasks: [stamp],
    config: { retryBackoff: { baseMs: 0, maxMs: 0 }, ...(options.id === undefined ? {} : { id: options.id }) },
  });
  const skipped: SkippedFires[] = [];
  const warnings: string[] = [];
  engine.on('schedule-skipped', (event) => skipped.push(event));
  engine.on('warning', (message) => warnings.push(message));
  await engine.start();
  return { store, blob, clock, engine, scheduler, skipped, warnings };
}

/** Moves the clock to `time` (in steps of at most `stepMs`), letting every scheduler finish what is due. */
async function advanceTo(
  clock: ManualClock,
  schedulers: readonly StoreScheduler[],
  time: number,
  stepMs = HOUR,
): Promise<void> {
  for (let now = clock.now().getTime(); now < time; now = clock.now().getTime()) {
    await clock.advance(Math.min(stepMs, time - now));
    for (const scheduler of schedulers) await scheduler.onIdle();
  }
  for (const scheduler of schedulers) await scheduler.onIdle();
}

interface Fired {
  readonly name: string;
  readonly version: string;
  readonly scheduledAt: number;
  readonly createdAt: number;
  readonly execution: idl.admin.Execution;
}

/** Scheduled executions of a launch plan name, by scheduled time. */
async function firesOf(engine: Engine, name: string): Promise<Fired[]> {
  const page = await engine.listExecutions({
    filters: [
      { fn: 'eq', field: 'mode', values: ['SCHEDULED'] },
      { fn: 'eq', field: 'launch_plan.name', values: [name] },
    ],
    limit: 1000,
  });
  return page.items
    .map((execution) => ({
      name: execution.id!.name,
      version: execution.spec!.launchPlan!.version,
      scheduledAt: msFromTimestamp(execution.spec!.metadata!.scheduledAt!),
      createdAt: msFromTimestamp(execution.closure!.createdAt!),
      execution,
    }))
    .sort((a, b) => a.scheduledAt - b.scheduledAt);
}

function lpId(name: string, version: string = settings.version): idl.core.Identifier {
  return create(idl.core.IdentifierSchema, {
    resourceType: idl.core.ResourceType.LAUNCH_PLAN,
    project: settings.project,
    domain: settings.domain,
    name,
    version,
  });
}

/** Checks that nothing fires until 1 ms before each time, and that the fire of that time happens at it. */
async function expectFiresAt(world: World, name: string, times: readonly number[]): Promise<void> {
  for (const time of times) {
    const before = (await firesOf(world.engine, name)).length;
    await advanceTo(world.clock, [world.scheduler], time - 1);
    expect((await firesOf(world.engine, name)).length, `nothing fires before ${new Date(time).toISOString()}`).toBe(
      before,
    );
    await advanceTo(world.clock, [world.scheduler], time);
    const fires = await firesOf(world.engine, name);
    expect(fires.length).toBe(before + 1);
    const fire = fires.at(-1)!;
    expect(new Date(fire.scheduledAt).toISOString()).toBe(new Date(time).toISOString());
    expect(fire.createdAt).toBe(time);
  }
}

async function kickoffOf(engine: Engine, execution: idl.admin.Execution): Promise<number> {
  const inputs = await engine.getExecutionInputs(execution.id!);
  return fromLiteralMap(report.inputs, inputs).at.getTime();
}

describe('cron schedules', () => {
  it('fire @hourly at each hour after activation, in mode SCHEDULED, named from (launch plan, time), with the kickoff input', async () => {
    const world = await startWorld({ clock: new ManualClock(Date.UTC(2026, 0, 1, 0, 20)) });
    const hourly = launchPlan(report, {
      name: 'sched.hourly',
      schedule: { cron: '@hourly', kickoffTimeInput: 'at' },
      activate: true,
    });
    await world.engine.register([hourly], settings);
    const times = [1, 2, 3].map((h) => Date.UTC(2026, 0, 1, h));
    await expectFiresAt(world, 'sched.hourly', times);
    const fires = await firesOf(world.engine, 'sched.hourly');
    expect(fires.map((f) => f.name)).toEqual(
      times.map((time) => scheduledExecutionName(lpId('sched.hourly'), new Date(time))),
    );
    for (const [i, fire] of fires.entries()) {
      expect(fire.name).toMatch(NAME);
      expect(fire.name.startsWith(`sched-hourly-2026010${1}t0${i + 1}0000-`)).toBe(true);
      expect(fire.execution.spec?.metadata?.mode).toBe(Mode.SCHEDULED);
      expect(fire.execution.spec?.metadata?.principal).toBe('flyte:scheduler');
      expect(fire.version).toBe(settings.version);
      expect(await kickoffOf(world.engine, fire.execution)).toBe(times[i]);
    }
    // The scheduled time travels through the workflow.
    const done = await world.engine.waitForExecution(fires[0]!.execution.id!);
    expect(phaseOf(done)).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(report.outputs, await world.engine.getExecutionOutputs(done.id!));
    expect(outputs.at.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    await world.engine.stop();
  });

  it('fire 09:00 Europe/Paris at 08:00Z before the DST change and 07:00Z after it', async () => {
    const world = await startWorld({ clock: new ManualClock(Date.UTC(2026, 2, 27)) });
    const paris = launchPlan(report, {
      name: 'sched.paris',
      schedule: { cron: '0 9 * * *', timezone: 'Europe/Paris', kickoffTimeInput: 'at' },
      activate: true,
    });
    await world.engine.register([paris], settings);
    const times = [
      Date.UTC(2026, 2, 27, 8), // CET, UTC+1
      Date.UTC(2026, 2, 28, 8),
      Date.UTC(2026, 2, 29, 7), // CEST from 29 March 2026, UTC+2
      Date.UTC(2026, 2, 30, 7),
    ];
    await expectFiresAt(world, 'sched.paris', times);
    for (const [i, fire] of (await firesOf(world.engine, 'sched.paris')).entries()) {
      expect(await kickoffOf(world.engine, fire.execution)).toBe(times[i]);
    }
    await world.engine.stop();
  });
});

describe('fixed-rate schedules', () => {
  it('fire every period after the activation (to the second), with the kickoff input', async () => {
    const start = Date.UTC(2026, 0, 1, 0, 0, 7, 250);
    const world = await startWorld({ clock: new ManualClock(start) });
    const every10 = launchPlan(report, {
      name: 'sched.every10',
      schedule: { rate: '10m', kickoffTimeInput: 'at' },
      activate: true,
    });
    await world.engine.register([every10], settings);
    const anchor = Date.UTC(2026, 0, 1, 0, 0, 7);
    const times = [1, 2, 3].map((k) => anchor + k * 10 * MINUTE);
    await expectFiresAt(world, 'sched.every10', times);
    for (const [i, fire] of (await firesOf(world.engine, 'sched.every10')).entries()) {
      expect(await kickoffOf(world.engine, fire.execution)).toBe(times[i]);
    }
    await world.engine.stop();
  });

  it('fire every 2 hours and every day as the schedule says', async () => {
    const world = await startWorld();
    // Without a kickoff input, the workflow's input takes the launch plan's default.
    const at = { at: new Date(0) };
    const twoHours = launchPlan(report, {
      name: 'sched.two_hours',
      schedule: { rate: '2h' },
      defaultInputs: at,
      activate: true,
    });
    const daily = launchPlan(report, {
      name: 'sched.daily_rate',
      schedule: { rate: '1d' },
      defaultInputs: at,
      activate: true,
    });
    await world.engine.register([twoHours, daily], settings);
    await advanceTo(world.clock, [world.scheduler], Date.UTC(2026, 0, 3));
    const start = Date.UTC(2026, 0, 1);
    expect((await firesOf(world.engine, 'sched.two_hours')).map((f) => f.scheduledAt)).toEqual(
      Array.from({ length: 24 }, (_, k) => start + (k + 1) * 2 * HOUR),
    );
    const days = await firesOf(world.engine, 'sched.daily_rate');
    expect(days.map((f) => f.scheduledAt)).toEqual([start + DAY, start + 2 * DAY]);
    expect(await kickoffOf(world.engine, days[0]!.execution)).toBe(0);
    await world.engine.stop();
  });
});

describe('activation', () => {
  it('swaps versions at once, stops on deactivation, starts afresh on reactivation; a deactivated plan runs by hand', async () => {
    const world = await startWorld({ clock: new ManualClock(Date.UTC(2026, 0, 1, 0, 20)) });
    const name = 'sched.swap';
    const v1 = launchPlan(report, { name, schedule: { cron: '0 * * * *', kickoffTimeInput: 'at' }, activate: true });
    const v2 = launchPlan(report, { name, schedule: { cron: '30 * * * *', kickoffTimeInput: 'at' }, activate: true });
    await world.engine.register([v1], { ...settings, version: 'v1' });
    await expectFiresAt(world, name, [Date.UTC(2026, 0, 1, 1)]);

    // 01:10: v2 replaces v1 and continues from v1's last fire (01:00): its next time is 01:30.
    await advanceTo(world.clock, [world.scheduler], Date.UTC(2026, 0, 1, 1, 10));
    await world.engine.register([v2], { ...settings, version: 'v2' });
    expect((await world.store.getLaunchPlan(lpId(name, 'v1')))?.closure?.state).toBe(
      idl.admin.LaunchPlanState.INACTIVE,
    );
    await expectFiresAt(world, name, [Date.UTC(2026, 0, 1, 1, 30)]);

    // 01:40: deactivated: nothing fires, but it can be launched by hand.
    await advanceTo(world.clock, [world.scheduler], Date.UTC(2026, 0, 1, 1, 40));
    await world.engine.deactivateLaunchPlan(lpId(name, 'v2'));
    expect(world.scheduler.size).toBe(0);
    await advanceTo(world.clock, [world.scheduler], Date.UTC(2026, 0, 1, 4, 10), 10 * MINUTE);
    expect((await firesOf(world.engine, name)).length).toBe(2);
    const manual = await world.engine.createExecution({
      launchPlan: lpId(name, 'v2'),
      inputs: { at: new Date(Date.UTC(2025, 11, 24)) },
    });
    expect(manual.spec?.metadata?.mode).toBe(Mode.MANUAL);
    expect(phaseOf(await world.engine.waitForExecution(manual.id!))).toBe('SUCCEEDED');

    // 04:10: v1 activated again, after a pause: it starts now (02:00 to 04:00 are not caught up).
    await world.engine.activateLaunchPlan(lpId(name, 'v1'));
    await expectFiresAt(world, name, [Date.UTC(2026, 0, 1, 5)]);
    const fires = await firesOf(world.engine, name);
    expect(fires.map((f) => [new Date(f.scheduledAt).toISOString(), f.version])).toEqual([
      ['2026-01-01T01:00:00.000Z', 'v1'],
      ['2026-01-01T01:30:00.000Z', 'v2'],
      ['2026-01-01T05:00:00.000Z', 'v1'],
    ]);
    // The manual execution is not among them (mode MANUAL).
    expect(fires.some((f) => f.name === manual.id!.name)).toBe(false);
    expect(world.skipped).toEqual([]);
    await world.engine.stop();
  });

  it('keeps the rate phase across a swap to another rate, and unschedules a swap to an unscheduled version', async () => {
    const world = await startWorld();
    const name = 'sched.rate_swap';
    const at = { at: new Date(0) };
    const v1 = launchPlan(report, { name, schedule: { rate: '10m' }, defaultInputs: at, activate: true });
    const v2 = launchPlan(report, { name, schedule: { rate: '15m' }, defaultInputs: at, activate: true });
    const v3 = launchPlan(report, { name, defaultInputs: at, activate: true });
    const start = Date.UTC(2026, 0, 1);
    await world.engine.register([v1], { ...settings, version: 'v1' });
    await expectFiresAt(world, name, [start + 10 * MINUTE]);
    await advanceTo(world.clock, [world.scheduler], start + 12 * MINUTE);
    await world.engine.register([v2], { ...settings, version: 'v2' });
    await expectFiresAt(world, name, [start + 25 * MINUTE, start + 40 * MINUTE]);
    await world.engine.register([v3], { ...settings, version: 'v3' });
    expect(world.scheduler.size).toBe(0);
    await advanceTo(world.clock, [world.scheduler], start + 3 * HOUR);
    expect((await firesOf(world.engine, name)).map((f) => f.version)).toEqual(['v1', 'v2', 'v2']);
    await world.engine.stop();
  });

  it('fires nothing on an engine created with scheduler: false', async () => {
    const clock = new ManualClock();
    const engine = createEngine({ store: new MemoryStore(), blob: new MemoryBlobStore(), clock, scheduler: false });
    await engine.start();
    expect(engine.scheduler).toBeUndefined();
    await engine.register(
      [launchPlan(report, { name: 'sched.off', schedule: { rate: '1m', kickoffTimeInput: 'at' }, activate: true })],
      settings,
    );
    await clock.advance(HOUR);
    expect(await firesOf(engine, 'sched.off')).toEqual([]);
    await engine.stop();
  });

  it('refuses at registration a cron that cannot be read and a kickoff input that is not a datetime', async () => {
    const world = await startWorld();
    await world.engine.register([report], settings);
    const spec = (schedule: idl.admin.Schedule) =>
      create(idl.admin.LaunchPlanSchema, {
        id: lpId('sched.bad'),
        spec: { workflowId: report.id(settings), entityMetadata: { schedule }, defaultInputs: {}, fixedInputs: {} },
      });
    const cron = (text: string, kickoff = '') =>
      create(idl.admin.ScheduleSchema, {
        kickoffTimeInputArg: kickoff,
        ScheduleExpression: { case: 'cronSchedule', value: { schedule: text, offset: '' } },
      });
    for (const text of ['61 * * * *', '0 9 * * * *', '@every 5m', 'CRON_TZ=Mars/Olympus 0 9 * * *', 'nonsense']) {
      await expect(world.engine.registerLaunchPlan(spec(cron(text))), text).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    await expect(world.engine.registerLaunchPlan(spec(cron('@daily', 'nope')))).rejects.toThrow(
      /kickoff_time_input_arg/,
    );
    expect(await world.engine.registerLaunchPlan(spec(cron('@daily', 'at')))).toBe('created');
    await world.engine.stop();
  });
});

describe('downtime', () => {
  const every10 = launchPlan(report, {
    name: 'sched.outage',
    schedule: { cron: '*/10 * * * *', kickoffTimeInput: 'at' },
    activate: true,
  });

  /** A Store recording the names of the executions created through it, in order. */
  function recording(store: Store): { store: Store; created: string[] } {
    const created: string[] = [];
    const proxy = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'createExecution' || typeof value !== 'function') {
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (...args: Parameters<Store['createExecution']>) => {
          const record = await target.createExecution(...args);
          created.push(record.execution.id!.name);
          return record;
        };
      },
    });
    return { store: proxy, created };
  }

  async function outage(schedules: SchedulesConfig) {
    const store = new MemoryStore();
    const blob = new MemoryBlobStore();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const before = await startWorld({ store, blob, clock, schedules });
    await before.engine.register([every10], settings);
    await advanceTo(clock, [before.scheduler], Date.UTC(2026, 0, 1, 0, 20), 10 * MINUTE);
    expect((await firesOf(before.engine, 'sched.outage')).length).toBe(2);
    await before.engine.stop();
    await clock.advance(3 * HOUR); // down from 00:20 to 03:20
    const log = recording(store);
    const after = await startWorld({ store: log.store, blob, clock, schedules });
    await after.scheduler.onIdle();
    return { store, blob, clock, after, created: log.created };
  }

  const nameAt = (time: number) => scheduledExecutionName(lpId('sched.outage'), new Date(time));

  it('catches up exactly the 18 fires missed in 3 hours, in order, each once, then goes on', async () => {
    const { store, blob, clock, after, created } = await outage({});
    const missed = Array.from({ length: 18 }, (_, k) => Date.UTC(2026, 0, 1, 0, 30 + 10 * k));
    expect(new Date(missed.at(-1)!).toISOString()).toBe('2026-01-01T03:20:00.000Z');
    expect(created).toEqual(missed.map(nameAt));
    const fires = await firesOf(after.engine, 'sched.outage');
    expect(fires.length).toBe(20);
    expect(new Set(fires.map((f) => f.name)).size).toBe(20);
    for (const fire of fires.slice(2)) expect(await kickoffOf(after.engine, fire.execution)).toBe(fire.scheduledAt);
    expect(after.skipped).toEqual([]);
    expect((await store.getScheduleState(scheduleKey(lpId('sched.outage'))))?.lastFireTime?.toISOString()).toBe(
      '2026-01-01T03:20:00.000Z',
    );

    // Restarting fires nothing again; time going on fires the next one.
    await after.engine.stop();
    const again = await startWorld({ store, blob, clock });
    await again.scheduler.onIdle();
    expect((await firesOf(again.engine, 'sched.outage')).length).toBe(20);
    await advanceTo(clock, [again.scheduler], Date.UTC(2026, 0, 1, 3, 30));
    expect((await firesOf(again.engine, 'sched.outage')).map((f) => f.name).at(-1)).toBe(
      nameAt(Date.UTC(2026, 0, 1, 3, 30)),
    );
    await again.engine.stop();
  });

  it('launches only the latest fires beyond the catch-up limit, and reports the skipped ones once', async () => {
    const { after, created } = await outage({ catchUpLimit: 5 });
    const kept = Array.from({ length: 5 }, (_, k) => Date.UTC(2026, 0, 1, 2, 40 + 10 * k));
    expect(created).toEqual(kept.map(nameAt));
    expect(after.skipped).toEqual([
      {
        launchPlan: expect.objectContaining({ name: 'sched.outage', version: settings.version }) as unknown,
        reason: 'catch-up-limit',
        first: new Date(Date.UTC(2026, 0, 1, 0, 30)),
        last: new Date(Date.UTC(2026, 0, 1, 2, 30)),
        count: 13,
      },
    ]);
    expect(after.warnings.some((w) => w.includes('skipped 13 fires'))).toBe(true);
    expect((await firesOf(after.engine, 'sched.outage')).length).toBe(2 + 5);
    await after.engine.stop();
  });
});

describe('failures', () => {
  /** A Store whose `method` fails once (UNAVAILABLE) when `when` says so, after or instead of the real call. */
  function failing(
    store: Store,
    method: 'createExecution' | 'recordScheduleFire',
    mode: 'before' | 'after',
  ): { store: Store; failures: () => number } {
    let failures = 0;
    const proxy = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
        if (key !== method) return fn;
        return async (...args: unknown[]) => {
          // Only a fire's own call (not the activation anchor) fails, once.
          const isFire = method === 'createExecution' || (args[2] as Date | undefined) !== undefined;
          if (failures > 0 || !isFire) return fn(...args);
          failures += 1;
          if (mode === 'before') throw new UnavailableError('the database is away');
          await fn(...args);
          throw new UnavailableError('the connection broke after the write');
        };
      },
    });
    return { store: proxy, failures: () => failures };
  }

  const minutely = launchPlan(report, {
    name: 'sched.minutely',
    schedule: { rate: '1m', kickoffTimeInput: 'at' },
    activate: true,
  });

  for (const [method, mode, what] of [
    ['recordScheduleFire', 'after', 'a crash between the create and the record (recorded, but unacknowledged)'],
    ['recordScheduleFire', 'before', 'a crash between the create and the record (not recorded)'],
    ['createExecution', 'after', 'a create that succeeded but reported failure'],
    ['createExecution', 'before', 'a create that failed'],
  ] as const) {
    it(`fires once through ${what}`, async () => {
      const broken = failing(new MemoryStore(), method, mode);
      const world = await startWorld({ store: broken.store });
      await world.engine.register([minutely], settings);
      const start = Date.UTC(2026, 0, 1);
      await advanceTo(world.clock, [world.scheduler], start + 5 * MINUTE, MINUTE);
      expect(broken.failures()).toBe(1);
      expect(world.warnings.length).toBeGreaterThan(0);
      const fires = await firesOf(world.engine, 'sched.minutely');
      expect(fires.map((f) => f.scheduledAt)).toEqual([1, 2, 3, 4, 5].map((k) => start + k * MINUTE));
      expect(world.skipped).toEqual([]);
      await world.engine.stop();
    });
  }

  it('skips and reports a fire that cannot be launched, and goes on with the next ones', async () => {
    const world = await startWorld();
    const broken = launchPlan(needsMore, {
      name: 'sched.broken',
      schedule: { rate: '1m', kickoffTimeInput: 'at' },
      activate: true,
    });
    await world.engine.register([broken], settings);
    const start = Date.UTC(2026, 0, 1);
    await advanceTo(world.clock, [world.scheduler], start + 3 * MINUTE, MINUTE);
    expect(world.skipped.map((s) => [s.reason, s.first.getTime(), s.count])).toEqual([
      ['launch-failed', start + MINUTE, 1],
      ['launch-failed', start + 2 * MINUTE, 1],
      ['launch-failed', start + 3 * MINUTE, 1],
    ]);
    expect((world.skipped[0]!.error as { code?: string }).code).toBe('INVALID_INPUTS');
    expect(await firesOf(world.engine, 'sched.broken')).toEqual([]);
    await world.engine.stop();
  });
});

describe('engines sharing a Store', () => {
  it('fire each of 300 times once between two engines, and see a deactivation and a reactivation by the other', async () => {
    const store = new MemoryStore();
    const blob = new MemoryBlobStore();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const schedules = { syncIntervalMs: 5 * MINUTE };
    const a = await startWorld({ store, blob, clock, schedules, id: 'engine-a' });
    const b = await startWorld({ store, blob, clock, schedules, id: 'engine-b' });
    const minutely = launchPlan(report, {
      name: 'sched.shared',
      schedule: { rate: '1m', kickoffTimeInput: 'at' },
      activate: true,
    });
    await a.engine.register([minutely], settings);
    const both = [a.scheduler, b.scheduler];
    const start = Date.UTC(2026, 0, 1);
    // b learns of the schedule at its next sync, and fires with a from then on.
    await advanceTo(clock, both, start + 200 * MINUTE, MINUTE);
    expect(b.scheduler.size).toBe(1);
    // b deactivates: a sees it at its next fire and fires no more.
    await b.engine.deactivateLaunchPlan(lpId('sched.shared'));
    await advanceTo(clock, both, start + 230 * MINUTE, MINUTE);
    expect(a.scheduler.size).toBe(0);
    // b reactivates at 230: both fire again from 231, a after its next sync.
    await b.engine.activateLaunchPlan(lpId('sched.shared'));
    await advanceTo(clock, both, start + 330 * MINUTE, MINUTE);
    expect(a.scheduler.size).toBe(1);
    const fires = await firesOf(a.engine, 'sched.shared');
    const expected = [
      ...Array.from({ length: 200 }, (_, k) => start + (k + 1) * MINUTE),
      ...Array.from({ length: 100 }, (_, k) => start + (231 + k) * MINUTE),
    ];
    expect(fires.map((f) => f.scheduledAt)).toEqual(expected);
    expect(new Set(fires.map((f) => f.name)).size).toBe(300);
    for (const fire of fires)
      expect(fire.name).toBe(scheduledExecutionName(lpId('sched.shared'), new Date(fire.scheduledAt)));
    expect([...a.skipped, ...b.skipped]).toEqual([]);
    await a.engine.stop();
    await b.engine.stop();
  });
});

describe('names and schedule expressions', () => {
  it('derives a valid, deterministic execution name from the launch plan name and the time', () => {
    const id = lpId('demo.stats.nightly');
    const time = new Date(Date.UTC(2026, 0, 1, 3));
    const name = scheduledExecutionName(id, time);
    expect(name).toMatch(/^demo-stats-nightly-20260101t030000-[a-z2-7]{12}$/);
    const otherVersion: idl.core.Identifier = { ...id, version: 'other' };
    expect(scheduledExecutionName(otherVersion, time)).toBe(name);
    expect(scheduledExecutionName(id, new Date(time.getTime() + 1000))).not.toBe(name);
    expect(scheduledExecutionName(lpId('demo.stats.nightly2'), time)).not.toBe(name);
    expect(scheduledExecutionName({ ...id, project: 'other' }, time)).not.toBe(name);
    const long = 'a'.repeat(28);
    const a = scheduledExecutionName(lpId(`${long}.first`), time);
    const b = scheduledExecutionName(lpId(`${long}.second`), time);
    expect(a).not.toBe(b);
    for (const n of [a, b, scheduledExecutionName(lpId('9.lives'), time), scheduledExecutionName(lpId('___'), time)]) {
      expect(n).toMatch(NAME);
    }
    expect(scheduleKey(id)).toBe('flytesnacks/development/demo.stats.nightly');
    expect(scheduleKey({ ...id, org: 'acme' })).toBe('acme:flytesnacks/development/demo.stats.nightly');
  });

  it('reads aliases, time zones, offsets and rates', () => {
    const cron = (schedule: string, offset = '') =>
      parseSchedule(
        create(idl.admin.ScheduleSchema, { ScheduleExpression: { case: 'cronSchedule', value: { schedule, offset } } }),
      );
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const from = Date.UTC(2026, 0, 1, 0, 20); // a Thursday
    expect(iso(cron('@hourly').next(from))).toBe('2026-01-01T01:00:00.000Z');
    expect(iso(cron('@daily').next(from))).toBe('2026-01-02T00:00:00.000Z');
    expect(iso(cron('@weekly').next(from))).toBe('2026-01-04T00:00:00.000Z');
    expect(iso(cron('@monthly').next(from))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(cron('@yearly').next(from))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(cron('@annually').next(from))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(cron('CRON_TZ=America/New_York 0 9 * * MON-FRI').next(from))).toBe('2026-01-01T14:00:00.000Z');
    expect(iso(cron('0 9 * * *', 'PT5M').next(from))).toBe('2026-01-01T09:05:00.000Z');
    expect(iso(cron('0 9 * * *', '-PT30S').next(from))).toBe('2026-01-01T08:59:30.000Z');
    expect(iso(cron('0 0 31 2 *').next(from))).toBeUndefined();
    const tenMinutes = cron('*/10 * * * *');
    expect(tenMinutes.latest(3, from, from + HOUR).map(iso)).toEqual([
      '2026-01-01T01:20:00.000Z',
      '2026-01-01T01:10:00.000Z',
      '2026-01-01T01:00:00.000Z',
    ]);
    expect(tenMinutes.count(from, from + HOUR, 100)).toBe(6);
    const rate = (value: number, unit: idl.admin.FixedRateUnit) =>
      parseSchedule(create(idl.admin.ScheduleSchema, { ScheduleExpression: { case: 'rate', value: { value, unit } } }));
    expect(rate(3, idl.admin.FixedRateUnit.HOUR).next(from)! - from).toBe(3 * HOUR);
    expect(rate(2, idl.admin.FixedRateUnit.DAY).next(from)! - from).toBe(2 * DAY);
    expect(rate(15, idl.admin.FixedRateUnit.MINUTE).latest(2, from, from + HOUR)).toEqual([
      from + HOUR,
      from + 45 * MINUTE,
    ]);
    expect(() => rate(0, idl.admin.FixedRateUnit.MINUTE)).toThrow(InvalidArgumentError);
    expect(() => parseSchedule(create(idl.admin.ScheduleSchema))).toThrow(InvalidArgumentError);
  });
});
