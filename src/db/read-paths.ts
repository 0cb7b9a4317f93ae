import type pg from 'pg';
import {
  chooseSimilarityPlan,
  exactThresholdOf,
  type SimilarityOptions,
  type SimilarityPlan,
} from './similarity-plan.js';

export type { SimilarityOptions, SimilarityPlan } from './similarity-plan.js';

/** Optional metadata filters of a similarity search. */
export interface DocumentFilter {
  readonly docType?: string;
  readonly sourceName?: string;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
}

export interface SimilarityQuery extends DocumentFilter {
  readonly embedding: ArrayLike<number>;
  readonly k: number;
}

export interface SimilarDocument {
  readonly id: string;
  readonly title: string | null;
  readonly docType: string;
  readonly sourceName: string;
  readonly createdAt: Date;
  /** Cosine distance (0 = same direction). */
  readonly distance: number;
}

export interface SimilarityResult {
  readonly rows: readonly SimilarDocument[];
  /** Which plan ran, chosen from the filter's measured size, never left to the planner. */
  readonly plan: SimilarityPlan;
  /** Rows matching the filter, counted up to the exact-scan threshold + 1. */
  readonly candidates: number;
  /** Share of the table the filter selects (exact when counted, else the planner's estimate). */
  readonly selectivity: number;
}

function vectorText(v: ArrayLike<number>): string {
  return `[${Array.from(v, (x) => x.toPrecision(7)).join(',')}]`;
}

/**
 * WHERE clause with $n parameters. `opaque` wraps each predicate in `(…) is true`, which no
 * btree can serve: then the only plan yielding rows in distance order is the ANN index scan,
 * with the filter applied while it walks the graph (iterative scan).
 */
function whereClause(f: DocumentFilter, params: unknown[], opaque = false): string {
  const parts: string[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    const p = sql.replace('?', `$${String(params.length)}`);
    parts.push(opaque ? `(${p}) is true` : p);
  };
  if (f.docType !== undefined) add('doc_type = ?', f.docType);
  if (f.sourceName !== undefined) add('source_name = ?', f.sourceName);
  if (f.createdAfter !== undefined) add('created_at >= ?', f.createdAfter);
  if (f.createdBefore !== undefined) add('created_at < ?', f.createdBefore);
  return parts.length ? `where ${parts.join(' and ')}` : '';
}

/** The columns of a result row, optionally qualified by a table alias. */
const columns = (alias = ''): string => {
  const a = alias ? `${alias}.` : '';
  return `${a}id::text as id, ${a}title, ${a}doc_type as "docType", ${a}source_name as "sourceName", ${a}created_at as "createdAt"`;
};
const COLUMNS = columns();

/** The quantised ANN index of migrations 0005–0008 (on a partitioned table: its parent index). */
const QUANTIZED_INDEX = 'documents_embedding_bq_hnsw';
const CAPABILITY_TTL_MS = 60_000;
const capabilities = new WeakMap<object, { quantized: boolean; at: number }>();

/**
 * Whether the quantised column is backfilled and indexed (0008 applied and its index valid).
 * Cached per pool or client for a minute, so a server started before the migration picks the
 * faster plans up without a restart, and one started on an older schema keeps working.
 */
async function hasQuantizedIndex(client: pg.ClientBase | pg.Pool): Promise<boolean> {
  const hit = capabilities.get(client);
  if (hit && performance.now() - hit.at < CAPABILITY_TTL_MS) return hit.quantized;
  const res = await client.query<{ ok: boolean }>(
    `select coalesce(bool_and(indisvalid and indisready), false) as ok
       from pg_index where indexrelid = to_regclass($1)`,
    [QUANTIZED_INDEX],
  );
  const quantized = res.rows[0]?.ok === true;
  capabilities.set(client, { quantized, at: performance.now() });
  return quantized;
}

/** Rows in documents from the statistics (a partitioned table: the sum over its partitions). */
const TABLE_ROWS = `select coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
    from pg_class c
   where (c.oid = 'documents'::regclass and c.relkind = 'r')
      or c.oid in (select inhrelid from pg_inherits where inhparent = 'documents'::regclass)`;

