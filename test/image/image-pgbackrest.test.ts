// The pgbackrest image (Dockerfile.pgbackrest, built by hack/image-pgbackrest.sh) as a cluster
// runs it: pgBackRest and the PostgreSQL 17 server with pgvector inside, and its operator, PID 1
// under the chart's RBAC against a real kube-apiserver, taking a DatabaseMigration whose snapshot
// is a pgBackRest backup to Succeeded: backup, verify and the dry-run's restore all run with the
// image's own binaries, as the image's user, against a PostgreSQL 17 cluster that archives its
// WAL into a pgBackRest repository (started from the image too: the machine's server is 15).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cachedTool } from '../../tools/cached-tool.js';
import {
  FORBIDDEN_LOG_LINE,
  freePort,
  startControlPlane,
  type ControlPlane,
} from '../../tools/control-plane.js';
import { installChartRbac } from '../../tools/helm.js';
import {
  chrootCommand,
  mountImage,
  startImageOperator,
  type ImageOperator,
  type MountedImage,
} from '../helpers/image.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const OPERATOR_NS = 'dbmigrate-system';
const SERVICE_ACCOUNT = 'dbmigrate-db-migration-operator';
const STANZA = 'prod';
/** More than a runtime's default 64 MB of /dev/shm, within what the chart mounts. */
const HNSW_BUILD_MEMORY = '128MB';
const MIGRATIONS: Record<string, string> = {
  '0001_documents.sql':
    '-- migrate:up\ncreate extension vector;\ncreate table documents (id bigint primary key, title text not null, embedding vector(3)) with (parallel_workers = 2);\n',
  '0002_documents_summary.sql': '-- migrate:up\nalter table documents add column summary text;\n',
  // A parallel HNSW build puts its graph (maintenance_work_mem) in /dev/shm: more than the
  // runtime's default 64 MB, within what the chart mounts.
  '0003_documents_embedding_hnsw.sql': `-- dbmigrate:transaction=false max_parallel_maintenance_workers=2\n-- migrate:up\nset maintenance_work_mem = '${HNSW_BUILD_MEMORY}';\ncreate index concurrently documents_embedding_hnsw on documents using hnsw (embedding vector_l2_ops);\nreset maintenance_work_mem;\n`,
};

/** The /dev/shm the chart mounts beside restoreStorage, in tmpfs's terms. */
function chartSharedMemory(): string {
  const values = parse(readFileSync('charts/db-migration-operator/values.yaml', 'utf8')) as {
    restoreStorage: { sharedMemory: string };
  };
  const size = /^(\d+)(Mi|Gi)$/.exec(values.restoreStorage.sharedMemory);
  if (size === null) throw new Error(`sharedMemory ${values.restoreStorage.sharedMemory}?`);
  return `${size[1] ?? ''}${size[2] === 'Gi' ? 'g' : 'm'}`;
}

