// The operator's /metrics as Prometheus scrapes it: two `dbmigrate operator` processes (leader
// and standby) take a DatabaseMigration through snapshot → dry-run → apply → verify, and each
// scrape passes `promtool check metrics` and says what happened, without a password in it.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedTool } from '../../tools/cached-tool.js';
import { freePort, startControlPlane, type ControlPlane } from '../../tools/control-plane.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startOperatorProcess as startOperator } from '../helpers/operator-process.js';

const PASSWORD = 'metrics-sekret-771';

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of the one sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const have = m[3] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[4]);
  }
  return null;
}

describe('operator metrics', () => {
  let cp: ControlPlane;
  let db: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    cp = await startControlPlane();
    cp.installCrds();
    db = await createTestDatabase('metrics');
  }, 180_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cp.stop();
    await db.drop();
  });

  it(
    'serves a scrape that passes promtool and counts the run, on the leader and the standby',
    { timeout: 240_000 },
    async () => {
      const promtool = join(
        cachedTool('DBM_PROMTOOL_BIN', 'hack/promtool.sh', 'promtool'),
        'promtool',
      );
      const ports = [await freePort(), await freePort()] as const;
      children.push(
        startOperator(cp, 'metrics-a', ports[0]),
        startOperator(cp, 'metrics-b', ports[1]),
      );
      const url = new URL(db.url);
      url.password = PASSWORD;
      cp.kubectl([
        'create',
        'secret',
        'generic',
        'shop-db',
        `--from-literal=DATABASE_URL=${url.toString()}`,
      ]);
      const snapshots = await mkdtemp(join(tmpdir(), 'dbm-metrics-snapshots-'));
      cp.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: shop}
spec:
  database: {secretRef: {name: shop-db}}
  snapshot: {storage: {path: "${snapshots}"}}
  staging: {scratch: {allowProductionServer: true}}
  # Not about the window verdict: under load the ALTER can hold its lock past the default 20 ms.
  maintenanceWindow: {thresholdMs: 5000}
  migrations:
    inline:
      - {name: 0001_items.sql, sql: "-- migrate:up\\ncreate table items (id bigint primary key, name text);"}
      - {name: 0002_items_note.sql, sql: "-- migrate:up\\nalter table items add column note text;"}
`,
      );
      let phase = '';
      for (let i = 0; i < 300 && phase !== 'Succeeded' && phase !== 'Failed'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        phase = cp.kubectl(['get', 'dbm', 'shop', '-o', 'jsonpath={.status.phase}']);
      }
      expect(phase).toBe('Succeeded');
      const leader = cp
        .kubectl(['get', 'lease', 'dbmigrate-operator', '-o', 'jsonpath={.spec.holderIdentity}'])
        .trim();
      const [leaderPort, standbyPort] =
        leader === 'metrics-a' ? [ports[0], ports[1]] : [ports[1], ports[0]];

      for (const port of [leaderPort, standbyPort]) {
        const text = await scrape(port);
        expect(text).not.toContain(PASSWORD);
        const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(check.stdout + check.stderr, text.slice(0, 2000)).toBe('');
        expect(check.status).toBe(0);
        // Both see the resources through their informers.
        expect(sample(text, 'dbmigrate_database_migrations', { phase: 'Succeeded' })).toBe(1);
        expect(sample(text, 'dbmigrate_database_migrations', { phase: 'Failed' })).toBe(0);
        expect(
          sample(text, 'dbmigrate_database_migration_phase_since_timestamp_seconds', {
            name: 'shop',
            phase: 'Succeeded',
          }),
        ).toBeGreaterThan(Date.now() / 1000 - 600);
        expect(
          sample(text, 'dbmigrate_snapshot_last_verified_timestamp_seconds', {
            namespace: 'default',
            database: 'shop-db',
          }),
        ).toBeGreaterThan(Date.now() / 1000 - 600);
        expect(
          sample(text, 'dbmigrate_snapshot_size_bytes', { database: 'shop-db' }),
        ).toBeGreaterThan(0);
        expect(
          sample(text, 'dbmigrate_dry_run_write_block_seconds', {
            name: 'shop',
            migration: '0002',
          }),
        ).not.toBeNull();
        expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      }

      const led = await scrape(leaderPort);
      expect(sample(led, 'dbmigrate_leader')).toBe(1);
      const database = `postgres@127.0.0.1:${url.port}/${db.name}`;
      expect(sample(led, 'dbmigrate_migrations_applied_total', { database })).toBe(2);
      expect(sample(led, 'dbmigrate_migrations_failed_total', { database }) ?? 0).toBe(0);
      expect(sample(led, 'dbmigrate_migration_duration_seconds_count', { database })).toBe(2);
      for (const step of ['snapshot', 'snapshot_verify', 'dry_run', 'apply', 'verify'])
        expect(
          sample(led, 'dbmigrate_step_duration_seconds_count', { step, outcome: 'done' }),
          step,
        ).toBe(1);
      expect(
        sample(led, 'dbmigrate_reconcile_total', { kind: 'DatabaseMigration', result: 'requeue' }),
      ).toBeGreaterThan(0);
      expect(
        sample(led, 'dbmigrate_reconcile_duration_seconds_count', { kind: 'BackupSnapshot' }),
      ).toBeGreaterThan(0);
      expect(sample(led, 'dbmigrate_workqueue_depth')).not.toBeNull();

      const standby = await scrape(standbyPort);
      expect(sample(standby, 'dbmigrate_leader')).toBe(0);
      // A standby reconciles nothing.
      expect(
        sample(standby, 'dbmigrate_reconcile_total', { kind: 'DatabaseMigration' }),
      ).toBeNull();
    },
  );
});
