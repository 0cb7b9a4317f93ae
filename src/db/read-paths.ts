import { hash } from 'node:crypto';
import type pg from 'pg';
import {
  coveredPartialIndexes,
  coveringPartialIndex,
  type PartialIndexFact,
  type PartialIndexKey,
} from './partial-indexes.js';
import { TtlCache } from './ttl-cache.js';
import { binaryQuantized, vectorBinary } from './vector-binary.js';
import {
  chooseSimilarityPlan,
  scanLimitOf,
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
  /**
   * Rows matching the filter, counted up to the exact-scan threshold + 1 (within the facts'
   * time bound); null on the exact plan, which needs no count.
   */
  readonly candidates: number | null;
  /** Share of the table the filter selects (exact when counted, else the planner's estimate). */
  readonly selectivity: number;
}

/**
 * WHERE clause with $n parameters. `opaque` wraps each predicate in `(…) is true`, which no
 * btree can serve: then the only plan yielding rows in distance order is the ANN index scan,
 * with the filter applied while it walks the graph (iterative scan). The `plain` column's
 * equality stays as it is, so that the planner can prove a partial index's predicate from it.
 */
function whereClause(
  f: DocumentFilter,
  params: unknown[],
  opaque = false,
  plain: PartialIndexKey['column'] | null = null,
): string {
  const parts: string[] = [];
  const add = (sql: string, value: unknown, column?: PartialIndexKey['column']): void => {
    params.push(value);
    const p = sql.replace('?', `$${String(params.length)}`);
    parts.push(opaque && column !== plain ? `(${p}) is true` : p);
  };
  if (f.docType !== undefined) add('doc_type = ?', f.docType, 'doc_type');
  if (f.sourceName !== undefined) add('source_name = ?', f.sourceName, 'source_name');
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

/**
 * How long a fact about the database is trusted: whether the quantised index is there, the
 * table's size, how many rows a filter selects. A server started before migration 0008 picks
 * the faster plans up within this bound, and a filter's plan follows its growth within it.
 */
export const READ_PATH_FACTS_TTL_MS = 60_000;
/** Filters whose size is remembered per pool (or client); the oldest goes first. */
const FILTER_FACTS_CAPACITY = 1_000;

interface FilterSize {
  /** Rows counted, up to `bound` + 1. */
  readonly counted: number;
  /** The count stopped past this many rows: `counted` > `bound` means "more than `bound`". */
  readonly bound: number;
  /** The planner's estimate when the count hit its bound. */
  readonly estimate: number | null;
}

interface TableFacts {
  /** Whether the quantised index is valid. */
  readonly quantized: boolean;
  /** The table's rows from the statistics. */
  readonly rows: number;
  /** The filter values with a partial ANN index on every partition (partialIndexId). */
  readonly partial: ReadonlySet<string>;
}

interface ReadPathFacts {
  readonly table: TtlCache<TableFacts>;
  readonly filters: TtlCache<FilterSize>;
  /** Rows of a value that has a partial index (the planner's estimate). */
  readonly partialRows: TtlCache<number>;
}

const factsByOwner = new WeakMap<object, ReadPathFacts>();

function factsOf(owner: object): ReadPathFacts {
  let facts = factsByOwner.get(owner);
  if (!facts) {
    facts = {
      table: new TtlCache(READ_PATH_FACTS_TTL_MS, 1),
      filters: new TtlCache(READ_PATH_FACTS_TTL_MS, FILTER_FACTS_CAPACITY),
      partialRows: new TtlCache(READ_PATH_FACTS_TTL_MS, FILTER_FACTS_CAPACITY),
    };
    factsByOwner.set(owner, facts);
  }
  return facts;
}

/**
 * A filter's key in the size cache. Time bounds are cut to the minute: a doc-server asking for
 * "the last 30 days" sends a new bound every call, and a minute does not move a filter's size
 * across a plan's threshold.
 */
function filterKey(f: DocumentFilter): string {
  const minute = (d: Date | undefined): number | null =>
    d === undefined ? null : Math.floor(d.getTime() / 60_000);
  return JSON.stringify([
    f.docType ?? null,
    f.sourceName ?? null,
    minute(f.createdAfter),
    minute(f.createdBefore),
  ]);
}

/**
 * Whether the quantised index is valid; documents' leaves (the table, or its partitions:
 * pg_partition_tree lists nothing for a table that is not partitioned), their rows summed from
 * the statistics, and the valid partial bit(3072) HNSW indexes on them, read by
 * src/db/partial-indexes.ts.
 */
const TABLE_FACTS = `with leaves as (
         select relid from pg_partition_tree('documents') where isleaf
         union all
         select 'documents'::regclass where not exists (select from pg_partition_tree('documents')))
  select coalesce((select bool_and(indisvalid and indisready) from pg_index
                    where indexrelid = to_regclass('${QUANTIZED_INDEX}')), false) as quantized,
         (select coalesce(sum(greatest(c.reltuples, 0)), 0)::float8
            from pg_class c where c.oid in (select relid from leaves)) as rows,
         (select coalesce(array_agg(relid::regclass::text order by 1), '{}') from leaves) as leaves,
         (select coalesce(json_agg(json_build_object(
                   'relation', i.indrelid::regclass::text,
                   'predicate', pg_get_expr(i.indpred, i.indrelid))), '[]')
            from pg_index i
            join pg_class ic on ic.oid = i.indexrelid
            join pg_am am on am.oid = ic.relam and am.amname = 'hnsw'
            join pg_opclass oc on oc.oid = i.indclass[0] and oc.opcname = 'bit_hamming_ops'
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                               and a.attname = 'embedding_bq'
           where i.indpred is not null and i.indnatts = 1 and i.indisvalid and i.indisready
             and i.indrelid in (select relid from leaves)) as partials`;

async function tableFacts(c: pg.ClientBase, facts: ReadPathFacts): Promise<TableFacts> {
  const hit = facts.table.get('');
  if (hit) return hit;
  const res = await prepared<{
    quantized: boolean;
    rows: number;
    leaves: string[];
    partials: PartialIndexFact[];
  }>(c, TABLE_FACTS, []);
  const row = res.rows[0];
  const table: TableFacts = {
    quantized: row?.quantized === true,
    rows: row?.rows ?? 0,
    partial: coveredPartialIndexes(row?.leaves ?? [], row?.partials ?? []),
  };
  facts.table.set('', table);
  return table;
}

async function estimatedRows(
  client: pg.ClientBase,
  where: string,
  params: readonly unknown[],
): Promise<number> {
  const res = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
    `explain (format json) select 1 from documents ${where}`,
    [...params],
  );
  return res.rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0;
}

