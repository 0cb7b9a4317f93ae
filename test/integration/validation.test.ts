import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

const M1 = { file: '0001_a.sql', content: migrationText('create table a (id int);') };
const M2 = { file: '0002_b.sql', content: migrationText('create table b (id int);') };
const M3 = { file: '0003_c.sql', content: migrationText('create table c (id int);') };

async function tables(db: TestDatabase): Promise<string[]> {
  const res = await db.query<{ relname: string }>(
    "select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1",
  );
  return res.rows.map((r) => r.relname);
}

describe('validation before apply', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('validate');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('refuses to apply when an applied file changed, and applies nothing else', async () => {
    await migratorFor(db.url, [M1, M2]).apply();
    const edited = { file: '0002_b.sql', content: migrationText('create table b (id bigint);') };
    const run = await migratorFor(db.url, [M1, edited, M3]).apply();
    expect(run.error?.code).toBe('VALIDATION_FAILED');
    expect(run.error?.message).toContain(
      '[CHECKSUM_DRIFT] 0002_b.sql: changed after it was applied',
    );
    expect(run.error?.message).toContain('dbmigrate repair 0002');
    expect(await tables(db)).toEqual(['a', 'b']);
  });

  it('does not count line endings or trailing spaces as drift', async () => {
    await migratorFor(db.url, [M1]).apply();
    const crlf = { file: M1.file, content: `${M1.content.replace(/\n/g, '   \r\n')}\r\n` };
    const run = await migratorFor(db.url, [crlf, M2]).apply();
    expect(run.error).toBeNull();
    expect(run.applied).toBe(1);
  });

  it('accepts an intentional edit after repair', async () => {
    await migratorFor(db.url, [M1]).apply();
    const edited = {
      file: M1.file,
      content: migrationText('create table a (id int); -- documented'),
    };
    const repaired = await migratorFor(db.url, [edited]).repair('0001');
    expect(repaired.error).toBeNull();
    expect(repaired.action).toMatch(/accepted the new checksum/);
    expect(await migratorFor(db.url, [edited]).validate()).toEqual([]);
  });

  it('refuses when an applied migration file is missing', async () => {
    await migratorFor(db.url, [M1, M2]).apply();
    const issues = await migratorFor(db.url, [M1, M3]).validate();
    expect(issues.map((i) => [i.code, i.migrationId])).toEqual([['MISSING_FILE', '0002']]);
    expect(issues[0]?.fix).toContain('0002_b.sql');
  });

  it('refuses a new file that sorts before applied ones unless --out-of-order', async () => {
    await migratorFor(db.url, [M1, M3]).apply();
    const refused = await migratorFor(db.url, [M1, M2, M3]).apply();
    expect(refused.error?.code).toBe('VALIDATION_FAILED');
    expect(refused.error?.message).toContain('[OUT_OF_ORDER] 0002_b.sql');
    expect(await tables(db)).toEqual(['a', 'c']);
    const allowed = await migratorFor(db.url, [M1, M2, M3]).apply({ allowOutOfOrder: true });
    expect(allowed.error).toBeNull();
    expect(allowed.results.map((r) => r.id)).toEqual(['0002']);
  });

  it('refuses while an invalid index from a failed concurrent build exists', async () => {
    await migratorFor(db.url, [M1]).apply();
    await db.query('create table t (v int); insert into t values (1), (1)');
    await expect(db.query('create unique index concurrently t_v_uq on t (v)')).rejects.toThrow(
      /could not create unique index/,
    );
    const issues = await migratorFor(db.url, [M1]).validate();
    expect(issues.map((i) => i.code)).toEqual(['INVALID_INDEX']);
    expect(issues[0]?.message).toContain('public.t_v_uq');
    expect(issues[0]?.fix).toContain('DROP INDEX CONCURRENTLY public.t_v_uq');
  });

  it('does not refuse an index another session is still building concurrently', async () => {
    await migratorFor(db.url, [M1]).apply();
    await db.query('create table t (v int)');
    const writer = new pg.Client({ connectionString: db.url });
    const builder = new pg.Client({ connectionString: db.url });
    await writer.connect();
    await builder.connect();
    try {
      // An open write makes the concurrent build wait with its index recorded, invalid.
      await writer.query('begin; insert into t values (1)');
      const building = builder.query('create index concurrently t_v_idx on t (v)');
      const invalid = async (): Promise<boolean> =>
        (
          await db.query(
            "select 1 from pg_index where not indisvalid and indexrelid = to_regclass('public.t_v_idx')",
          )
        ).rowCount === 1;
      for (let i = 0; i < 200 && !(await invalid()); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(await invalid()).toBe(true);
      expect(await migratorFor(db.url, [M1]).validate()).toEqual([]);
      expect((await migratorFor(db.url, [M1]).status()).issues).toEqual([]);
      await writer.query('rollback');
      await building;
      expect(await invalid()).toBe(false);
    } finally {
      await writer.end();
      await builder.end();
    }
  });

  it('refuses a malformed file, naming file and line, and changes nothing', async () => {
    const bad = {
      file: '0002_bad.sql',
      content: '-- dbmigrate:transaction=maybe\n-- migrate:up\nselect 1;\n',
    };
    const run = await migratorFor(db.url, [M1, bad]).apply();
    expect(run.error?.code).toBe('PARSE_ERROR');
    expect(run.error?.message).toBe('0002_bad.sql:1: directive transaction: must be true or false');
    const schema = await db.query("select 1 from pg_namespace where nspname = 'dbmigrate'");
    expect(schema.rowCount).toBe(0);
    expect(await tables(db)).toEqual([]);
  });

  it('refuses a dependency cycle and a missing dependency before connecting', async () => {
    const cyclic = {
      file: '0002_b.sql',
      content: migrationText('create table b (id int);', undefined, '-- dbmigrate:depends=0003'),
    };
    const cycle = await migratorFor(db.url, [M1, cyclic, M3]).apply();
    expect(cycle.error?.code).toBe('DEPENDENCY_CYCLE');
    const missing = {
      file: '0002_b.sql',
      content: migrationText('create table b (id int);', undefined, '-- dbmigrate:depends=0009'),
    };
    const gone = await migratorFor(db.url, [M1, missing]).apply();
    expect(gone.error?.code).toBe('MISSING_DEPENDENCY');
    expect(gone.error?.message).toContain('0002_b.sql: depends on migration 0009');
    expect(await tables(db)).toEqual([]);
  });

  it('reports an unreachable database without leaking its password', async () => {
    const run = await migratorFor('postgres://app:hunter2@127.0.0.1:1/nowhere', [M1]).apply();
    expect(run.error?.code).toBe('CONNECTION_ERROR');
    expect(run.error?.message).toContain('cannot connect to app@127.0.0.1:1/nowhere');
    expect(run.error?.message).not.toContain('hunter2');
  });

  describe('history that was edited by hand', () => {
    const INSERTING = {
      file: '0002_seed.sql',
      content: migrationText("create table seeded (v text);\ninsert into seeded values ('once');"),
    };

    it.each([
      [
        'the latest row is deleted',
        "delete from dbmigrate.migration_history where id = '0002'",
        'has no row for it',
      ],
      [
        'its status is set to failed',
        "update dbmigrate.migration_history set status = 'failed' where id = '0002'",
        'says failed',
      ],
    ])('refuses to run a migration again when %s', async (_what, tamper, says) => {
      await migratorFor(db.url, [M1, INSERTING]).apply();
      await db.query(tamper);
      const run = await migratorFor(db.url, [M1, INSERTING]).apply();
      expect(run.error?.code).toBe('VALIDATION_FAILED');
      expect(run.error?.message).toContain(
        `[HISTORY_MISMATCH] the events log records migration 0002 as applied, but the history table ${says}`,
      );
      // Its insert happened once, not twice.
      expect((await db.query('select * from seeded')).rowCount).toBe(1);
    });

    it.each([
      ['deleted', "delete from dbmigrate.migration_history where id = '0002'"],
      [
        'set to failed',
        "update dbmigrate.migration_history set status = 'failed' where id = '0002'",
      ],
    ])(
      'repair restores a row that was %s from the events log, and apply then runs nothing twice',
      async (_what, tamper) => {
        await migratorFor(db.url, [M1, INSERTING]).apply();
        await db.query(tamper);
        const repaired = await migratorFor(db.url, [M1, INSERTING]).repair('0002');
        expect(repaired.error).toBeNull();
        expect(repaired.action).toMatch(
          /^restored the history row of 0002_seed\.sql from the events log \(applied .*\); it will not run again$/,
        );
        expect(await migratorFor(db.url, [M1, INSERTING]).validate()).toEqual([]);
        const run = await migratorFor(db.url, [M1, INSERTING]).apply();
        expect(run.error).toBeNull();
        expect(run.applied).toBe(0);
        expect((await db.query('select * from seeded')).rowCount).toBe(1);
        // Tampered with again after the repair: still caught, still restored, never re-run.
        await db.query(tamper);
        const again = await migratorFor(db.url, [M1, INSERTING]).validate();
        expect(again.map((i) => i.code)).toEqual(['HISTORY_MISMATCH']);
        expect(again[0]?.fix).toContain('dbmigrate repair 0002');
        expect((await migratorFor(db.url, [M1, INSERTING]).repair('0002')).action).toMatch(
          /^restored the history row/,
        );
        expect((await migratorFor(db.url, [M1, INSERTING]).apply()).applied).toBe(0);
        expect((await db.query('select * from seeded')).rowCount).toBe(1);
      },
    );

    it('says there is nothing to repair for a migration that never ran, instead of "no migration has ID"', async () => {
      await migratorFor(db.url, [M1]).apply();
      const repaired = await migratorFor(db.url, [M1, M2]).repair('0002');
      expect(repaired.error).toBeNull();
      expect(repaired.action).toMatch(/^nothing to repair: 0002_b\.sql has no history row/);
    });

    it('names a history row whose ID is not a migration ID instead of crashing', async () => {
      await migratorFor(db.url, [M1]).apply();
      await db.query(
        "insert into dbmigrate.migration_history (id, name, checksum, status, transactional, started_at, applied_by, run_id, source) select 'abc', name, checksum, status, transactional, started_at, applied_by, run_id, source from dbmigrate.migration_history limit 1",
      );
      const run = await migratorFor(db.url, [M1, M2]).apply();
      expect(run.error?.code).toBe('HISTORY_CORRUPT');
      expect(run.error?.message).toMatch(
        /dbmigrate\.migration_history has a row no dbmigrate runner wrote \(id "abc" is not a migration ID\)/,
      );
      expect(await tables(db)).toEqual(['a']);
    });
    it("names the field of a history row no dbmigrate runner wrote, in the schema's words", async () => {
      await migratorFor(db.url, [M1]).apply();
      await db.query("update dbmigrate.migration_history set source = 'liquibase'");
      const run = await migratorFor(db.url, [M1, M2]).apply();
      expect(run.error?.code).toBe('HISTORY_CORRUPT');
      expect(run.error?.message).toMatch(
        /dbmigrate\.migration_history has a row no dbmigrate runner wrote \(id "0001": source Invalid option: expected one of "dbmigrate"\|"baseline"\|"sqlx"\|"flyway"\); the history table was edited by hand/,
      );
      expect(await tables(db)).toEqual(['a']);
    });
  });

  describe('a database with objects but no history (Flyway: baseline first)', () => {
    it('refuses after the history schema was dropped, instead of validating ok and re-running', async () => {
      await migratorFor(db.url, [M1, M2]).apply();
      await db.query('drop schema dbmigrate cascade');
      const issues = await migratorFor(db.url, [M1, M2, M3]).validate();
      expect(issues.map((i) => i.code)).toEqual(['NOT_EMPTY_WITHOUT_HISTORY']);
      expect(issues[0]?.message).toContain('public.a, public.b');
      expect(issues[0]?.fix).toContain('dbmigrate baseline --version ID');
      const run = await migratorFor(db.url, [M1, M2, M3]).apply();
      expect(run.error?.code).toBe('VALIDATION_FAILED');
      expect(run.error?.message).toContain('[NOT_EMPTY_WITHOUT_HISTORY]');
      expect(run.results).toEqual([]);
      expect(await tables(db)).toEqual(['a', 'b']);
      const status = await migratorFor(db.url, [M1, M2, M3]).status();
      expect(status.issues.map((i) => i.code)).toEqual(['NOT_EMPTY_WITHOUT_HISTORY']);
    });

    it('applies the rest once baseline adopted the database', async () => {
      await db.query('create table a (id int)');
      const before = await migratorFor(db.url, [M1, M2]).plan();
      expect(before.issues.map((i) => i.code)).toEqual(['NOT_EMPTY_WITHOUT_HISTORY']);
      const refused = await migratorFor(db.url, [M1, M2]).apply();
      expect(refused.error?.message).toContain('[NOT_EMPTY_WITHOUT_HISTORY]');
      // Refused before writing anything: not even the history schema exists.
      const schema = await db.query("select 1 from pg_namespace where nspname = 'dbmigrate'");
      expect(schema.rowCount).toBe(0);
      expect((await migratorFor(db.url, [M1, M2]).baseline({ version: '0001' })).error).toBeNull();
      const run = await migratorFor(db.url, [M1, M2]).apply();
      expect(run.error).toBeNull();
      expect(run.results.map((r) => [r.id, r.status])).toEqual([['0002', 'applied']]);
      expect(await tables(db)).toEqual(['a', 'b']);
    });

    it('names views and sequences too, but not what an extension created', async () => {
      await db.query('create extension if not exists vector');
      await db.query('create extension if not exists pg_trgm');
      expect(await migratorFor(db.url, [M1]).validate()).toEqual([]);
      await db.query(
        'create schema app; create sequence app.counter; create view v as select 1 as x',
      );
      const issues = await migratorFor(db.url, [M1]).validate();
      expect(issues[0]?.message).toMatch(
        /already holds (app\.counter, public\.v|public\.v, app\.counter)/,
      );
    });

    it('applies onto a database that holds only an empty history', async () => {
      await db.query('create schema dbmigrate');
      const run = await migratorFor(db.url, [M1]).apply();
      expect(run.error).toBeNull();
    });
  });

  it('names an ID that is not a number instead of crashing, and changes nothing', async () => {
    for (const run of [
      await migratorFor(db.url, [M1, M2]).apply({ target: 'abc' }),
      await migratorFor(db.url, [M1, M2]).rollback({ to: '1e3' }),
      await migratorFor(db.url, [M1, M2]).baseline({ version: 'x1' }),
      await migratorFor(db.url, [M1, M2]).repair('abc'),
    ]) {
      expect(run.error?.code).toBe('UNKNOWN_TARGET');
      expect(run.error?.message).toMatch(/^".+" is not a migration ID/);
    }
    expect(await tables(db)).toEqual([]);
    const plan = migratorFor(db.url, [M1, M2]).plan({ target: 'abc' });
    await expect(plan).rejects.toThrow(/"abc" is not a migration ID/);
  });
});

describe('status and plan read the files while the session opens', () => {
  const CLOSED = 'postgres://postgres@127.0.0.1:1/nowhere';
  const SEVERAL = {
    file: '0002_several.sql',
    content: migrationText('create table s (id int);\ncreate index on s (id);'),
  };

  it('reports a broken file before an unreachable server, as when one came after the other', async () => {
    const broken = { file: '0002_b.sql', content: 'create table b (id int);\n' };
    for (const ask of ['status', 'plan'] as const) {
      await expect(migratorFor(CLOSED, [M1, broken])[ask]()).rejects.toThrow(
        /0002_b\.sql:1: SQL before the -- migrate:up marker/,
      );
    }
  });

  it('reports an unreachable server that refused while the parser loaded, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(migratorFor(CLOSED, [M1, SEVERAL]).status()).rejects.toMatchObject({
        code: 'CONNECTION_ERROR',
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
