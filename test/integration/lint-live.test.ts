// The linter connected to a real PostgreSQL: it judges for the server's version, and the
// catalog's facts (types, NOT NULL, sizes) clear findings they prove harmless.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { lintPending } from '../../src/safety/pipeline/steps.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor, writeMigrationDir } from '../helpers/migrations.js';

const BASE = {
  file: '0001_items.sql',
  content: migrationText('create table items (id bigint primary key, v int);'),
};
/** PostgreSQL 18 syntax: fine when linting without a server, rejected by older servers. */
const NOT_NULL_NOT_VALID = {
  file: '0002_v_not_null.sql',
  content: migrationText('alter table items add constraint items_v_nn not null v not valid;'),
};

describe('lint with a database connection', () => {
  let db: TestDatabase;
  let serverMajor: number;
  beforeAll(async () => {
    db = await createTestDatabase('lint_live');
    await migratorFor(db.url, [BASE]).apply();
    const r = await db.query<{ v: string }>("select current_setting('server_version_num') as v");
    serverMajor = Math.floor(Number(r.rows[0]?.v) / 10_000);
  });
  afterAll(async () => {
    await db.drop();
  });

  it("judges for the server's PostgreSQL version unless the project names one", async () => {
    // The shared test server is older than 18 (15 here): NOT NULL … NOT VALID is rejected there.
    expect(serverMajor).toBeLessThan(18);
    const migrations = await new InlineMigrationSource([BASE, NOT_NULL_NOT_VALID]).load();
    const offline = await lintPending(migrations, ['0002'], 'enforce');
    expect(offline.pgVersion).toEqual({ major: 18, source: 'default' });
    expect(offline.ok).toBe(true);

    const live = await lintPending(migrations, ['0002'], 'enforce', { databaseUrl: db.url });
    expect(live.pgVersion).toEqual({ major: serverMajor, source: 'server' });
    const errors = live.findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => f.ruleId)).toEqual(['requires-newer-postgres']);
    expect(live.ok).toBe(false);

    const named = await lintPending(migrations, ['0002'], 'enforce', {
      databaseUrl: db.url,
      pgVersion: 18,
    });
    expect(named.pgVersion).toEqual({ major: 18, source: 'config' });
    expect(named.ok).toBe(true);
  });

  it("the dry-run lints for its staging server's version and reports it", async () => {
    const prod = await createTestDatabase('lint_live_prod');
    try {
      const report = await runDryRun({
        source: new InlineMigrationSource([BASE, NOT_NULL_NOT_VALID]),
        staging: { kind: 'url', url: db.url },
        productionUrl: prod.url,
      });
      expect(report.lintPgVersion).toEqual({ major: serverMajor, source: 'server' });
      const errors = report.migrations
        .find((x) => x.id === '0002')
        ?.lint.filter((f) => f.severity === 'error');
      expect(errors?.map((f) => f.ruleId)).toEqual(['requires-newer-postgres']);
      expect(errors?.[0]?.message).toContain(`linted for PostgreSQL ${String(serverMajor)}`);
    } finally {
      await prod.drop();
    }
  });
});

