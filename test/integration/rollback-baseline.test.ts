import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

const M1 = {
  file: '0001_a.sql',
  content: migrationText('create table a (id int);', 'drop table a;'),
};
const M2 = {
  file: '0002_b.sql',
  content: migrationText('create table b (id int);', 'drop table b;'),
};
const M3 = {
  file: '0003_b_idx.sql',
  content: migrationText(
    'create index concurrently b_id_idx on b (id);',
    'drop index concurrently b_id_idx;',
    '-- dbmigrate:transaction=false',
  ),
};
const IRREVERSIBLE = { file: '0003_c.sql', content: migrationText('create table c (id int);') };

async function relations(db: TestDatabase): Promise<string[]> {
  const res = await db.query<{ relname: string }>(
    "select relname from pg_class where relnamespace = 'public'::regnamespace order by 1",
  );
  return res.rows.map((r) => r.relname);
}

describe('rollback', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rollback');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('runs down sections newest first back to the target, then the migrations apply again', async () => {
    await migratorFor(db.url, [M1, M2, M3]).apply();
    expect(await relations(db)).toEqual(['a', 'b', 'b_id_idx']);
    const run = await migratorFor(db.url, [M1, M2, M3]).rollback({ to: '0001' });
    expect(run.error).toBeNull();
    expect(run.results.map((r) => r.id)).toEqual(['0003', '0002']);
    expect(await relations(db)).toEqual(['a']);
    const status = await migratorFor(db.url, [M1, M2, M3]).status();
    expect(status.entries.map((e) => e.state)).toEqual(['applied', 'rolled_back', 'rolled_back']);
    expect(status.pending).toBe(2);
    const again = await migratorFor(db.url, [M1, M2, M3]).apply();
    expect(again.applied).toBe(2);
    expect(await relations(db)).toEqual(['a', 'b', 'b_id_idx']);
  });

  it('refuses, rolling back nothing, when a migration in the way has no down section', async () => {
    await migratorFor(db.url, [M1, M2, IRREVERSIBLE]).apply();
    const run = await migratorFor(db.url, [M1, M2, IRREVERSIBLE]).rollback({ to: '0001' });
    expect(run.error?.code).toBe('IRREVERSIBLE');
    expect(run.error?.message).toContain('0003 has no -- migrate:down section');
    expect(await relations(db)).toEqual(['a', 'b', 'c']);
  });

  it('rolls back every migration with --to 0', async () => {
    await migratorFor(db.url, [M1, M2]).apply();
    const run = await migratorFor(db.url, [M1, M2]).rollback({ to: '0' });
    expect(run.error).toBeNull();
    expect(run.results.map((r) => r.id)).toEqual(['0002', '0001']);
    expect(await relations(db)).toEqual([]);
  });

  it('refuses an unknown target', async () => {
    await migratorFor(db.url, [M1]).apply();
    const run = await migratorFor(db.url, [M1]).rollback({ to: '0042' });
    expect(run.error?.code).toBe('UNKNOWN_TARGET');
  });
});

describe('baseline', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('baseline');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('adopts an existing database without re-running what it already has', async () => {
    await db.query('create table a (id int); create table b (id int);');
    const base = await migratorFor(db.url, [M1, M2, M3]).baseline({ version: '0002' });
    expect(base.error).toBeNull();
    expect(base.applied).toBe(2);
    const status = await migratorFor(db.url, [M1, M2, M3]).status();
    expect(status.entries.map((e) => [e.id, e.state])).toEqual([
      ['0001', 'baselined'],
      ['0002', 'baselined'],
      ['0003', 'pending'],
    ]);
    const run = await migratorFor(db.url, [M1, M2, M3]).apply();
    expect(run.results.map((r) => r.id)).toEqual(['0003']);
    expect(await relations(db)).toEqual(['a', 'b', 'b_id_idx']);
  });

  it('refuses to baseline a database that already has history', async () => {
    await migratorFor(db.url, [M1]).apply();
    const run = await migratorFor(db.url, [M1, M2]).baseline({ version: '0002' });
    expect(run.error?.code).toBe('BASELINE_REFUSED');
    const status = await migratorFor(db.url, [M1, M2]).status();
    expect(status.entries.map((e) => e.state)).toEqual(['applied', 'pending']);
  });
});