/** Named statements a connection keeps; past this, statements go unnamed (parsed each time). */
const PREPARED_PER_CONNECTION = 64;
const preparedNames = new WeakMap<object, Set<string>>();
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `dbm_rp_${hash('sha1', text).slice(0, 16)}`;
    if (statementNames.size >= 1_000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A query as a named prepared statement of this connection: parsed and planned once, then
 * only bound and executed (PostgreSQL keeps a custom or generic plan per statement). The read
 * paths send few distinct texts; a connection keeps at most PREPARED_PER_CONNECTION of them.
 */
async function prepared<R extends pg.QueryResultRow>(
  c: pg.ClientBase,
  text: string,
  values: readonly unknown[],
): Promise<pg.QueryResult<R>> {
  let names = preparedNames.get(c);
  if (!names) {
    names = new Set();
    preparedNames.set(c, names);
  }
  const name = statementName(text);
  if (!names.has(name)) {
    if (names.size >= PREPARED_PER_CONNECTION) return c.query<R>(text, [...values]);
    names.add(name);
  }
  return c.query<R>({ name, text, values: [...values] });
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

/**
 * `work` in a transaction with transaction-local settings. BEGIN and the settings go in one
 * round trip (the simple protocol runs several statements); the values are numbers and
 * keywords this module chose, never caller input.
 */
async function inTransaction<T>(
  c: pg.ClientBase,
  settings: readonly (readonly [string, string | number])[],
  work: () => Promise<T>,
): Promise<T> {
  await c.query(['begin', ...settings.map(([k, v]) => `set local ${k} = ${String(v)}`)].join('; '));
  try {
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
 * scan when they are many (for a doc_type or source_name value with a partial HNSW index on
 * every partition, that index), exact distances when the quantised index is not there yet.
 * Every candidate list is re-ranked by exact distance on the full vector.
 *
 * Round trips: one for a filter whose size is known (counted within READ_PATH_FACTS_TTL_MS) or
 * that turns out small (the count and the scan go in one statement); for the HNSW walk, three
 * (settings, query, commit), plus one to estimate a large filter's size the first time.
 */
export async function similarDocuments(
  client: pg.ClientBase | pg.Pool,
  q: SimilarityQuery,
  options: SimilarityOptions = {},
): Promise<SimilarityResult> {
  const facts = factsOf(client);
  return withClient(client, (c) => similarOn(c, facts, q, options));
}

async function similarOn(
  client: pg.ClientBase,
  facts: ReadPathFacts,
  q: SimilarityQuery,
  options: SimilarityOptions,
): Promise<SimilarityResult> {
  const k = Math.max(1, Math.min(1000, Math.trunc(q.k)));
  const vector = vectorBinary(q.embedding);
  const table = await tableFacts(client, facts);
  const unfiltered =
    q.docType === undefined &&
    q.sourceName === undefined &&
    q.createdAfter === undefined &&
    q.createdBefore === undefined;
  const key = filterKey(q);

  if (!table.quantized) {
    // Before migration 0008: exact distances over the filter's rows, whatever their number.
    const params: unknown[] = [];
    const where = whereClause(q, params);
    params.push(vector);
    const res = await prepared<SimilarDocument>(
      client,
      `select ${COLUMNS}, embedding <=> $${String(params.length)}::vector as distance
         from documents ${where}
        order by distance, id limit ${String(k)}`,
      params,
    );
    const plan = chooseSimilarityPlan(
      { k, counted: 0, totalRows: table.rows, estimatedRows: null, quantizedIndex: false },
      options,
    );
    return {
      rows: res.rows,
      plan: 'exact',
      candidates: res.rows.length,
      selectivity: plan.selectivity,
    };
  }

  // A large value with its own partial index is walked from a lower size than others.
  const partial = coveringPartialIndex(table.partial, q);
  const limit = scanLimitOf(options, partial !== null);
  // The filter's size: known, or (unfiltered) above the limit by the statistics. A size known
  // only to exceed a lower bound than this limit (counted while a partial index served the
  // filter) is counted again.
  let size: FilterSize | undefined =
    unfiltered && table.rows > limit
      ? { counted: limit + 1, bound: limit, estimate: table.rows }
      : facts.filters.get(key);
  if (size !== undefined && size.counted > size.bound && size.bound < limit) size = undefined;
  const rerankOf = chooseSimilarityPlan(
    { k, counted: 0, totalRows: table.rows, estimatedRows: null, quantizedIndex: true },
    options,
  ).rerank;

  if (size === undefined || size.counted <= limit) {
    // Count and scan in one statement: the scan only runs when the count is within the bound.
    const { sql, params } = quantizedScan(
      q,
      q.embedding,
      vector,
      rerankOf,
      k,
      size === undefined ? limit : null,
    );
    const res = await prepared<CountedRow>(client, sql, params);
    const counted = size?.counted ?? res.rows[0]?.counted ?? 0;
    if (size === undefined) {
      size = { counted, bound: limit, estimate: null };
      if (counted <= limit) facts.filters.set(key, size);
    }
    if (counted <= limit) {
      const choice = chooseSimilarityPlan(
        { k, counted, totalRows: table.rows, estimatedRows: null, quantizedIndex: true },
        { ...options, exactThreshold: limit },
      );
      return {
        rows: res.rows.flatMap(withoutCount),
        plan: choice.plan,
        candidates: counted,
        selectivity: choice.selectivity,
      };
    }
  }

  if (size.estimate === null) {
    const params: unknown[] = [];
    const where = whereClause(q, params);
    size = { ...size, estimate: await estimatedRows(client, where, params) };
    facts.filters.set(key, size);
  }
  const choice = chooseSimilarityPlan(
    {
      k,
      counted: size.counted,
      totalRows: table.rows,
      estimatedRows: size.estimate,
      quantizedIndex: true,
      partialIndexRows: partial ? await partialIndexRows(client, facts, q, size, partial) : null,
    },
    options,
  );
  const params: unknown[] = [];
  const filter = whereClause(q, params, true, partial?.column ?? null);
  params.push(vector, binaryQuantized(q.embedding));
  const v = `$${String(params.length - 1)}`;
  const bits = `$${String(params.length)}::bit(3072)`;
  const rows = await inTransaction(
    client,
    [
      ['hnsw.ef_search', choice.efSearch],
      ['hnsw.iterative_scan', 'relaxed_order'],
      ['hnsw.max_scan_tuples', choice.maxScanTuples],
      // With the filter opaque to btrees, a sequential scan and sort is the one other plan.
      ['enable_seqscan', 'off'],
      // A partial index is only chosen by a plan that sees the filter's value: never the
      // generic plan of the prepared statement, which must serve every value. Its equality is
      // left visible to prove the index's predicate, so a btree could serve it too: without
      // sorts, the partial indexes' distance order is the one plan left. The re-rank's sort
      // then carries the disabled cost, far above jit_above_cost: JIT would compile the
      // statement each time, about a second.
      ...(partial
        ? ([
            ['plan_cache_mode', 'force_custom_plan'],
            ['enable_sort', 'off'],
            ['jit', 'off'],
          ] as const)
        : []),
    ],
    async () =>
      (
        await prepared<SimilarDocument>(
          client,
          reranked(
            `select id, created_at from documents ${filter}
              order by embedding_bq <~> ${bits} limit ${String(choice.rerank)}`,
            v,
            k,
          ),
          params,
        )
      ).rows,
  );
  return { rows, plan: choice.plan, candidates: size.counted, selectivity: choice.selectivity };
}

/**
 * The rows of the value a partial index holds, by the planner's estimate: the filter's own
 * when the value is all of it, else estimated once per READ_PATH_FACTS_TTL_MS.
 */
async function partialIndexRows(
  client: pg.ClientBase,
  facts: ReadPathFacts,
  q: DocumentFilter,
  size: FilterSize,
  partial: PartialIndexKey,
): Promise<number> {
  const only: DocumentFilter =
    partial.column === 'doc_type' ? { docType: partial.value } : { sourceName: partial.value };
  const key = filterKey(only);
  if (key === filterKey(q) && size.estimate !== null) return Math.max(size.counted, size.estimate);
  const known = facts.partialRows.get(key);
  if (known !== undefined) return known;
  const params: unknown[] = [];
  const rows = await estimatedRows(client, whereClause(only, params), params);
  facts.partialRows.set(key, rows);
  return rows;
}

/** A row of the counting scan: the count, and a document's columns or (nothing scanned) nulls. */
type CountedRow = { readonly [K in keyof SimilarDocument]: SimilarDocument[K] | null } & {
  readonly counted?: number | null;
};

function withoutCount(r: CountedRow): SimilarDocument[] {
  if (r.id === null || r.docType === null || r.sourceName === null || r.createdAt === null)
    return [];
  return [
    {
      id: r.id,
      title: r.title,
      docType: r.docType,
      sourceName: r.sourceName,
      createdAt: r.createdAt,
      distance: r.distance ?? Number.NaN,
    },
  ];
}

/**
 * The nearest candidates (ids from `candidates`) re-ranked by exact distance on the full vector.
 * LIMIT keeps the per-candidate subquery from being flattened into a join the planner could
 * hash (a sequential scan of every partition): one primary-key probe per candidate, pruned to
 * its partition by created_at.
 */
function reranked(candidates: string, v: string, k: number): string {
  return `select ${columns('d')}, d.embedding <=> ${v}::vector as distance
     from (${candidates}) c
     cross join lateral (
       select * from documents x where x.id = c.id and x.created_at = c.created_at limit 1) d
    order by distance, d.id limit ${String(k)}`;
}

/**
 * The quantised scan: the filter's rows ranked by Hamming distance from the covering btrees
 * (migration 0007), index-only, the `rerank` nearest re-ranked. `+ 0` makes the order one no
 * ANN index can serve (it would post-filter and drop rows). With `countUpTo`, the statement
 * first counts the filter's rows up to that bound + 1 and returns the count as `counted`
 * (a row of nulls when nothing is scanned); the scan is gated on the count (an InitPlan: the
 * gate is evaluated once, and a large filter is not scanned).
 */
function quantizedScan(
  f: DocumentFilter,
  embedding: ArrayLike<number>,
  vector: Buffer,
  rerank: number,
  k: number,
  countUpTo: number | null,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = whereClause(f, params);
  params.push(vector, binaryQuantized(embedding));
  const v = `$${String(params.length - 1)}`;
  const hamming = `(embedding_bq <~> $${String(params.length)}::bit(3072)) + 0`;
  if (countUpTo === null) {
    const sql = reranked(
      `select id, created_at from documents ${where} order by ${hamming} limit ${String(rerank)}`,
      v,
      k,
    );
    return { sql, params };
  }
  const gate = `(select c from n) <= ${String(countUpTo)}`;
  const sql = `with n as materialized (
       select count(*)::int as c from (select 1 from documents ${where} limit ${String(countUpTo + 1)}) s)
     select (select c from n) as counted, r.*
       from (select 1) one
       left join lateral (${reranked(
         `select id, created_at from documents ${where ? `${where} and ${gate}` : `where ${gate}`}
           order by ${hamming} limit ${String(rerank)}`,
         v,
         k,
       )}) r on true`;
  return { sql, params };
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
