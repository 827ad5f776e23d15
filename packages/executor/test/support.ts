// Test support: an engine on the in-memory adapters, with a manual clock when a test drives time.
import { idl, type Clock, type TaskPlugin } from '@flyte-ts/core';
import { createEngine, type Engine, type EngineConfig, type FunctionTask } from '@flyte-ts/executor';
import { MemoryBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';

export const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;

export interface TestEngine {
  readonly engine: Engine;
  readonly store: MemoryStore;
  readonly blob: MemoryBlobStore;
  readonly catalog: MemoryCatalog;
}

/** An engine on fresh memory adapters (or the given ones), started. */
export async function startEngine(
  options: {
    readonly store?: MemoryStore;
    readonly blob?: MemoryBlobStore;
    readonly catalog?: MemoryCatalog;
    readonly clock?: Clock;
    readonly plugins?: readonly TaskPlugin[];
    readonly config?: EngineConfig;
    readonly tasks?: readonly FunctionTask[];
  } = {},
): Promise<TestEngine> {
  const store = options.store ?? new MemoryStore();
  const blob = options.blob ?? new MemoryBlobStore();
  const catalog = options.catalog ?? new MemoryCatalog();
  const engine = createEngine({
    store,
    blob,
    catalog,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.plugins === undefined ? {} : { plugins: options.plugins }),
    ...(options.tasks === undefined ? {} : { tasks: options.tasks }),
    config: { retryBackoff: { baseMs: 0, maxMs: 0 }, ...options.config },
  });
  await engine.start();
  return { engine, store, blob, catalog };
}

/** An execution id in the test project. */
export function execId(name: string): idl.core.WorkflowExecutionIdentifier {
  return {
    $typeName: 'flyteidl.core.WorkflowExecutionIdentifier',
    project: settings.project,
    domain: settings.domain,
    name,
    org: '',
  };
}

/** Phase name of a workflow execution. */
export function phaseOf(execution: idl.admin.Execution | undefined): string {
  return idl.core.WorkflowExecution_Phase[execution?.closure?.phase ?? 0] ?? '?';
}

/** Phase name of a node execution. */
export function nodePhase(node: idl.admin.NodeExecution | undefined): string {
  return idl.core.NodeExecution_Phase[node?.closure?.phase ?? 0] ?? '?';
}

/** A clock tests move by hand: sleeps resolve when `advance` passes their deadline. */
export class ManualClock implements Clock {
  private time: number;
  private sleepers: { until: number; resolve: () => void }[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const entry = { until: this.time + Math.max(0, ms), resolve };
      this.sleepers.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward, waking due sleepers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const due = this.sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until)[0];
      if (due === undefined) break;
      this.time = Math.max(this.time, due.until);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.resolve();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Number of pending sleeps. */
  get pending(): number {
    return this.sleepers.length;
  }
}

/** Lets pending promise callbacks and immediates run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A view of `store` whose members are overridden by `overrides` (a `commit` that injects a write, a capability
 * hidden as `undefined`); its other members are the store's own, bound to it.
 */
export function storeWith<S extends object>(store: S, overrides: Partial<Record<keyof S, unknown>>): S {
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof S];
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}
