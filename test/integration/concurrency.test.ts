import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

const SLOW = {
  file: '0001_slow.sql',
  content: migrationText(
    'create table counter (n int); insert into counter values (1); select pg_sleep(1);',
  ),
};
const NEXT = {
  file: '0002_next.sql',
  content: migrationText('update counter set n = n + 1;'),
};

describe('two runners at once', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('lock');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('the second waits for the first and then finds nothing to do', async () => {
    const [a, b] = await Promise.all([
      migratorFor(db.url, [SLOW, NEXT], { lockWaitMs: 20_000 }).apply(),
      migratorFor(db.url, [SLOW, NEXT], { lockWaitMs: 20_000 }).apply(),
    ]);
    expect(a.error).toBeNull();
    expect(b.error).toBeNull();
    expect(a.applied + b.applied).toBe(2);
    expect([a.applied, b.applied].sort()).toEqual([0, 2]);
    const counter = await db.query<{ n: number }>('select n from counter');
    expect(counter.rows).toEqual([{ n: 2 }]);
  });

  it('fails fast with LOCK_BUSY naming the holder when told not to wait', async () => {
    const first = migratorFor(db.url, [SLOW, NEXT], { lockWaitMs: 20_000 }).apply();
    // Let the first runner take the lock.
    for (let i = 0; i < 50; i++) {
      const held = await db.query(
        "select 1 from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())",
      );
      if (held.rowCount) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await migratorFor(db.url, [SLOW, NEXT], { lockWaitMs: 0 }).apply();
    expect(second.error?.code).toBe('LOCK_BUSY');
    expect(second.error?.message).toMatch(
      /holds the migration lock \(dbmigrate:[0-9a-f-]{36}(:\d+)? \(pid \d+/,
    );
    expect(second.applied).toBe(0);
    const done = await first;
    expect(done.applied).toBe(2);
  });
});
