import { copyFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { runBackfill } from '../../src/safety/backfill/backfill.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('docs/examples/dual-write', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('dualwrite');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('expands with a sync trigger, backfills, and contracts, as the playbook describes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbm-dual-'));
    await copyFile(
      'migrations/0001_docserver_baseline.sql',
      join(dir, '0001_docserver_baseline.sql'),
    );
    const applyTo = (target: string) =>
      new Migrator({
        database: connectorFromUrl(db.url),
        source: new DirectoryMigrationSource(dir),
        lockWaitMs: 1000,
      }).apply({ target });
    expect((await applyTo('0001')).error).toBeNull();
    await db.query(
      "insert into documents (doc_type, source_name, title, content) select 'note', 's', 'Title ' || g, 'c' from generate_series(1, 300) g",
    );
    for (const f of await readdir('docs/examples/dual-write'))
      await copyFile(join('docs/examples/dual-write', f), join(dir, f));
    expect((await applyTo('0101')).error).toBeNull();
    // New writes are kept in step by the trigger.
    await db.query(
      "insert into documents (doc_type, source_name, title, content) values ('note', 's', 'NEW Doc', 'c')",
    );
    await db.query("update documents set title = 'Changed' where id = 1");
    const synced = await db.query<{ title_norm: string }>(
      'select title_norm from documents where id in (1, 301) order by id',
    );
    expect(synced.rows).toEqual([{ title_norm: 'changed' }, { title_norm: 'new doc' }]);
    // Existing rows by the batched backfill.
    const backfill = await runBackfill({
      databaseUrl: db.url,
      name: 'docs_title_norm',
      table: 'documents',
      set: 'title_norm = lower(title)',
      where: 'title_norm is null',
      batchSize: 100,
      throttleMs: 0,
    });
    expect(backfill).toMatchObject({ finished: true, rowsUpdated: 299 });
    const mismatched = await db.query(
      'select 1 from documents where title_norm is distinct from lower(title)',
    );
    expect(mismatched.rowCount).toBe(0);
    expect((await applyTo('0102')).error).toBeNull();
    const trigger = await db.query(
      "select 1 from pg_trigger where tgname = 'documents_title_norm_sync'",
    );
    expect(trigger.rowCount).toBe(0);
  });
});
