import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorFromUrl, type DatabaseConnector } from '../../src/db/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

/** A connector whose sessions count the queries (round trips) they send. */
function countingConnector(url: string): { connector: DatabaseConnector; queries: () => number } {
  const inner = connectorFromUrl(url);
  let count = 0;
  return {
    queries: () => count,
    connector: {
      description: inner.description,
      async connect(applicationName) {
        const session = await inner.connect(applicationName);
        const query = session.client.query.bind(session.client) as (...a: unknown[]) => unknown;
        Object.assign(session.client, {
          query: (...args: unknown[]) => {
            count++;
            return query(...args);
          },
        });
        return session;
      },
    },
  };
}

const CREATE_ITEMS = {
  file: '0001_items.sql',
  content: migrationText(
    'create table items (id bigint primary key, name text not null);',
    'drop table items;',
  ),
};
const ADD_PRICE = {
  file: '0002_item_price.sql',
  content: migrationText(
    'alter table items add column price numeric;\ninsert into items values (1, $$a;b$$, 2);',
    'alter table items drop column price;\ndelete from items;',
  ),
};

describe('apply', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('apply');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies pending migrations in order and records each in history', async () => {
    const run = await migratorFor(db.url, [ADD_PRICE, CREATE_ITEMS]).apply();
    expect(run.error).toBeNull();
    expect(run.results.map((r) => [r.id, r.status])).toEqual([
      ['0001', 'applied'],
      ['0002', 'applied'],
    ]);
    const items = await db.query<{ name: string }>('select name from items');
    expect(items.rows).toEqual([{ name: 'a;b' }]);
    const history = await db.query<{ id: string; status: string; run_id: string }>(
      'select id, status, run_id from dbmigrate.migration_history order by id',
    );
    expect(history.rows).toEqual([
      { id: '0001', status: 'applied', run_id: run.runId },
      { id: '0002', status: 'applied', run_id: run.runId },
    ]);
  });

  it('records a migration with COMMIT in one round trip, values exactly as given, quotes and backslashes too', async () => {
    const actor = "o'brien\\x \\' $$ ; commit; --";
    const run = await migratorFor(db.url, [CREATE_ITEMS], { appliedBy: actor }).apply();
    expect(run.error).toBeNull();
    const row = await db.query<Record<string, unknown>>(
      `select h.applied_by, h.status, h.transactional, h.duration_ms, h.started_at <= h.finished_at as ordered,
              h.finished_at > now() - interval '1 minute' as recent, e.actor, e.action, e.checksum = h.checksum as same
         from dbmigrate.migration_history h join dbmigrate.migration_events e on e.migration_id = h.id`,
    );
    expect(row.rows).toEqual([
      {
        applied_by: actor,
        status: 'applied',
        transactional: true,
        duration_ms: run.results[0]?.durationMs,
        ordered: true,
        recent: true,
        actor,
        action: 'applied',
        same: true,
      },
    ]);
  });

  it('costs two round trips a transactional migration: its statement with BEGIN, its history row with COMMIT', async () => {
    const tables = Array.from({ length: 4 }, (_, i) => ({
      file: `000${String(i + 1)}_t${String(i)}.sql`,
      content: migrationText(`create table t${String(i)} (id int);`),
    }));
    const counted = async (count: number): Promise<number> => {
      const target = await createTestDatabase('apply_trips');
      try {
        const { connector, queries } = countingConnector(target.url);
        const run = await migratorFor(target.url, tables.slice(0, count), {
          database: connector,
        }).apply();
        expect(run.applied).toBe(count);
        return queries();
      } finally {
        await target.drop();
      }
    };
    expect((await counted(4)) - (await counted(1))).toBe(3 * 2);
  });

  it('reads what status, plan and apply compare the files with in two round trips', async () => {
    const { connector, queries } = countingConnector(db.url);
    const migrator = migratorFor(db.url, [CREATE_ITEMS, ADD_PRICE], { database: connector });
    const trips = async (work: () => Promise<unknown>): Promise<number> => {
      const before = queries();
      await work();
      return queries() - before;
    };
    // A database with no history: whether it exists (and invalid indexes), then its relations.
    expect(await trips(() => migrator.status())).toBe(2);
    expect(await trips(() => migrator.plan())).toBe(2);
    expect((await migrator.apply({ target: '0001' })).error).toBeNull();
    // With history: whether it exists, then the rows and each migration's last outcome.
    expect(await trips(() => migrator.status())).toBe(2);
    expect(await trips(() => migrator.plan())).toBe(2);
    expect((await migrator.status()).entries.map((e) => [e.id, e.state])).toEqual([
      ['0001', 'applied'],
      ['0002', 'pending'],
    ]);
  });

  it('names the file line of an error in the first statement, which shares its round trip with BEGIN', async () => {
    const typo = {
      file: '0001_typo.sql',
      content: migrationText('create table typo (\n  id bigint,\n  name txet\n);'),
    };
    const run = await migratorFor(db.url, [typo]).apply();
    expect(run.error?.message).toMatch(
      /^0001_typo\.sql:4: migration 0001 failed \(SQLSTATE 42704\)/,
    );
    expect((await db.query("select 1 from pg_class where relname = 'typo'")).rowCount).toBe(0);
  });

  it('reads history times to the millisecond, as written by hand or by another tool', async () => {
    const migrator = migratorFor(db.url, [CREATE_ITEMS]);
    expect((await migrator.apply()).applied).toBe(1);
    await db.query(
      `update dbmigrate.migration_history
          set started_at = '1969-12-31 23:59:59.998999+00', finished_at = '2026-01-02 03:04:05.678999+05'`,
    );
    const [entry] = (await migrator.status()).entries;
    expect(entry?.finishedAt?.toISOString()).toBe('2026-01-01T22:04:05.678Z');
    const plan = await migrator.plan();
    expect(plan.issues).toEqual([]);
  });

  it('rolls the migration back when its history row cannot be written with its COMMIT', async () => {
    const migrator = migratorFor(db.url, [CREATE_ITEMS, ADD_PRICE]);
    expect((await migrator.apply({ target: '0001' })).applied).toBe(1);
    await db.query(
      "alter table dbmigrate.migration_events add constraint no_0002 check (migration_id <> '0002')",
    );
    const run = await migrator.apply();
    expect(run.error?.message).toMatch(/no_0002/);
    const columns = await db.query(
      "select 1 from information_schema.columns where table_name = 'items' and column_name = 'price'",
    );
    expect(columns.rowCount).toBe(0);
    const history = await db.query<{ id: string; status: string }>(
      'select id, status from dbmigrate.migration_history order by id',
    );
    expect(history.rows.filter((r) => r.status === 'applied').map((r) => r.id)).toEqual(['0001']);
  });

  it('is a no-op when everything is already applied', async () => {
    const migrator = migratorFor(db.url, [CREATE_ITEMS, ADD_PRICE]);
    expect((await migrator.apply()).applied).toBe(2);
    const again = await migrator.apply();
    expect(again.error).toBeNull();
    expect(again.applied).toBe(0);
    expect(again.skipped).toBe(2);
    const events = await migrator.history();
    expect(events.filter((e) => e.action === 'applied')).toHaveLength(2);
  });

  it('applies only up to a target', async () => {
    const run = await migratorFor(db.url, [CREATE_ITEMS, ADD_PRICE]).apply({ target: '0001' });
    expect(run.results.map((r) => r.id)).toEqual(['0001']);
    const status = await migratorFor(db.url, [CREATE_ITEMS, ADD_PRICE]).status();
    expect(status.entries.map((e) => e.state)).toEqual(['applied', 'pending']);
  });

  it('rolls a failing migration back completely and stops before the next one', async () => {
    const broken = {
      file: '0002_broken.sql',
      content: migrationText(
        'create table half_done (id int);\ninsert into items values (1, $$x$$);\nselect * from no_such_table;',
      ),
    };
    const later = {
      file: '0003_later.sql',
      content: migrationText('create table later (id int);'),
    };
    const run = await migratorFor(db.url, [CREATE_ITEMS, broken, later]).apply();
    expect(run.error?.code).toBe('SQL_ERROR');
    expect(run.error?.message).toMatch(
      /0002_broken\.sql:4: migration 0002 failed \(SQLSTATE 42P01\)/,
    );
    expect(run.error?.message).toMatch(/rolled back/);
    expect(run.results.map((r) => [r.id, r.status])).toEqual([
      ['0001', 'applied'],
      ['0002', 'failed'],
      ['0003', 'not_executed'],
    ]);
    const leftovers = await db.query(
      "select 1 from pg_class where relname in ('half_done', 'later')",
    );
    expect(leftovers.rowCount).toBe(0);
    expect((await db.query('select * from items')).rowCount).toBe(0);
    const row = await db.query<{ status: string; error: string }>(
      "select status, error from dbmigrate.migration_history where id = '0002'",
    );
    expect(row.rows[0]?.status).toBe('failed');

    // Fixed file: the failed transactional migration simply runs again.
    const fixed = {
      file: '0002_broken.sql',
      content: migrationText('create table half_done (id int);'),
    };
    const retry = await migratorFor(db.url, [CREATE_ITEMS, fixed, later]).apply();
    expect(retry.error).toBeNull();
    expect(retry.results.map((r) => r.id)).toEqual(['0002', '0003']);
  });

  it('retries a migration whose lock_timeout expires, then gives up with LOCK_TIMEOUT', async () => {
    await migratorFor(db.url, [CREATE_ITEMS]).apply();
    const blocker = await import('pg').then(
      (m) => new m.default.Client({ connectionString: db.url }),
    );
    await blocker.connect();
    try {
      await blocker.query('begin; lock table items in access exclusive mode');
      const alter = {
        file: '0002_alter.sql',
        content: migrationText(
          'alter table items add column x int;',
          undefined,
          '-- dbmigrate:lock_timeout=100ms lock_retries=2',
        ),
      };
      const run = await migratorFor(db.url, [CREATE_ITEMS, alter]).apply();
      expect(run.error?.code).toBe('LOCK_TIMEOUT');
      expect(run.error?.message).toMatch(/after 3 attempts/);
      await blocker.query('rollback');
      const retried = await migratorFor(db.url, [CREATE_ITEMS, alter]).apply();
      expect(retried.error).toBeNull();
      expect(retried.applied).toBe(1);
    } finally {
      await blocker.end();
    }
  });

  it('a non-transactional migration that never got its lock is not half-applied: a plain apply retries it', async () => {
    await migratorFor(db.url, [CREATE_ITEMS]).apply();
    const pg = (await import('pg')).default;
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    const online = {
      file: '0002_index.sql',
      content: migrationText(
        'alter table items add column y int;\ncreate index concurrently items_y_idx on items (y);',
        undefined,
        '-- dbmigrate:transaction=false lock_timeout=100ms lock_retries=1',
      ),
    };
    try {
      await blocker.query('begin; lock table items in access exclusive mode');
      const run = await migratorFor(db.url, [CREATE_ITEMS, online]).apply();
      expect(run.error?.code).toBe('LOCK_TIMEOUT');
      expect(run.error?.message).toContain('nothing of it was applied');
      await blocker.query('rollback');
      // A plain apply (no --resume, no repair) runs it: history says it never started.
      const retried = await migratorFor(db.url, [CREATE_ITEMS, online]).apply();
      expect(retried.error).toBeNull();
      expect(retried.applied).toBe(1);
      const events = await db.query<{ detail: string | null }>(
        "select detail from dbmigrate.migration_events where migration_id = '0002' and action = 'failed'",
      );
      expect(events.rows[0]?.detail).toMatch(/^never started \(/);
    } finally {
      await blocker.end();
    }
  });

  it('says which statements of a non-transactional migration were applied when a later one times out', async () => {
    await migratorFor(db.url, [CREATE_ITEMS]).apply();
    await db.query('create table other (id int)');
    const pg = (await import('pg')).default;
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    const twoStep = {
      file: '0002_two.sql',
      content: migrationText(
        'alter table other add column z int;\nalter table items add column z int;',
        undefined,
        '-- dbmigrate:transaction=false lock_timeout=100ms lock_retries=0',
      ),
    };
    try {
      await blocker.query('begin; lock table items in access exclusive mode');
      const run = await migratorFor(db.url, [CREATE_ITEMS, twoStep]).apply();
      expect(run.error?.message).toContain(
        'at statement 2; its first 1 statement(s) were applied and are recorded. Run apply again when the conflicting sessions are done: it continues at statement 2',
      );
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    // A plain apply continues at statement 2 (statement 1 again would fail: z exists).
    const migrator = migratorFor(db.url, [CREATE_ITEMS, twoStep]);
    expect(await migrator.validate()).toEqual([]);
    const again = await migrator.apply();
    expect(again.error).toBeNull();
    expect(again.results.map((r) => [r.id, r.status, r.resumedFromStatement])).toEqual([
      ['0002', 'applied', 1],
    ]);
  });

  it('succeeds after a lock conflict clears between retries', async () => {
    await migratorFor(db.url, [CREATE_ITEMS]).apply();
    const pg = (await import('pg')).default;
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('begin; lock table items in access exclusive mode');
      const release = setTimeout(() => void blocker.query('rollback'), 400);
      const alter = {
        file: '0002_alter.sql',
        content: migrationText(
          'alter table items add column x int;',
          undefined,
          '-- dbmigrate:lock_timeout=150ms lock_retries=10',
        ),
      };
      const run = await migratorFor(db.url, [CREATE_ITEMS, alter], {
        backoff: { baseMs: 100, capMs: 200 },
      }).apply();
      clearTimeout(release);
      expect(run.error).toBeNull();
      expect(run.results[0]?.lockRetries).toBeGreaterThan(0);
    } finally {
      await blocker.end();
    }
  });

  it('enforces statement_timeout from the header', async () => {
    const slow = {
      file: '0001_slow.sql',
      content: migrationText(
        'select pg_sleep(2);',
        undefined,
        '-- dbmigrate:statement_timeout=200ms',
      ),
    };
    const run = await migratorFor(db.url, [slow]).apply();
    expect(run.error?.code).toBe('SQL_ERROR');
    expect(run.error?.message).toMatch(/57014/);
  });

  it("returns and logs the NOTICEs a migration's SQL raises", async () => {
    const reporting = {
      file: '0001_report.sql',
      content: migrationText(
        "create table t (id int);\ndo $$ begin raise notice 'found % orphans', 3; end $$;\ncreate table if not exists t (id int);",
      ),
    };
    const run = await migratorFor(db.url, [reporting]).apply();
    expect(run.error).toBeNull();
    expect(run.results[0]?.notices).toEqual([
      'NOTICE: found 3 orphans',
      'NOTICE: relation "t" already exists, skipping',
    ]);
  });

  it('builds indexes of a transaction=false migration without parallel workers unless its header asks', async () => {
    // What the migration's session had, read back through a table it writes.
    const seen = (id: string, header: string) => ({
      file: `${id}_seen.sql`,
      content: migrationText(
        `create table seen_${id} as select current_setting('max_parallel_maintenance_workers') as v;`,
        undefined,
        header,
      ),
    });
    const run = await migratorFor(db.url, [
      seen('0001', '-- dbmigrate:transaction=false'),
      seen('0002', '-- dbmigrate:transaction=false max_parallel_maintenance_workers=1'),
      // A transactional migration after them keeps the server's setting.
      seen('0003', ''),
    ]).apply();
    expect(run.error).toBeNull();
    const server = await db.query<{ v: string }>(
      "select current_setting('max_parallel_maintenance_workers') as v",
    );
    const rows = await db.query<{ v: string }>(
      'select v from seen_0001 union all select v from seen_0002 union all select v from seen_0003',
    );
    expect(rows.rows.map((r) => r.v)).toEqual(['0', '1', server.rows[0]?.v]);
    expect(server.rows[0]?.v).not.toBe('0');
  });

  const walSeen = (id: string, header: string) => ({
    file: `${id}_wal.sql`,
    content: migrationText(
      `create table wal_${id} as select current_setting('wal_compression') as v;`,
      undefined,
      header,
    ),
  });
  const walValues = async () =>
    (
      await db.query<{ v: string }>(
        'select v from (select 1 o, v from wal_0001 union all select 2, v from wal_0002 union all select 3, v from wal_0003) s order by o',
      )
    ).rows.map((r) => r.v);

  it('compresses the WAL of a transaction=false migration with lz4 unless its header says otherwise, and resets it after', async () => {
    const server = await db.query<{ v: string }>("select current_setting('wal_compression') as v");
    expect(server.rows[0]?.v).toBe('off');
    const run = await migratorFor(db.url, [
      walSeen('0001', '-- dbmigrate:transaction=false'),
      walSeen('0002', '-- dbmigrate:transaction=false wal_compression=off'),
      // A transactional migration after them keeps the server's setting.
      walSeen('0003', ''),
    ]).apply();
    expect(run.error).toBeNull();
    expect(await walValues()).toEqual(['lz4', 'off', 'off']);
  });

  it('leaves wal_compression as the server has it for a role that may not set it, and fails a header that asks', async () => {
    const role = `dbm_wal_${db.name.slice(-8)}`;
    await db.query(`create role ${role} login`);
    try {
      await db.query(`grant create on database ${db.name} to ${role}`);
      await db.query(`grant create on schema public to ${role}`);
      const url = new URL(db.url);
      url.username = role;
      const run = await migratorFor(url.toString(), [
        walSeen('0001', '-- dbmigrate:transaction=false'),
        walSeen('0002', '-- dbmigrate:transaction=false'),
        walSeen('0003', ''),
      ]).apply();
      expect(run.error).toBeNull();
      expect(await walValues()).toEqual(['off', 'off', 'off']);
      const asked = await migratorFor(url.toString(), [
        walSeen('0001', '-- dbmigrate:transaction=false'),
        walSeen('0002', '-- dbmigrate:transaction=false'),
        walSeen('0003', ''),
        walSeen('0004', '-- dbmigrate:transaction=false wal_compression=lz4'),
      ]).apply();
      expect(asked.error?.message).toMatch(/permission denied to set parameter "wal_compression"/);
      expect(asked.error?.code).toBe('SQL_ERROR');
      // Nothing of it ran: no half-applied row is left for a plain apply to trip over.
      const row = await db.query(
        "select status from dbmigrate.migration_history where id = '0004'",
      );
      expect(row.rowCount).toBe(0);
      expect(
        await db.query('select 1 from pg_class where relname = $1', ['wal_0004']),
      ).toMatchObject({
        rowCount: 0,
      });
    } finally {
      await db.query(`drop owned by ${role}`);
      await db.query(`drop role if exists ${role}`);
    }
  });
});

