import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cachedTool } from '../../tools/cached-tool.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * `dbmigrate health` against the real server, each condition created for real in a database of
 * the test's own. The command looks only at the database it is connected to (sessions, locks),
 * so the other tests running beside these cannot change what they see.
 */

interface HealthJson {
  status: string;
  exitCode: number;
  checkedAt: string;
  durationMs: number;
  server: { database: string; user: string; readsAllStats: boolean };
  findings: { check: string; severity: string; subject: string; message: string }[];
  unavailable: { section: string; reason: string }[];
  sections: Record<string, { status: string; reason?: string; data?: unknown }>;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbm-health-'));
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function database(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  cleanups.push(() => db.drop());
  return db;
}

/** A session the test holds open (a transaction, a lock), closed after the test. */
async function session(url: string): Promise<pg.Client & { pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: 'health-test' });
  client.on('error', () => undefined);
  await client.connect();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  cleanups.push(() => client.end());
  return Object.assign(client, { pid: pid ?? 0 });
}

/**
 * dbmigrate.json for a test: the server's own autovacuum setting is not the test's business
 * (this machine runs with it off), every other threshold as given.
 */
async function configFile(health: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, `dbmigrate-${randomBytes(4).toString('hex')}.json`);
  await writeFile(
    file,
    JSON.stringify({ health: { autovacuumDisabled: { server: 'off' }, ...health } }),
  );
  return file;
}

function health(
  url: string,
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/cli/dbmigrate.js', 'health', '--database-url', url, ...args],
      { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr });
      },
    );
  });
}

async function healthJson(
  url: string,
  health_: Record<string, unknown> = {},
): Promise<{ code: number; doc: HealthJson; err: string }> {
  const res = await health(url, ['--json', '--config', await configFile(health_)]);
  return { code: res.code, doc: JSON.parse(res.out) as HealthJson, err: res.err };
}

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SECTIONS = [
  'connections',
  'activity',
  'locks',
  'invalidIndexes',
  'cache',
  'bloat',
  'vacuum',
  'wraparound',
  'replication',
  'checkpoints',
  'sizes',
  'vector',
  'indexBuilds',
  'statements',
  'readPaths',
];

