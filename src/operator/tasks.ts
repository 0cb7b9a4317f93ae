/**
 * Long steps (a snapshot, a dry-run, an apply) run as tasks owned by this process, keyed by
 * resource UID, generation and step, so a reconcile pass only starts them and reads their
 * outcome. A restarted operator has no tasks: the reconciler then re-derives the state from
 * PostgreSQL and storage and starts the step again (every step is idempotent).
 *
 * Every task gets an AbortSignal: losing the Lease aborts them all, and deleting a resource
 * aborts its own and waits for them, so nothing is written after either.
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

interface Running {
  readonly controller: AbortController;
  readonly settled: Promise<void>;
}

/** Told when a task ends: its key, whether it returned or threw, and how long it ran. */
export type TaskFinished = (key: string, outcome: 'done' | 'failed', seconds: number) => void;

export class TaskRunner {
  private readonly tasks = new Map<string, TaskState<unknown>>();
  private readonly running = new Map<string, Running>();

  constructor(private readonly onFinished?: TaskFinished) {}

  /** Starts `work` under `key` unless a task with that key exists; `onSettled` runs when it ends. */
  start<T>(key: string, work: TaskWork<T>, onSettled: () => void): void {
    if (this.tasks.has(key)) return;
    const startedAt = Date.now();
    this.tasks.set(key, { state: 'running', startedAt });
    const controller = new AbortController();
    let begun: Promise<T>;
    try {
      begun = work(controller.signal);
    } catch (err) {
      begun = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const p = begun
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
          this.onFinished?.(key, 'failed', (finishedAt - startedAt) / 1000);
        },
      )
      .finally(() => {
        if (this.running.get(key)?.controller === controller) this.running.delete(key);
        onSettled();
      });
    this.running.set(key, { controller, settled: p });
  }

  /**
   * One step of a reconcile pass: unless a task runs under `key`, `prepare` reads the world
   * and returns the work (or null to skip the step), which starts as a task. While it runs the
   * outcome is 'pending'; once it ended, its value or error is returned once and forgotten.
   */
  async step<T>(
    key: string,
    prepare: () => Promise<TaskWork<T> | null>,
    onSettled: () => void,
  ): Promise<StepOutcome<T>> {
    const task = this.get<T>(key);
    if (!task) {
      const work = await prepare();
      if (!work) return { state: 'skipped' };
      this.start(key, work, onSettled);
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
