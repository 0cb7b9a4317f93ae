import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseMigration } from '../../src/api/v1alpha1/database-migration.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MigrationReconciler } from '../../src/operator/migration-reconciler.js';
import { SnapshotReconciler } from '../../src/operator/snapshot-reconciler.js';
import { RetryLater } from '../../src/operator/migration-source.js';
import { TerminalError } from '../../src/operator/reconcile.js';
import { TaskRunner } from '../../src/operator/tasks.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { MemoryResourceApi } from '../helpers/memory-api.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

/**
 * The DatabaseMigration state machine against a real PostgreSQL, with the Kubernetes calls
 * served from memory (the e2e tests run the same reconciler against a real API server).
 */
const FILES = [
  { file: '0001_items.sql', content: migrationText('create table items (id bigint primary key);') },
  { file: '0002_note.sql', content: migrationText('alter table items add column note text;') },
];

function inline(files: readonly { file: string; content: string }[]) {
  return { inline: files.map((f) => ({ name: f.file, sql: f.content })) };
}

describe('DatabaseMigration state machine', () => {
  let db: TestDatabase;
  let api: MemoryResourceApi;
  let reconciler: MigrationReconciler;
  let snapshots: SnapshotReconciler;
  const extra: TestDatabase[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('sm');
    api = new MemoryResourceApi();
    api.setSecret('default', 'db', { DATABASE_URL: db.url });
    const tasks = new TaskRunner();
    reconciler = new MigrationReconciler({
      api,
      tasks,
      logger: silentLogger(),
      requeue: () => undefined,
    });
    snapshots = new SnapshotReconciler({
      api,
      tasks,
      logger: silentLogger(),
      requeue: () => undefined,
    });
  });
  afterEach(async () => {
    await db.drop();
    for (const d of extra.splice(0)) await d.drop();
  });

  function create(spec: Record<string, unknown>, name = 'm'): void {
    api.apply('databasemigrations', {
      metadata: { name },
      spec: { database: { secretRef: { name: 'db', key: 'DATABASE_URL' } }, ...spec },
    });
  }

  async function view(name = 'm'): Promise<DatabaseMigration> {
    return (await api.get('databasemigrations', 'default', name)) as DatabaseMigration;
  }

  /** Reconciles as the controller would until the phase is one of `phases`. */
  async function drive(
    phases: string[],
    name = 'm',
  ): Promise<{ dbm: DatabaseMigration; errors: Error[] }> {
    const errors: Error[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      let wait = 100;
      try {
        const r = await reconciler.reconcile({ namespace: 'default', name });
        if (r.requeue) wait = Math.min(r.afterMs, 100);
      } catch (err) {
        errors.push(err as Error);
      }
      // The pre-migration BackupSnapshots move on too, as the controller would drive them.
      const { items } = await api.list('backupsnapshots', 'default');
      for (const snap of items as { metadata: { name: string } }[]) {
        await snapshots
          .reconcile({ namespace: 'default', name: snap.metadata.name })
          .catch(() => undefined);
      }
      const dbm = await view(name);
      if (phases.includes(dbm.status?.phase ?? '')) return { dbm, errors };
      if (Date.now() > deadline)
        throw new Error(`stuck in ${dbm.status?.phase ?? '?'}: ${JSON.stringify(dbm.status)}`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  it('refuses a minimal spec at Pending, terminally, applying nothing', async () => {
    create({ migrations: inline(FILES) });
    const { dbm, errors } = await drive(['Failed', 'Succeeded']);
    expect(dbm.status?.phase).toBe('Failed');
    expect(dbm.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe(
      'StagingUnavailable',
    );
    expect(errors.some((e) => e instanceof TerminalError)).toBe(true);
    expect((await db.query("select 1 from pg_class where relname = 'items'")).rowCount).toBe(0);
  });

  it('records an explicit skip of the dry-run and still gives the lint verdict', async () => {
    create({ migrations: inline(FILES), safety: 'Unsafe' });
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect(dbm.status?.history?.map((h) => h.phase)).toEqual([
      'Pending',
      'DryRunning',
      'Applying',
      'Verifying',
      'Succeeded',
    ]);
    const cond = (type: string) => dbm.status?.conditions?.find((c) => c.type === type);
    expect(cond('DryRun')).toMatchObject({ status: 'False', reason: 'Skipped' });
    expect(cond('Linted')).toMatchObject({ status: 'True', reason: 'Passed' });
    expect(api.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).toContain(
      'DryRunSkipped',
    );
    expect([dbm.status?.appliedCount, dbm.status?.pendingCount]).toEqual([2, 0]);
    // History names the resource that applied it, not the operator's host user.
    const by = await db.query<{ applied_by: string }>(
      'select distinct applied_by from dbmigrate.migration_history',
    );
    expect(by.rows.map((r) => r.applied_by)).toEqual(['DatabaseMigration default/m']);
  });

  it('records staging.enabled: false as an explicit skip too, with a Warning', async () => {
    create({ migrations: inline(FILES), staging: { enabled: false } });
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect(dbm.status?.conditions?.find((c) => c.type === 'DryRun')?.message).toContain(
      'skipped (spec.staging.enabled: false)',
    );
    expect(api.events.some((e) => e.type === 'Warning' && e.reason === 'DryRunSkipped')).toBe(true);
  });

  it('takes applied and pending from history, not from what this run applied', async () => {
    create({ migrations: inline(FILES), safety: 'Unsafe', approval: { required: true } });
    await drive(['AwaitingApproval']);
    // Another runner applies 0001 while the run waits for approval.
    await migratorFor(db.url, FILES.slice(0, 1)).apply();
    api.annotate(
      'databasemigrations',
      'default',
      'm',
      'dbops.docserver.io/approved-generation',
      '1',
    );
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect([dbm.status?.appliedCount, dbm.status?.pendingCount]).toEqual([2, 0]);
    expect(dbm.status?.applied?.map((a) => a.id)).toEqual(['0001', '0002']);
  });

  it('dry-runs on a staging database, and refuses one that already had the set', async () => {
    const staging = await createTestDatabase('sm_stage');
    extra.push(staging);
    api.setSecret('default', 'staging', { DATABASE_URL: staging.url });
    // The window verdict is not what this test is about: on a loaded machine the ALTER of
    // 0002 can hold its lock past the default 20 ms, and the run would wait for a window.
    create({
      migrations: inline(FILES),
      staging: { secretRef: { name: 'staging', key: 'DATABASE_URL' } },
      maintenanceWindow: { thresholdMs: 5000 },
    });
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect(dbm.status?.conditions?.find((c) => c.type === 'DryRun')).toMatchObject({
      status: 'True',
      reason: 'Passed',
    });
    // A second resource for a fresh production, against the now-migrated staging database.
    const fresh = await createTestDatabase('sm_fresh');
    extra.push(fresh);
    api.setSecret('default', 'fresh', { DATABASE_URL: fresh.url });
    api.apply('databasemigrations', {
      metadata: { name: 'again' },
      spec: {
        database: { secretRef: { name: 'fresh', key: 'DATABASE_URL' } },
        migrations: inline(FILES),
        staging: { secretRef: { name: 'staging', key: 'DATABASE_URL' } },
      },
    });
    const again = await drive(['Succeeded', 'Failed'], 'again');
    expect(again.dbm.status?.phase).toBe('Failed');
    expect(again.dbm.status?.lastError).toMatch(/^the dry-run did not run 0001, 0002/);
    expect((await fresh.query("select 1 from pg_class where relname = 'items'")).rowCount).toBe(0);
  });

  it('fails on a missing Secret, retries, and recovers when the Secret appears', async () => {
    api.apply('databasemigrations', {
      metadata: { name: 'm' },
      spec: {
        database: { secretRef: { name: 'later', key: 'DATABASE_URL' } },
        migrations: inline(FILES),
        safety: 'Unsafe',
      },
    });
    const failed = await drive(['Failed']);
    expect(failed.errors.some((e) => e instanceof RetryLater)).toBe(true);
    api.setSecret('default', 'later', { DATABASE_URL: db.url });
    const { dbm } = await drive(['Succeeded']);
    expect(dbm.status?.lastError ?? '').toBe('');
  });

  it('keeps retrying while the database it waits for is unreachable, and recovers', async () => {
    api.apply('databasemigrations', {
      metadata: { name: 'm' },
      spec: {
        database: { secretRef: { name: 'later', key: 'DATABASE_URL' } },
        migrations: inline(FILES),
        safety: 'Unsafe',
      },
    });
    await drive(['Failed']);
    // The Secret arrives before the database does.
    api.setSecret('default', 'later', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    const deadline = Date.now() + 30_000;
    let reason = '';
    while (reason !== 'DatabaseUnreachable' && Date.now() < deadline) {
      await reconciler.reconcile({ namespace: 'default', name: 'm' }).catch(() => undefined);
      reason = (await view()).status?.conditions?.find((c) => c.type === 'Ready')?.reason ?? '';
    }
    expect(reason).toBe('DatabaseUnreachable');
    api.setSecret('default', 'later', { DATABASE_URL: db.url });
    const { dbm } = await drive(['Succeeded']);
    expect(dbm.status?.appliedCount).toBe(2);
  });

  it('starts a new run on the restart annotation, which the earlier approval does not approve', async () => {
    api.setConfigMap('default', 'sql', { [FILES[0]?.file ?? '']: FILES[0]?.content ?? '' });
    create({
      migrations: { configMapRef: { name: 'sql' } },
      safety: 'Unsafe',
      approval: { required: true },
    });
    await drive(['AwaitingApproval']);
    api.annotate(
      'databasemigrations',
      'default',
      'm',
      'dbops.docserver.io/approved-generation',
      '1',
    );
    await drive(['Succeeded']);
    // The ConfigMap grows; the spec (and so the generation) stays the same: a restart runs it.
    api.setConfigMap('default', 'sql', Object.fromEntries(FILES.map((f) => [f.file, f.content])));
    api.annotate('databasemigrations', 'default', 'm', 'dbops.docserver.io/restart', 'r2');
    const waiting = await drive(['AwaitingApproval', 'Succeeded', 'Failed']);
    expect(waiting.dbm.status?.phase).toBe('AwaitingApproval');
    expect(waiting.dbm.status?.observedRestart).toBe('r2');
    expect(
      waiting.dbm.status?.conditions?.find((c) => c.type === 'Progressing')?.message,
    ).toContain('approved-generation=1-r2');
    expect(
      (await db.query("select 1 from information_schema.columns where column_name = 'note'"))
        .rowCount,
    ).toBe(0);
    api.annotate(
      'databasemigrations',
      'default',
      'm',
      'dbops.docserver.io/approved-generation',
      '1-r2',
    );
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect([dbm.status?.appliedCount, dbm.status?.pendingCount]).toEqual([2, 0]);
  });

  it('stops at the dry-run when a migration fails on staging: production is not touched', async () => {
    const staging = await createTestDatabase('sm_badstage');
    extra.push(staging);
    api.setSecret('default', 'staging', { DATABASE_URL: staging.url });
    const bad = [
      ...FILES.slice(0, 1),
      { file: '0002_bad.sql', content: migrationText('alter table items add column note txet;') },
    ];
    create({
      migrations: inline(bad),
      staging: { secretRef: { name: 'staging', key: 'DATABASE_URL' } },
    });
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Failed');
    expect(dbm.status?.lastError).toMatch(
      /^dry-run failed on staging at 0002: .*type "txet" does not exist.*; production was not touched/,
    );
    expect((await db.query("select 1 from pg_class where relname = 'items'")).rowCount).toBe(0);
  });

  it('runs the dry-run under spec.lockTimeoutMs', async () => {
    const staging = await createTestDatabase('sm_lockstage');
    extra.push(staging);
    await migratorFor(staging.url, FILES.slice(0, 1)).apply();
    await migratorFor(db.url, FILES.slice(0, 1)).apply();
    api.setSecret('default', 'staging', { DATABASE_URL: staging.url });
    // Another session holds items on staging: the migration's lock waits are what is measured.
    const holder = new pg.Client({ connectionString: staging.url });
    await holder.connect();
    await holder.query('begin; lock table items in access exclusive mode');
    try {
      create({
        migrations: inline(FILES),
        staging: { secretRef: { name: 'staging', key: 'DATABASE_URL' } },
        lockTimeoutMs: 100,
      });
      const t0 = Date.now();
      const { dbm } = await drive(['Succeeded', 'Failed']);
      expect(dbm.status?.phase).toBe('Failed');
      expect(dbm.status?.lastError).toContain('could not acquire its locks within lock_timeout');
      // 4 attempts at 100 ms plus backoff: far below the 5 s default per attempt.
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });

  it('post-verifies row counts against the pre-migration snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbm-sm-snap-'));
    await migratorFor(db.url, FILES.slice(0, 1)).apply();
    await db.query('insert into items select generate_series(1, 1000)');
    const lossy = [
      ...FILES.slice(0, 1),
      {
        file: '0002_prune.sql',
        content: migrationText('delete from items where id > 500;'),
      },
    ];
    create({
      migrations: inline(lossy),
      snapshot: { storage: { path: dir }, checksums: 'counts' },
      staging: { scratch: { allowProductionServer: true } },
    });
    const { dbm } = await drive(['Succeeded', 'Failed']);
    // The migration ran (it is valid SQL); the counts against the manifest caught the loss.
    expect(dbm.status?.history?.map((h) => h.phase)).toContain('Verifying');
    expect(dbm.status?.phase).toBe('Failed');
    expect(dbm.status?.lastError).toMatch(/^post-verify failed: .*items.*500.*1000/);
  });

  it('names a working remedy when the ConfigMap changes mid-run', async () => {
    api.setConfigMap('default', 'sql', Object.fromEntries(FILES.map((f) => [f.file, f.content])));
    create({
      migrations: { configMapRef: { name: 'sql' } },
      safety: 'Unsafe',
      approval: { required: true },
    });
    await drive(['AwaitingApproval']);
    api.setConfigMap('default', 'sql', {
      [FILES[0]?.file ?? '']: FILES[0]?.content ?? '',
      '0002_note.sql': migrationText('alter table items add column remark text;'),
    });
    api.annotate(
      'databasemigrations',
      'default',
      'm',
      'dbops.docserver.io/approved-generation',
      '1',
    );
    const failed = await drive(['Failed', 'Succeeded']);
    expect(failed.dbm.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe(
      'SourceChangedMidRun',
    );
    const remedy = /kubectl annotate dbm m --overwrite (dbops\.docserver\.io\/restart)=/.exec(
      failed.dbm.status?.lastError ?? '',
    );
    expect(remedy).not.toBeNull();
    // Doing what it says starts a new run of the new set.
    api.annotate('databasemigrations', 'default', 'm', remedy?.[1] ?? '', 'now');
    await drive(['AwaitingApproval']);
    api.annotate(
      'databasemigrations',
      'default',
      'm',
      'dbops.docserver.io/approved-generation',
      '1-now',
    );
    const { dbm } = await drive(['Succeeded', 'Failed']);
    expect(dbm.status?.phase).toBe('Succeeded');
    expect(
      (await db.query("select 1 from information_schema.columns where column_name = 'remark'"))
        .rowCount,
    ).toBe(1);
  });
});