describe('apply of statements whose bodies hold semicolons', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('apply_bodies');
  });
  afterEach(async () => {
    await db.drop();
  });

  const bodies = (header: string) => [
    {
      file: '0001_items.sql',
      content: migrationText(
        'create table items (id int primary key);\ncreate table audit (id int);',
      ),
    },
    {
      file: '0002_bodies.sql',
      content: migrationText(
        [
          'create function add_one(x int) returns int language sql',
          'begin atomic',
          '  select x + 1;',
          'end;',
          'create rule log_insert as on insert to items do also (',
          '  insert into audit values (new.id);',
          '  insert into audit values (add_one(new.id))',
          ');',
        ].join('\n'),
        undefined,
        header,
      ),
    },
  ];

  for (const [label, header] of [
    ['in one transaction', ''],
    ['statement by statement', '-- dbmigrate:transaction=false'],
  ] as const) {
    it(`runs a BEGIN ATOMIC function and a two-action rule ${label}`, async () => {
      const migrator = migratorFor(db.url, bodies(header));
      const run = await migrator.apply();
      expect(run.error).toBeNull();
      expect(run.results.map((r) => [r.id, r.status])).toEqual([
        ['0001', 'applied'],
        ['0002', 'applied'],
      ]);
      await db.query('insert into items values (41)');
      const audit = await db.query<{ id: number }>('select id from audit order by id');
      expect(audit.rows).toEqual([{ id: 41 }, { id: 42 }]);
      if (header !== '') {
        // Resume counts statements: the function and the rule are two, not five.
        const history = await db.query<{ statements_done: number; statements_total: number }>(
          `select statements_done, statements_total from dbmigrate.migration_history where id = '0002'`,
        );
        expect(history.rows).toEqual([{ statements_done: 2, statements_total: 2 }]);
      }
    });
  }
});
