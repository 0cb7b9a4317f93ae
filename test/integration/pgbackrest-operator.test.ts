// The operator's `pgbackrest` snapshot method against a real pgBackRest and a private cluster
// archiving into its repository, the Kubernetes calls served from memory: a BackupSnapshot
// takes, verifies and reports a backup; its deletion removes the manifest and leaves the set to
// the repository's own retention; a DatabaseMigration restores its pre-migration backup into a
// private server for the dry-run, with no scratch server, before production is touched.
import { readdir, readFile, rm, mkdtemp, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupSnapshot } from '../../src/api/v1alpha1/backup-snapshot.js';
import type { DatabaseMigration } from '../../src/api/v1alpha1/database-migration.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MigrationReconciler } from '../../src/operator/migration-reconciler.js';
import { SnapshotReconciler } from '../../src/operator/snapshot-reconciler.js';
import { TaskRunner } from '../../src/operator/tasks.js';
import { serverUser } from '../../src/safety/scratch/local-server.js';
import { expireBackup, listBackups, takeBackup } from '../../src/safety/snapshot/pgbackrest.js';
import {
  pgbackrestBinary,
  startArchivingCluster,
  type ArchivingCluster,
} from '../../tools/archiving-cluster.js';
import { MemoryResourceApi } from '../helpers/memory-api.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

const BASE = {
  file: '0001_items.sql',
  content: migrationText(`create table items (id bigint primary key, name text);
insert into items select g, 'n' || g from generate_series(1, 3000) g;`),
};
const NEXT = {
  file: '0002_items_note.sql',
  content: migrationText('alter table items add column note text;'),
};

async function configFiles(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((f) => f.startsWith('dbm-pgbackrest-'));
}

