import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveDocuments } from '../../src/db/archive.js';
import { ensurePartitions, listPartitions } from '../../src/db/partitions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { projectMigrator as project } from '../helpers/migrations.js';

const run = promisify(execFile);

/** A fingerprint of every row (all columns), to prove rows moved unchanged. */
const FINGERPRINT = `select md5(string_agg(t::text, '|' order by t.id)) as f, count(*)::int as n
  from (select id, doc_type, source_name, title, content, metadata, embedding, created_at, updated_at, embedding_bq from %s) t`;

describe('archival of aged documents', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeEach(async () => {
    db = await createTestDatabase('archive');
    expect((await project(db.url).apply()).error).toBeNull();
    await db.query("insert into document_sources (source_name) values ('wiki'), ('jira')");
    // 3,000 documents, one every 6 hours back from now: 750 days.
    await db.query(`insert into documents (doc_type, source_name, content, embedding, created_at)
      select 'article', (array['wiki', 'jira'])[1 + g % 2], 'doc ' || g,
             case when g % 4 = 0 then null else array_fill((g % 3 - 1)::real, array[3072])::vector end,
             now() - g * interval '6 hours'
        from generate_series(1, 3000) g`);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterEach(async () => {
    await client.end();
    await db.drop();
  });

  it('moves the aged rows of the legacy partition in batches, unchanged, losing none', async () => {
    const older = await db.query<{ f: string; n: number }>(
      FINGERPRINT.replace('%s', "documents where created_at < now() - interval '1 year'"),
    );
    const res = await archiveDocuments(client, {
      olderThan: '1 year',
      batchSize: 250,
      throttleMs: 0,
    });
    expect(res.legacyRows).toBe(older.rows[0]?.n);
    expect(res.movedRows).toBe(older.rows[0]?.n);
    expect(res.batches).toBe(Math.ceil((older.rows[0]?.n ?? 0) / 250));
    expect(res.totalAfter).toBe(3000);
    expect(res.totalBefore).toBe(3000);
    const archived = await db.query<{ f: string; n: number }>(
      FINGERPRINT.replace('%s', 'documents_archive'),
    );
    expect(archived.rows[0]).toEqual(older.rows[0]);
    const left = await db.query<{ n: number }>(
      'select count(*)::int as n from documents where created_at < $1::timestamptz',
      [res.cutoff],
    );
    expect(left.rows[0]?.n).toBe(0);
    // A second run finds nothing more to move.
    const again = await archiveDocuments(client, { olderThan: '1 year', throttleMs: 0 });
    expect(again.movedRows).toBe(0);
  });

  it('changes nothing on a dry run, and reports what would move', async () => {
    const before = await db.query<{ f: string }>(FINGERPRINT.replace('%s', 'documents'));
    const res = await archiveDocuments(client, { olderThan: '18 months', dryRun: true });
    expect(res.dryRun).toBe(true);
    expect(res.movedRows).toBe(0);
    expect(res.legacyRows).toBeGreaterThan(0);
    const after = await db.query<{ f: string }>(FINGERPRINT.replace('%s', 'documents'));
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(
      (await db.query<{ n: number }>('select count(*)::int as n from documents_archive')).rows[0]
        ?.n,
    ).toBe(0);
  });

  it('detaches whole aged months concurrently and attaches them to the archive, copying nothing', async () => {
    // Months after the legacy bound, with documents in them; then age them by measuring from
    // two years ahead.
    await ensurePartitions(client, '6 months');
    const months = (await listPartitions(client)).filter((p) => /^documents_p\d{6}$/.test(p.name));
    const [first, second] = months;
    if (!first?.from || !second?.from) throw new Error('expected two monthly partitions');
    for (const p of [first, second])
      await db.query(
        `insert into documents (doc_type, source_name, content, created_at)
         select 'note', 'wiki', 'future ' || g, $1::timestamptz + g * interval '1 hour'
           from generate_series(1, 40) g`,
        [p.from],
      );
    const oid = (name: string) =>
      db.query<{ oid: number }>('select $1::regclass::oid::int as oid', [name]);
    const firstOid = (await oid(first.name)).rows[0]?.oid;
    const asOf = new Date(new Date(second.to ?? '').getTime() + 86_400_000);
    const res = await archiveDocuments(client, {
      olderThan: '1 day',
      asOf,
      throttleMs: 0,
    });
    expect(res.partitions).toEqual([
      { name: first.name, rows: 40 },
      { name: second.name, rows: 40 },
    ]);
    expect(res.movedRows).toBe(80 + res.legacyRows);
    expect(res.totalAfter).toBe(res.totalBefore);
    const archiveParts = await listPartitions(client, 'documents_archive');
    expect(archiveParts.map((p) => p.name)).toEqual([
      'documents_archive_legacy',
      first.name,
      second.name,
    ]);
    // The same relation, moved by the catalog: no copy.
    expect((await oid(first.name)).rows[0]?.oid).toBe(firstOid);
    expect((await listPartitions(client)).map((p) => p.name)).not.toContain(first.name);
    // Archived rows pin no source, and the live table still works.
    const fks = await db.query(
      `select 1 from pg_constraint where conrelid = $1::regclass and contype = 'f'`,
      [first.name],
    );
    expect(fks.rows).toEqual([]);
    await db.query(
      "insert into documents (doc_type, source_name, content) values ('note', 'wiki', 'x')",
    );
  });

  it('finishes what an interrupted run left: a month detached but not yet archived', async () => {
    await ensurePartitions(client, '4 months');
    const month = (await listPartitions(client)).find((p) => /^documents_p\d{6}$/.test(p.name));
    if (!month) throw new Error('expected a monthly partition');
    await db.query(`alter table documents detach partition ${month.name}`);
    await archiveDocuments(client, { olderThan: '10 years', throttleMs: 0 });
    expect((await listPartitions(client, 'documents_archive')).map((p) => p.name)).toContain(
      month.name,
    );
  });

  it('refuses a bad age or a database without the archive, changing nothing', async () => {
    await expect(archiveDocuments(client, { olderThan: 'soon' })).rejects.toMatchObject({
      code: 'BAD_INTERVAL',
      message: expect.stringMatching(/--older-than: "soon" is not an interval/) as string,
    });
    await expect(archiveDocuments(client, { olderThan: '-1 day' })).rejects.toMatchObject({
      code: 'BAD_INTERVAL',
    });
    const old = await createTestDatabase('archive_old');
    try {
      expect((await project(old.url).apply({ target: '0009' })).error).toBeNull();
      const c = new pg.Client({ connectionString: old.url });
      await c.connect();
      try {
        await expect(archiveDocuments(c, { olderThan: '1 year' })).rejects.toMatchObject({
          code: 'ARCHIVE_MISSING',
        });
      } finally {
        await c.end();
      }
    } finally {
      await old.drop();
    }
  });

  it('runs from the CLI: dbmigrate archive --dry-run --json, then for real', async () => {
    const cli = ['dist/cli/dbmigrate.js', '--database-url', db.url];
    const dry = await run(process.execPath, [
      cli[0] ?? '',
      'archive',
      '--older-than',
      '2 years',
      '--dry-run',
      '--json',
      ...cli.slice(1),
    ]);
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; legacyRows: number };
    expect(plan.dryRun).toBe(true);
    const real = await run(process.execPath, [
      cli[0] ?? '',
      'archive',
      '--older-than',
      '2 years',
      ...cli.slice(1),
    ]);
    expect(real.stdout).toMatch(
      new RegExp(
        `moved ${String(plan.legacyRows)} rows in .*; documents \\+ archive 3000 before = 3000 after`,
      ),
    );
    const parts = await run(process.execPath, [
      cli[0] ?? '',
      'partitions',
      'list',
      ...cli.slice(1),
    ]);
    expect(parts.stdout).toMatch(/^documents_legacy\s+MINVALUE\s+\d{4}-\d{2}-01/m);
  });
});
