// The product image as a cluster runs it: built from the Dockerfile by hack/image.sh (buildah),
// its binaries run inside it, its configuration and contents inspected, and its operator run as
// PID 1 (tini) in a PID namespace of its own, authenticated as the chart's ServiceAccount against
// a real kube-apiserver, taking a DatabaseMigration to Succeeded with the image's own pg_dump 17
// and stopping on SIGTERM with its lease given up.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedTool } from '../../tools/cached-tool.js';
import {
  FORBIDDEN_LOG_LINE,
  freePort,
  startControlPlane,
  type ControlPlane,
} from '../../tools/control-plane.js';
import { installChartRbac } from '../../tools/helm.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  mountImage,
  startImageOperator,
  type ImageOperator,
  type MountedImage,
} from '../helpers/image.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const OPERATOR_NS = 'dbmigrate-system';
const SERVICE_ACCOUNT = 'dbmigrate-db-migration-operator';
/** Unpacked; the Node.js 24 trixie-slim base is about 250 MB of it, pg_dump 17 with Debian's perl 60 MB. */
const MAX_IMAGE_MB = 400;

describe('the product image', () => {
  let mounted: MountedImage;
  let image: string;
  let rootfs: string;
  let config: MountedImage['config'];
  const inImage = (args: readonly string[]) => mounted.run(args);

  beforeAll(() => {
    mounted = mountImage(cachedTool('DBM_IMAGE', 'hack/image.sh', 'the product image'));
    ({ image, rootfs, config } = mounted);
  }, 900_000);
  afterAll(() => {
    mounted.remove();
  });

  it('is named and labelled after the package, runs tini → dbmigrate as a numeric non-root user', () => {
    expect(image).toBe(`ghcr.io/docserver/db-migration-operator:${pkg.version}`);
    const oci = config.OCIv1.config;
    expect(oci.User).toBe('10001:10001');
    expect(oci.Entrypoint).toEqual(['/usr/bin/tini', '--', 'dbmigrate']);
    expect(oci.Labels).toMatchObject({
      'org.opencontainers.image.title': 'db-migration-operator',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.source': expect.stringMatching(/^https:\/\//) as string,
      'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/) as string,
    });
    expect(inImage(['id', '-u']).out.trim()).toBe('10001');
  });

  it('runs dbmigrate on Node.js 24, and its operator command', () => {
    const version = inImage(['dbmigrate', '--version']);
    expect(version.err).toBe('');
    expect(version.out.trim()).toBe(
      `dbmigrate ${pkg.version} (Node.js ${version.out.match(/Node\.js (24\.[0-9.]+)/)?.[1] ?? 'not 24'})`,
    );
    const help = inImage(['dbmigrate', 'operator', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--watch-namespaces');
    expect(help.out).toContain('--http-addr');
  });

  it('runs on a read-only root filesystem with no writable /tmp, printing nothing extra', () => {
    // What readOnlyRootFilesystem does to the container, minus the chart's /tmp emptyDir: the
    // CLI (and its V8 compile cache) must not need to write anywhere to start.
    const env = (config.OCIv1.config.Env ?? []).map((e) => `'${e}'`).join(' ');
    const res = spawnSync(
      'unshare',
      [
        '--mount',
        'sh',
        '-c',
        `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && ` +
          `chroot --userspec=10001:10001 "$0" /usr/bin/env -i ${env} sh -c ` +
          `'touch /tmp/x 2>/dev/null && echo tmp-writable; dbmigrate --version && dbmigrate operator --help >/dev/null'`,
        rootfs,
      ],
      { encoding: 'utf8' },
    );
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^dbmigrate \S+ \(Node\.js 24\.[0-9.]+\)\n$/);
    expect(res.status).toBe(0);
  });

  it('carries pg_dump and pg_restore 17, newer than or equal to every server it backs up', () => {
    expect(inImage(['pg_dump', '--version']).out).toMatch(/^pg_dump \(PostgreSQL\) 17\./);
    expect(inImage(['pg_restore', '--version']).out).toMatch(/^pg_restore \(PostgreSQL\) 17\./);
  });

  it('holds no dev dependency, test, source map, package manager or compiler, and stays small', () => {
    const app = join(rootfs, 'opt/dbmigrate/lib/node_modules/db-migration-operator');
    const installed = execFileSync('ls', [join(app, 'node_modules')], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    const scoped = installed
      .filter((n) => n.startsWith('@'))
      .flatMap((scope) =>
        execFileSync('ls', [join(app, 'node_modules', scope)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map((n) => `${scope}/${n}`),
      );
    const names = [...installed.filter((n) => !n.startsWith('@')), ...scoped];
    expect(names).toContain('libpg-query');
    expect(names.filter((n) => n in pkg.devDependencies)).toEqual([]);
    const unwanted = execFileSync(
      'find',
      [
        app,
        '-maxdepth',
        '3',
        '(',
        '-name',
        '*.map',
        '-o',
        '-name',
        '*.test.*',
        '-o',
        '-name',
        'test',
        '-o',
        '-name',
        'bench',
        '-o',
        '-name',
        'src',
        ')',
        '-not',
        '-path',
        '*/node_modules/*',
      ],
      { encoding: 'utf8' },
    );
    expect(unwanted).toBe('');
    for (const tool of ['npm', 'npx', 'corepack', 'gcc', 'make', 'tsc'])
      expect(inImage(['sh', '-c', `command -v ${tool}`]).code, tool).not.toBe(0);
    const bytes = Number(execFileSync('du', ['-sb', rootfs], { encoding: 'utf8' }).split('\t')[0]);
    expect(bytes / 1e6).toBeLessThan(MAX_IMAGE_MB);
  });

  describe('its operator, as PID 1 under the chart RBAC', () => {
    let cp: ControlPlane;
    let db: TestDatabase;
    let operator: ImageOperator | undefined;

    beforeAll(async () => {
      cp = await startControlPlane();
      cp.installCrds();
      installChartRbac(cp, OPERATOR_NS);
      db = await createTestDatabase('image');
    }, 180_000);
    afterAll(async () => {
      operator?.kill();
      await cp.stop();
      await db.drop();
    });

    it(
      'takes a DatabaseMigration to Succeeded with the image’s pg_dump, then stops on SIGTERM and gives up its lease',
      { timeout: 300_000 },
      async () => {
        // The container's filesystem, as a pod would see it: the kubeconfig of the chart's
        // ServiceAccount where a projected token would be, snapshots on a volume.
        const kubeconfig = await cp.kubeconfigFor(OPERATOR_NS, SERVICE_ACCOUNT);
        // (Not under /var/run: in the image that is a symlink to /run, which the host would follow.)
        mkdirSync(join(rootfs, 'kube'), { recursive: true });
        copyFileSync(kubeconfig, join(rootfs, 'kube/kubeconfig'));
        mkdirSync(join(rootfs, 'snapshots'), { recursive: true });
        execFileSync('chown', ['10001:10001', join(rootfs, 'snapshots')]);
        const port = await freePort();
        operator = await startImageOperator(mounted, port, [
          '--kubeconfig',
          '/kube/kubeconfig',
          '--lease-namespace',
          OPERATOR_NS,
          '--lease-name',
          SERVICE_ACCOUNT,
          '--identity',
          'image-pid1',
        ]);
        const log = operator.log;

        cp.kubectl(['create', 'namespace', 'shop']);
        cp.kubectl([
          '-n',
          'shop',
          'create',
          'secret',
          'generic',
          'shop-db',
          `--from-literal=DATABASE_URL=${db.url}`,
        ]);
        cp.kubectl(
          ['-n', 'shop', 'apply', '-f', '-'],
          `apiVersion: v1
kind: ConfigMap
metadata: {name: shop-migrations}
data:
  0001_items.sql: |
    -- migrate:up
    create table items (id bigint primary key, name text not null);
---
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: shop}
spec:
  database: {secretRef: {name: shop-db}}
  migrations: {configMapRef: {name: shop-migrations}}
  snapshot: {storage: {path: /snapshots}}
  staging: {scratch: {allowProductionServer: true}}
`,
        );
        let status: { phase?: string; lastError?: string; snapshotRef?: { name: string } } = {};
        for (let i = 0; i < 400; i++) {
          status =
            (
              JSON.parse(cp.kubectl(['-n', 'shop', 'get', 'dbm', 'shop', '-o', 'json'])) as {
                status?: typeof status;
              }
            ).status ?? {};
          if (status.phase === 'Succeeded' || status.phase === 'Failed') break;
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(status.lastError ?? '', log()).toBe('');
        expect(status.phase).toBe('Succeeded');
        expect(log()).not.toMatch(FORBIDDEN_LOG_LINE);
        // The snapshot was written by the image's pg_dump 17 into the pod's volume.
        const snapshot = JSON.parse(
          cp.kubectl([
            '-n',
            'shop',
            'get',
            'dbsnap',
            status.snapshotRef?.name ?? '-',
            '-o',
            'json',
          ]),
        ) as { status?: { phase?: string } };
        expect(snapshot.status?.phase).toBe('Completed');
        const manifests = execFileSync(
          'find',
          [join(rootfs, 'snapshots'), '-name', 'manifest.json'],
          { encoding: 'utf8' },
        )
          .split('\n')
          .filter(Boolean);
        expect(manifests).toHaveLength(1);
        const manifest = JSON.parse(readFileSync(manifests[0] ?? '', 'utf8')) as {
          pgDumpVersion: string;
        };
        expect(manifest.pgDumpVersion).toMatch(/\(PostgreSQL\) 17\./);
        const items = await db.query("select to_regclass('items') is not null as present");
        expect(items.rows[0]).toEqual({ present: true });

        // SIGTERM to PID 1 (tini), as the kubelet sends it: the operator drains and exits 0.
        const sent = Date.now();
        const code = await operator.terminate();
        expect(code, log()).toBe(0);
        expect(Date.now() - sent).toBeLessThan(20_000);
        expect(log()).toContain('shutting down');
        const lease = JSON.parse(
          cp.kubectl(['-n', OPERATOR_NS, 'get', 'lease', SERVICE_ACCOUNT, '-o', 'json']),
        ) as { spec: { holderIdentity?: string; leaseDurationSeconds?: number } };
        expect(lease.spec).toMatchObject({ holderIdentity: 'image-pid1', leaseDurationSeconds: 1 });
      },
    );
  });
});
