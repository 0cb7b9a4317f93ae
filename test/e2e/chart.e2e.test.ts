// The Helm chart as a user installs it: linted, rendered, accepted by a real kube-apiserver, and
// the operator running the whole DatabaseMigration path authenticated as the chart's
// ServiceAccount, so any permission the chart forgot shows up as a 403 here.
import { appendFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createLogger } from '../../src/observability/logger.js';
import { Operator } from '../../src/operator/controller.js';
import { KubeApi, loadKubeConfig } from '../../src/operator/kube.js';
import {
  FORBIDDEN_LOG_LINE,
  startControlPlane,
  type ControlPlane,
} from '../../tools/control-plane.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CHART, helm, renderChart } from '../../tools/helm.js';
import { adminClientWithBucket, startS3Server } from '../../tools/seaweedfs.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const RELEASE_NS = 'dbmigrate-system';

interface K8sObject {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

function objects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

interface PodTemplate {
  spec: {
    securityContext: Record<string, unknown>;
    containers: {
      image: string;
      args: string[];
      securityContext: Record<string, unknown>;
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      volumeMounts?: Record<string, unknown>[];
    }[];
    volumes?: ({ name: string } & Record<string, unknown>)[];
    terminationGracePeriodSeconds: number;
  };
}

describe('the Helm chart', () => {
  let cp: ControlPlane;
  const dbs: TestDatabase[] = [];
  const operators: Operator[] = [];

  beforeAll(async () => {
    cp = await startControlPlane();
  }, 180_000);

  afterAll(async () => {
    for (const op of operators) await op.stop(5000);
    await cp.stop();
    for (const db of dbs) await db.drop();
  });

  it('passes helm lint, and its values schema refuses bad values by name', () => {
    const lint = helm(['lint', CHART, '--strict']);
    expect(lint.err + lint.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(helm(['lint', CHART, '--strict', '--set', 'watchNamespaces={apps,jobs}']).code).toBe(0);
    const bad = helm(['template', 'x', CHART, '--set', 'replicaCount=0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/replicaCount/);
    const typo = helm(['template', 'x', CHART, '--set', 'operator.wokers=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.err).toMatch(/wokers/);
  });

  it('renders a restricted, probed, two-replica Deployment with the CRDs beside it', () => {
    const rendered = objects(renderChart(RELEASE_NS));
    expect(rendered.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'PersistentVolumeClaim',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const deployment = rendered.find((o) => o.kind === 'Deployment');
    expect(deployment?.spec?.['replicas']).toBe(2);
    const pod = deployment?.spec?.['template'] as PodTemplate;
    const container = pod.spec.containers[0];
    expect(container?.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container?.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container?.args).toContain('operator');
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // Longer than the operator's 20 s drain.
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(20);
    const image = (container as unknown as { image: string }).image;
    expect(image).toBe('ghcr.io/docserver/db-migration-operator:0.1.0');
    const crds = helm(['show', 'crds', CHART]).out;
    expect(crds).toContain('name: databasemigrations.dbops.docserver.io');
    expect(crds).toContain('name: backupsnapshots.dbops.docserver.io');
    const monitors = objects(
      renderChart(RELEASE_NS, [
        'metrics.serviceMonitor.enabled=true',
        'metrics.podMonitor.enabled=true',
      ]),
    ).map((o) => o.kind);
    expect(monitors).toEqual(expect.arrayContaining(['ServiceMonitor', 'PodMonitor']));
    // No restore volume unless the pgbackrest method asks for one.
    expect(pod.spec.volumes?.map((v) => v.name)).toEqual(['snapshots', 'tmp']);
  });

  it('runs the pgbackrest image on asking, with a restore volume and the files pgbackrest.conf names', () => {
    const rendered = objects(
      renderChart(RELEASE_NS, [
        'restoreStorage.enabled=true',
        'restoreStorage.size=200Gi',
        'restoreStorage.storageClassName=fast',
        'extraVolumes[0].name=pgbackrest-tls',
        'extraVolumes[0].secret.secretName=pgbackrest-client-tls',
        'extraVolumeMounts[0].name=pgbackrest-tls',
        'extraVolumeMounts[0].mountPath=/etc/pgbackrest/tls',
        'extraVolumeMounts[0].readOnly=true',
      ]),
    );
    const pod = rendered.find((o) => o.kind === 'Deployment')?.spec?.['template'] as PodTemplate;
    // The default image carries neither pgBackRest nor a server: the variant is asked for.
    expect(pod.spec.containers[0]?.image).toBe('ghcr.io/docserver/db-migration-operator:0.1.0');
    const variant = objects(renderChart(RELEASE_NS, ['image.variant=pgbackrest'])).find(
      (o) => o.kind === 'Deployment',
    )?.spec?.['template'] as PodTemplate;
    expect(variant.spec.containers[0]?.image).toBe(
      'ghcr.io/docserver/db-migration-operator:0.1.0-pgbackrest',
    );
    const unknownVariant = helm(['template', 'x', CHART, '--set', 'image.variant=barman']);
    expect(unknownVariant.code).not.toBe(0);
    expect(unknownVariant.out + unknownVariant.err).toContain('/image/variant');
    expect(pod.spec.containers[0]?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'restores', mountPath: '/var/lib/dbmigrate/restores' },
        { name: 'dbmigrate-shm', mountPath: '/dev/shm' },
        { name: 'pgbackrest-tls', mountPath: '/etc/pgbackrest/tls', readOnly: true },
      ]),
    );
    const restores = pod.spec.volumes?.find((v) => v.name === 'restores') as unknown as {
      ephemeral: { volumeClaimTemplate: { spec: Record<string, unknown> } };
    };
    expect(restores.ephemeral.volumeClaimTemplate.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      resources: { requests: { storage: '200Gi' } },
    });
    // More than the runtime's 64 MB of /dev/shm for the copies' parallel index builds.
    expect(pod.spec.volumes?.find((v) => v.name === 'dbmigrate-shm')).toEqual({
      name: 'dbmigrate-shm',
      emptyDir: { medium: 'Memory', sizeLimit: '256Mi' },
    });
    expect(pod.spec.volumes?.find((v) => v.name === 'pgbackrest-tls')).toEqual({
      name: 'pgbackrest-tls',
      secret: { secretName: 'pgbackrest-client-tls' },
    });
    const bad = helm([
      'template',
      'x',
      CHART,
      '--set',
      'restoreStorage.enabled=true',
      '--set',
      'restoreStorage.mountPath=restores',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.out + bad.err).toContain(
      "at '/restoreStorage/mountPath': 'restores' does not match pattern '^/'",
    );
  });

  it('grants only what the operator uses: no wildcard, no secret listing, Leases in its own namespace only', () => {
    const rendered = objects(renderChart(RELEASE_NS));
    const rules = rendered.flatMap((o) => (o.kind.endsWith('Role') ? (o.rules ?? []) : []));
    for (const r of rules) {
      expect([...r.verbs, ...r.resources, ...r.apiGroups]).not.toContain('*');
      if (r.resources.includes('secrets')) expect(r.verbs).toEqual(['get']);
    }
    const cluster = rendered.find((o) => o.kind === 'ClusterRole');
    expect(cluster?.rules?.some((r) => r.resources.includes('leases'))).toBe(false);
    const leader = rendered.find((o) => o.kind === 'Role');
    expect(leader?.metadata.namespace).toBe(RELEASE_NS);
    expect(leader?.rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'create', 'update'],
      },
    ]);
    const scoped = objects(renderChart(RELEASE_NS, ['watchNamespaces={apps,jobs}']));
    expect(scoped.some((o) => o.kind.startsWith('Cluster'))).toBe(false);
    expect(scoped.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace)).toEqual([
      'apps',
      'jobs',
      RELEASE_NS,
    ]);
  });

  it('is accepted by the apiserver, and its pod passes Pod Security "restricted"', async () => {
    cp.kubectl(['create', 'namespace', RELEASE_NS]);
    cp.kubectl([
      'label',
      'namespace',
      RELEASE_NS,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'dbm-chart-'));
    const manifest = join(dir, 'chart.yaml');
    await writeFile(manifest, renderChart(RELEASE_NS));
    cp.kubectl(['apply', '--server-side', '-f', join(CHART, 'crds')]);
    cp.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/databasemigrations.dbops.docserver.io',
      'crd/backupsnapshots.dbops.docserver.io',
    ]);
    cp.kubectl(['apply', '--dry-run=server', '-f', manifest]);
    // Installed for real: the operator below runs as this ServiceAccount.
    cp.kubectl(['apply', '-f', manifest]);
    // Pod Security is enforced on Pods: the Deployment's template, as a Pod, must be admitted.
    const deployment = objects(renderChart(RELEASE_NS)).find((o) => o.kind === 'Deployment');
    const template = deployment?.spec?.['template'] as { metadata: object; spec: object };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'restricted-check', namespace: RELEASE_NS },
      spec: template.spec,
    };
    cp.kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    // And the check bites: the same pod without the chart's security context is refused.
    const loose = { ...pod, spec: { ...template.spec, securityContext: {} } };
    expect(() =>
      cp.kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(loose)),
    ).toThrow(/violates PodSecurity "restricted/);
    expect(
      cp.kubectl([
        '-n',
        RELEASE_NS,
        'get',
        'serviceaccount',
        'dbmigrate-db-migration-operator',
        '-o',
        'name',
      ]),
    ).toContain('dbmigrate-db-migration-operator');
  });

  /** An operator authenticated with a token of the chart's ServiceAccount; its log lines are kept. */
  async function operatorAsChartServiceAccount(
    identity: string,
    watchNamespaces?: string[],
  ): Promise<{ operator: Operator; logs: string[] }> {
    const kubeconfig = await cp.kubeconfigFor(RELEASE_NS, 'dbmigrate-db-migration-operator');
    const logs: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      if (process.env['E2E_LOG_FILE']) appendFileSync(process.env['E2E_LOG_FILE'], chunk);
    });
    const operator = new Operator({
      api: new KubeApi(loadKubeConfig(kubeconfig)),
      logger: createLogger({ component: 'chart-e2e', level: 'debug', destination: sink }),
      leaseNamespace: RELEASE_NS,
      leaseName: 'dbmigrate-db-migration-operator',
      identity,
      retryPeriodMs: 500,
      ...(watchNamespaces && { watchNamespaces }),
    });
    operators.push(operator);
    await operator.start();
    // Ready (what /readyz serves) once every informer has listed, even if the API server
    // answered the first lists with 429 while its storage initialised.
    for (let i = 0; i < 100 && operator.notReadyReason() !== null; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(operator.notReadyReason()).toBeNull();
    return { operator, logs };
  }

  async function waitForPhase(
    namespace: string,
    name: string,
    phases: string[],
    timeoutMs = 150_000,
  ): Promise<{ phase?: string; lastError?: string; snapshotRef?: { name: string } }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = cp.kubectl(['-n', namespace, 'get', 'dbm', name, '-o', 'json']);
      const status =
        (
          JSON.parse(out) as {
            status?: { phase?: string; lastError?: string; snapshotRef?: { name: string } };
          }
        ).status ?? {};
      if (status.phase !== undefined && phases.includes(status.phase)) return status;
      if (Date.now() > deadline)
        throw new Error(`${namespace}/${name} is still ${status.phase ?? 'without a phase'}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A DatabaseMigration of its own database; `storage` is its snapshot storage (YAML). */
  async function migrationIn(
    namespace: string,
    name: string,
    snapshots: string,
    storage = `{path: "${snapshots}"}`,
  ): Promise<TestDatabase> {
    const db = await createTestDatabase(`chart_${name}`);
    dbs.push(db);
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${namespace}}\n`,
    );
    cp.kubectl([
      '-n',
      namespace,
      'create',
      'secret',
      'generic',
      `${name}-db`,
      `--from-literal=DATABASE_URL=${db.url}`,
    ]);
    cp.kubectl(
      ['-n', namespace, 'apply', '-f', '-'],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}-migrations}
