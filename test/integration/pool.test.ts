import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { cachedTool } from '../../tools/cached-tool.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('doc-server pool factory', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('pool');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies the timeouts and application_name on every connection, and reports gauges', async () => {
    const p = createPool({
      connectionString: db.url,
      max: 3,
      min: 2,
      statementTimeoutMs: 1234,
      applicationName: 'docs-api',
    });
    try {
      await p.warm();
      expect(p.gauges()).toEqual({ total: 2, idle: 2, waiting: 0 });
      const res = await p.pool.query<{ st: string; iit: string; app: string }>(
        "select current_setting('statement_timeout') as st, current_setting('idle_in_transaction_session_timeout') as iit, current_setting('application_name') as app",
      );
      expect(res.rows[0]).toEqual({ st: '1234ms', iit: '30s', app: 'docs-api' });
      await expect(p.pool.query('select pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      // Three busy connections and a fourth request: it waits.
      const held = await Promise.all([p.pool.connect(), p.pool.connect(), p.pool.connect()]);
      const waiting = p.pool.query('select 1');
      await new Promise((r) => setTimeout(r, 20));
      expect(p.gauges()).toMatchObject({ total: 3, waiting: 1 });
      for (const c of held) c.release();
      await waiting;
    } finally {
      await p.end();
    }
  });

  it('rejects bad config naming the field, without echoing the password', () => {
    expect(() => createPool({ connectionString: 'mysql://x', max: 5 })).toThrow(
      'invalid pool config: connectionString: must be a postgres:// URL',
    );
    expect(() => createPool({ connectionString: 'postgres://u:pw@h/db', max: 2, min: 5 })).toThrow(
      'invalid pool config: min: min must not exceed max',
    );
    expect(() => createPool({ connectionString: 'postgres://u:pw@h/db', max: 0 })).toThrow(
      /max: Too small/,
    );
    expect(() =>
      createPool({ connectionString: 'postgres://u:pw@h/db', maxConnections: 5 }),
    ).toThrow(/Unrecognized key/);
    let message = '';
    try {
      createPool({ connectionString: 'postgres://u:hunter2@h/db', max: -1 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid pool config: max:/);
    expect(message).not.toContain('hunter2');
  });
});

describe('doc-server pool metrics and errors', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('pool_metrics');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('reports connections, waiting requests, checkout waits and idle-connection errors into the server registry, and logs the errors', async () => {
    const registry = new Registry();
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const url = new URL(db.url);
    url.password = 'pool-sekret-9';
    const p = createPool(
      {
        connectionString: url.toString(),
        max: 2,
        connectionTimeoutMs: 300,
        applicationName: 'docs-api',
      },
      { registry, logger: createLogger({ component: 'pool-test', destination: sink }) },
    );
    try {
      const [a, b] = await Promise.all([p.pool.connect(), p.pool.connect()]);
      const waiting = p.pool.query('select 1');
      await new Promise((r) => setTimeout(r, 20));
      let text = await registry.metrics();
      expect(text).toContain('docserver_pool_connections{pool="docs-api",state="in_use"} 2');
      expect(text).toContain('docserver_pool_waiting_clients{pool="docs-api"} 1');
      expect(text).toContain('docserver_pool_max_connections{pool="docs-api"} 2');
      await expect(waiting).rejects.toThrow(/timeout/i);
      const pid = (await a.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      a.release();
      b.release();
      // The server ends an idle pooled connection: the pool drops it, counts it and says so.
      await db.query('select pg_terminate_backend($1)', [pid]);
      for (
        let i = 0;
        i < 50 && !lines.some((l) => l.includes('idle pooled connection failed'));
        i++
      )
        await new Promise((r) => setTimeout(r, 50));
      text = await registry.metrics();
      expect(text).toContain(
        'docserver_pool_acquire_seconds_count{pool="docs-api",outcome="ok"} 2',
      );
      expect(text).toContain(
        'docserver_pool_acquire_seconds_count{pool="docs-api",outcome="error"} 1',
      );
      expect(text).toContain('docserver_pool_errors_total{pool="docs-api"} 1');
      expect(lines.filter((l) => l.includes('idle pooled connection failed'))).toHaveLength(1);
      expect([...lines, text].join('\n')).not.toContain('pool-sekret-9');
      const check = spawnSync(
        join(cachedTool('DBM_PROMTOOL_BIN', 'hack/promtool.sh', 'promtool'), 'promtool'),
        ['check', 'metrics'],
        { input: text, encoding: 'utf8' },
      );
      expect(check.stdout + check.stderr).toBe('');
      // Queries still work: the pool replaced the connection.
      expect((await p.pool.query<{ one: number }>('select 1 as one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await p.end();
    }
  });
});
