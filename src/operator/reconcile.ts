/**
 * The reconcile contract, in controller-runtime's shape: a reconciler is asked about one object
 * and answers what to do next. "Wait" is a requeue, never a sleep; an error retries with
 * backoff unless it is terminal.
 */

/** One object to look at. */
export interface Request {
  readonly namespace: string;
  readonly name: string;
}

/**
 * What to do next. Unlike a bare delay, where 0 would be ambiguous, a result says outright
 * whether to look again: `done` waits for the next watch event or resync.
 */
export type Result =
  { readonly requeue: false } | { readonly requeue: true; readonly afterMs: number };

export const done: Result = { requeue: false };

export function requeueNow(): Result {
  return { requeue: true, afterMs: 0 };
}

export function requeueAfter(afterMs: number): Result {
  return { requeue: true, afterMs: Math.max(0, Math.round(afterMs)) };
}

export interface Reconciler {
  reconcile(request: Request): Promise<Result>;
}

/**
 * An error retrying cannot fix (controller-runtime's TerminalError): it is logged and the
 * object waits for a change, instead of being retried with backoff forever.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}
