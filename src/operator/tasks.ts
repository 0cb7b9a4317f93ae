/**
 * Long steps (a snapshot, a dry-run, an apply) run as tasks owned by this process, keyed by
 * resource UID, generation and step, so a reconcile pass only starts them and reads their
 * outcome. A restarted operator has no tasks: the reconciler then re-derives the state from
 * PostgreSQL and storage and starts the step again (every step is idempotent).
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

export class TaskRunner {
  private readonly tasks = new Map<string, TaskState<unknown>>();
  private readonly running = new Set<Promise<unknown>>();

  /** Starts `work` under `key` unless a task with that key exists; `onSettled` runs when it ends. */
  start<T>(key: string, work: () => Promise<T>, onSettled: () => void): void {
    if (this.tasks.has(key)) return;
    this.tasks.set(key, { state: 'running', startedAt: Date.now() });
    const p = work().then(
      (value) => {
        this.tasks.set(key, { state: 'done', value, finishedAt: Date.now() });
      },
      (err: unknown) => {
        this.tasks.set(key, {
          state: 'failed',
          error: err instanceof Error ? err : new Error(String(err)),
          finishedAt: Date.now(),
        });
      },
    );
    this.running.add(p);
    void p.finally(() => {
      this.running.delete(p);
      onSettled();
    });
  }

  /**
   * One step of a reconcile pass: unless a task runs under `key`, `prepare` reads the world
   * and returns the work (or null to skip the step), which starts as a task. While it runs the
   * outcome is 'pending'; once it ended, its value or error is returned once and forgotten.
   */
  async step<T>(
    key: string,
    prepare: () => Promise<(() => Promise<T>) | null>,
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
    for (const [k, t] of this.tasks) if (k.startsWith(prefix) && t.state === 'running') return true;
    return false;
  }

  /** Waits for running tasks, at most `timeoutMs` (graceful shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]);
  }
}
