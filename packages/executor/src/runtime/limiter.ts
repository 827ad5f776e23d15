// Limiter: at most `concurrency` jobs at once, the others started in the order they came. The engine runs one
// per plugin `handle` and one per in-process function, so a job that can start at once costs no more than
// calling it: no queue entry, no extra promise, no events.

/** Runs asynchronous jobs with a concurrency limit, first come first served. */
export class Limiter {
  readonly #concurrency: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #head = 0;
  #idle: (() => void)[] = [];

  /**
   * @param concurrency largest number of jobs running at once: a positive integer, or Infinity
   * @param what the setting it comes from, named in the error of a bad value
   */
  constructor(concurrency: number, what = 'concurrency') {
    if (concurrency !== Infinity && (!Number.isInteger(concurrency) || concurrency < 1)) {
      throw new RangeError(`${what} must be a positive integer or Infinity, not ${concurrency}`);
    }
    this.#concurrency = concurrency;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * Takes a free slot at once, if there is one and nobody waits for one: the caller runs its job and must then
   * `release` (in a `finally`).
   */
  tryAcquire(): boolean {
    if (this.#active >= this.#concurrency || this.waiting > 0) return false;
    this.#active++;
    return true;
  }

  /** Gives back a slot taken with {@link tryAcquire}. */
  release(): void {
    this.#done();
  }

  /** Runs `job` when a slot is free; settles as it does. A job that throws synchronously rejects. */
  run<T>(job: () => Promise<T> | T): Promise<T> {
    if (this.#active < this.#concurrency) return this.#start(job);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push(() => {
        this.#start(job).then(resolve, reject);
      });
    });
  }

  /** Resolves once no job runs or waits. */
  onIdle(): Promise<void> {
    if (this.#active === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #start<T>(job: () => Promise<T> | T): Promise<T> {
    this.#active++;
    let result: Promise<T>;
    try {
      result = Promise.resolve(job());
    } catch (error) {
      result = Promise.reject(error as Error);
    }
    return result.finally(() => this.#done());
  }

  #done(): void {
    this.#active--;
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as unknown as () => void;
      // Compact now and then, so that a long-lived limiter does not keep a growing array.
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next();
      return;
    }
    if (this.#active === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}
