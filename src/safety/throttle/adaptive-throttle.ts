/**
 * Pure pacing decisions for long online steps (the batched backfill): how many rows the next
 * batch takes and how long to pause before it, from what the last batch did to the database's
 * other writers. No I/O: the measurements come from `impact-probe.ts`, and tests feed them in.
 *
 * The rule is multiplicative both ways, with hysteresis: one batch that made a probe write
 * wait longer than the target halves the batch and at least doubles the pause (never shorter
 * than the batch itself, so writers get the server half the time); only `calmBatches`
 * batches in a row well under the target (half of it) grow the batch by half and halve the
 * pause, so a passing spike costs seconds, not the rest of the run. A WAL rate over its
 * ceiling lengthens the pause until the cycle's WAL fits under it. Whatever those say, a
 * batch that took longer than `maxBatchMs` is cut to the size that fits, and the pause is
 * never so short that the step works more than `maxDutyCycle` of the time.
 */

export interface ThrottleLimits {
  /**
   * Most a small committed write (the probe) may take over its latency while the step is
   * idle, in ms, while a batch runs. Above it, the step backs off.
   */
  readonly maxAddedLatencyMs: number;
  /** Ceiling of the server's WAL rate (all sessions), bytes per second; null: no ceiling. */
  readonly maxWalBytesPerSecond: number | null;
  readonly minBatchSize: number;
  /** The batch size the step starts with and never exceeds. */
  readonly maxBatchSize: number;
  readonly minPauseMs: number;
  readonly maxPauseMs: number;
  /** Batches in a row well under the target before the step speeds up. */
  readonly calmBatches: number;
  /**
   * Longest a batch should take, ms: a longer one is cut to the size that fits. A batch's WAL
   * and its row locks build up for as long as it runs, and every writer committing meanwhile
   * flushes or waits for them.
   */
  readonly maxBatchMs: number;
  /** Share of the time the step may work (batch / (batch + pause)), above 0, at most 1. */
  readonly maxDutyCycle: number;
}

export const THROTTLE_DEFAULTS = {
  /**
   * The brief's budget is 20 ms at p99 for a whole change; the probe samples a few writes a
   * batch, so the step keeps half of it.
   */
  maxAddedLatencyMs: 10,
  maxWalBytesPerSecond: null,
  minBatchSize: 50,
  maxBatchSize: 1000,
  minPauseMs: 10,
  maxPauseMs: 2000,
  calmBatches: 3,
  maxBatchMs: 20,
  /**
   * Half: at 1M rows (bench/online) a backfill working two thirds of the time with batches
   * under 10 ms of added latency still put writers' p99 20 ms over their median.
   */
  maxDutyCycle: 0.5,
} as const satisfies ThrottleLimits;

export interface Pace {
  readonly batchSize: number;
  /** Pause before the next batch, ms. */
  readonly pauseMs: number;
}

export interface ThrottleState extends Pace {
  /** Batches in a row well under the target since the last change of pace. */
  readonly calm: number;
}

/** What one batch cycle measured. */
export interface BatchObservation {
  /** The batch transaction, first statement to COMMIT returned, ms. */
  readonly batchMs: number;
  /**
   * Longest probe write during the batch minus the probe's idle latency, ms; null when no
   * probe ran (the pace then holds, unless the WAL rate says otherwise).
   */
  readonly addedLatencyMs: number | null;
  /** The server's WAL bytes per second over the last cycle (batch and pause); null: unknown. */
  readonly walBytesPerSecond: number | null;
}

export type PaceReason = 'writers-slowed' | 'wal-rate' | 'batch-too-long' | 'headroom' | 'steady';

export interface PaceDecision {
  readonly state: ThrottleState;
  readonly reason: PaceReason;
}

