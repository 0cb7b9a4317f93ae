// Latency samples from the load worker and what the report reads from them: percentiles of
// the operations scheduled inside a time window.

export type OpKind = 'insert' | 'update' | 'read';

/** Columnar samples: one entry per operation, in the order they were scheduled. */
export interface Samples {
  /** Absolute ms (performance.timeOrigin + performance.now()) the operation was due. */
  readonly due: Float64Array;
  /** From due to completion, ms: includes waiting behind earlier operations (no coordinated omission). */
  readonly latency: Float64Array;
  /** From the moment a connection took it to completion, ms (NaN if never sent). */
  readonly service: Float64Array;
  /** 0 insert, 1 update, 2 read. */
  readonly kind: Uint8Array;
  /** 1 when the operation failed. */
  readonly failed: Uint8Array;
}

export const KIND_CODE: Readonly<Record<OpKind, number>> = { insert: 0, update: 1, read: 2 };

export interface LatencySummary {
  readonly count: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Service time (a connection took it → done): what the database itself added. */
  readonly serviceP99: number;
  readonly serviceMax: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Operations of `kinds` due in [from, to). */
export function summarise(
  samples: Samples,
  kinds: readonly OpKind[],
  from: number,
  to: number,
): LatencySummary {
  const codes = new Set(kinds.map((k) => KIND_CODE[k]));
  const picked: number[] = [];
  const service: number[] = [];
  let failed = 0;
  for (let i = 0; i < samples.due.length; i++) {
    const due = samples.due[i] ?? 0;
    if (due < from || due >= to || !codes.has(samples.kind[i] ?? -1)) continue;
    if (samples.failed[i] === 1) failed++;
    picked.push(samples.latency[i] ?? 0);
    const sv = samples.service[i] ?? Number.NaN;
    if (!Number.isNaN(sv)) service.push(sv);
  }
  const sorted = Float64Array.from(picked).sort();
  const serviceSorted = Float64Array.from(service).sort();
  return {
    count: sorted.length,
    failed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
    serviceP99: percentile(serviceSorted, 0.99),
    serviceMax:
      serviceSorted.length > 0
        ? (serviceSorted[serviceSorted.length - 1] ?? Number.NaN)
        : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  return percentile(sorted, 0.5);
}

/**
 * The longest latency of the operations of `kinds` due in each consecutive `width`-ms window of
 * [from, to) that has any: what a window as long as a short DDL sees with no DDL at all.
 */
export function windowMaxima(
  samples: Samples,
  kinds: readonly OpKind[],
  from: number,
  to: number,
  width: number,
): number[] {
  if (!(width > 0)) return [];
  const codes = new Set(kinds.map((k) => KIND_CODE[k]));
  const maxima = new Map<number, number>();
  for (let i = 0; i < samples.due.length; i++) {
    const due = samples.due[i] ?? 0;
    if (due < from || due >= to || !codes.has(samples.kind[i] ?? -1)) continue;
    const slot = Math.floor((due - from) / width);
    if ((slot + 1) * width > to - from) continue;
    maxima.set(slot, Math.max(maxima.get(slot) ?? 0, samples.latency[i] ?? 0));
  }
  return [...maxima.values()];
}
