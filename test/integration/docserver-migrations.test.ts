import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { dryRunAbove, projectMigrator as project } from '../helpers/migrations.js';

/** 5,000 documents; with `orphans`, 100 of them name sources document_sources lacks. */
async function populate(db: TestDatabase, orphans = true): Promise<void> {
  await db.query("insert into document_sources (source_name) values ('wiki'), ('jira')");
  if (!orphans)
    await db.query("insert into document_sources (source_name) values ('legacy-0'), ('legacy-50')");
  // Every tenth document has no embedding yet; the others a cheap 3072-d vector whose signs
  // vary with the row.
  await db.query(`insert into documents (doc_type, source_name, title, content, embedding)
    select case when g % 3 = 0 then 'ticket' else 'article' end,
           case when g % 50 = 0 then 'legacy-' || (g % 100) else (array['wiki', 'jira'])[1 + g % 2] end,
           'doc ' || g, 'content ' || g,
           case when g % 10 = 0 then null
                else (array_fill((g % 7 - 3)::real, array[1536]) || array_fill((2 - g % 5)::real, array[1536]))::vector end
      from generate_series(1, 5000) g`);
}

describe("the doc-server's migrations", () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('docs');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('apply from empty, ending with a validated foreign key', async () => {
    const run = await project(db.url).apply();
    expect(run.error).toBeNull();
    expect(run.results.every((r) => r.status === 'applied')).toBe(true);
    // On the partitioned table and, cloned from it, on every partition.
    const fk = await db.query<{ table: string; convalidated: boolean }>(
      `select conrelid::regclass::text as table, convalidated from pg_constraint
        where conname = 'documents_source_name_fkey' order by 1`,
    );
    expect(fk.rows.map((r) => r.table)).toContain('documents');
    expect(fk.rows.map((r) => r.table)).toContain('documents_legacy');
    expect(fk.rows.every((r) => r.convalidated)).toBe(true);
  });

  it('apply on a populated baseline, registering orphaned sources, and the key then rejects an orphan', async () => {
    expect((await project(db.url).apply({ target: '0001' })).error).toBeNull();
    await populate(db);
    const run = await project(db.url).apply();
    expect(run.error).toBeNull();
    expect(run.results.find((r) => r.id === '0002')?.notices).toEqual([
      'NOTICE: registered 2 source(s) that documents referenced but document_sources lacked',
    ]);
    const counts = await db.query<{ docs: number; orphans: number }>(
      `select (select count(*)::int from documents) as docs,
              (select count(*)::int from documents d where not exists (select 1 from document_sources s where s.source_name = d.source_name)) as orphans`,
    );
    expect(counts.rows[0]).toEqual({ docs: 5000, orphans: 0 });
    await expect(
      db.query(
        "insert into documents (doc_type, source_name, content) values ('note', 'nobody', 'x')",
      ),
    ).rejects.toThrow(/violates foreign key constraint "documents_source_name_fkey"/);
  });

  it('adopt an existing doc-server database with baseline, then apply the rest', async () => {
    const baseline =
      readFileSync('migrations/0001_docserver_baseline.sql', 'utf8').split('-- migrate:down')[0] ??
      '';
    await db.query(baseline);
    await populate(db);
    const adopted = await project(db.url).baseline({ version: '0001' });
    expect(adopted.error).toBeNull();
    const run = await project(db.url).apply();
    expect(run.results.map((r) => r.id)).toEqual([
      '0002',
      '0003',
      '0004',
      '0005',
      '0006',
      '0007',
      '0008',
      '0009',
      '0010',
    ]);
    expect(run.error).toBeNull();
  });

  it('add the covering keyset composites beside the baseline indexes, all valid, and roll them back', async () => {
    expect((await project(db.url).apply({ target: '0004' })).error).toBeNull();
    await populate(db, false);
    const run = await project(db.url).apply({ target: '0007' });
    expect(run.error).toBeNull();
    const indexes = await db.query<{ name: string; valid: boolean; def: string }>(
      `select c.relname as name, i.indisvalid as valid, pg_get_indexdef(i.indexrelid) as def
         from pg_index i join pg_class c on c.oid = i.indexrelid
        where i.indrelid = 'documents'::regclass order by 1`,
    );
    expect(indexes.rows.map((r) => [r.name, r.valid])).toEqual([
      ['documents_created_idx', true],
      ['documents_doc_type_idx', true],
      ['documents_pkey', true],
      ['documents_source_created_idx', true],
      ['documents_source_name_idx', true],
      ['documents_type_created_idx', true],
      ['documents_type_source_created_idx', true],
    ]);
    // The foreign key's referencing side keeps an index that leads with source_name.
    expect(indexes.rows.find((r) => r.name === 'documents_source_created_idx')?.def).toMatch(
      /\(source_name, created_at DESC, id DESC\) INCLUDE \(embedding_bq\)/,
    );
    await db.query('analyze documents');
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      "explain select id from documents where source_name = 'legacy-50' order by created_at desc, id desc limit 20",
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
      /Index (Only )?Scan using documents_source_created_idx/,
    );
    // And the down section restores the baseline's indexes.
    const back = await project(db.url).rollback({ to: '0004' });
    expect(back.error).toBeNull();
    const after = await db.query<{ name: string }>(
      "select indexrelid::regclass::text as name from pg_index where indrelid = 'documents'::regclass order by 1",
    );
    expect(after.rows.map((r) => r.name)).toEqual([
      'documents_doc_type_idx',
      'documents_pkey',
      'documents_source_name_idx',
    ]);
  });

  it('quantise every existing embedding, keep new and re-embedded rows in step, and index the bits', async () => {
    expect((await project(db.url).apply({ target: '0004' })).error).toBeNull();
    await populate(db, false);
    const run = await project(db.url).apply();
    expect(run.error).toBeNull();
    expect(run.results.find((r) => r.id === '0006')?.notices).toEqual([
      'NOTICE: quantised 4500 embedding(s)',
    ]);
    const state = async () =>
      (
        await db.query<{ missing: number; wrong: number; nulls: number }>(
          `select count(*) filter (where embedding is not null and embedding_bq is null)::int as missing,
                  count(*) filter (where embedding_bq <> binary_quantize(embedding)::bit(3072))::int as wrong,
                  count(*) filter (where embedding is null and embedding_bq is not null)::int as nulls
             from documents`,
        )
      ).rows[0];
    expect(await state()).toEqual({ missing: 0, wrong: 0, nulls: 0 });
    // Dual write: inserts and re-embeddings written after the backfill carry their bits too.
    await db.query(`insert into documents (doc_type, source_name, content, embedding)
      values ('note', 'wiki', 'new', array_fill(-1::real, array[3072])::vector)`);
    await db.query(`update documents set embedding = array_fill(1::real, array[3072])::vector
      where id in (select id from documents where embedding is null limit 3)`);
    await db.query(
      `update documents set embedding = null where id = (select min(id) from documents)`,
    );
    expect(await state()).toEqual({ missing: 0, wrong: 0, nulls: 0 });
    const index = await db.query<{ valid: boolean; def: string }>(
      `select indisvalid as valid, pg_get_indexdef(indexrelid) as def from pg_index
        where indexrelid = 'documents_embedding_bq_hnsw'::regclass`,
    );
    expect(index.rows[0]).toMatchObject({ valid: true });
    expect(index.rows[0]?.def).toMatch(/USING hnsw \(embedding_bq bit_hamming_ops\)/);
  });

  it('backfill again after an interruption, touching only the rows still missing their bits', async () => {
    expect((await project(db.url).apply({ target: '0005' })).error).toBeNull();
    await populate(db, false);
    // As if a first run had committed some batches before it died: the trigger fired for none of
    // these rows (they predate it in production), so clear their bits and keep a few.
    await db.query('update documents set embedding_bq = null where id > 1000');
    const run = await project(db.url).apply();
    expect(run.error).toBeNull();
    expect(run.results.find((r) => r.id === '0006')?.notices).toEqual([
      `NOTICE: quantised ${String(4000 - 400)} embedding(s)`,
    ]);
  });

  it('blocks writes only for milliseconds on a populated table, except 0009’s set-up statement, according to the staging dry-run', async () => {
    const report = await dryRunAbove(db, '0001', populate);
    expect(report.ok).toBe(true);
    // 0009 creates the partitioned parent and its monthly partitions in one statement: the
    // foreign key holds SHARE ROW EXCLUSIVE on document_sources, and the NOT VALID CHECK
    // ACCESS EXCLUSIVE on documents, until the last partition exists (100-250 ms here), which
    // the default 20 ms threshold sends to a maintenance window. The others' catalog changes
    // hold their locks for a few ms, but a commit's fsync on a busy test machine can pass 20 ms
    // (0005 did, in 1 of 4 runs alone): their bound is the 100 ms checked below, and
    // bench/online measures them properly.
    // What the dry-run saw of 0009, in the message: it failed once (1 of 5 CI runs, beside a
    // benchmark) with no migration needing a window.
    const seen0009 = JSON.stringify(report.migrations.find((m) => m.id === '0009')?.locks);
    expect(
      report.migrations.filter((m) => m.needsWindow).map((m) => m.id),
      `0009 locks: ${seen0009}`,
    ).toContain('0009');
    expect(report.migrations.find((m) => m.id === '0009')?.reasons.join('\n')).toMatch(
      /holds ACCESS EXCLUSIVE on documents for \d+ ms, blocking reads and writes \(threshold 20 ms\)/,
    );
    // Everything else that blocks writes is a catalog change: milliseconds (generous here for
    // a loaded test machine; bench/online measures it).
    for (const m of report.migrations.filter((x) => x.id !== '0009'))
      for (const lock of m.locks.filter((l) => l.blocksWrites))
        expect(lock.heldMs, `${m.id} ${lock.relation}`).toBeLessThan(100);
    const indexes = report.migrations.find((m) => m.id === '0007');
    // CREATE/DROP INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE on documents, writes go on
    // (builds this small may finish between two samples, so none seen is no failure).
    expect(indexes?.transactional).toBe(false);
    for (const lock of indexes?.locks.filter((l) => l.relation === 'documents') ?? [])
      expect(lock).toMatchObject({ blocksWrites: false });
    const validate = report.migrations.find((m) => m.id === '0004');
    // VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE: writers are never blocked.
    expect(validate?.locks.find((l) => l.relation === 'documents')).toMatchObject({
      mode: 'SHARE UPDATE EXCLUSIVE',
      blocksWrites: false,
    });
  });
});
