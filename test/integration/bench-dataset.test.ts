import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelOf } from '../../bench/docserver/documents.js';
import { loadDocuments } from '../../bench/docserver/load.js';
import { BURSTY } from '../../bench/docserver/shapes.js';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The binary COPY loader runs its generator in a worker thread, which needs the built
// JavaScript (make test builds first).
const built: string = '../../dist/bench/docserver/copy-load.js';
const { copyDocuments } = (await import(
  built
)) as typeof import('../../bench/docserver/copy-load.js');

/** Every column of every row (and of the sources), as one digest, with the counts. */
async function contents(url: string): Promise<{ documents: unknown; sources: unknown }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const documents = await client.query(
      `select count(*)::int as n, count(distinct source_name)::int as sources,
              md5(string_agg(concat_ws('|', id, doc_type, source_name, title, content, metadata::text,
                                       embedding::text, created_at), E'\\n' order by id)) as digest
         from documents`,
    );
    const sources = await client.query(
      `select count(*)::int as n, md5(string_agg(id || ':' || source_name, ',' order by id)) as digest
         from document_sources`,
    );
    return { documents: documents.rows[0], sources: sources.rows[0] };
  } finally {
    await client.end();
  }
}

describe('bench/docserver template loading', () => {
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    for (const label of ['load_insert', 'load_copy']) {
      const db = await createTestDatabase(label);
      dbs.push(db);
      const run = await new Migrator({
        database: connectorFromUrl(db.url),
        source: new DirectoryMigrationSource('migrations'),
      }).apply({ target: '0004' });
      expect(run.error).toBeNull();
    }
  }, 60_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('copies in binary exactly the rows, IDs and sources the row-by-row loader inserts', async () => {
    const [inserted, copied] = dbs as [TestDatabase, TestDatabase];
    const count = 1_500; // two of the copy loader's batches
    const pool = new pg.Pool({ connectionString: inserted.url, max: 2 });
    try {
      await loadDocuments(pool, count, { shape: BURSTY, model: modelOf(BURSTY) });
    } finally {
      await pool.end();
    }
    const progress: number[] = [];
    await copyDocuments(copied.url, count, BURSTY, (n) => progress.push(n));
    expect(progress).toEqual([1_000, 1_500]);
    const expected = await contents(inserted.url);
    expect(expected.documents).toMatchObject({ n: count });
    expect(await contents(copied.url)).toEqual(expected);
  }, 120_000);
});
