import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const project = (url: string): Migrator =>
  new Migrator({
    database: connectorFromUrl(url),
    source: new DirectoryMigrationSource('migrations'),
    lockWaitMs: 5000,
  });

async function populate(db: TestDatabase): Promise<void> {
  await db.query("insert into document_sources (source_name) values ('wiki'), ('jira')");
  await db.query(`insert into documents (doc_type, source_name, title, content)
    select case when g % 3 = 0 then 'ticket' else 'article' end,
           case when g % 50 = 0 then 'legacy-' || (g % 100) else (array['wiki', 'jira'])[1 + g % 2] end,
           'doc ' || g, 'content ' || g
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
    const fk = await db.query<{ convalidated: boolean }>(
      "select convalidated from pg_constraint where conname = 'documents_source_name_fkey'",
    );
    expect(fk.rows).toEqual([{ convalidated: true }]);
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
    expect(run.results.map((r) => r.id)).toEqual(['0002', '0003', '0004']);
    expect(run.error).toBeNull();
  });

  it('never blocks writes for long on a populated table, according to the staging dry-run', async () => {
    const staging = await createTestDatabase('docs_staging');
    try {
      for (const target of [db, staging]) {
        expect((await project(target.url).apply({ target: '0001' })).error).toBeNull();
        await populate(target);
      }
      const report = await runDryRun({
        source: new DirectoryMigrationSource('migrations'),
        staging: { kind: 'url', url: staging.url },
        productionUrl: db.url,
      });
      expect(report.ok).toBe(true);
      expect(report.needsWindow).toBe(false);
      const validate = report.migrations.find((m) => m.id === '0004');
      // VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE: writers are never blocked.
      expect(validate?.locks.find((l) => l.relation === 'documents')).toMatchObject({
        mode: 'SHARE UPDATE EXCLUSIVE',
        blocksWrites: false,
      });
    } finally {
      await staging.drop();
    }
  });
});
