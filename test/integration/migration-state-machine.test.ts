import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseMigration } from '../../src/api/v1alpha1/database-migration.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MigrationReconciler } from '../../src/operator/migration-reconciler.js';
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
  const extra: TestDatabase[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('sm');
    api = new MemoryResourceApi();
    api.setSecret('default', 'db', { DATABASE_URL: db.url });
    reconciler = new MigrationReconciler({
      api,
      tasks: new TaskRunner(),
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
    create({
      migrations: inline(FILES),
      staging: { secretRef: { name: 'staging', key: 'DATABASE_URL' } },
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
});
