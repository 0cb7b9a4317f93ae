import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSettings, parseConfig } from '../../src/api/config.js';
import { resolveSettings } from '../../src/api/settings.js';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { runSafeApply } from '../../src/safety/pipeline/safe-apply.js';
import { listSnapshots } from '../../src/safety/snapshot/snapshot.js';
import { LocalDirectoryStorage } from '../../src/safety/snapshot/storage.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

const BASE = {
  file: '0001_items.sql',
  content: migrationText(
    "create table items (id bigint primary key, name text not null);\ninsert into items select g, 'n' || (g % 100) from generate_series(1, 2000) g;",
  ),
};

async function columns(db: TestDatabase): Promise<string[]> {
  const res = await db.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_name = 'items' order by ordinal_position",
  );
  return res.rows.map((r) => r.column_name);
}

describe('apply --safe', () => {
  let db: TestDatabase;
  let storage: LocalDirectoryStorage;
  beforeEach(async () => {
    db = await createTestDatabase('safe');
    await migratorFor(db.url, [BASE]).apply();
    storage = new LocalDirectoryStorage(await mkdtemp(join(tmpdir(), 'dbm-safe-')));
  });
  afterEach(async () => {
    await db.drop();
  });

  const run = (files: { file: string; content: string }[], config: unknown = {}, extra = {}) => {
    const parsed = parseConfig(config, 'test');
    return runSafeApply({
      databaseUrl: db.url,
      source: new InlineMigrationSource(files),
      config: parsed,
      settings: resolveSettings(configSettings(parsed)),
      storage,
      snapshotMethod: { kind: 'pg_dump', scratchServerUrl: adminUrl() },
      ...extra,
    });
  };

  it('snapshots, verifies, dry-runs, applies and post-verifies', async () => {
    const files = [
      BASE,
      {
        file: '0002_name_index.sql',
        content: migrationText(
          'create index concurrently items_name_idx on items (name);',
          undefined,
          '-- dbmigrate:transaction=false',
        ),
      },
      { file: '0003_note.sql', content: migrationText('alter table items add column note text;') },
    ];
    // The window verdict is not what this test is about: on a loaded machine the ALTER of
    // 0003 can hold its lock past the default 20 ms, and the run would stop for a window.
    const config = { windowThresholdMs: 5000 };
    const report = await run(files, config);
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['plan', 'ok'],
      ['lint', 'ok'],
      ['snapshot', 'ok'],
      ['verify-snapshot', 'ok'],
      ['dry-run', 'ok'],
      ['apply', 'ok'],
      ['post-verify', 'ok'],
    ]);
    expect(report.ok).toBe(true);
    expect(report.productionTouched).toBe(true);
    expect(await columns(db)).toEqual(['id', 'name', 'note']);
    const { manifests } = await listSnapshots(storage);
    expect(manifests.map((m) => m.verification?.ok)).toEqual([true]);
    // Nothing pending the second time: no snapshot is taken.
    const again = await run(files, config);
    expect(again.steps.map((s) => s.step)).toEqual(['plan']);
  });

  it('stops before production when the dry-run fails', async () => {
    const files = [
      BASE,
      { file: '0002_ok.sql', content: migrationText('alter table items add column note text;') },
      {
        file: '0003_unique.sql',
        content: migrationText(
          'create unique index concurrently items_name_key on items (name);',
          undefined,
          '-- dbmigrate:transaction=false',
        ),
      },
    ];
    const report = await run(files);
    expect(report.ok).toBe(false);
    expect(report.stoppedAt).toBe('dry-run');
    expect(report.productionTouched).toBe(false);
    expect(report.steps.at(-1)?.detail).toMatch(
      /dry-run failed on staging at 0003: .*could not create unique index.*; production was not touched/,
    );
    expect(await columns(db)).toEqual(['id', 'name']);
    const status = await migratorFor(db.url, files).status();
    expect(status.entries.map((e) => e.state)).toEqual(['applied', 'pending', 'pending']);
  });

  it('stops before production when a blocking migration has no maintenance window, and runs with --now', async () => {
    const files = [
      BASE,
      {
        file: '0002_slow.sql',
        content: migrationText('alter table items add column note text;\nselect pg_sleep(0.4);'),
      },
    ];
    const config = {
      windowThresholdMs: 100,
      maintenanceWindows: [{ days: ['sun'], start: '03:00', end: '03:01' }],
    };
    const refused = await run(files, config, { maxWindowWaitMs: 1000 });
    expect(refused.stoppedAt).toBe('window');
    expect(refused.steps.at(-1)?.detail).toMatch(/later than the 1000 ms allowed to wait/);
    expect(await columns(db)).toEqual(['id', 'name']);
    const forced = await run(files, config, { confirmedNow: true });
    expect(forced.ok).toBe(true);
    expect(forced.steps.find((s) => s.step === 'window')?.detail).toMatch(
      /--now confirmed; running outside a window although 0002 holds ACCESS EXCLUSIVE on items/,
    );
    expect(await columns(db)).toEqual(['id', 'name', 'note']);
  });

  it('stops at the lint step, before any snapshot, when a pending migration has a lint error', async () => {
    const files = [
      BASE,
      {
        file: '0002_index.sql',
        content: migrationText('create index items_name_idx on items (name);'),
      },
    ];
    // items has 2,000 rows: under the default small-table limit the live facts clear the plain
    // index (next test); with a limit below it, the finding stands.
    const big = { maxRows: 1000, maxBytes: 10 * 1024 * 1024 };
    const report = await run(files, { lint: { policy: 'enforce', smallTable: big } });
    expect(report.stoppedAt).toBe('lint');
    expect(report.steps.at(-1)?.detail).toMatch(
      /1 lint error\(s\) \(policy enforce\): 0002_index\.sql:2 require-concurrent-index-creation/,
    );
    expect((await listSnapshots(storage)).manifests).toEqual([]);
    // With lint set to warn, the finding instead requires a maintenance window.
    const warned = await run(
      files,
      { lint: { policy: 'warn', smallTable: big }, maintenanceWindows: [] },
      { maxWindowWaitMs: 1000 },
    );
    expect(warned.stoppedAt).toBe('window');
    expect(warned.dryRun?.migrations[0]?.reasons[0]).toMatch(
      /the linter flags require-concurrent-index-creation at line 2/,
    );
  });

  it("lets a plain index on a small table through: the target's facts clear the finding", async () => {
    const files = [
      BASE,
      {
        file: '0002_index.sql',
        content: migrationText('create index items_name_idx on items (name);'),
      },
    ];
    const report = await run(files);
    const lint = report.steps.find((s) => s.step === 'lint');
    expect(lint?.status).toBe('ok');
    expect(lint?.detail).toMatch(/; 1 cleared by live facts \(judged for PostgreSQL \d+/);
    expect(report.stoppedAt).not.toBe('lint');
  });

  it('stops at the dry-run when the staging database already has the pending set (nothing was measured)', async () => {
    const files = [
      BASE,
      { file: '0002_note.sql', content: migrationText('alter table items add column note text;') },
    ];
    const staging = await createTestDatabase('safe_stage');
    try {
      await migratorFor(staging.url, files).apply();
      const report = await run(files, {}, { stagingUrl: staging.url });
      expect(report.stoppedAt).toBe('dry-run');
      expect(report.steps.at(-1)?.detail).toMatch(
        /^the dry-run did not run 0002: the staging database already records it as applied/,
      );
      expect(report.productionTouched).toBe(false);
      expect(await columns(db)).toEqual(['id', 'name']);
    } finally {
      await staging.drop();
    }
  });

  it('refuses at the plan step, before any snapshot, when validation fails', async () => {
    const drifted = { file: BASE.file, content: migrationText('create table items (id int);') };
    const report = await run([drifted]);
    expect(report.stoppedAt).toBe('plan');
    expect(report.steps[0]?.detail).toContain('[CHECKSUM_DRIFT]');
    expect((await listSnapshots(storage)).manifests).toEqual([]);
  });
});
