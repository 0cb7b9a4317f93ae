import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingModel } from '../../bench/docserver/embeddings.js';
import { createPartialIndex } from '../../bench/docserver/large-values.js';
import { loadDocuments, type LoadedDocument } from '../../bench/docserver/load.js';
import {
  explainRecorded,
  recordingClient,
  type RecordedQuery,
} from '../../bench/docserver/stats.js';
import { connectorFromUrl } from '../../src/db/connection.js';
import {
  countDocuments,
  getDocument,
  listDocuments,
  similarDocuments,
  type DocumentFilter,
  type SimilarityOptions,
} from '../../src/db/read-paths.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import pg from 'pg';
import { binaryQuantized, vectorBinary } from '../../src/db/vector-binary.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** A scan of the bit(3072) HNSW index (on a partitioned table: of one partition's). */
const ANN_SCAN = /Index Scan using \w*embedding_bq\w* on /;

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

describe('doc-server read paths', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const docs: LoadedDocument[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('reads');
    const run = await new Migrator({
      database: connectorFromUrl(db.url),
      source: new DirectoryMigrationSource('migrations'),
    }).apply();
    expect(run.error).toBeNull();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // Dropping the database at the end terminates any connection still closing.
    pool.on('error', () => undefined);
    docs.push(
      ...(await loadDocuments(pool, 1200, {
        model: new EmbeddingModel(),
        sources: 60,
        keep: true,
      })),
    );
    await pool.query('analyze documents');
  }, 180_000);

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const exactTopK = (query: Float32Array, filter: DocumentFilter, k: number): string[] =>
    docs
      .filter(
        (d) =>
          (filter.docType === undefined || d.docType === filter.docType) &&
          (filter.sourceName === undefined || d.sourceName === filter.sourceName) &&
          (filter.createdAfter === undefined || d.createdAt >= filter.createdAfter),
      )
      .map((d) => ({ id: d.id, distance: 1 - dot(query, d.embedding) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, k)
      .map((d) => d.id);

  const classes: [string, DocumentFilter][] = [
    ['unfiltered', {}],
    ['by type (~10 %)', { docType: 'ticket' }],
    ['by type (~1 %)', { docType: 'contract' }],
    ['by popular source', { sourceName: 'source-0000' }],
    ['by rare source', { sourceName: 'source-0050' }],
    ['by recent time range', { createdAfter: new Date('2026-09-01T00:00:00Z') }],
    ['by type and source', { docType: 'article', sourceName: 'source-0001' }],
  ];

  /** The plan PostgreSQL ran for the read path's main statement, as EXPLAIN ANALYZE text. */
  async function planOf(filter: DocumentFilter, options: SimilarityOptions): Promise<string> {
    const c = await pool.connect();
    try {
      const log: RecordedQuery[] = [];
      await similarDocuments(
        recordingClient(c, log),
        { embedding: docs[0]?.embedding ?? new Float32Array(), k: 10, ...filter },
        options,
      );
      return (await explainRecorded(c, log)).text;
    } finally {
      c.release();
    }
  }

  it.each(classes)(
    'returns the exact top-10 for the %s filter class, scanning its rows in the quantised space',
    async (_name, filter) => {
      for (const probe of [3, 500, 1111]) {
        const query = docs[probe]?.embedding ?? new Float32Array();
        const res = await similarDocuments(pool, { embedding: query, k: 10, ...filter });
        expect(res.plan).toBe('quantized-scan');
        expect(res.rows.map((r) => r.id)).toEqual(exactTopK(query, filter, 10));
        expect(res.rows.map((r) => r.distance)).toEqual(
          [...res.rows.map((r) => r.distance)].sort((a, b) => a - b),
        );
      }
      // Never the ANN index on this plan: it would post-filter and drop rows. And the re-rank
      // fetches each candidate by key, never by hashing a scan of every partition.
      const plan = await planOf(filter, {});
      expect(plan).not.toMatch(ANN_SCAN);
      expect(plan).not.toMatch(/Hash Join/);
    },
  );

  it.each(classes)(
    'walks the HNSW index with the %s filter applied during the scan when the filter is large, with high recall',
    async (_name, filter) => {
      let hits = 0;
      let total = 0;
      for (const probe of [10, 20, 30, 40, 50]) {
        const query = docs[probe]?.embedding ?? new Float32Array();
        const res = await similarDocuments(
          pool,
          { embedding: query, k: 10, ...filter },
          { exactThreshold: 0 },
        );
        expect(res.plan).toBe('hnsw');
        const exact = new Set(exactTopK(query, filter, 10));
        hits += res.rows.filter((r) => exact.has(r.id)).length;
        total += exact.size;
      }
      expect(hits / total).toBeGreaterThanOrEqual(0.9);
      expect(await planOf(filter, { exactThreshold: 0 })).toMatch(ANN_SCAN);
    },
  );

  it('reports the measured selectivity of the filter', async () => {
    const res = await similarDocuments(pool, {
      embedding: docs[0]?.embedding ?? new Float32Array(),
      k: 10,
      docType: 'contract',
    });
    const contracts = docs.filter((d) => d.docType === 'contract').length;
    expect(res.candidates).toBe(contracts);
    expect(res.selectivity).toBeCloseTo(contracts / docs.length, 2);
  });

  it('answers a known filter in one statement, and a filter matching nothing in one statement', async () => {
    const c = await pool.connect();
    try {
      const log: RecordedQuery[] = [];
      const client = recordingClient(c, log);
      const query = docs[5]?.embedding ?? new Float32Array();
      // First call on this client: the table's facts, then count and scan in one statement.
      const first = await similarDocuments(client, { embedding: query, k: 10, docType: 'spec' });
      expect(log).toHaveLength(2);
      expect(first.plan).toBe('quantized-scan');
      log.length = 0;
      const again = await similarDocuments(client, { embedding: query, k: 10, docType: 'spec' });
      expect(log).toHaveLength(1);
      expect(again.rows).toEqual(first.rows);
      log.length = 0;
      const none = await similarDocuments(client, {
        embedding: query,
        k: 10,
        docType: 'no-such-type',
      });
      expect(none).toMatchObject({ rows: [], candidates: 0, plan: 'quantized-scan' });
      expect(log).toHaveLength(1);
      // The quantised query travels as a constant: no statement quantises per row.
      expect(log.every((q) => !q.text.includes('binary_quantize'))).toBe(true);
    } finally {
      c.release();
    }
  });

  it('walks the HNSW index in three statements once a large filter is known: settings, query, commit', async () => {
    const c = await pool.connect();
    try {
      const log: RecordedQuery[] = [];
      const client = recordingClient(c, log);
      const query = docs[9]?.embedding ?? new Float32Array();
      const options = { exactThreshold: 10 };
      await similarDocuments(client, { embedding: query, k: 10, docType: 'article' }, options);
      log.length = 0;
      const res = await similarDocuments(
        client,
        { embedding: query, k: 10, docType: 'article' },
        options,
      );
      expect(res.plan).toBe('hnsw');
      expect(log.map((q) => q.text.trim().split(/\s+/)[0])).toEqual(['begin;', 'select', 'commit']);
    } finally {
      c.release();
    }
  });

  it('returns the same rows when PostgreSQL runs its generic plan of the prepared statements', async () => {
    const c = await pool.connect();
    try {
      await c.query('set plan_cache_mode = force_generic_plan');
      for (const [, filter] of classes) {
        const query = docs[77]?.embedding ?? new Float32Array();
        const res = await similarDocuments(c, { embedding: query, k: 10, ...filter });
        expect(res.rows.map((r) => r.id)).toEqual(exactTopK(query, filter, 10));
      }
    } finally {
      await c.query('reset plan_cache_mode');
      c.release();
    }
  });

  it('walks a partial index that covers the filter’s value on every partition, and only then', async () => {
    const leaves = (
      await pool.query<{ name: string }>(
        `select relid::regclass::text as name from pg_partition_tree('documents') where isleaf`,
      )
    ).rows.map((r) => r.name);
    expect(leaves.length).toBeGreaterThan(1);
    const names = leaves.map((leaf, i) => `reads_src0_bq_${String(i)}`);
    const create = (leaf: string, name: string) =>
      pool.query(`create index ${name} on ${leaf} using hnsw (embedding_bq bit_hamming_ops)
                   where source_name = 'source-0000'`);
    // A fresh pool for each look: table facts are cached per pool for READ_PATH_FACTS_TTL_MS.
    const lookWith = async <T>(work: (p: pg.Pool) => Promise<T>): Promise<T> => {
      const fresh = new pg.Pool({ connectionString: db.url, max: 2 });
      fresh.on('error', () => undefined);
      try {
        return await work(fresh);
      } finally {
        await fresh.end();
      }
    };
    const options = { partialIndexMinRows: 0 };
    const popular: DocumentFilter = { sourceName: 'source-0000' };
    try {
      for (const [i, leaf] of leaves.entries()) await create(leaf, names[i] ?? '');
      await lookWith(async (p) => {
        let hits = 0;
        for (const filter of [popular, { ...popular, docType: 'article' }]) {
          for (const probe of [11, 222, 333, 444, 555]) {
            const query = docs[probe]?.embedding ?? new Float32Array();
            const res = await similarDocuments(p, { embedding: query, k: 10, ...filter }, options);
            expect(res.plan).toBe('partial-hnsw');
            expect(res.rows.every((r) => r.sourceName === 'source-0000')).toBe(true);
            const exact = new Set(exactTopK(query, filter, 10));
            hits += res.rows.filter((r) => exact.has(r.id)).length;
          }
        }
        expect(hits / 100).toBeGreaterThanOrEqual(0.9);
        // Every partition's scan is of its partial index, never of the full graph.
        const c = await p.connect();
        try {
          const log: RecordedQuery[] = [];
          await similarDocuments(
            recordingClient(c, log),
            { embedding: docs[0]?.embedding ?? new Float32Array(), k: 10, ...popular },
            options,
          );
          const plan = (await explainRecorded(c, log)).text;
          const hnsw = new Set(
            (
              await c.query<{ name: string }>(
                `select c.relname as name from pg_class c join pg_am a on a.oid = c.relam
                  where a.amname = 'hnsw'`,
              )
            ).rows.map((r) => r.name),
          );
          const walked = [...plan.matchAll(/Index Scan using (\w+) on /g)]
            .map((m) => m[1] ?? '')
            .filter((n) => hnsw.has(n));
          expect(new Set(walked)).toEqual(new Set(names));
          // Sorts are disabled on this plan, and JIT would compile the statement each time.
          expect(plan).not.toMatch(/JIT:/);
        } finally {
          c.release();
        }
        // Another value keeps the ordinary plans.
        const other = await similarDocuments(
          p,
          { embedding: docs[1]?.embedding ?? new Float32Array(), k: 10, sourceName: 'source-0001' },
          options,
        );
        expect(other.plan).toBe('quantized-scan');
      });
      // A partition without one: the value is not covered, and is scanned as before.
      await pool.query(`drop index ${names[0] ?? ''}`);
      await lookWith(async (p) => {
        const res = await similarDocuments(
          p,
          { embedding: docs[2]?.embedding ?? new Float32Array(), k: 10, ...popular },
          options,
        );
        expect(res.plan).toBe('quantized-scan');
        expect(res.rows.map((r) => r.id)).toEqual(
          exactTopK(docs[2]?.embedding ?? new Float32Array(), popular, 10),
        );
      });
    } finally {
      for (const name of names) await pool.query(`drop index if exists ${name}`);
    }
  });

  it('keeps a value covered when a partition is created after its partial index was built as the playbook does', async () => {
    const built = await createPartialIndex(pool, { column: 'doc_type', value: 'ticket' });
    const look = async (): Promise<string> => {
      const fresh = new pg.Pool({ connectionString: db.url, max: 1 });
      fresh.on('error', () => undefined);
      try {
        const res = await similarDocuments(
          fresh,
          { embedding: docs[4]?.embedding ?? new Float32Array(), k: 10, docType: 'ticket' },
          { partialIndexMinRows: 0 },
        );
        return res.plan;
      } finally {
        await fresh.end();
      }
    };
    try {
      expect(built.bytes).toBeGreaterThan(0);
      expect(await look()).toBe('partial-hnsw');
      // A month added later takes the parent's partial index with the rest of its indexes.
      await pool.query(`create table reads_p209901 partition of documents
                          for values from ('2099-01-01') to ('2099-02-01')`);
      expect(await look()).toBe('partial-hnsw');
    } finally {
      await pool.query('drop table if exists reads_p209901');
      await pool.query(`drop index if exists ${built.name}`);
    }
    expect(await look()).toBe('quantized-scan');
  });

  it('sends vectors and their quantised bits in binary forms the server reads back exactly', async () => {
    const v = docs[3]?.embedding ?? new Float32Array();
    const res = await pool.query<{ same: boolean; bits: boolean }>(
      `select $1::vector = $2::vector as same,
              $3::bit(3072) = binary_quantize($2::vector)::bit(3072) as bits`,
      [vectorBinary(v), `[${Array.from(v).join(',')}]`, binaryQuantized(v)],
    );
    expect(res.rows[0]).toEqual({ same: true, bits: true });
  });

  it('lists newest first with keyset pagination, gets by id, and counts', async () => {
    const first = await listDocuments(pool, { sourceName: 'source-0000' }, 5);
    expect(first.rows).toHaveLength(5);
    const second = await listDocuments(
      pool,
      { sourceName: 'source-0000' },
      5,
      first.next ?? undefined,
    );
    const all = docs
      .filter((d) => d.sourceName === 'source-0000')
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || Number(b.id) - Number(a.id))
      .slice(0, 10)
      .map((d) => d.id);
    expect([...first.rows, ...second.rows].map((r) => r.id)).toEqual(all);
    const one = await getDocument(pool, docs[7]?.id ?? '');
    expect(one).toMatchObject({ id: docs[7]?.id, docType: docs[7]?.docType });
    expect(await getDocument(pool, '999999999')).toBeNull();
    expect(await countDocuments(pool, { docType: 'contract' })).toBe(
      docs.filter((d) => d.docType === 'contract').length,
    );
  });

  it('pages through rows that share a millisecond without skipping any', async () => {
    await pool.query(
      `insert into document_sources (source_name) values ('micro') on conflict do nothing`,
    );
    await pool.query(`insert into documents (doc_type, source_name, content, created_at)
      select 'note', 'micro', 'x', timestamptz '2026-01-01 00:00:00.123' + (g || ' microseconds')::interval
        from generate_series(1, 5) g`);
    const seen: string[] = [];
    let cursor: Parameters<typeof listDocuments>[3];
    for (let page = 0; page < 10; page++) {
      const res = await listDocuments(pool, { sourceName: 'micro' }, 1, cursor);
      seen.push(...res.rows.map((r) => r.id));
      if (!res.next) break;
      cursor = res.next;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });
});

describe('doc-server read paths before the quantised index exists', () => {
  it('fall back to exact search on the full vector, and return the exact top-10', async () => {
    const db = await createTestDatabase('reads_old');
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      const run = await new Migrator({
        database: connectorFromUrl(db.url),
        source: new DirectoryMigrationSource('migrations'),
      }).apply({ target: '0007' });
      expect(run.error).toBeNull();
      const docs = await loadDocuments(pool, 300, { model: new EmbeddingModel(), keep: true });
      await pool.query('analyze documents');
      const query = docs[42]?.embedding ?? new Float32Array();
      const res = await similarDocuments(pool, { embedding: query, k: 5, docType: 'article' });
      expect(res.plan).toBe('exact');
      const want = docs
        .filter((d) => d.docType === 'article')
        .map((d) => ({ id: d.id, distance: 1 - dot(query, d.embedding) }))
        .sort((a, b) => a.distance - b.distance)
        .slice(0, 5)
        .map((d) => d.id);
      expect(res.rows.map((r) => r.id)).toEqual(want);
    } finally {
      await pool.end();
      await db.drop();
    }
  }, 60_000);
});