describe('operator: pgbackrest snapshots', () => {
  let cluster: ArchivingCluster;
  let storageDir: string;
  let restoreDir: string;
  let api: MemoryResourceApi;
  let tasks: TaskRunner;
  let snapshots: SnapshotReconciler;
  let migrations: MigrationReconciler;

  beforeAll(async () => {
    cluster = await startArchivingCluster('opstanza');
    // The operator's image has pgbackrest on PATH; here, the copy the postgres user can run.
    process.env['DBMIGRATE_PGBACKREST'] = cluster.target.bin ?? pgbackrestBinary();
    await cluster.query('create database docs');
    const built = await migratorFor(cluster.url('docs'), [BASE]).apply();
    expect([built.applied, built.error]).toEqual([1, null]);
    storageDir = await mkdtemp(join(tmpdir(), 'dbm-pgbr-op-snapshots-'));
    // The volume the operator's pod mounts for restores: its own, as pgBackRest runs.
    restoreDir = await mkdtemp(join(tmpdir(), 'dbm-pgbr-op-restores-'));
    const user = await serverUser();
    if (user !== null) await chown(restoreDir, user.uid, user.gid);
    api = new MemoryResourceApi();
    api.setSecret('default', 'db', { DATABASE_URL: cluster.url('docs') });
    api.setSecret('default', 'pgbackrest', {
      'pgbackrest.conf': await readFile(cluster.target.config ?? '', 'utf8'),
    });
    tasks = new TaskRunner();
    const deps = { api, tasks, logger: silentLogger(), requeue: () => undefined };
    snapshots = new SnapshotReconciler(deps);
    migrations = new MigrationReconciler(deps);
  }, 120_000);

  afterAll(async () => {
    await tasks.cancel('', 'test over');
    await cluster.stop();
    await rm(storageDir, { recursive: true, force: true });
    await rm(restoreDir, { recursive: true, force: true });
  });

  const physical = (config = 'pgbackrest') => ({
    method: 'pgbackrest',
    pgbackrest: {
      stanza: 'opstanza',
      config: { name: config, key: 'pgbackrest.conf' },
      restorePath: restoreDir,
      processMax: 2,
    },
  });

  async function view(name: string): Promise<BackupSnapshot | null> {
    return (await api.get('backupsnapshots', 'default', name)) as BackupSnapshot | null;
  }

  /** Reconciles every resource as the controller would until `until` holds. */
  async function drive(until: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 150_000;
    for (;;) {
      for (const m of (await api.list('databasemigrations', 'default')).items as {
        metadata: { name: string };
      }[])
        await migrations
          .reconcile({ namespace: 'default', name: m.metadata.name })
          .catch(() => undefined);
      for (const s of (await api.list('backupsnapshots', 'default')).items as {
        metadata: { name: string };
      }[])
        await snapshots
          .reconcile({ namespace: 'default', name: s.metadata.name })
          .catch(() => undefined);
      if (await until()) return;
      if (Date.now() > deadline) throw new Error('timed out driving the reconcilers');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('takes a backup, verifies it in a private server, reports bytes and durations, and keeps the set when the resource goes', async () => {
    api.apply('backupsnapshots', {
      metadata: { name: 'nightly', namespace: 'default' },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        storage: { path: storageDir },
        checksums: 'counts',
        verify: true,
        ...physical(),
      },
    });
    await drive(async () => {
      const p = (await view('nightly'))?.status?.phase;
      return p === 'Completed' || p === 'Failed';
    });
    const snap = await view('nightly');
    const s = snap?.status;
    expect(s?.lastError).toBeUndefined();
    expect(s).toMatchObject({
      phase: 'Completed',
      verified: true,
      method: 'pgbackrest',
      tables: 3,
    });
    expect(s?.backup?.label).toMatch(/^\d{8}-\d{6}F$/);
    expect(s?.backup?.type).toBe('full');
    expect(s?.backup?.copiedBytes).toBeGreaterThan(1_000_000);
    expect(s?.sizeBytes).toBeGreaterThan(0);
    expect(s?.durationMs).toBeGreaterThan(0);
    expect(s?.verifyDurationMs).toBeGreaterThan(0);
    expect(s?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const said = api.events.map((e) => `${e.reason}: ${e.message}`);
    expect(said).toContain(
      `Verified: pgbackrest verify passed, and set ${s?.backup?.label ?? ''} restored into a private server matched the manifest`,
    );
    // The verification's copy is kept per stanza for the next one (a delta restore); the
    // configuration written from the Secret is not left behind.
    expect(await readdir(restoreDir)).toEqual([
      expect.stringMatching(/^opstanza-verify-[0-9a-f]{10}$/),
    ]);
    expect(await configFiles()).toEqual([]);

    // Deleting the resource removes its manifest; the set stays for the repository's own
    // retention (an incremental chain of the team's backups may depend on it).
    await api.delete('backupsnapshots', 'default', 'nightly');
    await drive(async () => (await view('nightly')) === null);
    expect(await readdir(storageDir)).toEqual([]);
    const sets = await listBackups(cluster.target);
    expect(sets.map((b) => b.label)).toContain(s?.backup?.label);
  });

  it('fails with the Secret named, and nothing taken, when the pgBackRest configuration is missing', async () => {
    const before = (await listBackups(cluster.target)).length;
    api.apply('backupsnapshots', {
      metadata: { name: 'no-config', namespace: 'default' },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        storage: { path: storageDir },
        verify: true,
        ...physical('missing'),
      },
    });
    await drive(async () => (await view('no-config'))?.status?.phase === 'Failed');
    expect((await view('no-config'))?.status?.lastError).toBe(
      'spec.pgbackrest.config: Secret default/missing does not exist or has no key pgbackrest.conf; it holds pgbackrest.conf',
    );
    expect((await listBackups(cluster.target)).length).toBe(before);
    await api.delete('backupsnapshots', 'default', 'no-config');
    await drive(async () => (await view('no-config')) === null);
  });

  it('turns a Completed snapshot not Ready once its set is expired from the repository', async () => {
    api.apply('backupsnapshots', {
      metadata: { name: 'weekly', namespace: 'default' },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        storage: { path: storageDir },
        checksums: 'counts',
        verify: false,
        ...physical(),
        pgbackrest: { ...physical().pgbackrest, backupType: 'full' },
      },
    });
    await drive(async () => (await view('weekly'))?.status?.phase === 'Completed');
    const label = (await view('weekly'))?.status?.backup?.label ?? '';
    // pgBackRest keeps the newest full set: a newer one lets this one be expired.
    await takeBackup(cluster.target, 'full');
    await expireBackup(cluster.target, label);
    await drive(async () => (await view('weekly'))?.status?.filesPresent === false);
    const ready = (await view('weekly'))?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'FilesMissing' });
    expect(ready?.message).toContain(
      `backup set ${label} is no longer in stanza opstanza's repository`,
    );
    await api.delete('backupsnapshots', 'default', 'weekly');
    await drive(async () => (await view('weekly')) === null);
  });

  it('runs a DatabaseMigration through an incremental backup and a dry-run on its restored copy, with no scratch server, then applies', async () => {
    api.apply('databasemigrations', {
      metadata: { name: 'add-note', namespace: 'default' },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        migrations: { inline: [BASE, NEXT].map((f) => ({ name: f.file, sql: f.content })) },
        snapshot: { storage: { path: storageDir }, checksums: 'counts', ...physical() },
      },
    });
    const dbm = async () =>
      (await api.get('databasemigrations', 'default', 'add-note')) as DatabaseMigration;
    await drive(async () => ['Succeeded', 'Failed'].includes((await dbm()).status?.phase ?? ''));
    const status = (await dbm()).status;
    expect(status?.lastError ?? '').toBe('');
    expect(status?.phase).toBe('Succeeded');
    expect(status?.history?.map((h) => h.phase)).toEqual([
      'Pending',
      'Snapshotting',
      'DryRunning',
      'Applying',
      'Verifying',
      'Succeeded',
    ]);
    expect(status?.dryRun?.ok).toBe(true);
    expect(status?.dryRun?.migrations.map((m) => [m.id, m.status])).toEqual([['0002', 'applied']]);
    const snap = await view(status?.snapshotRef?.name ?? '');
    expect(snap?.status).toMatchObject({ method: 'pgbackrest', verified: true });
    expect(snap?.status?.backup?.type).toBe('incr');
    // The dry-run's copy is kept per stanza and database, beside the verification's.
    expect((await readdir(restoreDir)).sort()).toEqual([
      expect.stringMatching(/^opstanza-docs-staging-[0-9a-f]{10}$/),
      expect.stringMatching(/^opstanza-verify-[0-9a-f]{10}$/),
    ]);
    const note = await cluster.query<{ n: string }>(
      "select count(*)::text as n from information_schema.columns where table_name = 'items' and column_name = 'note'",
      'docs',
    );
    expect(note.rows[0]?.n).toBe('1');
    expect(await configFiles()).toEqual([]);
  });

  it('applies nothing when its pre-migration set was expired while it waited for approval', async () => {
    const THIRD = {
      file: '0003_items_tag.sql',
      content: migrationText('alter table items add column tag text;'),
    };
    api.apply('databasemigrations', {
      metadata: { name: 'add-tag', namespace: 'default' },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        migrations: {
          inline: [BASE, NEXT, THIRD].map((f) => ({ name: f.file, sql: f.content })),
        },
        snapshot: {
          storage: { path: storageDir },
          checksums: 'counts',
          ...physical(),
          pgbackrest: { ...physical().pgbackrest, backupType: 'full' },
        },
        approval: { required: true },
      },
    });
    const dbm = async () =>
      (await api.get('databasemigrations', 'default', 'add-tag')) as DatabaseMigration;
    await drive(async () =>
      ['AwaitingApproval', 'Failed'].includes((await dbm()).status?.phase ?? ''),
    );
    expect((await dbm()).status?.phase).toBe('AwaitingApproval');
    const snap = await view((await dbm()).status?.snapshotRef?.name ?? '');
    const label = snap?.status?.backup?.label ?? '';
    // The repository's retention removes it meanwhile (a newer full set first: pgBackRest keeps
    // the newest).
    await takeBackup(cluster.target, 'full');
    await expireBackup(cluster.target, label);
    api.annotate(
      'databasemigrations',
      'default',
      'add-tag',
      'dbops.docserver.io/approved-generation',
      String((await dbm()).metadata.generation ?? 1),
    );
    await drive(async () => ['Succeeded', 'Failed'].includes((await dbm()).status?.phase ?? ''));
    const status = (await dbm()).status;
    expect(status?.phase).toBe('Failed');
    expect(status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('SnapshotMissing');
    expect(status?.lastError).toContain(`backup set ${label} is no longer in stanza opstanza's`);
    expect(status?.lastError).toContain('nothing was applied');
    const tag = await cluster.query<{ n: string }>(
      "select count(*)::text as n from information_schema.columns where table_name = 'items' and column_name = 'tag'",
      'docs',
    );
    expect(tag.rows[0]?.n).toBe('0');
  });
});
