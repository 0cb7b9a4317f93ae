import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { Operator } from '../../src/operator/controller.js';
import { KubeApi, loadKubeConfig } from '../../src/operator/kube.js';
import { startControlPlane, type ControlPlane } from '../../tools/control-plane.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migratorFor } from '../helpers/migrations.js';

interface DbmView {
  status?: {
    phase?: string;
    appliedCount?: number;
    pendingCount?: number;
    lastError?: string;
    history?: { phase: string }[];
    conditions?: { type: string; status: string; message: string }[];
    snapshotRef?: { name: string };
  };
}

const MIGRATIONS = {
  '0001_items.sql':
    '-- migrate:up\ncreate table items (id bigint primary key, name text not null);\n',
  '0002_items_name_idx.sql':
    '-- dbmigrate:transaction=false\n-- migrate:up\ncreate index concurrently items_name_idx on items (name);\n',
};

function yamlBlock(data: Record<string, string>): string {
  return Object.entries(data)
    .map(
      ([k, v]) =>
        `  ${k}: |\n${v
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}`,
    )
    .join('\n');
}

describe('operator on a real kube-apiserver and PostgreSQL', () => {
  let cp: ControlPlane;
  let operator: Operator;
  const dbs: TestDatabase[] = [];
  let snapshots: string;

  beforeAll(async () => {
    cp = await startControlPlane();
    cp.installCrds();
    snapshots = await mkdtemp(join(tmpdir(), 'dbm-op-snapshots-'));
    const api = new KubeApi(loadKubeConfig(cp.kubeconfig));
    operator = new Operator({
      api,
      logger: createLogger({ component: 'operator-e2e', level: process.env['E2E_LOG'] ?? 'warn' }),
      leaseNamespace: 'default',
      identity: 'e2e-1',
      retryPeriodMs: 500,
      // Long, so recoveries below come from watch events, not from a resync.
      resyncPeriodMs: 60_000,
    });
    await operator.start();
  }, 180_000);

  afterAll(async () => {
    await operator.stop(5000);
    await cp.stop();
    for (const db of dbs) await db.drop();
  });

  async function database(label: string): Promise<TestDatabase> {
    const db = await createTestDatabase(label);
    dbs.push(db);
    cp.kubectl([
      'create',
      'secret',
      'generic',
      `${label}-db`,
      `--from-literal=DATABASE_URL=${db.url}`,
    ]);
    return db;
  }

  async function waitFor(name: string, phases: string[], timeoutMs = 120_000): Promise<DbmView> {
    const deadline = Date.now() + timeoutMs;
    let last: DbmView = {};
    while (Date.now() < deadline) {
      last = JSON.parse(cp.kubectl(['get', 'dbm', name, '-o', 'json'])) as DbmView;
      if (last.status?.phase && phases.includes(last.status.phase)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `dbm/${name} did not reach ${phases.join('|')} in time; last status: ${JSON.stringify(last.status)}`,
    );
  }

  it(
    'drives a migration through snapshot, dry-run, apply and verify to Succeeded',
    { timeout: 180_000 },
    async () => {
      const db = await database('happy');
      cp.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: happy-migrations}\ndata:\n${yamlBlock(MIGRATIONS)}\n`,
      );
      cp.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: happy}
spec:
  database: {secretRef: {name: happy-db}}
  migrations: {configMapRef: {name: happy-migrations}}
  snapshot: {storage: {path: "${snapshots}"}}
  staging: {scratch: {allowProductionServer: true}}
`,
      );
      const done = await waitFor('happy', ['Succeeded', 'Failed']);
      expect(done.status?.lastError ?? '').toBe('');
      expect(done.status?.phase).toBe('Succeeded');
      expect(done.status?.history?.map((h) => h.phase)).toEqual([
        'Pending',
        'Snapshotting',
        'DryRunning',
        'Applying',
        'Verifying',
        'Succeeded',
      ]);
      expect(done.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      // The tables are really there, and the engine's history agrees.
      const idx = await db.query("select 1 from pg_indexes where indexname = 'items_name_idx'");
      expect(idx.rowCount).toBe(1);
      const history = await db.query<{ id: string }>(
        "select id from dbmigrate.migration_history where status = 'applied' order by id",
      );
      expect(history.rows.map((r) => r.id)).toEqual(['0001', '0002']);
      const table = cp.kubectl(['get', 'dbm', 'happy']);
      expect(table).toMatch(/happy\s+Succeeded\s+2\s+0\s+happy-g1-\w{5}\s+True\s+Succeeded\s+/);
      const snapName = done.status?.snapshotRef?.name ?? '';
      const snap = cp.kubectl(['get', 'dbsnap', snapName]);
      expect(snap).toMatch(/happy-g1-\w{5}\s+Completed\s+\S+ \S+\s+true\s+True\s+\w+\s+/);
      expect(
        done.status?.conditions?.find((c) => c.type === 'DryRun')?.status,
        'the dry-run ran and said so',
      ).toBe('True');
      const events = cp.kubectl([
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=happy',
        '-o',
        'jsonpath={.items[*].reason}',
      ]);
      expect(events).toContain('Succeeded');
    },
  );

  it('ends Failed with a clear condition and changes nothing for a malformed migration', async () => {
    const db = await database('bad');
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: bad}
spec:
  database: {secretRef: {name: bad-db}}
  migrations:
    inline:
      - {name: 0001_ok.sql, sql: "-- migrate:up\\ncreate table ok (id int);"}
      - {name: 0002_broken.sql, sql: "create table broken (id int);"}
`,
    );
    const failed = await waitFor('bad', ['Failed', 'Succeeded']);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.lastError).toContain(
      '0002_broken.sql:1: SQL before the -- migrate:up marker',
    );
    expect(failed.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
    });
    const tables = await db.query("select 1 from pg_class where relname in ('ok', 'broken')");
    expect(tables.rowCount).toBe(0);
  });

  it('ends Failed naming a missing Secret, retries, and recovers once the Secret appears', async () => {
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: nosecret}
spec:
  database: {secretRef: {name: late-secret}}
  safety: Unsafe
  migrations: {inline: [{name: 0001_a.sql, sql: "-- migrate:up\\ncreate table late (id int);"}]}
`,
    );
    const failed = await waitFor('nosecret', ['Failed', 'Succeeded']);
    expect(failed.status?.lastError).toContain(
      'Secret default/late-secret does not exist or has no key DATABASE_URL',
    );
    // Retried with backoff meanwhile: one Event whose count grows, not one Event per attempt.
    await new Promise((r) => setTimeout(r, 3000));
    const warnings = JSON.parse(
      cp.kubectl([
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=nosecret,reason=SecretMissing',
        '-o',
        'json',
      ]),
    ) as { items: { count?: number }[] };
    expect(warnings.items).toHaveLength(1);
    expect(warnings.items[0]?.count ?? 0).toBeGreaterThan(1);
    // GitOps applies objects in any order: the Secret arriving later is enough.
    const db = await createTestDatabase('late');
    dbs.push(db);
    cp.kubectl([
      'create',
      'secret',
      'generic',
      'late-secret',
      `--from-literal=DATABASE_URL=${db.url}`,
    ]);
    const done = await waitFor('nosecret', ['Succeeded'], 120_000);
    expect(done.status?.lastError ?? '').toBe('');
    expect((await db.query("select 1 from pg_class where relname = 'late'")).rowCount).toBe(1);
  });

  it('recovers as soon as a missing ConfigMap appears (ConfigMaps are watched)', async () => {
    const db = await database('latecm');
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: latecm}
spec:
  database: {secretRef: {name: latecm-db}}
  safety: Unsafe
  migrations: {configMapRef: {name: latecm-sql}}
`,
    );
    const failed = await waitFor('latecm', ['Failed']);
    expect(failed.status?.lastError).toContain('ConfigMap default/latecm-sql does not exist');
    // Let the retries back off well past the wait below.
    await new Promise((r) => setTimeout(r, 9000));
    const t0 = Date.now();
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: latecm-sql}\ndata:\n${yamlBlock({ '0001_late.sql': '-- migrate:up\ncreate table late_cm (id int);\n' })}\n`,
    );
    await waitFor('latecm', ['Succeeded'], 8000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await db.query("select 1 from pg_class where relname = 'late_cm'")).rowCount).toBe(1);
  });

  it('fails with a clear reason, never quoting it, when the Secret holds a URL that does not parse', async () => {
    cp.kubectl([
      'create',
      'secret',
      'generic',
      'broken-url',
      '--from-literal=DATABASE_URL=postgres://app:s3cr/t@wd@db.example:notaport/app',
    ]);
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: brokenurl}
spec:
  database: {secretRef: {name: broken-url}}
  safety: Unsafe
  migrations: {inline: [{name: 0001_a.sql, sql: "-- migrate:up\\nselect 1;"}]}
`,
    );
    const failed = await waitFor('brokenurl', ['Failed', 'Succeeded'], 60_000);
    expect(failed.status?.lastError).toContain('is not a usable postgres:// URL');
    expect(JSON.stringify(failed.status)).not.toMatch(/s3cr|wd@/);
  });

  it('waits for approval until the generation is annotated', async () => {
    const db = await database('gated');
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: gated}
spec:
  database: {secretRef: {name: gated-db}}
  migrations: {inline: [{name: 0001_a.sql, sql: "-- migrate:up\\ncreate table gated (id int);"}]}
  approval: {required: true}
  safety: Unsafe
`,
    );
    const waiting = await waitFor('gated', ['AwaitingApproval']);
    // The skip was explicit, and it is on the record: a condition and a Warning Event.
    expect(waiting.status?.conditions?.find((c) => c.type === 'DryRun')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('skipped (spec.safety: Unsafe)') as string,
    });
    expect(
      cp.kubectl([
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=gated,type=Warning',
        '-o',
        'jsonpath={.items[*].reason}',
      ]),
    ).toContain('DryRunSkipped');
    await new Promise((r) => setTimeout(r, 2000));
    const still = await waitFor('gated', ['AwaitingApproval'], 1000);
    expect(still.status?.phase).toBe('AwaitingApproval');
    expect((await db.query("select 1 from pg_class where relname = 'gated'")).rowCount).toBe(0);
    cp.kubectl(['annotate', 'dbm', 'gated', 'dbops.docserver.io/approved-generation=1']);
    const done = await waitFor('gated', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Succeeded');
    expect((await db.query("select 1 from pg_class where relname = 'gated'")).rowCount).toBe(1);
  }, 180_000);

  it('ends Failed for a missing ConfigMap and for checksum drift against the database, applying nothing', async () => {
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: nocm}
spec:
  database: {secretRef: {name: happy-db}}
  migrations: {configMapRef: {name: no-such-configmap}}
`,
    );
    const missing = await waitFor('nocm', ['Failed', 'Succeeded']);
    expect(missing.status?.lastError).toBe(
      'spec.migrations.configMapRef: ConfigMap default/no-such-configmap does not exist',
    );

    // The happy database has 0001 applied; an edited 0001 is drift.
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: drift}
spec:
  database: {secretRef: {name: happy-db}}
  migrations:
    inline:
      - {name: 0001_items.sql, sql: "-- migrate:up\\ncreate table items (id bigint primary key);"}
      - {name: 0003_more.sql, sql: "-- migrate:up\\ncreate table more_items (id int);"}
`,
    );
    const drift = await waitFor('drift', ['Failed', 'Succeeded']);
    expect(drift.status?.lastError).toContain(
      '[CHECKSUM_DRIFT] 0001_items.sql: changed after it was applied',
    );
    const happy = dbs[0];
    expect(
      (await happy?.query("select 1 from pg_class where relname = 'more_items'"))?.rowCount,
    ).toBe(0);
  });

  it('refuses a minimal spec instead of applying it without a dry-run, changing nothing', async () => {
    const db = await database('minimal');
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: minimal}
spec:
  database: {secretRef: {name: minimal-db}}
  migrations: {inline: [{name: 0001_a.sql, sql: "-- migrate:up\\ncreate table minimal (id int);"}]}
`,
    );
    const failed = await waitFor('minimal', ['Failed', 'Succeeded']);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.lastError).toContain('the staging dry-run has nowhere to run');
    expect(failed.status?.lastError).toContain('spec.safety: Unsafe');
    expect(failed.status?.history?.map((h) => h.phase)).not.toContain('DryRunning');
    expect((await db.query("select 1 from pg_class where relname = 'minimal'")).rowCount).toBe(0);
  });

  it('fails a set that breaks lint under Enforce even when the dry-run is skipped', async () => {
    const db = await database('linted');
    // A table from before the operator, adopted the way a user would: baseline, then migrate.
    await db.query('create table pre_existing (id int)');
    // 20,000 rows: over the small-table limit, so the target's live facts do not clear the
    // plain index (on an empty table they would: its build holds SHARE for milliseconds).
    await db.query('insert into pre_existing select g from generate_series(1, 20000) g');
    const adopted = await migratorFor(db.url, [
      { file: '0001_pre.sql', content: '-- migrate:up\ncreate table pre_existing (id int);' },
    ]).baseline({ version: '0001' });
    expect(adopted.error).toBeNull();
    cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: linted}
spec:
  database: {secretRef: {name: linted-db}}
  safety: Unsafe
  migrations:
    inline:
      - {name: 0001_pre.sql, sql: "-- migrate:up\\ncreate table pre_existing (id int);"}
      - {name: 0002_idx.sql, sql: "-- migrate:up\\ncreate index pre_idx on pre_existing (id);"}
`,
    );
    const failed = await waitFor('linted', ['Failed', 'Succeeded']);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.lastError).toContain('0002_idx.sql:2 require-concurrent-index-creation');
    expect(failed.status?.conditions?.find((c) => c.type === 'Linted')?.status).toBe('False');
    expect((await db.query("select 1 from pg_class where relname = 'pre_idx'")).rowCount).toBe(0);
  });

  it('takes per-rule lint settings from spec.lint.rules, and refuses an unknown rule ID', async () => {
    const db = await database('ruled');
    await db.query('create table pre_ruled (id int)');
    await db.query('insert into pre_ruled select g from generate_series(1, 20000) g');
    const adopted = await migratorFor(db.url, [
      { file: '0001_pre.sql', content: '-- migrate:up\ncreate table pre_ruled (id int);' },
    ]).baseline({ version: '0001' });
    expect(adopted.error).toBeNull();
    const manifest = (name: string, rules: string) => `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: ${name}}
spec:
  database: {secretRef: {name: ruled-db}}
  safety: Unsafe
  snapshot: {storage: {path: "${snapshots}"}}
  staging: {scratch: {allowProductionServer: true}}
  lint: {policy: Enforce, rules: ${rules}}
  migrations:
    inline:
      - {name: 0001_pre.sql, sql: "-- migrate:up\\ncreate table pre_ruled (id int);"}
      - {name: 0002_idx.sql, sql: "-- migrate:up\\ncreate index pre_ruled_idx on pre_ruled (id);"}
`;
    // A typo in a rule ID is the user's mistake to see, not a setting silently ignored.
    cp.kubectl(
      ['apply', '-f', '-'],
      manifest('ruled-typo', '{require-concurrent-index-creaton: warning}'),
    );
    const refused = await waitFor('ruled-typo', ['Failed', 'Succeeded']);
    expect(refused.status?.phase).toBe('Failed');
    expect(refused.status?.lastError).toContain(
      'spec.lint.rules.require-concurrent-index-creaton: unknown lint rule',
    );
    expect(refused.status?.lastError).toContain('did you mean "require-concurrent-index-creation"');
    // The same set that fails under Enforce passes with that rule down to a warning.
    cp.kubectl(
      ['apply', '-f', '-'],
      manifest('ruled', '{require-concurrent-index-creation: warning}'),
    );
    const done = await waitFor('ruled', ['Failed', 'Succeeded']);
    expect(done.status?.lastError ?? '').toBe('');
    expect(done.status?.phase).toBe('Succeeded');
    // Still reported, as a warning that blocks nothing.
    expect(done.status?.conditions?.find((c) => c.type === 'Linted')).toMatchObject({
      status: 'True',
      message: expect.stringContaining(
        '0002_idx.sql:2 require-concurrent-index-creation',
      ) as string,
    });
    expect(
      (await db.query("select 1 from pg_class where relname = 'pre_ruled_idx'")).rowCount,
    ).toBe(1);
  });

  it('keeps the pre-migration backup when its DatabaseMigration is deleted', async () => {
    const name = (JSON.parse(cp.kubectl(['get', 'dbm', 'happy', '-o', 'json'])) as DbmView).status
      ?.snapshotRef?.name;
    expect(name).toBeDefined();
    const before = JSON.parse(cp.kubectl(['get', 'dbsnap', name ?? '', '-o', 'json'])) as {
      metadata: { ownerReferences?: unknown[]; labels?: Record<string, string> };
    };
    // No owner reference, so no garbage collector or Argo CD prune of the migration reaches it.
    expect(before.metadata.ownerReferences ?? []).toEqual([]);
    expect(before.metadata.labels?.['dbops.docserver.io/migration']).toBe('happy');
    cp.kubectl(['delete', 'dbm', 'happy', '--wait=false']);
    await new Promise((r) => setTimeout(r, 2000));
    expect(cp.kubectl(['get', 'dbsnap', name ?? '', '-o', 'jsonpath={.status.phase}'])).toBe(
      'Completed',
    );
  });

  it("removes a BackupSnapshot's files when the resource is deleted (finalizer)", async () => {
    const snapName = cp
      .kubectl(['get', 'dbsnap', '-l', 'dbops.docserver.io/migration=happy', '-o', 'name'])
      .trim()
      .replace(/^.*\//, '');
    const snap = JSON.parse(cp.kubectl(['get', 'dbsnap', snapName, '-o', 'json'])) as {
      metadata: { finalizers?: string[] };
      status: { location: string };
    };
    expect(snap.metadata.finalizers).toEqual(['dbops.docserver.io/snapshot-cleanup']);
    const { existsSync } = await import('node:fs');
    expect(existsSync(snap.status.location)).toBe(true);
    // --wait=false: the operator runs in this process, and kubectl is called synchronously.
    cp.kubectl(['delete', 'dbsnap', snapName, '--wait=false']);
    const deadline = Date.now() + 60_000;
    while (
      Date.now() < deadline &&
      cp.kubectl(['get', 'dbsnap', '--ignore-not-found', '-o', 'name']).includes(snapName)
    ) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(cp.kubectl(['get', 'dbsnap', '--ignore-not-found', '-o', 'name'])).not.toContain(
      snapName,
    );
    expect(existsSync(snap.status.location)).toBe(false);
  });
});
