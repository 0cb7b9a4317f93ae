import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
