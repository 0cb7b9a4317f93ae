// Latency percentiles and EXPLAIN text helpers for the doc-server read-path benchmark.
import type pg from 'pg';

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly n: number;
}

/** Nearest-rank percentiles (no interpolation: with 50 samples p99 is the maximum). */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ??
    Number.NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), n: sorted.length };
}

export function fmt(msValue: number): string {
  if (!Number.isFinite(msValue)) return '–';
  if (msValue >= 100) return msValue.toFixed(0);
  if (msValue >= 10) return msValue.toFixed(1);
  return msValue.toFixed(2);
}

export function triple(p: Percentiles | undefined): string {
  return p ? `${fmt(p.p50)} / ${fmt(p.p95)} / ${fmt(p.p99)}` : '–';
}

export interface RecordedQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

/**
 * A client that records every query the read path sends (text and parameters) and passes it
 * on, so the statement that really ran can be replayed under EXPLAIN, with the same session
 * settings (set_config calls) before it.
 */
export function recordingClient(
  client: pg.PoolClient,
  log: RecordedQuery[],
): pg.ClientBase & { readonly recorded: RecordedQuery[] } {
  const query = async (config: unknown, values?: unknown): Promise<unknown> => {
    // A text, or a named statement's config ({ name, text, values }).
    const named =
      typeof config === 'object' && config !== null && 'text' in config
        ? (config as { text: unknown; values?: unknown })
        : null;
    const text = named ? named.text : config;
    if (typeof text !== 'string') throw new Error('recordingClient: only text queries');
    const given = named ? named.values : values;
    const params = Array.isArray(given) ? (given as unknown[]) : [];
    log.push({ text, values: params });
    return client.query(text, params);
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query') return query;
      if (prop === 'recorded') return log;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as unknown as pg.ClientBase & { readonly recorded: RecordedQuery[] };
}

export interface ExplainSummary {
  readonly top: string;
  readonly scan: string;
  readonly executionMs: number;
  readonly text: string;
}

/** Top node, first scan node and execution time of a text-format EXPLAIN ANALYZE. */
export function summarizePlan(lines: readonly string[]): ExplainSummary {
  const node = (line: string): string =>
    line
      .replace(/^\s*(->\s*)?/, '')
      .replace(/\s*\(cost=.*$/, '')
      .trim();
  const top = node(lines[0] ?? '');
  // The scan that reads documents, not a Subquery/CTE scan over an inner result.
  const scanLine = lines.find(
    (l) => /Scan/.test(l) && /cost=/.test(l) && !/(Subquery|CTE) Scan/.test(l),
  );
  const exec = lines.find((l) => l.startsWith('Execution Time:'));
  return {
    top,
    scan: scanLine ? node(scanLine) : '',
    executionMs: exec ? Number(/([\d.]+) ms/.exec(exec)?.[1] ?? Number.NaN) : Number.NaN,
    // Vector literals (3072 numbers) shortened so the plan stays readable.
    text: lines
      .join('\n')
      .replace(/'\[[-\d.e,]{40,}\]'/g, "'[…]'")
      .replace(/'[01]{64,}'/g, "'0101…'"),
  };
}

const SKIP = /^\s*(begin|commit|rollback)\s*$/i;

/**
 * Replays what a read path sent, in one transaction that is rolled back: every statement
 * before the last `order by`/`count` statement as is, that one under EXPLAIN (ANALYZE, BUFFERS).
 */
export async function explainRecorded(
  client: pg.PoolClient,
  recorded: readonly RecordedQuery[],
): Promise<ExplainSummary> {
  const mainIndex = recorded.findLastIndex((q) => /\bfrom documents\b/.test(q.text));
  const main = recorded[mainIndex];
  if (!main) throw new Error('explainRecorded: no statement on documents was recorded');
  await client.query('begin');
  try {
    for (const q of recorded.slice(0, mainIndex)) {
      // "begin; set local …" in one round trip: the settings, inside this transaction.
      const text = q.text.replace(/^\s*begin\s*;\s*/i, '');
      if (SKIP.test(text) || text === '' || /\bfrom documents\b/.test(text)) continue;
      await client.query(text, [...q.values]);
    }
    const res = await client.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, buffers) ${main.text}`,
      [...main.values],
    );
    return summarizePlan(res.rows.map((r) => r['QUERY PLAN']));
  } finally {
    await client.query('rollback');
  }
}