async function estimatedRows(
  client: pg.ClientBase | pg.Pool,
  where: string,
  params: readonly unknown[],
): Promise<number> {
  const res = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
    `explain (format json) select 1 from documents ${where}`,
    [...params],
  );
  return res.rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0;
}

/** Runs `work` on one connection: a pool's client is checked out once for the whole read path. */
async function withClient<T>(
  client: pg.ClientBase | pg.Pool,
  work: (c: pg.ClientBase) => Promise<T>,
): Promise<T> {
  if (!('totalCount' in client)) return work(client);
  const c = await client.connect();
  try {
    return await work(c);
  } finally {
    c.release();
  }
}

/** `work` in a transaction with transaction-local settings (set_config(…, true)). */
async function inTransaction<T>(
  c: pg.ClientBase,
  settings: readonly (readonly [string, string])[],
  work: () => Promise<T>,
): Promise<T> {
  await c.query('begin');
  try {
    if (settings.length > 0)
      await c.query(
        `select ${settings.map((_, i) => `set_config($${String(2 * i + 1)}, $${String(2 * i + 2)}, true)`).join(', ')}`,
        settings.flat(),
      );
    const out = await work();
    await c.query('commit');
    return out;
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  }
}

/**
 * Top-k by cosine distance, with optional doc_type / source_name / created_at filters. The plan
 * is chosen here (src/db/similarity-plan.ts) from a bounded count of the filter's rows: a scan
 * of the filter's rows in the quantised space when they are few, the HNSW index with iterative
 * scan when they are many, exact distances when the quantised index is not there yet. Every
 * candidate list is re-ranked by exact distance on the full vector.
 */
export async function similarDocuments(
  client: pg.ClientBase | pg.Pool,
  q: SimilarityQuery,
  options: SimilarityOptions = {},
): Promise<SimilarityResult> {
  return withClient(client, (c) => similarOn(c, q, options));
}

async function similarOn(
  client: pg.ClientBase,
  q: SimilarityQuery,
  options: SimilarityOptions,
): Promise<SimilarityResult> {
  const threshold = exactThresholdOf(options);
  const k = Math.max(1, Math.min(1000, Math.trunc(q.k)));
  const filterParams: unknown[] = [];
  const where = whereClause(q, filterParams);
  const quantizedIndex = await hasQuantizedIndex(client);
  // One round trip: the table's size from the statistics and the filter's rows counted up to
  // the threshold, skipping the count (CASE evaluates its subquery lazily) when there is no
  // filter and the statistics already put the table above the threshold.
  const unfiltered = filterParams.length === 0;
  const sizes = await client.query<{ n: number; total: string }>(
    `select case when ${unfiltered ? 'true' : 'false'} and t.total > ${String(threshold)}
                 then ${String(threshold + 1)}
                 else (select count(*)::int from (select 1 from documents ${where} limit ${String(threshold + 1)}) c)
            end as n,
            t.total::text as total
       from (${TABLE_ROWS}) t(total)`,
    filterParams,
  );
  const counted = sizes.rows[0]?.n ?? 0;
  const totalRows = Number(sizes.rows[0]?.total ?? 0);
  const estimate =
    counted > threshold && quantizedIndex
      ? unfiltered
        ? totalRows
        : await estimatedRows(client, where, filterParams)
      : null;
  const choice = chooseSimilarityPlan(
    { k, counted, totalRows, estimatedRows: estimate, quantizedIndex },
    options,
  );
  const vector = vectorText(q.embedding);
  const result = (rows: SimilarDocument[]): SimilarityResult => ({
    rows,
    plan: choice.plan,
    candidates: counted,
    selectivity: choice.selectivity,
  });

  if (choice.plan === 'exact') {
    const params = [...filterParams, vector];
    const res = await client.query<SimilarDocument>(
      `select ${COLUMNS}, embedding <=> $${String(params.length)}::vector as distance
         from documents ${where}
        order by distance, id limit ${String(k)}`,
      params,
    );
    return result(res.rows);
  }

  // Both quantised plans: the nearest `rerank` by Hamming distance (ids only), then those rows
  // re-ranked by exact distance on the full vector.
  const params: unknown[] = [];
  const filter = whereClause(q, params, choice.plan === 'hnsw');
  params.push(vector);
  const v = `$${String(params.length)}`;
  const hamming = `embedding_bq <~> binary_quantize(${v}::vector)::bit(3072)`;
  // quantized-scan: `+ 0` makes the order one no ANN index can serve (it would post-filter and
  // drop rows), so the filter's rows are ranked from the covering btrees (migration 0007),
  // index-only, without visiting the heap.
  const order = choice.plan === 'hnsw' ? hamming : `(${hamming}) + 0`;
  const sql = `select ${columns('d')}, d.embedding <=> ${v}::vector as distance
     from (select id, created_at from documents ${filter}
            order by ${order} limit ${String(choice.rerank)}) c
     cross join lateral (
       -- LIMIT keeps this subquery from being flattened into a join the planner could hash
       -- (a sequential scan of every partition): one primary-key probe per candidate, pruned
       -- to its partition by created_at.
       select * from documents x where x.id = c.id and x.created_at = c.created_at limit 1) d
    order by distance, d.id limit ${String(k)}`;
  const query = async (): Promise<SimilarDocument[]> =>
    (await client.query<SimilarDocument>(sql, params)).rows;
  const rows =
    choice.plan === 'hnsw'
      ? await inTransaction(
          client,
          [
            ['hnsw.ef_search', String(choice.efSearch)],
            ['hnsw.iterative_scan', 'relaxed_order'],
            ['hnsw.max_scan_tuples', String(choice.maxScanTuples)],
            // With the filter opaque to btrees, a sequential scan and sort is the one other plan.
            ['enable_seqscan', 'off'],
          ],
          query,
        )
      : await query();
  return result(rows);
}

