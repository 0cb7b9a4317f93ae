import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../tools/control-plane.js';

describe('CRDs on a real kube-apiserver', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  }, 180_000);
  afterAll(async () => {
    await cp.stop();
  });

  it('installs both CRDs and shows the printer columns in kubectl get', async () => {
    cp.installCrds();
    const manifest = `
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: docs-schema}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {configMapRef: {name: docs-migrations}}
`;
    cp.kubectl(['apply', '-f', '-'], manifest);
    const table = cp.kubectl(['get', 'dbm']);
    expect(table.split('\n')[0]).toMatch(
      /^NAME\s+PHASE\s+APPLIED\s+PENDING\s+SNAPSHOT\s+READY\s+REASON\s+AGE$/,
    );
    // The Ready condition's message only with -o wide.
    expect(cp.kubectl(['get', 'dbm', '-o', 'wide']).split('\n')[0]).toMatch(
      /\sREASON\s+AGE\s+MESSAGE$/,
    );
    expect(table).toContain('docs-schema');
    const byCategory = cp.kubectl(['get', 'dbops']);
    expect(byCategory).toContain('databasemigration.dbops.docserver.io/docs-schema');
    // Defaults from the zod schema are applied by the apiserver.
    const stored = JSON.parse(cp.kubectl(['get', 'dbmigration', 'docs-schema', '-o', 'json'])) as {
      spec: { database: { secretRef: { key: string } } };
    };
    expect(stored.spec.database.secretRef.key).toBe('DATABASE_URL');
    // kubectl explain answers from the descriptions the zod schemas carry.
    expect(cp.kubectl(['explain', 'dbm.spec.snapshot.checksums'])).toContain(
      'full: row counts and content checksums per table',
    );
    expect(cp.kubectl(['explain', 'dbsnap.status.verified'])).toContain(
      'A restore into a scratch database matched counts, checksums and schema.',
    );
    await Promise.resolve();
  });

  it('rejects a resource that sets both configMapRef and inline, naming the rule', () => {
    const bad = `
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: both}
spec:
  database: {secretRef: {name: docs-db}}
  migrations:
    configMapRef: {name: x}
    inline: [{name: 0001_a.sql, sql: "select 1"}]
`;
    expect(() => cp.kubectl(['apply', '-f', '-'], bad)).toThrow(
      /set exactly one of configMapRef or inline/,
    );
    const badName = `
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: badname}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {inline: [{name: migration.sql, sql: "select 1"}]}
`;
    expect(() => cp.kubectl(['apply', '-f', '-'], badName)).toThrow(
      /spec.migrations.inline\[0\].name/,
    );
  });

  it('rejects a snapshot storage with both a path and a bucket, or neither, and takes one bucket', () => {
    const snap = (storage: string) => `
apiVersion: dbops.docserver.io/v1alpha1
kind: BackupSnapshot
metadata: {name: s3-snap}
spec:
  database: {secretRef: {name: docs-db}}
  storage: ${storage}
`;
    expect(() =>
      cp.kubectl(['apply', '-f', '-'], snap('{path: /snapshots, s3: {bucket: db-snapshots}}')),
    ).toThrow(/set exactly one of path or s3/);
    expect(() => cp.kubectl(['apply', '-f', '-'], snap('{}'))).toThrow(
      /set exactly one of path or s3/,
    );
    expect(() => cp.kubectl(['apply', '-f', '-'], snap('{s3: {bucket: Not_A_Bucket}}'))).toThrow(
      /spec.storage.s3.bucket/,
    );
    cp.kubectl(
      ['apply', '-f', '-'],
      snap(
        '{s3: {bucket: db-snapshots, prefix: prod/, endpoint: "http://seaweedfs:8333", forcePathStyle: true, credentials: {accessKeyId: {name: s3, key: id}, secretAccessKey: {name: s3, key: secret}}}}',
      ),
    );
    expect(cp.kubectl(['explain', 'dbsnap.spec.storage.s3.credentials'])).toContain(
      'Keys of Secrets holding the credentials',
    );
  });

  it('takes the pgbackrest method only with its settings, in a BackupSnapshot and a DatabaseMigration', () => {
    const snap = (extra: string) => `
apiVersion: dbops.docserver.io/v1alpha1
kind: BackupSnapshot
metadata: {name: physical-snap}
spec:
  database: {secretRef: {name: docs-db}}
  storage: {path: /snapshots}
${extra}
`;
    const settings =
      'pgbackrest: {stanza: main, config: {name: pgbackrest, key: pgbackrest.conf}, restorePath: /restores}';
    expect(() => cp.kubectl(['apply', '-f', '-'], snap('  method: pgbackrest'))).toThrow(
      /set pgbackrest with method: pgbackrest, and only then/,
    );
    expect(() => cp.kubectl(['apply', '-f', '-'], snap(`  ${settings}`))).toThrow(
      /set pgbackrest with method: pgbackrest, and only then/,
    );
    expect(() =>
      cp.kubectl(
        ['apply', '-f', '-'],
        snap('  method: pgbackrest\n  pgbackrest: {stanza: main, restorePath: restores}'),
      ),
    ).toThrow(/spec.pgbackrest.restorePath/);
    cp.kubectl(['apply', '-f', '-'], snap(`  method: pgbackrest\n  ${settings}`));
    const stored = JSON.parse(
      cp.kubectl(['get', 'backupsnapshot', 'physical-snap', '-o', 'json']),
    ) as { spec: { pgbackrest: { backupType: string } } };
    // The API server fills the default: an incremental backup.
    expect(stored.spec.pgbackrest.backupType).toBe('incr');
    const dbm = (snapshot: string) => `
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: physical-dbm}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {configMapRef: {name: docs-migrations}}
  snapshot: ${snapshot}
`;
    expect(() =>
      cp.kubectl(['apply', '-f', '-'], dbm('{storage: {path: /snapshots}, method: pgbackrest}')),
    ).toThrow(/set pgbackrest with method: pgbackrest, and only then/);
    cp.kubectl(
      ['apply', '-f', '-'],
      dbm(`{storage: {path: /snapshots}, method: pgbackrest, ${settings}}`),
    );
    // kubectl wraps the description: compared with its spaces folded.
    expect(
      cp.kubectl(['explain', 'dbm.spec.snapshot.pgbackrest.restorePath']).replace(/\s+/g, ' '),
    ).toContain('a volume with room for two copies of the cluster');
  });

  it('accepts k8s/migration-job.yaml, the maintenance CronJobs and the example DatabaseMigration in a server-side dry run', () => {
    const job = cp.kubectl(['apply', '--dry-run=server', '-f', 'k8s/migration-job.yaml']);
    expect(job).toContain('job.batch/docs-schema-migrate created (server dry run)');
    const cron = cp.kubectl([
      'apply',
      '--dry-run=server',
      '-f',
      'k8s/docserver-maintenance-cronjobs.yaml',
    ]);
    expect(cron).toContain('cronjob.batch/docs-partitions-ensure created (server dry run)');
    expect(cron).toContain('cronjob.batch/docs-archive created (server dry run)');
    const example = cp.kubectl([
      'apply',
      '--dry-run=server',
      '-f',
      'k8s/examples/databasemigration.yaml',
    ]);
    expect(example).toMatch(
      /databasemigration\.dbops\.docserver\.io\/docs-schema (created|configured) \(server dry run\)/,
    );
  });
});