data:
  0001_items.sql: |
    -- migrate:up
    create table items (id bigint primary key, name text not null);
  0002_items_name_idx.sql: |
    -- dbmigrate:transaction=false
    -- migrate:up
    create index concurrently items_name_idx on items (name);
---
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: ${name}}
spec:
  database: {secretRef: {name: ${name}-db}}
  migrations: {configMapRef: {name: ${name}-migrations}}
  snapshot: {storage: ${storage}}
  staging: {scratch: {allowProductionServer: true}}
`,
    );
    return db;
  }

  function forbidden(logs: readonly string[]): string[] {
    return logs.filter((l) => FORBIDDEN_LOG_LINE.test(l));
  }

  it(
    "runs snapshot → dry-run → apply → verify to Succeeded as the chart's ServiceAccount, never forbidden",
    { timeout: 240_000 },
    async () => {
      const snapshots = await mkdtemp(join(tmpdir(), 'dbm-chart-snapshots-'));
      const { operator, logs } = await operatorAsChartServiceAccount('chart-1');
      const db = await migrationIn('shop', 'orders', snapshots);
      const done = await waitForPhase('shop', 'orders', ['Succeeded', 'Failed']);
      expect(done.lastError ?? '').toBe('');
      expect(done.phase).toBe('Succeeded');
      expect(
        (await db.query("select 1 from pg_indexes where indexname = 'items_name_idx'")).rowCount,
      ).toBe(1);
      // Events were recorded (create, then patch when aggregated) under the chart's RBAC.
      expect(
        cp.kubectl([
          '-n',
          'shop',
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=orders',
          '-o',
          'jsonpath={.items[*].reason}',
        ]),
      ).toContain('Succeeded');
      // The pre-migration BackupSnapshot is deleted through its finalizer, files and all.
      const snap = done.snapshotRef?.name ?? '';
      // --wait=false: a waiting kubectl would block this process, and the operator in it.
      cp.kubectl(['-n', 'shop', 'delete', 'dbsnap', snap, '--wait=false']);
      for (let i = 0; i < 60 && cp.kubectl(['-n', 'shop', 'get', 'dbsnap', '-o', 'name']); i++)
        await new Promise((r) => setTimeout(r, 500));
      expect(cp.kubectl(['-n', 'shop', 'get', 'dbsnap', '-o', 'name'])).toBe('');
      expect(
        cp.kubectl([
          '-n',
          RELEASE_NS,
          'get',
          'lease',
          'dbmigrate-db-migration-operator',
          '-o',
          'jsonpath={.spec.holderIdentity}',
        ]),
      ).toBe('chart-1');
      expect(operator.notReadyReason()).toBeNull();
      expect(forbidden(logs)).toEqual([]);
      await operator.stop(5000);
      operators.splice(operators.indexOf(operator), 1);
    },
  );

  it(
    "keeps the pre-migration snapshot in S3 with credentials from a Secret in the resource's namespace, as the chart's ServiceAccount",
    { timeout: 240_000 },
    async () => {
      const s3 = await startS3Server();
      const admin = await adminClientWithBucket(s3, 'shop-snapshots');
      try {
        cp.kubectl(
          ['apply', '-f', '-'],
          'apiVersion: v1\nkind: Namespace\nmetadata: {name: s3shop}\n',
        );
        cp.kubectl([
          '-n',
          's3shop',
          'create',
          'secret',
          'generic',
          'snapshot-s3',
          `--from-literal=ACCESS_KEY_ID=${s3.accessKeyId}`,
          `--from-literal=SECRET_ACCESS_KEY=${s3.secretAccessKey}`,
        ]);
        const { operator, logs } = await operatorAsChartServiceAccount('chart-s3');
        await migrationIn(
          's3shop',
          'catalog',
          '',
          `{s3: {bucket: shop-snapshots, prefix: prod/, endpoint: "${s3.endpoint}", forcePathStyle: true, credentials: {accessKeyId: {name: snapshot-s3, key: ACCESS_KEY_ID}, secretAccessKey: {name: snapshot-s3, key: SECRET_ACCESS_KEY}}}}`,
        );
        const done = await waitForPhase('s3shop', 'catalog', ['Succeeded', 'Failed']);
        expect(done.lastError ?? '').toBe('');
        expect(done.phase).toBe('Succeeded');
        const snapName = done.snapshotRef?.name ?? '';
        const snap = JSON.parse(
          cp.kubectl(['-n', 's3shop', 'get', 'dbsnap', snapName, '-o', 'json']),
        ) as { status?: { snapshotId?: string; location?: string; verified?: boolean } };
        const id = snap.status?.snapshotId ?? 'missing';
        expect(snap.status).toMatchObject({
          verified: true,
          location: `s3://shop-snapshots/prod/${id}`,
        });
        const listed = await admin.send(
          new ListObjectsV2Command({ Bucket: 'shop-snapshots', Prefix: `prod/${id}/` }),
        );
        expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([
          `prod/${id}/dump.pgdump`,
          `prod/${id}/manifest.json`,
        ]);
        // The secret key is nowhere a user looks: status, Events, the operator's log.
        const shown = [
          cp.kubectl(['-n', 's3shop', 'get', 'dbsnap,dbm', '-o', 'yaml']),
          cp.kubectl(['-n', 's3shop', 'get', 'events', '-o', 'yaml']),
          ...logs,
        ].join('\n');
        expect(shown.includes(s3.secretAccessKey)).toBe(false);
        expect(forbidden(logs)).toEqual([]);
        await operator.stop(5000);
        operators.splice(operators.indexOf(operator), 1);
      } finally {
        admin.destroy();
        await s3.stop();
      }
    },
  );

  it(
    'with watchNamespaces, runs on Roles alone and leaves other namespaces alone',
    { timeout: 240_000 },
    async () => {
      const manifest = renderChart(RELEASE_NS, ['watchNamespaces={team-a}']);
      cp.kubectl(['create', 'namespace', 'team-a']);
      cp.kubectl(['delete', 'clusterrolebinding', 'dbmigrate-db-migration-operator']);
      cp.kubectl(['apply', '-f', '-'], manifest);
      const snapshots = await mkdtemp(join(tmpdir(), 'dbm-chart-snapshots-'));
      const { logs } = await operatorAsChartServiceAccount('chart-2', ['team-a']);
      await migrationIn('team-b', 'ignored', snapshots);
      await migrationIn('team-a', 'scoped', snapshots);
      const done = await waitForPhase('team-a', 'scoped', ['Succeeded', 'Failed']);
      expect(done.lastError ?? '').toBe('');
      expect(done.phase).toBe('Succeeded');
      const other = JSON.parse(
        cp.kubectl(['-n', 'team-b', 'get', 'dbm', 'ignored', '-o', 'json']),
      ) as { status?: unknown };
      expect(other.status).toBeUndefined();
      expect(forbidden(logs)).toEqual([]);
    },
  );
});
