import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { dryRunAbove, projectMigrator as project } from '../helpers/migrations.js';

/** 3,000 documents over the last two years, every third without an embedding. */
async function populate(db: TestDatabase): Promise<void> {
  await db.query(
    "insert into document_sources (source_name) values ('wiki'), ('jira') on conflict do nothing",
  );
  await db.query(`insert into documents (doc_type, source_name, content, embedding, created_at)
    select 'article', (array['wiki', 'jira'])[1 + g % 2], 'doc ' || g,
           case when g % 3 = 0 then null
                else (array_fill((g % 5 - 2)::real, array[3072]))::vector end,
           now() - (g * interval '6 hours')
      from generate_series(1, 3000) g`);
}

interface Partition {
  name: string;
  bound: string;
  rows: number;
}

async function partitions(db: TestDatabase): Promise<Partition[]> {
  const res = await db.query<{ name: string; bound: string }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'documents'::regclass order by 1`,
  );
  const out: Partition[] = [];
  for (const r of res.rows) {
    const n = await db.query<{ n: number }>(`select count(*)::int as n from ${r.name}`);
    out.push({ ...r, rows: n.rows[0]?.n ?? 0 });
  }
  return out;
}

describe('time partitioning of documents (0009)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('parts');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('turns the live table into the legacy partition without copying or losing a row', async () => {
    expect((await project(db.url).apply({ target: '0008' })).error).toBeNull();
    await populate(db);
    const before = await db.query<{ n: number; ids: number; max: string; oid: number }>(
      `select count(*)::int as n, count(distinct id)::int as ids, max(id)::text as max,
              'documents'::regclass::oid::int as oid from documents`,
    );
    const run = await project(db.url).apply();
    expect(run.error).toBeNull();
    expect(run.results.map((r) => [r.id, r.status])).toEqual([
      ['0009', 'applied'],
      ['0010', 'applied'],
    ]);

    const kind = await db.query<{ relkind: string }>(
      "select relkind from pg_class where oid = 'documents'::regclass",
    );
    expect(kind.rows[0]?.relkind).toBe('p');
    const parts = await partitions(db);
    // The same table (same OID, no copy) now holds every existing row as the legacy partition.
    const legacy = await db.query<{ oid: number }>(
      "select 'documents_legacy'::regclass::oid::int as oid",
    );
    expect(legacy.rows[0]?.oid).toBe(before.rows[0]?.oid);
    expect(parts[0]).toMatchObject({ name: 'documents_legacy', rows: 3000 });
    expect(parts[0]?.bound).toMatch(
      /^FOR VALUES FROM \(MINVALUE\) TO \('\d{4}-\d{2}-01 00:00:00\+00'\)$/,
    );
    // Monthly partitions from the legacy bound, at least three months ahead.
    const monthly = parts.slice(1);
    expect(monthly.length).toBeGreaterThanOrEqual(2);
    for (const p of monthly) expect(p.name).toMatch(/^documents_p\d{6}$/);
    const after = await db.query<{ n: number; ids: number }>(
      'select count(*)::int as n, count(distinct id)::int as ids from documents',
    );
    expect(after.rows[0]).toEqual({ n: before.rows[0]?.n, ids: before.rows[0]?.ids });

    // New rows: ids continue the old sequence, the bits are written, each lands in its month.
    const firstMonthly = monthly[0]?.name ?? '';
    const start = /FROM \('([^']+)'\)/.exec(monthly[0]?.bound ?? '')?.[1] ?? '';
    const inserted = await db.query<{ part: string; id: string; bq: boolean }>(
      `insert into documents (doc_type, source_name, content, embedding, created_at)
       values ('note', 'wiki', 'now', array_fill(1::real, array[3072])::vector, now()),
              ('note', 'jira', 'later', array_fill(-1::real, array[3072])::vector, $1::timestamptz + interval '1 day')
       returning tableoid::regclass::text as part, id::text, embedding_bq is not null as bq`,
      [start],
    );
    expect(inserted.rows.map((r) => [r.part, r.bq])).toEqual([
      ['documents_legacy', true],
      [firstMonthly, true],
    ]);
    expect(inserted.rows.every((r) => BigInt(r.id) > BigInt(before.rows[0]?.max ?? '0'))).toBe(
      true,
    );
    // The foreign key holds on every partition, old and new.
    for (const when of ['now()', `'${start}'::timestamptz + interval '2 days'`])
      await expect(
        db.query(
          `insert into documents (doc_type, source_name, content, created_at) values ('note', 'nobody', 'x', ${when})`,
        ),
      ).rejects.toThrow(/violates foreign key constraint "documents_source_name_fkey"/);
    // A row beyond the last partition is refused, not silently misfiled.
    await expect(
      db.query(
        "insert into documents (doc_type, source_name, content, created_at) values ('note', 'wiki', 'x', now() + interval '5 years')",
      ),
    ).rejects.toThrow(/no partition of relation "documents" found for row/);

    // Every index of the parent is valid, i.e. attached on every partition.
    const invalid = await db.query<{ name: string }>(
      `select indexrelid::regclass::text as name from pg_index
        where indrelid = 'documents'::regclass and not indisvalid`,
    );
    expect(invalid.rows).toEqual([]);
    const names = await db.query<{ name: string }>(
      "select indexrelid::regclass::text as name from pg_index where indrelid = 'documents'::regclass order by 1",
    );
    expect(names.rows.map((r) => r.name)).toEqual([
      'documents_created_idx',
      'documents_doc_type_idx',
      'documents_embedding_bq_hnsw',
      'documents_pkey',
      'documents_source_created_idx',
      'documents_source_name_idx',
      'documents_type_created_idx',
      'documents_type_source_created_idx',
    ]);
  });

  it('creates future partitions idempotently, without ever taking ACCESS EXCLUSIVE on documents', async () => {
    expect((await project(db.url).apply()).error).toBeNull();
    const before = (await partitions(db)).map((p) => p.name);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const createdCount = await (async () => {
      await client.query('begin');
      const created = await client.query<{ name: string }>(
        "select documents_ensure_partitions(interval '8 months') as name",
      );
      const locks = await client.query<{ mode: string }>(
        `select mode from pg_locks where pid = pg_backend_pid() and relation = 'documents'::regclass`,
      );
      await client.query('commit');
      expect(created.rows.length).toBeGreaterThanOrEqual(4);
      expect(locks.rows.map((r) => r.mode)).not.toContain('AccessExclusiveLock');
      expect(locks.rows.map((r) => r.mode)).toContain('ShareUpdateExclusiveLock');
      const again = await client.query("select documents_ensure_partitions(interval '8 months')");
      expect(again.rows).toEqual([]);
      return created.rows.length;
    })().finally(() => client.end());
    const after = await partitions(db);
    expect(after.length).toBe(before.length + createdCount);
    // Contiguous months: each partition starts where the previous one ends.
    const bounds = after
      .slice(1)
      .map((p) => /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(p.bound)?.slice(1) ?? []);
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]?.[0]).toBe(bounds[i - 1]?.[1]);
  });

  it('refuses before changing anything when a view depends on documents', async () => {
    expect((await project(db.url).apply({ target: '0008' })).error).toBeNull();
    await db.query('create view recent_documents as select id, title from documents');
    const run = await project(db.url).apply();
    expect(run.error?.message).toMatch(/views depend on documents \(recent_documents\)/);
    const kind = await db.query<{ relkind: string }>(
      "select relkind from pg_class where oid = 'documents'::regclass",
    );
    expect(kind.rows[0]?.relkind).toBe('r');
    const created = await db.query(
      "select 1 from pg_class where relname in ('documents_partitioned', 'documents_id_created_key')",
    );
    expect(created.rows).toEqual([]);
  });

  it('holds no write-blocking lock on documents beyond the swap, according to the staging dry-run', async () => {
    const report = await dryRunAbove(db, '0008', populate);
    expect(report.ok).toBe(true);
    const conversion = report.migrations.find((m) => m.id === '0009');
    expect(conversion?.status).toBe('applied');
    for (const lock of conversion?.locks ?? [])
      if (lock.blocksWrites) expect(lock.heldMs).toBeLessThan(1000);
  });
});
