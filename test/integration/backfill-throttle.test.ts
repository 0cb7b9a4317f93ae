import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill, type BackfillPace } from '../../src/safety/backfill/backfill.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The backfill's batches really make other writers wait here: while `interfere.active` is
// set, a statement trigger on the backfilled table locks the table the probe writes to, and
// holds it (pg_sleep) until the batch commits, as a batch whose WAL flush or CPU use holds up
// every writer would. Nothing is mocked: the probe's writes wait on PostgreSQL.
describe('adaptive backfill throttle', () => {
  let db: TestDatabase;
  let control: pg.Client;
  beforeEach(async () => {
    db = await createTestDatabase('backfill_throttle');
    await db.query(`
      create schema dbmigrate;
      create table dbmigrate.throttle_probes (name text primary key, probed_at timestamptz not null);
      create table interfere (active boolean not null);
      insert into interfere values (false);
      create table docs (id bigint primary key, body text, body_len int);
      insert into docs select g, repeat('x', g % 50) from generate_series(1, 20000) g;
      create function hold_writers() returns trigger language plpgsql as $$
      begin
        if (select active from interfere) then
          lock table dbmigrate.throttle_probes in share mode;
          perform pg_sleep(0.15);
        end if;
        return null;
      end $$;
      create trigger hold_writers after update on docs
        for each statement execute function hold_writers();`);
    control = new pg.Client({ connectionString: db.url });
    await control.connect();
  });
  afterEach(async () => {
    await control.end();
    await db.drop();
  });

  const common = {
    name: 'docs_body_len',
    table: 'docs',
    set: 'body_len = length(body)',
    where: 'body_len is null',
    batchSize: 400,
    throttleMs: 0,
  };

  it('slows down while its batches make writers wait, and speeds up again after', async () => {
    const paces: BackfillPace[] = [];
    const toggles: Promise<unknown>[] = [];
    // Where in `paces` the interference was switched on and off.
    const marks: { on?: number; off?: number } = {};
    const res = await runBackfill({
      ...common,
      databaseUrl: db.url,
      adaptive: { maxAddedLatencyMs: 10, maxPauseMs: 500 },
      onProgress: (p) => {
        if (p.pace) paces.push(p.pace);
        if (p.batches === 6) {
          marks.on = paces.length;
          toggles.push(control.query('update interfere set active = true'));
        }
        if (p.batches === 12) {
          marks.off = paces.length;
          toggles.push(control.query('update interfere set active = false'));
        }
      },
    });
    await Promise.all(toggles);
    expect(res.finished).toBe(true);
    expect(res.rowsUpdated).toBe(20000);
    const { on, off } = marks;
    if (on === undefined || off === undefined) throw new Error('the backfill ended too early');
    const before = paces.slice(0, on);
    const during = paces.slice(on + 1, off);
    const after = paces.slice(off + 1);
    // Its batches hold writers ~150 ms: it measures that and backs off, batch after batch.
    // (Unhindered it may still slow down for the machine's own noise, never for that long.)
    const held = (p: BackfillPace) => (p.addedLatencyMs ?? 0) > 100;
    expect(before.filter(held)).toEqual([]);
    expect(
      during.filter((p) => p.reason === 'writers-slowed' && held(p)).length,
    ).toBeGreaterThanOrEqual(3);
    const slowest = during.reduce((a, p) => (p.batchSize < a.batchSize ? p : a));
    expect(slowest.batchSize).toBeLessThanOrEqual(100);
    expect(slowest.pauseMs).toBeGreaterThanOrEqual(150);
    expect(res.backoffs).toBeGreaterThanOrEqual(3);
    // Writers unhindered again: it grows back.
    expect(after.some((p) => p.reason === 'headroom')).toBe(true);
    expect(after.at(-1)?.batchSize ?? 0).toBeGreaterThan(slowest.batchSize);
    expect(after.at(-1)?.pauseMs ?? Infinity).toBeLessThan(slowest.pauseMs);
  }, 180_000);

  it('keeps a fixed pace, and runs no probe, with adaptive: false', async () => {
    await db.query('update interfere set active = true');
    const paces: unknown[] = [];
    const res = await runBackfill({
      ...common,
      databaseUrl: db.url,
      adaptive: false,
      onProgress: (p) => paces.push(p.pace),
    });
    expect(res).toMatchObject({ finished: true, batches: 50, backoffs: 0 });
    expect(res.maxAddedLatencyMs).toBeNull();
    expect(paces.every((p) => p === undefined)).toBe(true);
    const probes = await db.query<{ n: number }>(
      'select count(*)::int as n from dbmigrate.throttle_probes',
    );
    expect(probes.rows[0]?.n).toBe(0);
  }, 180_000);
});
