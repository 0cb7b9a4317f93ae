/**
 * A keyed work queue in the style of client-go's rate-limited queue: a key is queued at most
 * once, never processed by two workers at once (a key added while it is processed is
 * re-queued when that processing ends), failures back off per key exponentially, and an
 * overall token bucket bounds how fast keys are handed out.
 */
export interface WorkQueueOptions {
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Overall hand-out rate (keys per second) and burst. */
  readonly ratePerSecond?: number;
  readonly burst?: number;
  readonly now?: () => number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiters: ((key: string | null) => void)[] = [];
  private tokens: number;
  private lastRefill: number;
  private shuttingDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(options: WorkQueueOptions = {}) {
    this.base = options.baseDelayMs ?? 200;
    this.max = options.maxDelayMs ?? 60_000;
    this.rate = options.ratePerSecond ?? 20;
    this.burst = options.burst ?? 50;
    this.now = options.now ?? Date.now;
    this.tokens = this.burst;
    this.lastRefill = this.now();
  }

  get length(): number {
    return this.ready.length;
  }

  /** Queues `key` now (deduplicated). */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.ready.push(key);
  }

  /** Queues `key` after `delayMs` (a requeue: "check again later"). An earlier timer wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    if (this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Requeues after the key's next backoff delay: base·2^failures, capped. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets a key's failures after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process (waiting for one and for the rate limiter), or null after shutDown. */
  async get(): Promise<string | null> {
    await this.takeToken();
    if (this.shuttingDown) return null;
    const key = this.ready.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return key;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks processing of `key` finished; a key added meanwhile is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirtyWhileProcessing.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters) w(null);
    this.waiters = [];
  }

  private async takeToken(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((now - this.lastRefill) / 1000) * this.rate,
      );
      this.lastRefill = now;
      if (this.tokens >= 1 || this.shuttingDown) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.rate) * 1000)));
    }
  }
}