describe('the pgbackrest image', () => {
  let mounted: MountedImage;

  beforeAll(() => {
    mounted = mountImage(
      cachedTool('DBM_IMAGE_PGBACKREST', 'hack/image-pgbackrest.sh', 'the pgbackrest image'),
    );
  }, 1_200_000);
  afterAll(() => {
    // Unset when the image could not be built or mounted.
    (mounted as MountedImage | undefined)?.remove();
  });

  /** Runs `script` with sh in the image's root as its user; its stdout, or throws with stderr. */
  function inRoot(script: string): string {
    const [bin = 'chroot', ...args] = chrootCommand(mounted, ['sh', '-c', script]);
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('is the product image plus pgBackRest and the PostgreSQL 17 server with pgvector, still as 10001', () => {
    expect(mounted.image).toBe(`ghcr.io/docserver/db-migration-operator:${pkg.version}-pgbackrest`);
    const oci = mounted.config.OCIv1.config;
    expect(oci.User).toBe('10001:10001');
    expect(oci.Entrypoint).toEqual(['/usr/bin/tini', '--', 'dbmigrate']);
    expect(oci.Labels).toMatchObject({
      'org.opencontainers.image.version': pkg.version,
      'io.docserver.dbmigrate.postgresql-major': '17',
    });
    expect(mounted.run(['id', '-u']).out.trim()).toBe('10001');
    expect(mounted.run(['dbmigrate', '--version']).out).toMatch(/^dbmigrate \S+ \(Node\.js 24\./);
    expect(mounted.run(['pgbackrest', 'version']).out).toMatch(/^pgBackRest 2\.\d+/);
    // The server the restored copies run on, found where the product looks for it.
    expect(mounted.run(['/usr/lib/postgresql/17/bin/postgres', '--version']).out).toMatch(
      /\(PostgreSQL\) 17\./,
    );
    expect(mounted.run(['pg_dump', '--version']).out).toMatch(/\(PostgreSQL\) 17\./);
    const rootfs = mounted.rootfs;
    expect(existsSync(join(rootfs, 'usr/share/postgresql/17/extension/vector.control'))).toBe(true);
    // No cluster of Debian's making, no TLS key shared by every copy of the image.
    expect(existsSync(join(rootfs, 'var/lib/postgresql/17/main'))).toBe(false);
    expect(existsSync(join(rootfs, 'etc/ssl/private/ssl-cert-snakeoil.key'))).toBe(false);
    for (const tool of ['npm', 'npx', 'gcc', 'make'])
      expect(mounted.run(['sh', '-c', `command -v ${tool}`]).code, tool).not.toBe(0);
  });

  it('runs a parallel HNSW build of the test’s size only with more /dev/shm than a runtime’s 64 MB', () => {
    // What the operator test below needs the chart's /dev/shm for, shown on the image's server.
    writeFileSync(
      join(mounted.rootfs, 'tmp/shm-check.sql'),
      [
        'create extension vector;',
        'create table d (id int, e vector(3)) with (parallel_workers = 2);',
        'insert into d select g, array[g, g % 7, g % 11]::vector from generate_series(1, 2000) g;',
        'set max_parallel_maintenance_workers = 2;',
        `set maintenance_work_mem = '${HNSW_BUILD_MEMORY}';`,
        'create index on d using hnsw (e vector_l2_ops);',
        '',
      ].join('\n'),
    );
    const build = (shm: string): string => {
      const script = [
        'rm -rf /tmp/shm-check && initdb -D /tmp/shm-check -U postgres -A trust --no-sync >/dev/null',
        'pg_ctl -D /tmp/shm-check -l /tmp/shm-check.log -o "-p 5433 -k /tmp -c listen_addresses=" -w start >/dev/null',
        'psql -h /tmp -p 5433 -U postgres -q -f /tmp/shm-check.sql 2>&1',
        'pg_ctl -D /tmp/shm-check -m immediate -w stop >/dev/null',
      ].join('; ');
      const res = spawnSync(
        'unshare',
        [
          '--mount',
          'sh',
          '-c',
          `mount -t tmpfs -o size=${shm},mode=1777 shm "$0/dev/shm" && exec "$@"`,
          mounted.rootfs,
          ...chrootCommand(mounted, ['sh', '-c', script]),
        ],
        { encoding: 'utf8' },
      );
      return res.stdout + res.stderr;
    };
    expect(build('64m')).toMatch(
      /could not resize shared memory segment .*No space left on device/,
    );
    expect(build(chartSharedMemory())).not.toMatch(/ERROR/);
  });

  describe('its operator, with a DatabaseMigration snapshotted by pgBackRest', () => {
    let cp: ControlPlane;
    let operator: ImageOperator | undefined;
    let port: number;
    let production: pg.Client;
    let serverStarted = false;

    const conf = (pgPort: number): string =>
      [
        '[global]',
        'repo1-path=/prod/repo',
        'repo1-retention-full=2',
        '',
        `[${STANZA}]`,
        'pg1-path=/prod/data',
        `pg1-port=${String(pgPort)}`,
        'pg1-socket-path=/prod',
        'pg1-user=postgres',
        '',
      ].join('\n');

    beforeAll(async () => {
      const root = mounted.rootfs;
      for (const dir of ['prod', 'restores', 'snapshots', 'kube']) {
        mkdirSync(join(root, dir), { recursive: true });
        execFileSync('chown', ['10001:10001', join(root, dir)]);
      }
      port = await freePort();
      writeFileSync(join(root, 'prod/pgbackrest.conf'), conf(port));
      // A PostgreSQL 17 production cluster from the image's own server, archiving into the
      // stanza's repository.
      inRoot(
        // Not C: a copy of it starts only where its locale exists.
        'initdb -D /prod/data -U postgres -A trust --locale=en_US.UTF-8 --no-sync --data-checksums >/dev/null',
      );
      writeFileSync(
        join(root, 'prod/data/postgresql.auto.conf'),
        [
          `port = ${String(port)}`,
          "listen_addresses = '127.0.0.1'",
          "unix_socket_directories = '/prod'",
          'fsync = off',
          'wal_level = replica',
          'archive_mode = on',
          `archive_command = 'pgbackrest --config=/prod/pgbackrest.conf --stanza=${STANZA} archive-push %p'`,
          '',
        ].join('\n'),
      );
      inRoot('pg_ctl -D /prod/data -l /prod/server.log -w start >/dev/null');
      serverStarted = true;
      inRoot(`pgbackrest --config=/prod/pgbackrest.conf --stanza=${STANZA} stanza-create`);
      const admin = new pg.Client(`postgres://postgres@127.0.0.1:${String(port)}/postgres`);
      await admin.connect();
      await admin.query('create database docs');
      await admin.end();
      production = new pg.Client(`postgres://postgres@127.0.0.1:${String(port)}/docs`);
      await production.connect();
      // Its schema so far, applied by the image's own CLI; then the documents.
      mkdirSync(join(root, 'prod/migrations'));
      for (const [file, sql] of Object.entries(MIGRATIONS))
        writeFileSync(join(root, 'prod/migrations', file), sql);
      inRoot(
        `cd /tmp && dbmigrate apply --log-level warn --target 0001 --migrations /prod/migrations --database-url postgres://postgres@127.0.0.1:${String(port)}/docs`,
      );
      await production.query(`
        insert into documents
          select g, 'doc ' || g, array[g, g % 7, g % 11]::vector from generate_series(1, 2000) g;
      `);

      cp = await startControlPlane();
      cp.installCrds();
      installChartRbac(cp, OPERATOR_NS);
    }, 240_000);
    afterAll(async () => {
      operator?.kill();
      // Unset when the setup failed before connecting.
      await (production as pg.Client | undefined)?.end().catch(() => undefined);
      if (serverStarted) inRoot('pg_ctl -D /prod/data -m immediate -w stop >/dev/null || true');
      await cp.stop();
    });

    it(
      'backs up, verifies and dry-runs on a restored copy with the image’s binaries, then applies',
      { timeout: 360_000 },
      async () => {
        copyFileSync(
          await cp.kubeconfigFor(OPERATOR_NS, SERVICE_ACCOUNT),
          join(mounted.rootfs, 'kube/kubeconfig'),
        );
        operator = await startImageOperator(
          mounted,
          await freePort(),
          [
            '--kubeconfig',
            '/kube/kubeconfig',
            '--lease-namespace',
            OPERATOR_NS,
            '--lease-name',
            SERVICE_ACCOUNT,
          ],
          { shm: chartSharedMemory() },
        );
        const log = operator.log;
        cp.kubectl(['create', 'namespace', 'docs']);
        cp.kubectl([
          '-n',
          'docs',
          'create',
          'secret',
          'generic',
          'docs-db',
          `--from-literal=DATABASE_URL=postgres://postgres@127.0.0.1:${String(port)}/docs`,
        ]);
        cp.kubectl([
          '-n',
          'docs',
          'create',
          'secret',
          'generic',
          'docs-pgbackrest',
          `--from-literal=pgbackrest.conf=${conf(port)}`,
        ]);
        // The same files the CLI applied 0001 of: the history's checksums match.
        cp.kubectl([
          '-n',
          'docs',
          'create',
          'configmap',
          'docs-migrations',
          `--from-file=${join(mounted.rootfs, 'prod/migrations')}`,
        ]);
        cp.kubectl(
          ['-n', 'docs', 'apply', '-f', '-'],
          `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: docs}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {configMapRef: {name: docs-migrations}}
  # The window verdict is not what this test is about (an ALTER on a loaded machine).
  maintenanceWindow: {thresholdMs: 5000}
  snapshot:
    storage: {path: /snapshots}
    checksums: counts
    method: pgbackrest
    pgbackrest:
      stanza: ${STANZA}
      config: {name: docs-pgbackrest, key: pgbackrest.conf}
      restorePath: /restores
`,
        );
        interface Status {
          phase?: string;
          lastError?: string;
          snapshotRef?: { name: string };
          history?: { phase: string }[];
          dryRun?: { ok: boolean; migrations: { id: string; status: string }[] };
        }
        let status: Status = {};
        for (const deadline = Date.now() + 240_000; Date.now() < deadline;) {
          status =
            (
              JSON.parse(cp.kubectl(['-n', 'docs', 'get', 'dbm', 'docs', '-o', 'json'])) as {
                status?: Status;
              }
            ).status ?? {};
          if (status.phase === 'Succeeded' || status.phase === 'Failed') break;
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(status.lastError ?? '', log()).toBe('');
        expect(status.phase, `${JSON.stringify(status)}\n${log()}`).toBe('Succeeded');
        expect(status.history?.map((h) => h.phase)).toEqual([
          'Pending',
          'Snapshotting',
          'DryRunning',
          'Applying',
          'Verifying',
          'Succeeded',
        ]);
        // The dry-run ran both on the copy restored from the backup, the HNSW build included.
        expect(status.dryRun?.ok).toBe(true);
        expect(status.dryRun?.migrations.map((m) => [m.id, m.status])).toEqual([
          ['0002', 'applied'],
          ['0003', 'applied'],
        ]);
        const snapshot = (
          JSON.parse(
            cp.kubectl([
              '-n',
              'docs',
              'get',
              'dbsnap',
              status.snapshotRef?.name ?? '-',
              '-o',
              'json',
            ]),
          ) as {
            status?: {
              phase?: string;
              method?: string;
              verified?: boolean;
              backup?: { label?: string; type?: string };
            };
          }
        ).status;
        expect(snapshot).toMatchObject({
          phase: 'Completed',
          method: 'pgbackrest',
          verified: true,
        });
        // The stanza had no backup: its first is full.
        expect(snapshot?.backup?.type).toBe('full');
        expect(snapshot?.backup?.label).toMatch(/^\d{8}-\d{6}F$/);
        expect(readdirSync(join(mounted.rootfs, 'restores')).sort()).toEqual([
          expect.stringMatching(/^prod-docs-staging-[0-9a-f]{10}$/),
          expect.stringMatching(/^prod-verify-[0-9a-f]{10}$/),
        ]);
        const applied = await production.query<{ summary: boolean; hnsw: boolean }>(`
          select exists (select 1 from information_schema.columns
                          where table_name = 'documents' and column_name = 'summary') as summary,
                 to_regclass('documents_embedding_hnsw') is not null as hnsw`);
        expect(applied.rows[0]).toEqual({ summary: true, hnsw: true });
        expect(log()).not.toMatch(FORBIDDEN_LOG_LINE);
        // The stanza's configuration is a Secret: never in the operator's output.
        expect(log()).not.toContain('repo1-path');
        expect(await operator.terminate(), log()).toBe(0);
      },
    );
  });
});
