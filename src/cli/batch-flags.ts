import { parseDurationMs } from '../engine/duration.js';
import { UsageError } from './usage-error.js';

/** `--batch-size` and `--throttle` of the batched commands (backfill, archive). */
export function batchFlags(
  values: { 'batch-size'?: string | undefined; throttle?: string | undefined },
  defaults: { batchSize: number; throttle: string },
): { batchSize: number; throttleMs: number } {
  const batchSize = Number(values['batch-size'] ?? String(defaults.batchSize));
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new UsageError('--batch-size must be a positive whole number');
  const throttleMs = parseDurationMs(values.throttle ?? defaults.throttle);
  if (throttleMs === null)
    throw new UsageError(`--throttle must be a duration such as ${defaults.throttle}`);
  return { batchSize, throttleMs };
}

/**
 * Runs `work` with a signal that SIGINT/SIGTERM abort: a batched command stops after the batch
 * in flight, apply and rollback cancel the statement in progress, and the next run carries on.
 */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // The reason is what the engine reports (RUN_STOPPED); a second Ctrl-C kills at once.
  const stop = (name: NodeJS.Signals): void => {
    controller.abort(`interrupted (${name})`);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** `16MB`, `512kB`, `1GB` or a number of bytes (PostgreSQL's 1024-based units); null if not one. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) return null;
  const bytes = Number(m[1]) * unit;
  return bytes > 0 ? Math.round(bytes) : null;
}