/** `dbmigrate` as a user runs it (the built CLI: `npm run -s build` first). */
function dbmigrate(args: readonly string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['dist/cli/dbmigrate.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ...env },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** A password the server (trust authentication) ignores: it must never be printed. */
const PASSWORD = 'Sup3rS3cretPw';

const withPassword = (url: string): string => {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
};

interface JsonFinding {
  ruleId: string;
  file: string;
  severity: string;
  message: string;
  cleared?: string;
}

describe('lint --database-url: facts from the live database', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('lint_facts');
    await db.query(`
      create table tags (id bigint primary key, name varchar(10), slug text);
      insert into tags select g, 't' || g, 's' || g from generate_series(1, 100) g;
      create table documents (id bigint primary key, title varchar(50) not null, body text);
      insert into documents select g, 'title ' || g, repeat('x', 50) from generate_series(1, 20000) g;
      analyze tags; analyze documents;
    `);
    dir = await writeMigrationDir([
      {
        file: '0001_tags_idx.sql',
        content: migrationText('create index tags_name_idx on tags (name);'),
      },
      {
        file: '0002_documents_idx.sql',
        content: migrationText('create index documents_body_idx on documents (body);'),
      },
      {
        file: '0003_widen.sql',
        content: migrationText('alter table tags alter column name type varchar(40);'),
      },
      {
        file: '0004_shrink.sql',
        content: migrationText('alter table documents alter column title type varchar(20);'),
      },
      {
        file: '0005_title_not_null.sql',
        content: migrationText('alter table documents alter column title set not null;'),
      },
    ]);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('clears the small-table index, the varchar widening and a column already NOT NULL; the rest stays flagged', () => {
    const url = withPassword(db.url);
    const res = dbmigrate([
      'lint',
      '--migrations',
      dir,
      '--database-url',
      url,
      '--statement-timeout',
      '1min',
      '--json',
    ]);
    expect(`${res.stdout}${res.stderr}`).not.toContain(PASSWORD);
    expect(res.status, res.stderr).toBe(3);
    const report = JSON.parse(res.stdout) as {
      ok: boolean;
      errors: number;
      cleared: number;
      pgVersion: { major: number; source: string };
      findings: JsonFinding[];
    };
    expect(report.pgVersion.source).toBe('server');
    const byFile = (name: string) =>
      report.findings.filter((f) => f.file.endsWith(name) && f.severity === 'error');
    expect(byFile('0001_tags_idx.sql')).toEqual([
      expect.objectContaining({
        ruleId: 'require-concurrent-index-creation',
        cleared:
          'table tags has ~100 rows (16 kB), under the small-table limit (10,000 rows, 10 MB): the build holds SHARE for milliseconds',
      }),
    ]);
    const standing = (name: string) => byFile(name).map((f) => [f.ruleId, f.cleared]);
    // 20,000 rows: over the small-table limit, still a hazard.
    expect(standing('0002_documents_idx.sql')).toEqual([
      ['require-concurrent-index-creation', undefined],
    ]);
    expect(byFile('0003_widen.sql')).toEqual([
      expect.objectContaining({
        ruleId: 'changing-column-type',
        cleared: expect.stringContaining('column name is varchar(10) in the database') as string,
      }),
    ]);
    // varchar(50) to varchar(20) rewrites (and checks) every row.
    expect(standing('0004_shrink.sql')).toEqual([['changing-column-type', undefined]]);
    expect(byFile('0005_title_not_null.sql')).toEqual([
      expect.objectContaining({
        ruleId: 'set-not-null-without-check',
        cleared: 'column title is already NOT NULL in the database: SET NOT NULL changes nothing',
      }),
    ]);
    expect(report.errors).toBe(2);
    expect(report.cleared).toBe(3);
  });

  it('takes DATABASE_URL too, and the human output shows a cleared finding as a note with its reason', () => {
    const res = dbmigrate(['lint', '--migrations', dir, '--statement-timeout', '1min'], {
      DATABASE_URL: withPassword(db.url),
    });
    expect(`${res.stdout}${res.stderr}`).not.toContain(PASSWORD);
    expect(res.stdout).toContain(
      'note require-concurrent-index-creation: CREATE INDEX tags_name_idx on existing table tags',
    );
    expect(res.stdout).toContain('  cleared by live facts: table tags has ~100 rows (16 kB)');
    expect(res.stdout).toMatch(
      /failed: 5 migrations linted, 2 errors, \d+ warnings?, 3 cleared by live facts/,
    );
    expect(res.stdout).toMatch(/judged for PostgreSQL \d+ \(the server's version\)/);
  });

  it('never queues behind a lock: a table another session holds is not measured, so not cleared', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('begin; lock table tags in access exclusive mode');
    try {
      const migrations = await new InlineMigrationSource([
        {
          file: '0001_tags_idx.sql',
          content: migrationText('create index tags_name_idx on tags (name);'),
        },
      ]).load();
      const t0 = Date.now();
      const verdict = await lintPending(migrations, ['0001'], 'enforce', {
        databaseUrl: db.url,
        statementTimeoutMs: 60_000,
      });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(verdict.cleared).toBe(0);
      expect(verdict.findings.map((f) => f.ruleId)).toEqual(['require-concurrent-index-creation']);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });

  it('names a connection problem without the password', () => {
    const bad = new URL(withPassword(db.url));
    bad.pathname = '/dbm_no_such_database_for_lint';
    const res = dbmigrate(['lint', '--migrations', dir, '--database-url', bad.toString()]);
    expect(res.status).toBe(6);
    expect(res.stderr).toContain('dbm_no_such_database_for_lint');
    expect(`${res.stdout}${res.stderr}`).not.toContain(PASSWORD);
  });

  it("the dry-run lints with the staging copy's facts and lists what they cleared", async () => {
    const prod = await createTestDatabase('lint_facts_prod');
    try {
      const report = await runDryRun({
        source: new InlineMigrationSource([
          {
            file: '0001_tags_idx.sql',
            content: migrationText('create index tags_name_idx on tags (name);'),
          },
          {
            file: '0002_documents_idx.sql',
            content: migrationText('create index documents_body_idx on documents (body);'),
          },
        ]),
        staging: { kind: 'url', url: db.url },
        productionUrl: prod.url,
        migrator: { statementTimeoutMs: 60_000 },
      });
      const [tags, documents] = report.migrations;
      expect(tags?.lint).toEqual([]);
      expect(tags?.lintCleared).toEqual([
        expect.objectContaining({
          ruleId: 'require-concurrent-index-creation',
          reason: expect.stringContaining('table tags has ~100 rows') as string,
        }),
      ]);
      expect(tags?.reasons.some((r) => r.includes('linter'))).toBe(false);
      expect(documents?.lint.map((f) => f.ruleId)).toEqual(['require-concurrent-index-creation']);
      expect(documents?.lintCleared).toEqual([]);
    } finally {
      await prod.drop();
    }
  });
});
