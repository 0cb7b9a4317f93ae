/**
 * How a top-k similarity query runs, chosen from the filter's measured size instead of being
 * left to PostgreSQL's planner, whose choice between an ANN index and an exact scan flips with
 * ef_search and post-filters ANN results (losing recall on selective filters).
 *
 * - `exact`: cosine distance on the full vector(3072) over the filter's rows. Used when the
 *   database has no quantised index yet (before migration 0008): always right, slow when large.
 * - `quantized-scan`: Hamming distance on the stored bit(3072) over the filter's rows, read
 *   index-only from the covering btrees of migration 0007 (about 0.3 µs a row), the `rerank`
 *   nearest re-ranked by exact cosine distance. It serves filters up to `exactThreshold` rows;
 *   its recall only depends on the re-rank depth.
 * - `hnsw`: the bit(3072) HNSW index with pgvector 0.8's iterative scan, the filter applied while
 *   walking the graph, then the same re-rank. For filters too large to scan.
 * - `partial-hnsw`: a partial bit(3072) HNSW index holding only the rows of the filter's
 *   `doc_type` or `source_name` value (src/db/partial-indexes.ts), walked like the whole graph
 *   is for an unfiltered query, then the same re-rank. For a large value that has one.
 */
export type SimilarityPlan = 'exact' | 'quantized-scan' | 'hnsw' | 'partial-hnsw';

export interface SimilarityOptions {
  /** At most this many filter rows: rank them in the quantised space from the covering btrees (default 50,000). */
  readonly exactThreshold?: number;
  /** Candidates re-ranked by exact distance (default max(60, 6·k), at most 1,000). */
  readonly rerank?: number;
  /** hnsw.ef_search floor (default 40); raised for selective filters. */
  readonly efSearch?: number;
  /** Upper bound for hnsw.max_scan_tuples (default 200,000). */
  readonly maxScanTuples?: number;
  /**
   * A filter served by a partial index walks it from this many rows on (default: the exact
   * threshold, so the walk only replaces the filtered walk of the whole graph); below, the
   * filter's rows are scanned.
   */
  readonly partialIndexMinRows?: number;
}

export interface PlanInput {
  readonly k: number;
  /** Rows matching the filter, counted exactly up to exactThreshold + 1. */
  readonly counted: number;
  /** Rows in the table (statistics). */
  readonly totalRows: number;
  /** The planner's estimate of the filter's rows, used when the count hit the bound. */
  readonly estimatedRows: number | null;
  /** Whether the quantised column and its HNSW index are in place and valid. */
  readonly quantizedIndex: boolean;
  /**
   * Rows of the value a partial index covering the filter holds (the planner's estimate), or
   * null when no partial index serves the filter.
   */
  readonly partialIndexRows?: number | null;
}

export interface PlanChoice {
  readonly plan: SimilarityPlan;
  readonly rerank: number;
  /** Share of the table the filter selects (exact when counted, else estimated). */
  readonly selectivity: number;
  readonly efSearch: number;
  readonly maxScanTuples: number;
}

/**
 * Up to this many rows a filter is ranked by scanning it, above it by the HNSW walk. The scan
 * costs about 0.3–0.45 µs a row here (index-only, 2 CPUs), so 50,000 rows is about 20 ms; the
 * walk is cheaper only when the filter's rows lie near the query. On a source holding 28 % of
 * a 100k corpus whose documents sit in other topics than the query's (bench/docserver, shape
 * bursty), the walk returned 74 % of the true top-10 at 27 ms p50 and touched nearly every page
 * of the index, whatever ef_search; the scan, all of them at 12–20 ms. A wrong answer is worse
 * than a slow one: the walk is kept for filters too large to be far from any query.
 */
export const DEFAULT_EXACT_THRESHOLD = 50_000;

