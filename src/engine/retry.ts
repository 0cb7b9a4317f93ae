/** SQLSTATE 55P03: lock_timeout expired (or NOWAIT failed); the statement changed nothing. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** SQLSTATE 57014: the statement was cancelled (pg_cancel_backend, statement_timeout). */
export const QUERY_CANCELED = '57014';

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 10_000 };

/**
 * "Full jitter" exponential backoff: a random delay in [0, min(cap, base·2^attempt)), so runners
 * retrying against the same busy table do not come back in lock-step. attempt is 0-based.
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export function sqlStateOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}
