import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../src/safety/backfill/backfill.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('batched backfill', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('backfill');
    await db.query(`create table docs (id bigint primary key, body text, body_len int);
      insert into docs select g, repeat('x', g % 50) from generate_series(1, 10000) g;`);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('updates in keyset batches, stops on request and resumes from its checkpoint', async () => {
    const controller = new AbortController();
    const common = {
      databaseUrl: db.url,
      name: 'docs_body_len',
      table: 'docs',
      set: 'body_len = length(body)',
      where: 'body_len is null',
      batchSize: 1000,
      throttleMs: 0,
      // Exact batch counts: a fixed pace (the adaptive one is backfill-throttle.test.ts's).
      adaptive: false as const,
    };
    const first = await runBackfill({
      ...common,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.batches === 3) controller.abort();
      },
    });
    expect(first).toMatchObject({
      finished: false,
      batches: 3,
      rowsUpdated: 3000,
      lastKey: '3000',
    });
    expect(
      (await db.query('select count(*)::int as n from docs where body_len is null')).rows[0],
    ).toEqual({ n: 7000 });

    const second = await runBackfill(common);
    expect(second).toMatchObject({
      finished: true,
      resumedFrom: '3000',
      rowsUpdated: 10000,
      batches: 10,
    });
    expect(
      (await db.query('select count(*)::int as n from docs where body_len = length(body)')).rows[0],
    ).toEqual({ n: 10000 });
    const cp = await db.query(
      'select rows_done::int, batches, finished_at is not null as done from dbmigrate.backfill_checkpoints',
    );
    expect(cp.rows).toEqual([{ rows_done: 10000, batches: 10, done: true }]);

    const third = await runBackfill(common);
    expect(third).toMatchObject({ finished: true, durationMs: 0 });
  });

  it('compresses its WAL with lz4 where the role may set it, and runs as the server has it where not', async () => {
    await db.query('alter table docs add column wal text');
    const common = {
      table: 'docs',
      set: "wal = current_setting('wal_compression')",
      batchSize: 5000,
      throttleMs: 0,
      adaptive: false as const,
    };
    await runBackfill({ ...common, databaseUrl: db.url, name: 'as_superuser' });
    const seen = async () =>
      (await db.query<{ wal: string }>('select distinct wal from docs')).rows.map((r) => r.wal);
    expect(await seen()).toEqual(['lz4']);
    const role = `dbm_bf_${db.name.slice(-8)}`;
    await db.query(`create role ${role} login`);
    try {
      await db.query(`grant create on database ${db.name} to ${role}`);
      await db.query(`grant usage, create on schema dbmigrate to ${role}`);
      await db.query(`grant all on all tables in schema dbmigrate, public to ${role}`);
      const url = new URL(db.url);
      url.username = role;
      await runBackfill({ ...common, databaseUrl: url.toString(), name: 'as_role' });
      expect(await seen()).toEqual(['off']);
    } finally {
      await db.query(`drop owned by ${role}`);
      await db.query(`drop role if exists ${role}`);
    }
  });

  it('refuses a table without a unique key column, naming it', async () => {
    await db.query('create table loose (n int)');
    await expect(
      runBackfill({ databaseUrl: db.url, name: 'x', table: 'loose', keyColumn: 'n', set: 'n = n' }),
    ).rejects.toThrow('backfill x: loose.n has no single-column unique index');
    await expect(
      runBackfill({ databaseUrl: db.url, name: 'y', table: 'nope', set: 'a = 1' }),
    ).rejects.toThrow('backfill y: table nope does not exist');
  });
});
