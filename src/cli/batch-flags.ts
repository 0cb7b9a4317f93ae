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
 * in flight, and its next run carries on from there.
 */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
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