/**
 * Where the next page starts. `createdAt` is PostgreSQL's own text of the timestamp: a JS Date
 * keeps milliseconds only, and rows within the same millisecond would be skipped.
 */
export interface ListCursor {
  readonly createdAt: string;
  readonly id: string;
}

/** Newest first by source or type, keyset-paginated: pass the last row back as `after`. */
export async function listDocuments(
  client: pg.ClientBase | pg.Pool,
  filter: Pick<DocumentFilter, 'docType' | 'sourceName'>,
  limit: number,
  after?: ListCursor,
): Promise<{ rows: Omit<SimilarDocument, 'distance'>[]; next: ListCursor | null }> {
  const params: unknown[] = [];
  let where = whereClause(filter, params);
  if (after) {
    params.push(after.createdAt, after.id);
    const cond = `(created_at, id) < ($${String(params.length - 1)}::timestamptz, $${String(params.length)}::bigint)`;
    where = where ? `${where} and ${cond}` : `where ${cond}`;
  }
  const n = Math.max(1, Math.min(1000, Math.trunc(limit)));
  const res = await client.query<Omit<SimilarDocument, 'distance'> & { cursorAt: string }>(
    `select ${COLUMNS}, created_at::text as "cursorAt" from documents ${where}
      order by created_at desc, id desc limit ${String(n)}`,
    params,
  );
  const last = res.rows.at(-1);
  return {
    rows: res.rows.map((r) => ({
      id: r.id,
      title: r.title,
      docType: r.docType,
      sourceName: r.sourceName,
      createdAt: r.createdAt,
    })),
    next: res.rows.length === n && last ? { createdAt: last.cursorAt, id: last.id } : null,
  };
}

export async function getDocument(
  client: pg.ClientBase | pg.Pool,
  id: string,
): Promise<(Omit<SimilarDocument, 'distance'> & { content: string; metadata: unknown }) | null> {
  const res = await client.query<
    Omit<SimilarDocument, 'distance'> & { content: string; metadata: unknown }
  >(`select ${COLUMNS}, content, metadata from documents where id = $1::bigint`, [id]);
  return res.rows[0] ?? null;
}

export async function countDocuments(
  client: pg.ClientBase | pg.Pool,
  filter: DocumentFilter = {},
): Promise<number> {
  const params: unknown[] = [];
  const res = await client.query<{ n: string }>(
    `select count(*)::text as n from documents ${whereClause(filter, params)}`,
    params,
  );
  return Number(res.rows[0]?.n ?? 0);
}
