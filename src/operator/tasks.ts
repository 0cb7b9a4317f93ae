/**
 * Long steps (a snapshot, a dry-run, an apply) run as tasks owned by this process, keyed by
 * resource UID, generation and step, so a reconcile pass only starts them and reads their
 * outcome. A restarted operator has no tasks: the reconciler then re-derives the state from
 * PostgreSQL and storage and starts the step again (every step is idempotent).
 *
 * Every task gets an AbortSignal: losing the Lease aborts them all, and deleting a resource
 * aborts its own and waits for them, so nothing is written after either.
 *
 * At most `limit` tasks run at once (the operator's --workers), and tasks in one lane (a
 * database) one at a time, first come first served: the rest wait their turn without
 * holding a connection, and a lane that is busy does not hold back the others.
 */
export type TaskState<T> =
  | { readonly state: 'running'; readonly startedAt: number }
  | { readonly state: 'done'; readonly value: T; readonly finishedAt: number }
  | { readonly state: 'failed'; readonly error: Error; readonly finishedAt: number };

/** What a reconcile pass learns about its current step. */
export type StepOutcome<T> =
  | { readonly state: 'pending' }
  | { readonly state: 'skipped' }
  | { readonly state: 'done'; readonly value: T }
  | { readonly state: 'failed'; readonly error: Error };

/** The work of a task; `signal` aborts when the task must stop writing. */
export type TaskWork<T> = (signal: AbortSignal) => Promise<T>;

/** Work with a place in the line: its lane (one task of a lane at a time: a database), its priority. */
export interface LanedWork<T> {
  readonly lane?: string;
  readonly work: TaskWork<T>;
  /**
   * Among waiting tasks, a higher priority goes first (then the oldest): a run's later steps
   * before other runs' first ones, so runs finish one after another instead of all together.
   */
  readonly priority?: number;
}

/** A task waiting for a slot (and its lane) to be free. */
interface Waiting {
  readonly lane: string | null;
  readonly priority: number;
  readonly begin: () => void;
}

interface Running {
  readonly controller: AbortController;
  readonly settled: Promise<void>;
}

/** Told when a task ends: its key, whether it returned or threw, and how long it ran. */
export type TaskFinished = (key: string, outcome: 'done' | 'failed', seconds: number) => void;

export class TaskRunner {
  private readonly tasks = new Map<string, TaskState<unknown>>();
  private readonly running = new Map<string, Running>();
  private readonly waiting: Waiting[] = [];
  private readonly busyLanes = new Set<string>();
  private active = 0;
  private readonly limit: number;

  constructor(
    private readonly onFinished?: TaskFinished,
    options: { readonly limit?: number } = {},
  ) {
    this.limit = Math.max(1, Math.trunc(options.limit ?? Number.POSITIVE_INFINITY));
  }