/** Limits from what the caller set, checked; anything unset keeps THROTTLE_DEFAULTS. */
export function throttleLimits(given: Partial<ThrottleLimits> = {}): ThrottleLimits {
  const limits: ThrottleLimits = { ...THROTTLE_DEFAULTS, ...given };
  const positive = (name: keyof ThrottleLimits, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number`);
  };
  positive('maxAddedLatencyMs', limits.maxAddedLatencyMs);
  positive('minBatchSize', limits.minBatchSize);
  positive('maxPauseMs', limits.maxPauseMs);
  positive('maxBatchMs', limits.maxBatchMs);
  if (!(limits.maxDutyCycle > 0 && limits.maxDutyCycle <= 1))
    throw new RangeError('maxDutyCycle must be above 0 and at most 1');
  if (limits.maxWalBytesPerSecond !== null)
    positive('maxWalBytesPerSecond', limits.maxWalBytesPerSecond);
  if (!Number.isInteger(limits.calmBatches) || limits.calmBatches < 1)
    throw new RangeError('calmBatches must be a whole number of at least 1');
  if (!Number.isFinite(limits.minPauseMs) || limits.minPauseMs < 0)
    throw new RangeError('minPauseMs must not be negative');
  return {
    ...limits,
    // A batch size given below the floor is a smaller ceiling, not an error.
    minBatchSize: Math.min(limits.minBatchSize, limits.maxBatchSize),
    maxPauseMs: Math.max(limits.maxPauseMs, limits.minPauseMs),
  };
}

/** The pace a step starts at: its full batch, its shortest pause. */
export function initialThrottleState(limits: ThrottleLimits): ThrottleState {
  return { batchSize: limits.maxBatchSize, pauseMs: limits.minPauseMs, calm: 0 };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** The pace after one batch, and why: the rules below, then the batch-time and duty limits. */
export function nextPace(
  state: ThrottleState,
  observed: BatchObservation,
  limits: ThrottleLimits,
): PaceDecision {
  const d = paceByImpact(state, observed, limits);
  let { batchSize, pauseMs } = d.state;
  let reason = d.reason;
  if (observed.batchMs > limits.maxBatchMs) {
    const fits = Math.max(
      limits.minBatchSize,
      Math.floor((state.batchSize * limits.maxBatchMs) / observed.batchMs),
    );
    if (fits < batchSize) {
      batchSize = fits;
      if (reason === 'steady' || reason === 'headroom') reason = 'batch-too-long';
    }
  }
  const floor = (observed.batchMs * (1 - limits.maxDutyCycle)) / limits.maxDutyCycle;
  pauseMs = Math.round(Math.min(limits.maxPauseMs, Math.max(pauseMs, floor)));
  const calm = reason === 'batch-too-long' ? 0 : d.state.calm;
  return { reason, state: { batchSize, pauseMs, calm } };
}

/** Slowed writers, the WAL ceiling, or calm: the pace the measurements ask for. */
function paceByImpact(
  state: ThrottleState,
  observed: BatchObservation,
  limits: ThrottleLimits,
): PaceDecision {
  const pause = (ms: number) => Math.round(clamp(ms, limits.minPauseMs, limits.maxPauseMs));
  const batch = (n: number) => Math.round(clamp(n, limits.minBatchSize, limits.maxBatchSize));
  const added = observed.addedLatencyMs;
  if (added !== null && added > limits.maxAddedLatencyMs) {
    return {
      reason: 'writers-slowed',
      state: {
        batchSize: batch(state.batchSize / 2),
        // At least as long as the batch: writers get the server to themselves half the time.
        pauseMs: pause(Math.max(state.pauseMs * 2, observed.batchMs, 1)),
        calm: 0,
      },
    };
  }
  const wal = observed.walBytesPerSecond;
  const ceiling = limits.maxWalBytesPerSecond;
  if (wal !== null && ceiling !== null && wal > ceiling) {
    // The same bytes over a cycle long enough to stay under the ceiling.
    const cycleMs = observed.batchMs + state.pauseMs;
    const wanted = (cycleMs * wal) / ceiling - observed.batchMs;
    return {
      reason: 'wal-rate',
      state: { ...state, pauseMs: pause(Math.max(wanted, state.pauseMs + 1)), calm: 0 },
    };
  }
  const walRoom = wal === null || ceiling === null || wal <= ceiling * 0.8;
  if (added !== null && added <= limits.maxAddedLatencyMs / 2 && walRoom) {
    const calm = state.calm + 1;
    if (calm < limits.calmBatches) return { reason: 'steady', state: { ...state, calm } };
    const grown: ThrottleState = {
      batchSize: batch(Math.max(state.batchSize * 1.5, state.batchSize + 1)),
      pauseMs: pause(state.pauseMs * 0.5),
      calm: 0,
    };
    const changed = grown.batchSize !== state.batchSize || grown.pauseMs !== state.pauseMs;
    return changed
      ? { reason: 'headroom', state: grown }
      : { reason: 'steady', state: { ...state, calm: 0 } };
  }
  return { reason: 'steady', state: { ...state, calm: 0 } };
}

/**
 * The probe's latency while the step is idle: the median of the last `size` idle probes, so
 * one slow write of the application's own does not move it.
 */
export class IdleLatency {
  private readonly samples: number[] = [];

  constructor(private readonly size = 21) {}

  add(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > this.size) this.samples.shift();
  }

  /** null until the first idle probe. */
  median(): number | null {
    if (this.samples.length === 0) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  }
}

/** Bytes between two LSNs as PostgreSQL prints them (`16/B374D848`); null if either is not one. */
export function lsnBytes(from: string, to: string): number | null {
  const parse = (lsn: string): bigint | null => {
    const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
    if (!m) return null;
    return (BigInt(`0x${m[1] ?? '0'}`) << 32n) + BigInt(`0x${m[2] ?? '0'}`);
  };
  const a = parse(from);
  const b = parse(to);
  return a === null || b === null ? null : Number(b - a);
}
