import pg from 'pg';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateOnStartup } from '../../src/engine/startup.js';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, writeMigrationDir } from '../helpers/migrations.js';

const FILES = [
  { file: '0001_a.sql', content: migrationText('create table a (id int);') },
  { file: '0002_b.sql', content: migrationText('create table b (id int);') },
];

describe('migrateOnStartup', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeEach(async () => {
    db = await createTestDatabase('startup');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
  });
  afterEach(async () => {
    await pool.end();
    await db.drop();
  });

  it('applies pending migrations from a directory on the server pool and returns a summary', async () => {
    const dir = await writeMigrationDir(FILES);
    const summary = await migrateOnStartup(pool, { migrations: dir });
    expect(summary.ok).toBe(true);
    expect(summary.applied.map((r) => r.id)).toEqual(['0001', '0002']);
    expect(summary.alreadyApplied).toBe(0);
    const again = await migrateOnStartup(pool, { migrations: dir });
    expect(again).toMatchObject({ ok: true, applied: [], alreadyApplied: 2 });
    // The borrowed session went back to the pool without the lock or the app name.
    const locks = await pool.query(
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    );
    expect(locks.rows[0]).toEqual({ n: 0 });
  });

  it('lets replicas start together: exactly one applies, all succeed', async () => {
    const source = new InlineMigrationSource(FILES);
    const summaries = await Promise.all(
      [1, 2, 3].map(() => migrateOnStartup(pool, { migrations: source })),
    );
    expect(summaries.every((s) => s.ok)).toBe(true);
    expect(summaries.map((s) => s.applied.length).sort()).toEqual([0, 0, 2]);
  });

  it('returns a typed error instead of throwing when a migration fails', async () => {
    const broken = new InlineMigrationSource([
      ...FILES,
      { file: '0003_bad.sql', content: migrationText('select from nowhere;') },
    ]);
    const summary = await migrateOnStartup(pool, { migrations: broken });
    expect(summary.ok).toBe(false);
    expect(summary.error?.code).toBe('SQL_ERROR');
    expect(summary.applied.map((r) => r.id)).toEqual(['0001', '0002']);
  });
});

describe('migrateOnStartup with the server registry', () => {
  it("counts applied and failed migrations and lock retries in the caller's registry, labelled by database", async () => {
    const db = await createTestDatabase('startup_metrics');
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      const registry = new Registry();
      const dir = await writeMigrationDir([
        ...FILES,
        { file: '0003_bad.sql', content: migrationText('create table a (id int);') },
      ]);
      const summary = await migrateOnStartup(pool, { migrations: dir, registry });
      expect(summary.ok).toBe(false);
      const text = await registry.metrics();
      const database = `postgres@127.0.0.1:5432/${db.name}`;
      expect(text).toContain(`dbmigrate_migrations_applied_total{database="${database}"} 2`);
      expect(text).toContain(`dbmigrate_migrations_failed_total{database="${database}"} 1`);
      expect(text).toContain(
        `dbmigrate_migration_duration_seconds_count{database="${database}"} 2`,
      );
      // A second start-up in the same process counts into the same series.
      await migrateOnStartup(pool, { migrations: dir, registry });
      expect(await registry.metrics()).toContain(
        `dbmigrate_migrations_failed_total{database="${database}"} 2`,
      );
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