describe('dbmigrate health', () => {
  it('reports a healthy database as ok (exit 0) in a stable --json document', async () => {
    const db = await database('health_ok');
    const { code, doc } = await healthJson(db.url);
    expect(Object.keys(doc)).toEqual([
      'status',
      'exitCode',
      'checkedAt',
      'durationMs',
      'server',
      'findings',
      'unavailable',
      'sections',
    ]);
    expect(doc).toMatchObject({ status: 'ok', exitCode: 0, findings: [], unavailable: [] });
    expect(code).toBe(0);
    expect(doc.server.database).toBe(db.name);
    expect(Object.keys(doc.sections)).toEqual(SECTIONS);
    for (const [name, s] of Object.entries(doc.sections))
      expect(['ok', 'absent'], `${name}: ${s.reason ?? ''}`).toContain(s.status);
    expect(doc.sections['vector']).toEqual({
      status: 'absent',
      reason: 'pgvector is not installed',
    });
    expect(doc.sections['readPaths']?.status).toBe('absent');
  });

  it("times the doc-server's read paths and sizes its vector indexes when documents exists", async () => {
    const db = await database('health_docserver');
    const apply = spawnSync(
      process.execPath,
      ['dist/cli/dbmigrate.js', 'apply', '--database-url', db.url, '--log-level', 'silent'],
      { encoding: 'utf8' },
    );
    expect(apply.status, apply.stderr).toBe(0);
    const { code, doc } = await healthJson(db.url);
    const readPaths = doc.sections['readPaths'] as {
      status: string;
      data: { name: string; ms: number; rows: number }[];
    };
    expect(readPaths.status).toBe('ok');
    expect(readPaths.data.map((q) => q.name)).toEqual(['list_newest', 'count_bounded']);
    for (const q of readPaths.data) expect(q.ms).toBeGreaterThan(0);
    const vector = doc.sections['vector'] as {
      status: string;
      data: { version: string; indexes: { method: string; index: string }[] };
    };
    expect(vector.status).toBe('ok');
    expect(vector.data.version).toMatch(/^\d+\.\d+/);
    expect(vector.data.indexes.map((i) => i.method)).toContain('hnsw');
    expect(code).toBe(0);
  });

  it('shows a blocked writer with its blocking chain A → B (warning, exit 10)', async () => {
    const db = await database('health_locks');
    await db.query(
      'create table accounts (id int primary key, balance int); insert into accounts values (1, 0)',
    );
    const a = await session(db.url);
    const b = await session(db.url);
    await a.query('begin');
    await a.query('update accounts set balance = 1 where id = 1');
    const blocked = b.query('update accounts set balance = 2 where id = 1');
    await until('B to wait for A', async () => {
      const r = await db.query(
        'select count(*)::int as n from pg_locks where pid = $1 and not granted',
        [b.pid],
      );
      return r.rows[0]?.['n'] === 1;
    });

    const { code, doc } = await healthJson(db.url, {
      lockWaitSeconds: { warning: 0, critical: 3600 },
    });
    const locks = doc.sections['locks']?.data as {
      waiting: { pid: number; chain: number[]; blockedBy: number[]; waitingFor: string }[];
      blockers: { pid: number; state: string }[];
    };
    expect(locks.waiting).toHaveLength(1);
    expect(locks.waiting[0]).toMatchObject({
      pid: b.pid,
      chain: [a.pid, b.pid],
      blockedBy: [a.pid],
      waitingFor: 'transactionid',
    });
    expect(locks.blockers).toEqual([
      expect.objectContaining({ pid: a.pid, state: 'idle in transaction' }),
    ]);
    const finding = doc.findings.find((f) => f.check === 'lock_wait');
    expect(finding).toMatchObject({ severity: 'warning', subject: `pid ${String(b.pid)}` });
    expect(finding?.message).toContain(`chain ${String(a.pid)} → ${String(b.pid)}`);
    expect(doc.status).toBe('warning');
    expect(code).toBe(10);

    // The human form leads with the finding and shows the chain.
    const text = await health(db.url, [
      '--config',
      await configFile({ lockWaitSeconds: { warning: 0, critical: 3600 } }),
    ]);
    expect(text.code).toBe(10);
    expect(text.out.split('\n')[0]).toMatch(/^WARNING: database /);
    expect(text.out).toMatch(/WARNING\s+lock_wait\s+pid \d+/);
    expect(text.out).toContain(`chain ${String(a.pid)} → ${String(b.pid)}`);

    await a.query('rollback');
    await blocked;
  });

  it('turns an idle-in-transaction session from warning (10) into critical (11) by dbmigrate.json', async () => {
    const db = await database('health_idle');
    const a = await session(db.url);
    await a.query('begin');
    await a.query('select 1');

    const warn = await healthJson(db.url, {
      idleInTransactionSeconds: { warning: 0, critical: 3600 },
    });
    expect(warn.doc.findings).toEqual([
      expect.objectContaining({
        check: 'idle_in_transaction',
        severity: 'warning',
        subject: `pid ${String(a.pid)}`,
      }),
    ]);
    expect(warn.code).toBe(10);

    const crit = await healthJson(db.url, {
      idleInTransactionSeconds: { warning: 0, critical: 0 },
    });
    expect(crit.doc.findings[0]).toMatchObject({
      check: 'idle_in_transaction',
      severity: 'critical',
    });
    expect(crit.doc.status).toBe('critical');
    expect(crit.code).toBe(11);
  });

  it('finds the invalid index a failed CREATE UNIQUE INDEX CONCURRENTLY leaves (exit 10)', async () => {
    const db = await database('health_invalid');
    await db.query("create table tags (name text); insert into tags values ('dup'), ('dup')");
    await expect(
      db.query('create unique index concurrently tags_name_key on tags (name)'),
    ).rejects.toThrow(/could not create unique index/);
    const { code, doc } = await healthJson(db.url);
    expect(doc.sections['invalidIndexes']).toEqual({
      status: 'ok',
      data: [{ schema: 'public', index: 'tags_name_key', table: 'tags', building: false }],
    });
    expect(doc.findings).toEqual([
      expect.objectContaining({
        check: 'invalid_index',
        severity: 'warning',
        subject: 'public.tags_name_key',
      }),
    ]);
    expect(code).toBe(10);
  });

  it('warns about a table with autovacuum disabled (exit 10)', async () => {
    const db = await database('health_autovac');
    await db.query('create table events (id int) with (autovacuum_enabled = false)');
    const { code, doc } = await healthJson(db.url);
    expect(doc.findings).toEqual([
      expect.objectContaining({
        check: 'autovacuum_disabled',
        severity: 'warning',
        subject: 'public.events',
      }),
    ]);
    expect(code).toBe(10);
    // `off` in dbmigrate.json silences it.
    const off = await healthJson(db.url, { autovacuumDisabled: { server: 'off', table: 'off' } });
    expect(off.code).toBe(0);
  });

  it('estimates dead tuples and bloat of a table after many deletes and ANALYZE (exit 11)', async () => {
    const db = await database('health_bloat');
    // Autovacuum off on the table so nothing cleans it up while the test looks.
    await db.query(
      `create table pages (id int, body text) with (autovacuum_enabled = false);
       insert into pages select i, repeat('x', 100) from generate_series(1, 20000) i;`,
    );
    await db.query('delete from pages where id % 5 <> 0');
    await db.query('analyze pages');
    const { code, doc } = await healthJson(db.url, {
      deadTupleRatio: { minDeadTuples: 1000 },
      tableBloatRatio: { minBytes: 1024 * 1024 },
      autovacuumDisabled: { server: 'off', table: 'off' },
    });
    const dead = doc.findings.find((f) => f.check === 'dead_tuples');
    expect(dead).toMatchObject({ severity: 'critical', subject: 'public.pages' });
    const bloat = doc.findings.find((f) => f.check === 'table_bloat');
    expect(bloat).toMatchObject({ subject: 'public.pages' });
    const estimate = (
      doc.sections['bloat']?.data as { tables: { name: string; ratio: number }[] }
    ).tables.find((t) => t.name === 'pages');
    expect(estimate?.ratio).toBeGreaterThan(0.6);
    expect(doc.status).toBe('critical');
    expect(code).toBe(11);
  });

  it('runs as a non-superuser with pg_monitor, and names what a role without it cannot read', async () => {
    const db = await database('health_monitor');
    const suffix = randomBytes(4).toString('hex');
    const monitor = `dbm_health_mon_${suffix}`;
    const plain = `dbm_health_plain_${suffix}`;
    const password = `pw-${suffix}-secret`;
    await db.query(`create role ${monitor} login password '${password}' in role pg_monitor`);
    await db.query(`create role ${plain} login password '${password}'`);
    cleanups.unshift(() =>
      db.query(`drop role if exists ${monitor}; drop role if exists ${plain}`),
    );
    await db.query('create table notes (id int); create index notes_id on notes (id)');
    const other = await session(db.url);
    await other.query('begin');
    await other.query('select 1');
    const as = (role: string): string => {
      const u = new URL(db.url);
      u.username = role;
      u.password = password;
      return u.toString();
    };

    const mon = await healthJson(as(monitor), {
      idleInTransactionSeconds: { warning: 0, critical: 3600 },
    });
    expect(mon.doc.server).toMatchObject({ user: monitor, readsAllStats: true });
    expect(mon.doc.unavailable).toEqual([]);
    expect(mon.doc.findings).toEqual([
      expect.objectContaining({
        check: 'idle_in_transaction',
        subject: `pid ${String(other.pid)}`,
      }),
    ]);
    expect(mon.code).toBe(10);

    const res = await health(as(plain), ['--json', '--config', await configFile()]);
    const doc = JSON.parse(res.out) as HealthJson;
    expect(doc.unavailable.map((u) => u.section)).toEqual(['activity', 'locks', 'indexBuilds']);
    expect(doc.unavailable[0]?.reason).toContain('grant it pg_monitor');
    expect(doc.sections['vacuum']?.status).toBe('ok');
    expect(doc.status).toBe('unknown');
    expect(res.code).toBe(12);
    for (const text of [res.out, res.err, JSON.stringify(mon.doc), mon.err])
      expect(text).not.toContain(password);
  });

  it('serves /metrics that pass promtool check metrics, and /healthz', async () => {
    const db = await database('health_serve');
    const a = await session(db.url);
    await a.query('begin');
    await a.query('select 1');
    const u = new URL(db.url);
    u.password = 'exporter-secret-pw';
    const child = spawn(
      process.execPath,
      [
        'dist/cli/dbmigrate.js',
        'health',
        '--serve',
        '127.0.0.1:0',
        '--database-url',
        u.toString(),
        '--config',
        await configFile({ idleInTransactionSeconds: { warning: 0, critical: 3600 } }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await until('the exporter to listen', () => Promise.resolve(/http:\/\/[^ ]+:\d+/.test(stdout)));
    const base = /(http:\/\/[^ ]+:\d+)/.exec(stdout)?.[1] ?? '';

    // Concurrent scrapes share one check.
    const [first, second] = await Promise.all([fetch(`${base}/metrics`), fetch(`${base}/metrics`)]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('text/plain');
    const body = await first.text();
    expect(await second.text()).toBe(body);
    expect(body).toContain('dbmigrate_health_up 1');
    expect(body).toMatch(/dbmigrate_health_status\{status="warning"\} 1/);
    expect(body).toMatch(
      /dbmigrate_health_findings\{check="idle_in_transaction",severity="warning"\} 1/,
    );
    expect(body).toMatch(/dbmigrate_health_idle_in_transaction_sessions 1/);
    expect(body).not.toContain('exporter-secret-pw');
    expect(body).not.toContain('select 1');

    const promtool = join(
      cachedTool('DBM_PROMTOOL_BIN', 'hack/promtool.sh', 'promtool'),
      'promtool',
    );
    const check = spawnSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);

    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toBe('warning\n');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('exporter-secret-pw');
  });

  it('repeats the check with --watch, one JSON document a line, until Ctrl-C', async () => {
    const db = await database('health_watch');
    const child = spawn(
      process.execPath,
      [
        'dist/cli/dbmigrate.js',
        'health',
        '--watch',
        '1s',
        '--json',
        '--database-url',
        db.url,
        '--config',
        await configFile(),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await until('two checks', () => Promise.resolve(stdout.split('\n').length > 2));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const docs = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as HealthJson);
    expect(docs.length).toBeGreaterThanOrEqual(2);
    for (const d of docs) expect(d).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(stdout).not.toContain('\x1b[2J');
  });

  it('exits 6 without the password when the database is unreachable, and 2 on bad flags', async () => {
    const res = await health('postgres://app:unreachable-pw@127.0.0.1:1/nowhere', ['--json']);
    expect(res.code).toBe(6);
    expect(JSON.parse(res.out)).toMatchObject({ error: { code: 'CONNECTION_ERROR', exitCode: 6 } });
    expect(res.out + res.err).not.toContain('unreachable-pw');

    const url = adminUrl();
    for (const [args, message] of [
      [['5s'], 'dbmigrate health: unexpected argument 5s (an interval follows --watch)'],
      [['--watch', 'soon'], '--watch: "soon" is not a duration (e.g. 5s, 1m)'],
      [['--serve', 'x:y'], '--serve: "x:y" is not PORT, :PORT or HOST:PORT (e.g. :9187)'],
      [['--serve', ':0', '--json'], '--serve runs an exporter: it does not combine with --json'],
    ] as const) {
      const bad = await health(url, args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.err.trim()).toBe(`dbmigrate health: error [USAGE]: ${message}`);
    }
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({ health: { lockWaitSeconds: { warning: 10, critical: 1 } } }),
    );
    const bad = await health(url, ['--config', file]);
    expect(bad.err.trim()).toBe(
      `dbmigrate health: error [CONFIG_ERROR]: ${file}: health.lockWaitSeconds.critical: must be at least the warning threshold`,
    );
    expect(bad.code).toBe(3);
  });
});
