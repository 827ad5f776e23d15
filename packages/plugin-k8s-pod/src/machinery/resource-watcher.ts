// A shared informer for one kind of object in one namespace of one cluster: list, then watch from the list's
// resource version, relisting on 410 Gone, on errors (after a delay) and periodically (resync). Plugins read
// objects from its cache and are told when one changes; until it has synced they fall back to reading the API.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { K8sObject, ResourceApi } from './resource-api.js';

/** Options of a {@link ResourceWatcher}. */
export interface ResourceWatcherOptions {
  /** Label selector of the objects watched (the plugin's own objects). */
  readonly labelSelector: string;
  /** Full relist and notification of every subscriber this often (ms). */
  readonly resyncMs: number;
  /** Delay before reconnecting after a failed list or watch (ms). */
  readonly retryMs: number;
  /** Reports list/watch failures (they are retried). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Watches one namespace and caches its objects by name. */
export class ResourceWatcher<T extends K8sObject> {
  private readonly cache = new Map<string, T>();
  private readonly listeners = new Map<string, () => void>();
  private readonly watch: Watch;
  private resourceVersion = '';
  private synced = false;
  private closed = false;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Bumped whenever the current watch is given up, so that its late callbacks are ignored. */
  private generation = 0;

  /**
   * @param kubeConfig the cluster
   * @param api operations on the kind watched
   * @param namespace the namespace watched
   * @param options selector and timings
   */
  constructor(
    kubeConfig: KubeConfig,
    private readonly api: ResourceApi<T>,
    private readonly namespace: string,
    private readonly options: ResourceWatcherOptions,
  ) {
    this.watch = new Watch(kubeConfig);
    void this.relist();
    this.resyncTimer = setInterval(() => void this.resync(), options.resyncMs);
    this.resyncTimer.unref();
  }

  /** Whether the cache reflects a list (and the watch since). */
  get isSynced(): boolean {
    return this.synced;
  }

  /** The cached object, `undefined` if the cache has none (or has not synced). */
  cached(name: string): T | undefined {
    return this.synced ? this.cache.get(name) : undefined;
  }

  /** Calls `listener` whenever the object named `name` changes (replacing an earlier listener of that name). */
  subscribe(name: string, listener: () => void): void {
    this.listeners.set(name, listener);
  }

  /** Stops notifying about `name`. */
  unsubscribe(name: string): void {
    this.listeners.delete(name);
  }

  /** Stops watching. */
  close(): void {
    this.closed = true;
    this.generation++;
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
    this.abort?.abort();
    this.listeners.clear();
  }

  private notify(name: string): void {
    this.listeners.get(name)?.();
  }

  private async resync(): Promise<void> {
    if (this.closed) return;
    this.generation++;
    this.abort?.abort();
    await this.relist();
    for (const listener of [...this.listeners.values()]) listener();
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    try {
      const list = await this.api.list(this.namespace, this.options.labelSelector);
      if (this.closed) return;
      const seen = new Set<string>();
      for (const item of list.items) {
        const name = item.metadata?.name;
        if (name === undefined) continue;
        seen.add(name);
        const before = this.cache.get(name);
        this.cache.set(name, item);
        if (before?.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.notify(name);
      }
      for (const name of [...this.cache.keys()]) {
        if (!seen.has(name)) {
          this.cache.delete(name);
          this.notify(name);
        }
      }
      this.resourceVersion = list.resourceVersion;
      this.synced = true;
      await this.startWatch();
    } catch (error) {
      this.retry(error, true);
    }
  }

  private async startWatch(): Promise<void> {
    if (this.closed) return;
    let relist = false;
    const generation = ++this.generation;
    const controller = await this.watch.watch(
      this.api.watchPath(this.namespace),
      { labelSelector: this.options.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (type: string, object: unknown) => {
        if (generation !== this.generation) return;
        if (type === 'ERROR') {
          // 410 Gone (expired resource version) and other errors: start over from a list.
          relist = true;
          return;
        }
        const item = this.api.fromWatch(object);
        const rv = item.metadata?.resourceVersion;
        if (rv !== undefined && rv !== '') this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        const name = item.metadata?.name;
        if (name === undefined) return;
        if (type === 'DELETED') this.cache.delete(name);
        else this.cache.set(name, item);
        this.notify(name);
      },
      (error: unknown) => {
        if (this.closed || generation !== this.generation) return;
        if (error !== null && error !== undefined) this.retry(error, true);
        else if (relist) void this.relist();
        else this.retry(undefined, false);
      },
    );
    if (this.closed || generation !== this.generation) controller.abort();
    else this.abort = controller;
  }

  private retry(error: unknown, relist: boolean): void {
    if (this.closed) return;
    if (error !== undefined) this.options.onError?.(error);
    if (relist) this.synced = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => void (relist ? this.relist() : this.startWatch()),
      error === undefined ? 0 : this.options.retryMs,
    );
    this.timer.unref();
  }
}
