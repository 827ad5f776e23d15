// Engines sharing a Store in one process: a terminate or a signal sent to an engine that does not drive the
// execution reaches the driver through the MemoryStore's in-process notices (intervals of hours: nothing else
// could deliver them in time), and, for a Store without notifications, through polling at short intervals.
import type { Store } from '@flyte-ts/core';
import { MemoryStore } from '@flyte-ts/store-memory';
import { crossEngineSuite, HOURS } from './cross-engine.js';

/** The Store without its `notifications` capability (what a Store lacking it looks like to an engine). */
function withoutNotifications(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'notifications') return undefined;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const memory = new MemoryStore();
crossEngineSuite('engines sharing a MemoryStore in one process (in-process notices)', {
  store: async () => memory,
  intervals: HOURS,
  notices: true,
});

const hidden = withoutNotifications(new MemoryStore());
crossEngineSuite('engines sharing a Store without notifications (polling at short intervals)', {
  store: async () => hidden,
  intervals: { leases: { ...HOURS.leases, pollIntervalMs: 20 }, pollInterval: { baseMs: 20, maxMs: 20 } },
  notices: false,
});