/**
 * Candidates re-ranked on the full vector for a top-10 (6 per result for larger k). Each one is
 * a primary-key probe and a 12 KB TOAST read; on the three corpus shapes at 100k
 * (docs/benchmarks.md, re-rank depth tables) 60 kept recall@10 at 0.992 or more in every
 * class, 40 fell to 0.976 and 20 to 0.912, and 100 cost up to 2 ms more a query at p50.
 */
export const DEFAULT_RERANK = 60;
const DEFAULT_RERANK_PER_RESULT = 6;

export function exactThresholdOf(options: SimilarityOptions): number {
  return Math.max(0, Math.trunc(options.exactThreshold ?? DEFAULT_EXACT_THRESHOLD));
}

/**
 * From this many rows a filter value with its own partial index walks it: by default where the
 * scan stops, so the partial walk replaces the filtered walk of the whole graph and never the
 * scan. The scan ranks every row of the filter; a walk, of a partial graph too, can miss rows
 * lying far from the query: on the bursty shape at 100k (bench/docserver/partial-index.ts), the
 * most popular source (28 %) walked through its partial index took 5.9 ms p50 for recall@10
 * 0.76–0.87 whatever ef_search (40–200) and re-rank depth, where the scan took 11.8 ms for 0.997.
 * Lower it where speed matters more than those rows.
 */
export const DEFAULT_PARTIAL_INDEX_MIN_ROWS = DEFAULT_EXACT_THRESHOLD;

/**
 * Up to how many rows a filter is scanned in the quantised space: the exact threshold, or
 * lower when a partial index serves the filter.
 */
export function scanLimitOf(options: SimilarityOptions, partialIndex: boolean): number {
  const threshold = exactThresholdOf(options);
  if (!partialIndex) return threshold;
  const min = Math.max(
    0,
    Math.trunc(options.partialIndexMinRows ?? DEFAULT_PARTIAL_INDEX_MIN_ROWS),
  );
  return Math.min(threshold, min);
}

/** Pure: the plan for one query from the counts the read path measured. */
export function chooseSimilarityPlan(
  input: PlanInput,
  options: SimilarityOptions = {},
): PlanChoice {
  const partialRows = input.partialIndexRows ?? null;
  const threshold = scanLimitOf(options, partialRows !== null);
  const k = Math.max(1, Math.trunc(input.k));
  const rerank = Math.min(
    1000,
    Math.max(
      k,
      Math.trunc(options.rerank ?? Math.max(DEFAULT_RERANK, DEFAULT_RERANK_PER_RESULT * k)),
    ),
  );
  const total = Math.max(1, input.totalRows, input.counted);
  const rows =
    input.counted <= threshold ? input.counted : Math.max(input.counted, input.estimatedRows ?? 0);
  const selectivity = Math.min(1, Math.max(rows / total, 1 / total));
  const base = { rerank, selectivity, efSearch: 0, maxScanTuples: 0 };
  if (!input.quantizedIndex) return { ...base, plan: 'exact' };
  if (input.counted <= threshold) return { ...base, plan: 'quantized-scan' };
  // The walked graph holds the whole table, or only the value's rows: the share of it that
  // passes the rest of the filter sizes the walk.
  const graphRows = partialRows === null ? total : Math.max(1, partialRows, rows);
  const passing = Math.min(1, Math.max(rows / graphRows, 1 / graphRows));
  // Enough graph candidates in the first pass that about k of them pass the filter; the
  // iterative scan continues from there, bounded by max_scan_tuples.
  const floor = Math.max(1, Math.trunc(options.efSearch ?? 40));
  const efSearch = Math.min(1000, Math.max(floor, Math.ceil(k / passing)));
  const cap = Math.max(1000, Math.trunc(options.maxScanTuples ?? 200_000));
  const maxScanTuples = Math.min(cap, Math.max(20_000, Math.ceil((4 * rerank) / passing)));
  return {
    ...base,
    plan: partialRows === null ? 'hnsw' : 'partial-hnsw',
    efSearch,
    maxScanTuples,
  };
}
