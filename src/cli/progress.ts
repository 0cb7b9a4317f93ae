import { formatBytes } from '../safety/snapshot/format-bytes.js';

/**
 * Progress of long work (snapshot dump and verify, backfill, archive) on a terminal. Commands
 * always report; nothing is drawn unless src/cli/terminal.ts installed a renderer, which it does
 * only when stdout and stderr are terminals and --json was not asked for.
 */
export interface Progress {
  /** Replaces the line's text. */
  update(text: string): void;
  /** Ends the line as done, with its final text. */
  succeed(text?: string): void;
  /** Ends the line as failed. */
  fail(text?: string): void;
}

const SILENT: Progress = {
  update: () => undefined,
  succeed: () => undefined,
  fail: () => undefined,
};

let renderer: ((text: string) => Progress) | null = null;

export function setProgressRenderer(render: ((text: string) => Progress) | null): void {
  renderer = render;
}

/** Whether progress is drawn at all: callers skip work (polling the server) that only feeds it. */
export function progressShown(): boolean {
  return renderer !== null;
}

export function startProgress(text: string): Progress {
  return renderer?.(text) ?? SILENT;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function duration(seconds: number): string {
  if (seconds < 60) return `${String(Math.max(1, Math.round(seconds)))} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${String(m)} min ${String(Math.round(seconds % 60))} s`;
  return `${String(Math.floor(m / 60))} h ${String(m % 60)} min`;
}

/**
 * `12.3k of 300k rows, 4.1k rows/s, about 1 min 10 s left`: what is done, the rate since
 * `startedMs`, and an estimate once there is a rate and a total. Pure.
 */
export function rateText(
  done: number,
  total: number | null,
  unit: string,
  startedMs: number,
  nowMs: number,
): string {
  const seconds = (nowMs - startedMs) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const parts = [
    total === null ? `${compact(done)} ${unit}` : `${compact(done)} of ${compact(total)} ${unit}`,
  ];
  if (seconds >= 1 && done > 0) parts.push(`${compact(rate)} ${unit}/s`);
  if (total !== null && rate > 0 && seconds >= 1 && done < total)
    parts.push(`about ${duration((total - done) / rate)} left`);
  return parts.join(', ');
}

/** `12.0 MiB (3.1 MiB/s)`: bytes so far and their rate since `startedMs`. Pure. */
export function bytesText(bytes: number, startedMs: number, nowMs: number): string {
  return `${formatBytes(bytes)} (${formatBytes((bytes / Math.max(1, nowMs - startedMs)) * 1000)}/s)`;
}

/** `0003 name, statement 2 of 5`: the statement an observer was told is starting. Pure. */
export function statementText(event: {
  readonly migration: { readonly id: string; readonly name: string };
  readonly index: number;
  readonly total: number;
}): string {
  return `${event.migration.id} ${event.migration.name}, statement ${String(event.index + 1)} of ${String(event.total)}`;
}