  /**
   * Starts `work` under `key` unless a task with that key exists, as soon as a slot and its
   * lane are free; `onSettled` runs when it ends. Until then it counts as running (a reconcile
   * pass sees 'pending'), and aborting it takes it out of the line without running it.
   */
  start<T>(
    key: string,
    work: TaskWork<T>,
    onSettled: () => void,
    lane: string | null = null,
    priority = 0,
  ): void {
    if (this.tasks.has(key)) return;
    this.tasks.set(key, { state: 'running', startedAt: Date.now() });
    const controller = new AbortController();
    let startedAt = 0;
    const ran = new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        lane,
        priority,
        // Called from grant(): within start() itself when a slot is free, as before lanes.
        begin: () => {
          controller.signal.removeEventListener('abort', leave);
          startedAt = Date.now();
          let begun: Promise<T>;
          try {
            begun = work(controller.signal);
          } catch (err) {
            begun = Promise.reject(err instanceof Error ? err : new Error(String(err)));
          }
          begun
            .finally(() => {
              this.active--;
              if (lane !== null) this.busyLanes.delete(lane);
              this.grant();
            })
            .then(resolve, reject);
        },
      };
      const leave = (): void => {
        const at = this.waiting.indexOf(entry);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(abortReason(controller.signal));
      };
      controller.signal.addEventListener('abort', leave, { once: true });
      this.waiting.push(entry);
    });
    this.grant();
    const p = ran
      .then(
        (value) => {
          const finishedAt = Date.now();
          this.tasks.set(key, { state: 'done', value, finishedAt });
          this.onFinished?.(key, 'done', (finishedAt - startedAt) / 1000);
        },
        (err: unknown) => {
          const finishedAt = Date.now();
          this.tasks.set(key, {
            state: 'failed',
            error: err instanceof Error ? err : new Error(String(err)),
            finishedAt,
          });
          // A task aborted while waiting never ran: no duration to report.
          if (startedAt > 0) this.onFinished?.(key, 'failed', (finishedAt - startedAt) / 1000);
        },
      )
      .finally(() => {
        if (this.running.get(key)?.controller === controller) this.running.delete(key);
        onSettled();
      });
    this.running.set(key, { controller, settled: p });
  }

  /** Starts waiting tasks while slots are free; those of a busy lane wait on. */
  private grant(): void {
    while (this.active < this.limit) {
      // The highest priority whose lane is free; the oldest among equals (the line is in order).
      let pick = -1;
      for (let i = 0; i < this.waiting.length; i++) {
        const w = this.waiting[i];
        if (w === undefined || (w.lane !== null && this.busyLanes.has(w.lane))) continue;
        if (pick < 0 || w.priority > (this.waiting[pick]?.priority ?? 0)) pick = i;
      }
      if (pick < 0) return;
      const [next] = this.waiting.splice(pick, 1);
      if (next === undefined) return;
      this.active++;
      if (next.lane !== null) this.busyLanes.add(next.lane);
      next.begin();
    }
  }

  /** Tasks waiting for a slot or their lane. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * One step of a reconcile pass: unless a task runs under `key`, `prepare` reads the world
   * and returns the work (or null to skip the step), which starts as a task. While it runs the
   * outcome is 'pending'; once it ended, its value or error is returned once and forgotten.
   */
  async step<T>(
    key: string,
    prepare: () => Promise<TaskWork<T> | LanedWork<T> | null>,
    onSettled: () => void,
  ): Promise<StepOutcome<T>> {
    const task = this.get<T>(key);
    if (!task) {
      const prepared = await prepare();
      if (!prepared) return { state: 'skipped' };
      if (typeof prepared === 'function') this.start(key, prepared, onSettled);
      else this.start(key, prepared.work, onSettled, prepared.lane ?? null, prepared.priority ?? 0);
      return { state: 'pending' };
    }
    if (task.state === 'running') return { state: 'pending' };
    this.clear(key);
    return task.state === 'done'
      ? { state: 'done', value: task.value }
      : { state: 'failed', error: task.error };
  }

  get<T>(key: string): TaskState<T> | undefined {
    return this.tasks.get(key) as TaskState<T> | undefined;
  }

  /** Drops a finished task so its result is read once. */
  clear(key: string): void {
    if (this.tasks.get(key)?.state !== 'running') this.tasks.delete(key);
  }

  /** Whether any task for keys starting with `prefix` (a resource UID) still runs. */
  anyRunning(prefix: string): boolean {
    for (const k of this.running.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Aborts every running task whose key starts with `prefix` ('' for all) and resolves when
   * they have all settled; their outcomes are dropped, since nobody will act on them.
   */
  async cancel(prefix: string, reason: string): Promise<void> {
    const waits: Promise<void>[] = [];
    const keys: string[] = [];
    for (const [key, r] of this.running) {
      if (!key.startsWith(prefix)) continue;
      keys.push(key);
      r.controller.abort(new Error(reason));
      waits.push(r.settled);
    }
    for (const key of this.tasks.keys()) if (key.startsWith(prefix)) keys.push(key);
    await Promise.all(waits);
    // Only what was there when the cancel began, and only if it ended: a task started while
    // we waited (the Lease won back) is someone else's to read.
    for (const key of keys) if (this.tasks.get(key)?.state !== 'running') this.tasks.delete(key);
  }

  /** Waits for running tasks, at most `timeoutMs` (graceful shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((r) => r.settled)),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted before it started');
}

/**
 * Priorities of the long steps, in the order a DatabaseMigration's run takes them: a waiting
 * step of a run that is further along goes first.
 */
export const STEP_PRIORITY = {
  snapshot: 1,
  snapshotVerify: 2,
  dryRun: 3,
  apply: 4,
  postVerify: 5,
} as const;
