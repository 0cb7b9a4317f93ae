import type { MaintenanceWindow, Weekday } from '../../api/config.js';

const DAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_MS = 86_400_000;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Occurrences of `w` that could contain or follow `at`: the one starting the day before through next week. */
function occurrences(w: MaintenanceWindow, at: Date): { start: number; end: number }[] {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const start = minutes(w.start);
  let end = minutes(w.end);
  if (end <= start) end += 24 * 60;
  const out: { start: number; end: number }[] = [];
  for (let offset = -1; offset <= 7; offset++) {
    const day = midnight + offset * DAY_MS;
    const weekday = DAYS[new Date(day).getUTCDay()];
    if (weekday === undefined || !w.days.includes(weekday)) continue;
    out.push({ start: day + start * 60_000, end: day + end * 60_000 });
  }
  return out;
}

/** The window `at` falls in, with its end, or null. */
export function activeWindow(
  windows: readonly MaintenanceWindow[],
  at: Date,
): { readonly endsAt: Date } | null {
  const t = at.getTime();
  let best: number | null = null;
  for (const w of windows) {
    for (const o of occurrences(w, at)) {
      if (t >= o.start && t < o.end && (best === null || o.end > best)) best = o.end;
    }
  }
  return best === null ? null : { endsAt: new Date(best) };
}

/** When the next window opens after `at` (now, if one is open), or null when none is configured. */
export function nextWindowStart(windows: readonly MaintenanceWindow[], at: Date): Date | null {
  if (activeWindow(windows, at)) return at;
  let best: number | null = null;
  for (const w of windows) {
    for (const o of occurrences(w, at)) {
      if (o.start > at.getTime() && (best === null || o.start < best)) best = o.start;
    }
  }
  return best === null ? null : new Date(best);
}

export interface WaitForWindowOptions {
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
  /** Called once with when the wait will end. */
  readonly onWait?: (opensAt: Date) => void;
  /** Give up if the window does not open within this long. */
  readonly maxWaitMs?: number;
}

export class WindowError extends Error {
  readonly code = 'WINDOW_UNAVAILABLE';

  constructor(message: string) {
    super(message);
    this.name = 'WindowError';
  }
}

/**
 * Resolves inside a maintenance window. Sleeps in steps of at most a minute, re-reading the
 * clock, so a suspended laptop or a clock change does not overshoot.
 */
export async function waitForWindow(
  windows: readonly MaintenanceWindow[],
  options: WaitForWindowOptions = {},
): Promise<void> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const begun = now().getTime();
  const first = nextWindowStart(windows, now());
  if (first === null) {
    throw new WindowError(
      'this migration needs a maintenance window and none is configured; add maintenanceWindows to dbmigrate.json or run with --now and confirm',
    );
  }
  if (first.getTime() > now().getTime()) options.onWait?.(first);
  for (;;) {
    if (options.signal?.aborted)
      throw new WindowError('stopped while waiting for a maintenance window');
    const t = now();
    if (activeWindow(windows, t)) return;
    const opens = nextWindowStart(windows, t);
    if (opens === null) throw new WindowError('no maintenance window is configured');
    if (options.maxWaitMs !== undefined && opens.getTime() - begun > options.maxWaitMs) {
      throw new WindowError(
        `the next maintenance window opens at ${opens.toISOString()}, later than the ${options.maxWaitMs} ms allowed to wait`,
      );
    }
    await sleep(Math.min(60_000, Math.max(10, opens.getTime() - t.getTime())));
  }
}
