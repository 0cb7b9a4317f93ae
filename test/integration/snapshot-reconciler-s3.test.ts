// The BackupSnapshot reconciler writing to S3-compatible object storage (SeaweedFS on loopback,
// hack/seaweedfs.sh) with credentials from the resource's namespace; Kubernetes calls in memory
// (test/e2e runs the operator against a real API server).
import {
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackupSnapshot } from '../../src/api/v1alpha1/backup-snapshot.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SnapshotReconciler } from '../../src/operator/snapshot-reconciler.js';
import { TaskRunner } from '../../src/operator/tasks.js';
import { adminClientWithBucket, startS3Server, type S3Server } from '../../tools/seaweedfs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { MemoryResourceApi } from '../helpers/memory-api.js';

const BUCKET = 'operator-snapshots';
let server: S3Server;
let admin: S3Client;

beforeAll(async () => {
  server = await startS3Server();
  admin = await adminClientWithBucket(server, BUCKET);
}, 120_000);

afterAll(async () => {
  admin.destroy();
  await server.stop();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const res: ListObjectsV2CommandOutput = await admin.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }),
  );
  return (res.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key])).sort();
}

describe('BackupSnapshot reconciler with S3 storage', () => {
  let db: TestDatabase;
  let api: MemoryResourceApi;
  let tasks: TaskRunner;
  let reconciler: SnapshotReconciler;
  const NS = 'team-s3';

  beforeEach(async () => {
    db = await createTestDatabase('snaps3');
    await db.query(
      'create table t (id int primary key); insert into t select generate_series(1, 2000)',
    );
    api = new MemoryResourceApi();
    api.setSecret(NS, 'db', { DATABASE_URL: db.url });
    api.setSecret(NS, 's3', { access: server.accessKeyId, secret: server.secretAccessKey });
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
  });

  function s3Spec(prefix: string, over: Record<string, unknown> = {}) {
    return {
      s3: {
        bucket: BUCKET,
        prefix,
        endpoint: server.endpoint,
        forcePathStyle: true,
        credentials: {
          accessKeyId: { name: 's3', key: 'access' },
          secretAccessKey: { name: 's3', key: 'secret' },
        },
        ...over,
      },
    };
  }

  function snapshot(name: string, storage: unknown, extra: Record<string, unknown> = {}): void {
    api.apply('backupsnapshots', {
      metadata: { name, namespace: NS },
      spec: {
        database: { secretRef: { name: 'db', key: 'DATABASE_URL' } },
        storage,
        checksums: 'counts',
        verify: true,
        scratch: { allowProductionServer: true },
        ...extra,
      },
    });
  }

  async function view(name: string): Promise<BackupSnapshot | null> {
    return (await api.get('backupsnapshots', NS, name)) as BackupSnapshot | null;
  }

  /** Reconciles until `until` holds; the errors the queue would have retried are returned. */
  async function drive(
    name: string,
    until: (s: BackupSnapshot | null) => boolean,
  ): Promise<{ snap: BackupSnapshot | null; errors: Error[] }> {
    const deadline = Date.now() + 60_000;
    const errors: Error[] = [];
    for (;;) {
      await reconciler.reconcile({ namespace: NS, name }).catch((err: unknown) => {
        errors.push(err as Error);
      });
      const s = await view(name);
      if (until(s)) return { snap: s, errors };
      if (Date.now() > deadline) throw new Error(`stuck: ${JSON.stringify(s?.status)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const phase = (p: string) => (s: BackupSnapshot | null) => s?.status?.phase === p;

  /** Nothing the user sees (status, Events) carries a credential. */
  async function expectNoCredentials(): Promise<void> {
    const seen = JSON.stringify([api.events, (await api.list('backupsnapshots', NS)).items]);
    for (const value of [server.secretAccessKey, 'wrong-secret-value'])
      expect(seen.includes(value)).toBe(false);
  }

  it('dumps, verifies and prunes in the bucket, and its finalizer removes the objects', async () => {
    snapshot('first', s3Spec('prod/docs'), { retention: { keepLast: 1 } });
    const { snap: first } = await drive('first', phase('Completed'));
    const id = first?.status?.snapshotId ?? '';
    expect(first?.status).toMatchObject({
      verified: true,
      location: `s3://${BUCKET}/prod/docs/${id}`,
    });
    expect(await keysUnder(`prod/docs/${id}/`)).toEqual([
      `prod/docs/${id}/dump.pgdump`,
      `prod/docs/${id}/manifest.json`,
    ]);

    // A second snapshot of the same database: retention keeps it, and deletes the first
    // through its resource, whose finalizer removes the objects.
    snapshot('second', s3Spec('prod/docs'), { retention: { keepLast: 1 } });
    const { snap: second } = await drive('second', phase('Completed'));
    expect((await view('first'))?.metadata.deletionTimestamp).toBeDefined();
    await drive('first', (s) => s === null);
    expect(await keysUnder(`prod/docs/${id}/`)).toEqual([]);
    const secondId = second?.status?.snapshotId ?? '';
    expect((await keysUnder(`prod/docs/${secondId}/`)).length).toBe(2);

    // Deleted while the store refuses: the finalizer stays, and so do the objects, until the
    // credentials work again; then both go.
    api.setSecret(NS, 's3', { access: server.accessKeyId, secret: 'wrong-secret-value' });
    await api.delete('backupsnapshots', NS, 'second');
    const { snap: stuck, errors } = await drive('second', () => true);
    expect(stuck?.metadata.finalizers).toContain('dbops.docserver.io/snapshot-cleanup');
    expect(errors[0]?.message).toMatch(/spec\.storage: .*operator-snapshots/);
    expect((await keysUnder(`prod/docs/${secondId}/`)).length).toBe(2);
    api.setSecret(NS, 's3', { access: server.accessKeyId, secret: server.secretAccessKey });
    await drive('second', (s) => s === null);
    expect(await keysUnder(`prod/docs/${secondId}/`)).toEqual([]);
    await expectNoCredentials();
  });

  it('fails with wrong credentials before dumping, naming the bucket and never the secret', async () => {
    api.setSecret(NS, 's3', { access: server.accessKeyId, secret: 'wrong-secret-value' });
    snapshot('denied', s3Spec('denied'));
    const { snap } = await drive('denied', phase('Failed'));
    expect(snap?.status?.lastError).toMatch(/^spec\.storage: .*operator-snapshots/);
    expect(snap?.status?.lastError).not.toContain('wrong-secret-value');
    expect(await keysUnder('denied/')).toEqual([]);
    await expectNoCredentials();
  });

  it('fails on a missing credentials Secret or bucket, naming the field and the Secret', async () => {
    snapshot('nosecret', {
      s3: {
        ...s3Spec('x').s3,
        credentials: {
          accessKeyId: { name: 'absent', key: 'access' },
          secretAccessKey: { name: 's3', key: 'secret' },
        },
      },
    });
    const { snap } = await drive('nosecret', phase('Failed'));
    expect(snap?.status?.lastError).toBe(
      `spec.storage.s3.credentials.accessKeyId: Secret ${NS}/absent does not exist or has no key access`,
    );
    snapshot('nobucket', { s3: { ...s3Spec('x').s3, bucket: 'no-such-bucket' } });
    const { snap: nobucket } = await drive('nobucket', phase('Failed'));
    expect(nobucket?.status?.lastError).toMatch(/^spec\.storage: .*no-such-bucket/);
    // Never dumped: deleting it is not held up by the store it could never open.
    await api.delete('backupsnapshots', NS, 'nobucket');
    await drive('nobucket', (s) => s === null);
    expect(api.events.map((e) => e.reason)).toContain('StorageNotCleaned');
  });

  it('refuses a storage with both a path and a bucket, or neither, as invalid', async () => {
    snapshot('both', { path: '/tmp/x', ...s3Spec('x') });
    const { snap } = await drive('both', (s) => s?.status?.phase !== undefined);
    expect(snap?.status?.phase).toBe('Failed');
    expect(snap?.status?.lastError).toContain('set exactly one of path or s3');
    snapshot('neither', {});
    const { snap: neither } = await drive('neither', (s) => s?.status?.phase !== undefined);
    expect(neither?.status?.lastError).toContain('set exactly one of path or s3');
  });
});
