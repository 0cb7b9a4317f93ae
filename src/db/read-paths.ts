import type pg from 'pg';

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

export type SimilarityPlan = 'exact' | 'hnsw';

export interface SimilarityResult {
  readonly rows: readonly SimilarDocument[];
  /** Which plan ran, chosen from the filter's measured selectivity, never left to the planner. */
  readonly plan: SimilarityPlan;
  /** Rows matching the filter, counted up to the exact-scan threshold (null: unfiltered on a large table). */
  readonly candidates: number | null;
}

export interface SimilarityOptions {
  /** At most this many filtered candidates: compute exact distances over them. */
  readonly exactThreshold?: number;
  /** hnsw.ef_search floor; raised for selective filters so enough candidates survive them. */
  readonly efSearch?: number;
  readonly maxScanTuples?: number;
}

function vectorText(v: ArrayLike<number>): string {
  return `[${Array.from(v, (x) => x.toPrecision(7)).join(',')}]`;
}

function whereClause(f: DocumentFilter, params: unknown[]): string {
  const parts: string[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    parts.push(sql.replace('?', `$${String(params.length)}`));
  };
  if (f.docType !== undefined) add('doc_type = ?', f.docType);
  if (f.sourceName !== undefined) add('source_name = ?', f.sourceName);
  if (f.createdAfter !== undefined) add('created_at >= ?', f.createdAfter);
  if (f.createdBefore !== undefined) add('created_at < ?', f.createdBefore);
  return parts.length ? `where ${parts.join(' and ')}` : '';
}

function isFiltered(f: DocumentFilter): boolean {
  return (
    f.docType !== undefined ||
    f.sourceName !== undefined ||
    f.createdAfter !== undefined ||
    f.createdBefore !== undefined
  );
}

const COLUMNS = `id::text as id, title, doc_type as "docType", source_name as "sourceName", created_at as "createdAt"`;

/**
 * Top-k by cosine distance. Filtered HNSW post-filters and loses recall, and PostgreSQL's
 * choice between the index and an exact scan flips with ef_search, so the plan is chosen
 * here: a bounded count of the filter's candidates (through the btree indexes) decides between
 * exact distances over those candidates and the halfvec HNSW index with pgvector 0.8's
 * iterative scan, its ef_search sized to the filter's selectivity.
 */
export async function similarDocuments(
  client: pg.ClientBase | pg.Pool,
  q: SimilarityQuery,
  options: SimilarityOptions = {},
): Promise<SimilarityResult> {
  const threshold = options.exactThreshold ?? 20_000;
  const k = Math.max(1, Math.min(1000, Math.trunc(q.k)));
  const filterParams: unknown[] = [];
  const where = whereClause(q, filterParams);
  let candidates: number | null;
  if (isFiltered(q)) {
    const counted = await client.query<{ n: number }>(
      `select count(*)::int as n from (select 1 from documents ${where} limit ${String(threshold + 1)}) c`,
      filterParams,
    );
    candidates = counted.rows[0]?.n ?? 0;
  } else {
    // Unfiltered: the table's size from the statistics decides (a small table is scanned exactly).
    const est = await client.query<{ n: number }>(
      "select greatest(reltuples, 0)::bigint::int as n from pg_class where oid = 'documents'::regclass",
    );
    const n = est.rows[0]?.n ?? 0;
    candidates = n > 0 && n <= threshold ? n : null;
  }
  const vector = vectorText(q.embedding);
  if (candidates !== null && candidates <= threshold) {
    // Exact: the full-precision vector expression has no index, so this is a filtered scan.
    const params = [...filterParams, vector];
    const res = await client.query<SimilarDocument>(
      `select ${COLUMNS}, embedding <=> $${String(params.length)}::vector as distance
         from documents ${where}
        order by distance, id limit ${String(k)}`,
      params,
    );
    return { rows: res.rows, plan: 'exact', candidates };
  }
  // HNSW over the halfvec expression index; iterative scan keeps going until k rows pass the filter.
  const selectivity =
    candidates === null ? 1 : Math.max(candidates / Math.max(threshold, 1), 0.001);
  const ef = Math.min(
    1000,
    Math.max(options.efSearch ?? 100, Math.ceil((k * 4) / Math.min(1, selectivity))),
  );
  const params = [...filterParams, vector];
  const v = `$${String(params.length)}`;
  const inner = `select ${COLUMNS}, embedding from documents ${where}
     order by embedding::halfvec(3072) <=> ${v}::halfvec(3072) limit ${String(k * 4)}`;
  const sql = `select id, title, "docType", "sourceName", "createdAt", embedding <=> ${v}::vector as distance
     from (${inner}) c order by distance, id limit ${String(k)}`;
  const run = async (c: pg.ClientBase): Promise<SimilarDocument[]> => {
    await c.query('begin');
    try {
      await c.query(
        `select set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),
                set_config('hnsw.max_scan_tuples', $2, true)`,
        [String(ef), String(options.maxScanTuples ?? 20_000)],
      );
      const res = await c.query<SimilarDocument>(sql, params);
      await c.query('commit');
      return res.rows;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  };
  if ('totalCount' in client) {
    const c = await client.connect();
    try {
      return { rows: await run(c), plan: 'hnsw', candidates };
    } finally {
      c.release();
    }
  }
  return { rows: await run(client), plan: 'hnsw', candidates };
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
