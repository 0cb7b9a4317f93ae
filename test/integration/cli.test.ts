import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CommandIo } from '../../src/cli/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, writeMigrationDir } from '../helpers/migrations.js';

async function dbmigrate(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  const io: CommandIo = { stdout: (t) => out.push(t), env };
  try {
    const code = await main([...argv, '--log-level', 'silent'], io);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('dbmigrate CLI', () => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    db = await createTestDatabase('cli');
    dir = await writeMigrationDir([
      { file: '0001_a.sql', content: migrationText('create table a (id int);', 'drop table a;') },
      { file: '0002_b.sql', content: migrationText('create table b (id int);') },
    ]);
    env = { DATABASE_URL: db.url, DBMIGRATE_MIGRATIONS: dir };
  });
  afterEach(async () => {
    await db.drop();
  });

  it('plans, applies, and shows status and history as tables', async () => {
    const plan = await dbmigrate(env, 'plan');
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/0001\s+a\s+transaction/);
    const apply = await dbmigrate(env, 'apply');
    expect(apply.code).toBe(0);
    expect(apply.out).toMatch(/applied 2, failed 0, already applied 0/);
    const status = await dbmigrate(env, 'status');
    expect(status.out).toMatch(/0002\s+b\s+applied/);
    expect(status.out).toContain('2 applied, 0 pending');
    const history = await dbmigrate(env, 'history', '--json');
    const events = JSON.parse(history.out) as { migrationId: string; action: string }[];
    expect(events.map((e) => `${e.migrationId}:${e.action}`)).toEqual([
      '0001:applied',
      '0002:applied',
    ]);
  });

  it('exits 3 on validation failure, 5 on a SQL error, 6 when the database is unreachable, 2 on bad usage', async () => {
    await dbmigrate(env, 'apply');
    const edited = await writeMigrationDir([
      { file: '0001_a.sql', content: migrationText('create table a (id bigint);') },
      { file: '0002_b.sql', content: migrationText('create table b (id int);') },
    ]);
    const drift = await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: edited }, 'validate');
    expect(drift.code).toBe(3);
    expect(drift.out).toContain('[CHECKSUM_DRIFT]');

    const failing = await writeMigrationDir([
      { file: '0001_a.sql', content: migrationText('create table a (id int);', 'drop table a;') },
      { file: '0002_b.sql', content: migrationText('create table b (id int);') },
      { file: '0003_c.sql', content: migrationText('\n\nselect 1/0;') },
    ]);
    const sql = await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: failing }, 'apply');
    expect(sql.code).toBe(5);
    expect(sql.err).toMatch(
      /^dbmigrate apply: error \[SQL_ERROR\]: \S*0003_c\.sql:4: migration 0003 failed \(SQLSTATE 22012\): division by zero/m,
    );

    const down = await dbmigrate(
      { DATABASE_URL: 'postgres://u:s3cret@127.0.0.1:1/x', DBMIGRATE_MIGRATIONS: dir },
      'status',
    );
    expect(down.code).toBe(6);
    expect(down.err).toContain('cannot connect to u@127.0.0.1:1/x');
    expect(down.err).not.toContain('s3cret');

    expect((await dbmigrate(env, 'apply', '--bogus')).code).toBe(2);
    expect((await dbmigrate(env, 'rollback')).err).toContain('--to ID is required');
    expect((await dbmigrate({}, 'status')).err).toContain('set DATABASE_URL');
  });

  it('refuses a --target, --to or --version that is not a migration ID with exit 2, before connecting', async () => {
    for (const argv of [
      ['apply', '--target', 'abc'],
      ['plan', '--target', '1e3'],
      ['rollback', '--to', 'latest'],
      ['baseline', '--version', 'v1'],
    ]) {
      const res = await dbmigrate(env, ...argv);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.err).toMatch(
        /is not a migration ID \(the digits a file name starts with, e\.g\. 0007\)/,
      );
      expect(res.err).not.toMatch(/internal error|SyntaxError|\n\s+at /);
    }
    expect(
      (await db.query("select 1 from pg_namespace where nspname = 'dbmigrate'")).rowCount,
    ).toBe(0);
  });

  it('exits 3 and rolls back nothing when asked to roll back an irreversible migration', async () => {
    await dbmigrate(env, 'apply');
    const refused = await dbmigrate(env, 'rollback', '--to', '0001');
    expect(refused.code).toBe(3);
    expect(refused.err).toContain(
      'dbmigrate rollback: error [IRREVERSIBLE]: cannot roll back: migration 0002 has no -- migrate:down section',
    );
    // Refused before anything ran: no "rolled back 0" summary suggesting it did something.
    expect(refused.out).toBe('');
    const tables = await db.query("select 1 from pg_class where relname in ('a', 'b')");
    expect(tables.rowCount).toBe(2);
  });

  it('baselines an existing database', async () => {
    await db.query('create table a (id int)');
    const res = await dbmigrate(env, 'baseline', '--version', '0001', '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ applied: 1, error: null });
    const apply = await dbmigrate(env, 'apply');
    expect(apply.out).toMatch(/applied 1,/);
  });

  it('verifies a snapshot on a throwaway local server with --scratch-local, never on production, and removes it after', async () => {
    await db.query('create table kept (id int); insert into kept select generate_series(1, 100)');
    const storage = await writeMigrationDir([]);
    const refused = await dbmigrate(env, 'snapshot', 'create', '--verify', '--storage', storage);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--scratch-local');
    // Nothing was dumped before the refusal.
    expect((await dbmigrate(env, 'snapshot', 'list', '--storage', storage)).out).toContain(
      'no snapshots',
    );
    const before = new Set(await readdir(tmpdir()));
    const made = await dbmigrate(
      env,
      'snapshot',
      'create',
      '--verify',
      '--scratch-local',
      '--storage',
      storage,
      '--json',
    );
    expect(made.code).toBe(0);
    const result = JSON.parse(made.out) as {
      verification: { ok: boolean; scratchDatabase: string };
    };
    expect(result.verification.ok).toBe(true);
    // The production server never saw the scratch database.
    const onProduction = await db.query('select 1 from pg_database where datname = $1', [
      result.verification.scratchDatabase,
    ]);
    expect(onProduction.rowCount).toBe(0);
    const left = (await readdir(tmpdir())).filter(
      (d) => d.startsWith('dbm-scratch-') && !before.has(d),
    );
    expect(left).toEqual([]);
  });

  it('Ctrl-C during snapshot create --verify --scratch-local leaves no server and no copy behind', async () => {
    await db.query(
      "create table big (id int, pad text); insert into big select g, repeat('x', 200) from generate_series(1, 300000) g",
    );
    const storage = await writeMigrationDir([]);
    const before = new Set(await readdir(tmpdir()));
    const child = spawn(
      process.execPath,
      [
        'dist/cli/dbmigrate.js',
        'snapshot',
        'create',
        '--verify',
        '--scratch-local',
        '--storage',
        storage,
      ],
      { env: { ...process.env, DATABASE_URL: db.url }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let scratch: string | undefined;
    for (let i = 0; i < 400 && scratch === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      scratch = (await readdir(tmpdir())).find(
        (d) => d.startsWith('dbm-scratch-') && !before.has(d),
      );
    }
    expect(scratch, 'the local server started').toBeDefined();
    // Once the server runs (its pid file exists), interrupt.
    for (
      let i = 0;
      i < 400 && !existsSync(join(tmpdir(), scratch ?? '', 'data', 'postmaster.pid'));
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    expect(await exited).not.toBe(0);
    expect(existsSync(join(tmpdir(), scratch ?? ''))).toBe(false);
  });

  it('every command takes the history schema from dbmigrate.json, as apply --safe does', async () => {
    const cfgDir = await writeMigrationDir([]);
    const cfg = join(cfgDir, 'dbmigrate.json');
    await writeFile(cfg, JSON.stringify({ historySchema: 'team_history' }));
    const withConfig = { ...env, DBMIGRATE_CONFIG: cfg };
    expect((await dbmigrate(withConfig, 'apply')).code).toBe(0);
    const schemas = await db.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname in ('dbmigrate', 'team_history')",
    );
    expect(schemas.rows.map((r) => r.nspname)).toEqual(['team_history']);
    expect((await dbmigrate(withConfig, 'status')).out).toContain('2 applied, 0 pending');
  });

  it('exits 6, not 5, when the connection is lost in the middle of a migration', async () => {
    const slow = await writeMigrationDir([
      {
        file: '0001_slow.sql',
        content: migrationText(
          'create table slow_a (id int);\nselect pg_sleep(10);\ncreate table slow_b (id int);',
          undefined,
          '-- dbmigrate:transaction=false',
        ),
      },
    ]);
    const running = dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: slow }, 'apply');
    for (let i = 0; i < 200; i++) {
      const res = await db.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'dbmigrate:%' and query like '%pg_sleep%'",
      );
      if ((res.rowCount ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await running;
    expect(res.code).toBe(6);
    expect(`${res.out}${res.err}`).toContain('lost the database connection during migration 0001');
    // It resumes from the recorded progress: statement 1 is not run again.
    const resumed = await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: slow }, 'apply', '--resume');
    expect(resumed.code).toBe(0);
    expect(
      (await db.query("select 1 from pg_class where relname in ('slow_a', 'slow_b')")).rowCount,
    ).toBe(2);
  });

  it('resumes after a runner was killed during CREATE INDEX CONCURRENTLY that the server then finished', async () => {
    const cic = await writeMigrationDir([
      {
        file: '0001_items.sql',
        content: migrationText(
          'create table items (id int, name text);\ninsert into items select g, g::text from generate_series(1, 1000) g;',
        ),
      },
      {
        file: '0002_idx.sql',
        content: migrationText(
          'create index concurrently items_name_idx on items (name);',
          undefined,
          '-- dbmigrate:transaction=false',
        ),
      },
    ]);
    expect(
      (await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: cic }, 'apply', '--target', '0001')).code,
    ).toBe(0);
    // An open transaction makes the index build wait, so the runner can be killed mid-way.
    const pg = (await import('pg')).default;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('begin isolation level repeatable read; select count(*) from items');
    const child = spawn(process.execPath, ['dist/cli/dbmigrate.js', 'apply'], {
      env: { ...process.env, DATABASE_URL: db.url, DBMIGRATE_MIGRATIONS: cic },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 200; i++) {
      const res = await db.query(
        "select 1 from pg_stat_activity where datname = current_database() and query ilike 'create index concurrently%'",
      );
      if ((res.rowCount ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    // The server carries on: once the old transaction ends, the index is built and valid.
    await holder.query('commit');
    await holder.end();
    for (let i = 0; i < 200; i++) {
      const res = await db
        .query(
          "select 1 from pg_index where indexrelid = 'items_name_idx'::regclass and indisvalid",
        )
        .catch(() => ({ rowCount: 0 }));
      if ((res.rowCount ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const resumed = await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: cic }, 'apply', '--resume');
    expect(resumed.code, resumed.out + resumed.err).toBe(0);
    const status = await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: cic }, 'status');
    expect(status.out).toContain('2 applied, 0 pending');
  });

  it('apply --safe honours --out-of-order and the timing flags', async () => {
    const files = [
      { file: '0001_a.sql', content: migrationText('create table a (id int);') },
      { file: '0003_c.sql', content: migrationText('create table c (id int);') },
    ];
    const ordered = await writeMigrationDir(files);
    const storage = await writeMigrationDir([]);
    const safe = (...extra: string[]) =>
      dbmigrate(
        { ...env, DBMIGRATE_MIGRATIONS: late },
        'apply',
        '--safe',
        '--storage',
        storage,
        '--scratch-on-production',
        ...extra,
      );
    expect((await dbmigrate({ ...env, DBMIGRATE_MIGRATIONS: ordered }, 'apply')).code).toBe(0);
    // 0002 arrives after 0003 was applied.
    const late = await writeMigrationDir([
      ...files,
      { file: '0002_b.sql', content: migrationText('create table b (id int);') },
    ]);
    const refused = await safe();
    expect(refused.code).toBe(3);
    expect(refused.out).toContain('OUT_OF_ORDER');
    const res = await safe('--out-of-order', '--lock-timeout', '2s', '--statement-timeout', '1min');
    expect(res.code).toBe(0);
    expect((await db.query("select 1 from pg_class where relname = 'b'")).rowCount).toBe(1);
  });

  it('runs apply --safe end to end and refuses --now without confirming the database name', async () => {
    const storage = await writeMigrationDir([]);
    const refused = await dbmigrate(env, 'apply', '--safe', '--now', '--storage', storage);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`confirm by adding --confirm ${db.name}`);
    const unsure = await dbmigrate(env, 'apply', '--safe', '--storage', storage);
    // No scratch server named: refused before any step, naming the choices.
    expect(unsure.code).toBe(2);
    expect(unsure.err).toContain('--scratch-url URL');
    expect(unsure.err).toContain('--scratch-on-production');
    const res = await dbmigrate(
      env,
      'apply',
      '--safe',
      '--storage',
      storage,
      '--scratch-on-production',
    );
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/post-verify\s+ok/);
    expect(res.out).toContain('safe apply finished: every step passed');
    const snapshots = await dbmigrate(env, 'snapshot', 'list', '--storage', storage);
    expect(snapshots.out).toContain('1 snapshot(s), 1 verified');
  });
});
