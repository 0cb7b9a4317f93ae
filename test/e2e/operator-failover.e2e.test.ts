import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startControlPlane, type ControlPlane } from '../../tools/control-plane.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startOperatorProcess as startOperator } from '../helpers/operator-process.js';

function holder(cp: ControlPlane): string {
  try {
    return cp
      .kubectl(['get', 'lease', 'dbmigrate-operator', '-o', 'jsonpath={.spec.holderIdentity}'])
      .trim();
  } catch {
    return '';
  }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | null> | T | null,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('operator replicas, leader election and restarts', () => {
  let cp: ControlPlane;
  const children: ChildProcess[] = [];
  const dbs: TestDatabase[] = [];

  beforeAll(async () => {
    cp = await startControlPlane();
    cp.installCrds();
  }, 180_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cp.stop();
    for (const db of dbs) await db.drop();
  });

  it(
    'elects one leader of two replicas, and the other takes over when it dies',
    { timeout: 120_000 },
    async () => {
      const ports = [await freePort(), await freePort()] as const;
      const a = startOperator(cp, 'replica-a', ports[0]);
      const b = startOperator(cp, 'replica-b', ports[1]);
      children.push(a, b);
      const first = await until('a leader', () => holder(cp) || null);
      expect(['replica-a', 'replica-b']).toContain(first);
      // Both answer the kubelet's probes, and the standby is ready too: readiness is not leadership.
      for (const port of ports) {
        const probe = (path: string) =>
          fetch(`http://127.0.0.1:${String(port)}${path}`)
            .then((r) => r.status)
            .catch(() => 0);
        expect(
          await until('/healthz', async () => ((await probe('/healthz')) === 200 ? 200 : null)),
        ).toBe(200);
        expect(
          await until(`replica on ${String(port)} ready`, async () =>
            (await probe('/readyz')) === 200 ? true : null,
          ),
        ).toBe(true);
      }
      // It stays with one holder while both run.
      await new Promise((r) => setTimeout(r, 2000));
      expect(holder(cp)).toBe(first);
      (first === 'replica-a' ? a : b).kill('SIGKILL');
      const second = await until('a new leader', () => {
        const h = holder(cp);
        return h && h !== first ? h : null;
      });
      expect(second).toBe(first === 'replica-a' ? 'replica-b' : 'replica-a');
      (second === 'replica-a' ? a : b).kill('SIGTERM');
    },
  );

  it(
    'finishes a migration after the operator is killed mid-apply, without applying anything twice',
    { timeout: 180_000 },
    async () => {
      const db = await createTestDatabase('killed');
      dbs.push(db);
      cp.kubectl([
        'create',
        'secret',
        'generic',
        'killed-db',
        `--from-literal=DATABASE_URL=${db.url}`,
      ]);
      cp.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: killed}
spec:
  database: {secretRef: {name: killed-db}}
  staging: {enabled: false}
  migrations:
    inline:
      - {name: 0001_first.sql, sql: "-- migrate:up\\ncreate table first (id int);"}
      - name: 0002_slow.sql
        sql: |
          -- dbmigrate:transaction=false
          -- migrate:up
          create table step_one (id int);
          select pg_sleep(3);
          create table step_three (id int);
`,
      );
      const victim = startOperator(cp, 'victim');
      children.push(victim);
      // Kill it while statement 2 of 0002 runs.
      await until('0002 to be part-way', async () => {
        const res = await db
          .query(
            "select 1 from dbmigrate.migration_history where id = '0002' and status = 'running' and statements_done = 1",
          )
          .catch(() => null);
        return res && res.rowCount === 1 ? true : null;
      });
      victim.kill('SIGKILL');
      const successor = startOperator(cp, 'successor');
      children.push(successor);
      const done = await until(
        'Succeeded',
        () => {
          const phase = cp
            .kubectl(['get', 'dbm', 'killed', '-o', 'jsonpath={.status.phase}'])
            .trim();
          return phase === 'Succeeded' || phase === 'Failed' ? phase : null;
        },
        150_000,
      );
      expect(cp.kubectl(['get', 'dbm', 'killed', '-o', 'jsonpath={.status.lastError}'])).toBe('');
      expect(done).toBe('Succeeded');
      const tables = await db.query<{ relname: string }>(
        "select relname from pg_class where relname in ('first', 'step_one', 'step_three') order by 1",
      );
      expect(tables.rows.map((r) => r.relname)).toEqual(['first', 'step_one', 'step_three']);
      const events = await db.query<{ e: string }>(
        "select migration_id || ':' || action as e from dbmigrate.migration_events where action in ('applied', 'resumed') order by seq",
      );
      // 0001 once; 0002 resumed at statement 2 (statement 1 not run again), then applied once.
      expect(events.rows.map((r) => r.e)).toEqual(['0001:applied', '0002:resumed', '0002:applied']);
      // Status is recomputed from history, not carried over from the killed replica's writes.
      const counts = cp
        .kubectl([
          'get',
          'dbm',
          'killed',
          '-o',
          'jsonpath={.status.appliedCount}/{.status.pendingCount}',
        ])
        .trim();
      expect(counts).toBe('2/0');
      successor.kill('SIGTERM');
    },
  );

  it(
    'a deposed leader (paused past its Lease) writes nothing more once it runs again',
    { timeout: 180_000 },
    async () => {
      const db = await createTestDatabase('fenced');
      dbs.push(db);
      cp.kubectl([
        'create',
        'secret',
        'generic',
        'fenced-db',
        `--from-literal=DATABASE_URL=${db.url}`,
      ]);
      cp.kubectl(
        ['apply', '-f', '-'],
        `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: fenced}
spec:
  database: {secretRef: {name: fenced-db}}
  staging: {enabled: false}
  migrations:
    inline:
      - name: 0001_marks.sql
        sql: |
          -- dbmigrate:transaction=false
          -- migrate:up
          create table marks (n int primary key, pid int not null);
          insert into marks values (1, pg_backend_pid());
          select pg_sleep(5);
          insert into marks values (2, pg_backend_pid());
          insert into marks values (3, pg_backend_pid());
`,
      );
      const first = startOperator(cp, 'fenced-first');
      children.push(first);
      const firstPid = await until('the first mark', async () => {
        const res = await db
          .query<{ pid: number }>('select pid from marks where n = 1')
          .catch(() => null);
        return res?.rows[0]?.pid ?? null;
      });
      // Frozen mid-statement: its Lease lapses while its session still holds the advisory lock.
      first.kill('SIGSTOP');
      const second = startOperator(cp, 'fenced-second');
      children.push(second);
      await until('the second replica to lead', () =>
        holder(cp) === 'fenced-second' ? true : null,
      );
      await new Promise((r) => setTimeout(r, 2000));
      first.kill('SIGCONT');
      const phase = await until(
        'the migration to finish',
        () => {
          const p = cp.kubectl(['get', 'dbm', 'fenced', '-o', 'jsonpath={.status.phase}']).trim();
          return p === 'Succeeded' || p === 'Failed' ? p : null;
        },
        150_000,
      );
      expect(phase).toBe('Succeeded');
      const marks = await db.query<{ n: number; pid: number }>(
        'select n, pid from marks order by n',
      );
      expect(marks.rows.map((r) => r.n)).toEqual([1, 2, 3]);
      // Everything after the pause came from the new leader's session, none from the deposed one.
      expect(marks.rows.filter((r) => r.n > 1).every((r) => r.pid !== firstPid)).toBe(true);
      first.kill('SIGTERM');
      // A stopped operator exits promptly (its pod's grace period is short).
      const t0 = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        second.once('exit', (c) => {
          resolve(c);
        });
        second.kill('SIGTERM');
      });
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8000);
    },
  );
});
