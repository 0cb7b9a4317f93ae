// Both restore routes against the real server: pg_restore connected to it, and the script route
// taken when pg_restore is newer than the server (pg_restore 17 in the image, servers 15/16).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libpqEnvironment } from '../../src/safety/snapshot/pg-tools.js';
import { restoreArchive } from '../../src/safety/snapshot/restore-archive.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('restoreArchive', () => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  let dump: string;

  beforeAll(async () => {
    source = await createTestDatabase('restore_src');
    await source.query(`create table notes (id bigint primary key, body text not null);
      insert into notes select g, 'note ' || g from generate_series(1, 500) g;
      insert into notes values (501, 'SET transaction_timeout = 0;');
      create index notes_body on notes (body);`);
    dump = join(mkdtempSync(join(tmpdir(), 'dbm-restore-')), 'dump.pgdump');
    const { env, dbname } = libpqEnvironment(source.url);
    execFileSync('pg_dump', ['-Fc', `--file=${dump}`, dbname], { env });
  });
  afterAll(async () => {
    await source.drop();
    for (const t of targets) await t.drop();
  });

  async function target(): Promise<TestDatabase> {
    const db = await createTestDatabase('restore_dst');
    targets.push(db);
    return db;
  }

  for (const route of ['pg_restore', 'script'] as const) {
    it(`restores every row and index through ${route}`, async () => {
      const db = await target();
      expect(await restoreArchive(dump, db.url, { route })).toBe(route);
      const rows = await db.query<{ n: string; odd: string }>(
        'select count(*)::text as n, max(body) filter (where id = 501) as odd from notes',
      );
      expect(rows.rows[0]).toEqual({ n: '501', odd: 'SET transaction_timeout = 0;' });
      const idx = await db.query("select 1 from pg_indexes where indexname = 'notes_body'");
      expect(idx.rowCount).toBe(1);
    });

    it(`stops at the first error through ${route}, naming it`, async () => {
      const db = await target();
      await db.query('create table notes (id int)');
      await expect(restoreArchive(dump, db.url, { route })).rejects.toThrow(
        /relation "notes" already exists/,
      );
    });
  }

  it('takes pg_restore when the tools are not newer than the server', async () => {
    const db = await target();
    expect(await restoreArchive(dump, db.url)).toBe('pg_restore');
  });
});
