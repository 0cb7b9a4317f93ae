import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingModel } from '../../bench/docserver/embeddings.js';
import { loadDocuments, type LoadedDocument } from '../../bench/docserver/load.js';
import { connectorFromUrl } from '../../src/db/connection.js';
import {
  countDocuments,
  getDocument,
  listDocuments,
  similarDocuments,
  type DocumentFilter,
} from '../../src/db/read-paths.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

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
    docs.push(
      ...(await loadDocuments(pool, 1200, {
        model: new EmbeddingModel(),
        sources: 60,
        keep: true,
      })),
    );
    await pool.query(
      'create index documents_embedding_hnsw on documents using hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops)',
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

  it.each(classes)('returns the exact top-10 for the %s filter class', async (_name, filter) => {
    for (const probe of [3, 500, 1111]) {
      const query = docs[probe]?.embedding ?? new Float32Array();
      const res = await similarDocuments(pool, { embedding: query, k: 10, ...filter });
      expect(res.plan).toBe('exact');
      expect(res.rows.map((r) => r.id)).toEqual(exactTopK(query, filter, 10));
    }
  });

  it('uses the HNSW index with iterative scan above the threshold, with high recall', async () => {
    let hits = 0;
    let total = 0;
    for (const probe of [10, 20, 30, 40, 50]) {
      const query = docs[probe]?.embedding ?? new Float32Array();
      for (const [, filter] of classes.slice(0, 2)) {
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
    }
    expect(hits / total).toBeGreaterThanOrEqual(0.9);
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
