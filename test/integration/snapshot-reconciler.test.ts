import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupSnapshot } from '../../src/api/v1alpha1/backup-snapshot.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SnapshotReconciler } from '../../src/operator/snapshot-reconciler.js';
import { TaskRunner } from '../../src/operator/tasks.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { MemoryResourceApi } from '../helpers/memory-api.js';

/** The BackupSnapshot reconciler against real PostgreSQL and storage, Kubernetes calls in memory. */
describe('BackupSnapshot reconciler', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  let dir: string;
  let api: MemoryResourceApi;
  let tasks: TaskRunner;
  let reconciler: SnapshotReconciler;

  beforeEach(async () => {
    db = await createTestDatabase('snaprec');
    other = await createTestDatabase('snaprec_other');
    for (const d of [db, other])
      await d.query(
        'create table t (id int primary key); insert into t select generate_series(1, 2000)',
      );
    dir = await mkdtemp(join(tmpdir(), 'dbm-snaprec-'));
    api = new MemoryResourceApi();
    for (const ns of ['team-a', 'team-b']) {
      api.setSecret(ns, 'db', { DATABASE_URL: db.url });
      api.setSecret(ns, 'other', { DATABASE_URL: other.url });
    }
    tasks = new TaskRunner();
    reconciler = new SnapshotReconciler({
      api,
      tasks,
      logger: silentLogger(),
      requeue: () => undefined,
    });
  });
  afterEach(async () => {
    await tasks.cancel('', 'test over');
    await db.drop();
    await other.drop();
  });

  function snapshot(
    namespace: string,
    name: string,
    secret: string,
    extra: Record<string, unknown> = {},
  ): void {
    api.apply('backupsnapshots', {
      metadata: { name, namespace },
      spec: {
        database: { secretRef: { name: secret, key: 'DATABASE_URL' } },
        storage: { path: dir },
        checksums: 'counts',
        verify: true,
        scratch: { allowProductionServer: true },
        ...extra,
      },
    });
  }

  async function view(namespace: string, name: string): Promise<BackupSnapshot | null> {
    return (await api.get('backupsnapshots', namespace, name)) as BackupSnapshot | null;
  }

  async function drive(
    namespace: string,
    name: string,
    until: (s: BackupSnapshot | null) => boolean,
  ): Promise<BackupSnapshot | null> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await reconciler.reconcile({ namespace, name }).catch(() => undefined);
      const s = await view(namespace, name);
      if (until(s)) return s;
      if (Date.now() > deadline) throw new Error(`stuck: ${JSON.stringify(s?.status)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const phase = (p: string) => (s: BackupSnapshot | null) => s?.status?.phase === p;

  it('refuses verification with no scratch server before dumping anything', async () => {
    snapshot('team-a', 's', 'db', { scratch: undefined });
    const s = await drive('team-a', 's', phase('Failed'));
    expect(s?.status?.lastError).toMatch(
      /^verifying the snapshot needs a server for a temporary copy and none is configured; set spec\.scratch\.secretRef/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('prunes only its own database and namespace, through the resources, and never their neighbours', async () => {
    snapshot('team-b', 'b1', 'db');
    await drive('team-b', 'b1', phase('Completed'));
    snapshot('team-a', 'o1', 'other');
    await drive('team-a', 'o1', phase('Completed'));
    for (const n of ['a1', 'a2', 'a3']) {
      snapshot('team-a', n, 'db', { retention: { keepLast: 2 } });
      await drive('team-a', n, phase('Completed'));
    }
    // a1 expired: its resource is being deleted (the finalizer removes the files next pass).
    const a1 = await view('team-a', 'a1');
    expect(a1?.metadata.deletionTimestamp).toBeDefined();
    const a1Files = join(dir, a1?.status?.snapshotId ?? 'missing');
    await drive('team-a', 'a1', (s) => s === null);
    expect(existsSync(a1Files)).toBe(false);
    for (const [ns, n] of [
      ['team-a', 'a2'],
      ['team-a', 'a3'],
      ['team-a', 'o1'],
      ['team-b', 'b1'],
    ] as const) {
      const s = await view(ns, n);
      expect(s?.status?.phase, `${ns}/${n}`).toBe('Completed');
      expect(existsSync(join(dir, s?.status?.snapshotId ?? 'missing'))).toBe(true);
    }
  });

  it('says so when a completed snapshot loses its files', async () => {
    snapshot('team-a', 's', 'db');
    const done = await drive('team-a', 's', phase('Completed'));
    await rm(join(dir, done?.status?.snapshotId ?? 'missing', 'dump.pgdump'));
    const lost = await drive('team-a', 's', (s) => s?.status?.filesPresent === false);
    expect(lost?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'FilesMissing',
    });
    expect(api.events.some((e) => e.type === 'Warning' && e.reason === 'FilesMissing')).toBe(true);
  });

  it('deleted while verifying: stops the verification, leaves neither dump nor manifest', async () => {
    snapshot('team-a', 's', 'db');
    await drive('team-a', 's', phase('Verifying'));
    await reconciler.reconcile({ namespace: 'team-a', name: 's' }); // starts the verify task
    await api.delete('backupsnapshots', 'team-a', 's');
    await drive('team-a', 's', (s) => s === null);
    await new Promise((r) => setTimeout(r, 500));
    expect(await readdir(dir)).toEqual([]);
  });

  it('removed while dumping (finalizer stripped by hand): the dump stops and leaves nothing', async () => {
    snapshot('team-a', 's', 'db');
    await drive('team-a', 's', phase('Running'));
    await reconciler.reconcile({ namespace: 'team-a', name: 's' }); // starts the dump task
    await api.patchMetadata('backupsnapshots', 'team-a', 's', { finalizers: [] });
    await api.delete('backupsnapshots', 'team-a', 's');
    await reconciler.reconcile({ namespace: 'team-a', name: 's' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await readdir(dir)).toEqual([]);
  });
});