describe('history import', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('import');
    await db.query('create table a (id int); create table b (id int);');
  });
  afterEach(async () => {
    await db.drop();
  });

  const sqlxTable = `create table _sqlx_migrations (
      version bigint primary key, description text not null,
      installed_on timestamptz not null default now(), success boolean not null,
      checksum bytea not null, execution_time bigint not null)`;

  it("imports sqlx's _sqlx_migrations so its migrations are not re-run", async () => {
    await db.query(sqlxTable);
    await db.query(
      "insert into _sqlx_migrations values (1, 'a', now(), true, '\\x00', 12000000), (2, 'b', now(), true, '\\x00', 3000000)",
    );
    const imported = await migratorFor(db.url, [M1, M2, M3]).importHistory({ from: 'sqlx' });
    expect(imported.error).toBeNull();
    expect(imported.results.map((r) => [r.id, r.durationMs])).toEqual([
      ['0001', 12],
      ['0002', 3],
    ]);
    const rows = await db.query<{ id: string; source: string; status: string }>(
      'select id, source, status from dbmigrate.migration_history order by id',
    );
    expect(rows.rows).toEqual([
      { id: '0001', source: 'sqlx', status: 'applied' },
      { id: '0002', source: 'sqlx', status: 'applied' },
    ]);
    const run = await migratorFor(db.url, [M1, M2, M3]).apply();
    expect(run.results.map((r) => r.id)).toEqual(['0003']);
  });

  it('refuses, importing nothing, when sqlx recorded a version with no matching file', async () => {
    await db.query(sqlxTable);
    await db.query(
      "insert into _sqlx_migrations values (1, 'a', now(), true, '\\x00', 1), (7, 'mystery', now(), true, '\\x00', 1)",
    );
    const run = await migratorFor(db.url, [M1, M2]).importHistory({ from: 'sqlx' });
    expect(run.error?.code).toBe('IMPORT_REFUSED');
    expect(run.error?.message).toContain('7 (mystery)');
    // Refused before writing: not even the history schema was created.
    const schema = await db.query("select 1 from pg_namespace where nspname = 'dbmigrate'");
    expect(schema.rowCount).toBe(0);
  });

  it('refuses when sqlx recorded a failed migration', async () => {
    await db.query(sqlxTable);
    await db.query("insert into _sqlx_migrations values (1, 'a', now(), false, '\\x00', 1)");
    const run = await migratorFor(db.url, [M1]).importHistory({ from: 'sqlx' });
    expect(run.error?.code).toBe('IMPORT_REFUSED');
    expect(run.error?.message).toMatch(/recorded failed migrations \(1\)/);
  });

  it("imports Flyway's flyway_schema_history, including its baseline marker", async () => {
    await db.query(`create table flyway_schema_history (
      installed_rank int primary key, version varchar(50), description varchar(200) not null,
      type varchar(20) not null, script varchar(1000) not null, checksum int,
      installed_by varchar(100) not null, installed_on timestamp not null default now(),
      execution_time int not null, success boolean not null)`);
    await db.query(`insert into flyway_schema_history values
      (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', null, 'ops', now(), 0, true),
      (2, '2', 'b', 'SQL', 'V2__b.sql', 123, 'ops', now(), 45, true),
      (3, null, 'views', 'SQL', 'R__views.sql', 9, 'ops', now(), 1, true)`);
    const run = await migratorFor(db.url, [M1, M2, M3]).importHistory({ from: 'flyway' });
    expect(run.error).toBeNull();
    expect(run.notImported).toEqual(['repeatable views']);
    const status = await migratorFor(db.url, [M1, M2, M3]).status();
    expect(status.entries.map((e) => [e.id, e.state])).toEqual([
      ['0001', 'baselined'],
      ['0002', 'applied'],
      ['0003', 'pending'],
    ]);
  });

  it('says clearly when there is no history table to import', async () => {
    const run = await migratorFor(db.url, [M1]).importHistory({ from: 'flyway' });
    expect(run.error?.code).toBe('IMPORT_REFUSED');
    expect(run.error?.message).toContain('no flyway history table public.flyway_schema_history');
  });
});
