import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/config.js';
import { createSnapshot } from '../../src/safety/snapshot/snapshot.js';
import { LocalDirectoryStorage } from '../../src/safety/snapshot/storage.js';
import { postVerify } from '../../src/safety/verify/post-verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const defaults = parseConfig({}, 'test').postVerify;

describe('post-verify', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('verify');
    await db.query(`
      create table sources (name text primary key);
      create table docs (id bigint primary key, source text not null, n int);
      insert into sources values ('a');
      insert into docs select g, 'a', g from generate_series(1, 100) g;`);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('passes on a healthy database', async () => {
    const report = await postVerify({ databaseUrl: db.url, config: defaults });
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['constraints', 'ok'],
      ['invalid-indexes', 'ok'],
      ['amcheck', 'skipped'],
      ['row-counts', 'skipped'],
      ['smoke-queries', 'skipped'],
    ]);
  });

  it('catches an invalid index and an orphan row behind a NOT VALID foreign key', async () => {
    await db.query("insert into docs values (101, 'ghost', 1)");
    await db.query(
      'alter table docs add constraint docs_source_fk foreign key (source) references sources (name) not valid',
    );
    await db.query('insert into docs values (102, $$a$$, 1), (103, $$a$$, 1)');
    await db.query('create table u (v int); insert into u values (1), (1)');
    await expect(db.query('create unique index concurrently u_v on u (v)')).rejects.toThrow();
    const report = await postVerify({ databaseUrl: db.url, config: defaults });
    expect(report.ok).toBe(false);
    const constraints = report.checks.find((c) => c.check === 'constraints');
    expect(constraints?.status).toBe('error');
    expect(constraints?.findings[0]).toMatch(
      /^docs: 1 row\(s\) violate NOT VALID constraint docs_source_fk .* orphans/,
    );
    const invalid = report.checks.find((c) => c.check === 'invalid-indexes');
    expect(invalid?.findings).toEqual([
      'index u_v on u is INVALID; DROP INDEX CONCURRENTLY u_v and rebuild it',
    ]);
  });

  it('warns about a NOT VALID constraint with no violating rows, and checks NOT VALID CHECKs too', async () => {
    await db.query('alter table docs add constraint docs_n_positive check (n > 0) not valid');
    const clean = await postVerify({ databaseUrl: db.url, config: defaults });
    expect(clean.ok).toBe(true);
    expect(clean.checks[0]).toMatchObject({ status: 'warning' });
    await db.query('alter table docs drop constraint docs_n_positive');
    await db.query('update docs set n = -1 where id = 1');
    await db.query('alter table docs add constraint docs_n_positive check (n > 0) not valid');
    const broken = await postVerify({ databaseUrl: db.url, config: defaults });
    expect(broken.checks[0]?.findings[0]).toMatch(
      /docs: 1 row\(s\) violate NOT VALID constraint docs_n_positive/,
    );
  });

  it('runs amcheck on the touched tables, compares counts with the snapshot, and times smoke queries', async () => {
    await db.query('create extension amcheck; create index docs_n_idx on docs (n)');
    const storage = new LocalDirectoryStorage(await mkdtemp(join(tmpdir(), 'dbm-verify-')));
    const manifest = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    await db.query('delete from docs where id <= 10');
    const config = parseConfig(
      {
        postVerify: {
          smokeQueries: [
            { name: 'by id', sql: 'select * from docs where id = 50', maxMs: 1000 },
            { name: 'slow', sql: 'select pg_sleep(0.05)', maxMs: 5 },
          ],
        },
      },
      'test',
    ).postVerify;
    const report = await postVerify({
      databaseUrl: db.url,
      config,
      manifest,
      touchedTables: ['public.docs'],
    });
    expect(report.checks.find((c) => c.check === 'amcheck')?.status).toBe('ok');
    expect(report.checks.find((c) => c.check === 'row-counts')?.findings).toEqual([
      'table public.docs has 90 rows, the snapshot had 100 (allowed ±1); declare it in postVerify.declaredRowChanges if the migrations change it on purpose',
    ]);
    expect(report.smoke.map((s) => [s.name, s.ok])).toEqual([
      ['by id', true],
      ['slow', false],
    ]);
    expect(JSON.stringify(report.smoke[0]?.plan)).toContain('Execution Time');
    const declared = await postVerify({
      databaseUrl: db.url,
      config: { ...config, declaredRowChanges: ['public.docs'], smokeQueries: [] },
      manifest,
    });
    expect(declared.ok).toBe(true);
    // The smoke queries ran read-only and rolled back.
    expect((await db.query('select count(*)::int as n from docs')).rows[0]).toEqual({ n: 90 });
  });
});
