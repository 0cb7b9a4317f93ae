// The linter connected to a real PostgreSQL: it judges for the server's version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { lintPending } from '../../src/safety/pipeline/steps.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

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
