// The rules judge for a PostgreSQL major version: each gated behaviour on both sides of the
// release that changed it.
import { describe, expect, it } from 'vitest';
import {
  describePgVersion,
  pgMajorSetting,
  PgVersionError,
  resolvePgVersion,
} from '../../src/api/pg-version.js';
import { parseConfig } from '../../src/api/config.js';
import { lintOne, lintSet, NON_TX, ruleIds } from './lint-helpers.js';

const nonTx = (up: string) => ({ header: NON_TX, up });
const at = (pgVersion: number) => ({ pgVersion });

describe('the PostgreSQL version', () => {
  it('takes a major (15) or a full version (15.4), from 10 to 18, and names the setting otherwise', () => {
    expect(pgMajorSetting('15', '--pg-version')).toBe(15);
    expect(pgMajorSetting('15.4', '--pg-version')).toBe(15);
    expect(pgMajorSetting(10, 'lint.pgVersion')).toBe(10);
    expect(pgMajorSetting('18', '--pg-version')).toBe(18);
    for (const bad of ['9.6', '19', 'fifteen', '', '15.4.1'])
      expect(() => pgMajorSetting(bad, '--pg-version'), bad).toThrow(PgVersionError);
    expect(() => pgMajorSetting('19', '--pg-version')).toThrow(
      '--pg-version: "19" is newer than the linter\'s parser (PostgreSQL 18\'s grammar); give a major version from 10 to 18 (e.g. 15 or 15.4)',
    );
  });

  it('prefers the flag, then dbmigrate.json, then the server, then the newest known', () => {
    expect(resolvePgVersion({ flag: 12, config: 14, serverVersionNum: 160002 })).toEqual({
      major: 12,
      source: 'flag',
    });
    expect(resolvePgVersion({ config: 14, serverVersionNum: 160002 })).toEqual({
      major: 14,
      source: 'config',
    });
    expect(resolvePgVersion({ serverVersionNum: 160002 })).toEqual({ major: 16, source: 'server' });
    expect(resolvePgVersion({})).toEqual({ major: 18, source: 'default' });
    // A server newer than the grammar is judged as the newest version the rules know, and says so.
    const newer = resolvePgVersion({ serverVersionNum: 190000 });
    expect(newer).toEqual({ major: 18, source: 'server', serverMajor: 19 });
    expect(describePgVersion(newer)).toBe(
      'PostgreSQL 18 (the server is 19, the nearest version the rules know)',
    );
  });

  it('is read from dbmigrate.json lint.pgVersion, and a bad one is a configuration error naming the field', () => {
    expect(parseConfig({ lint: { pgVersion: '15.4' } }, 'dbmigrate.json').lint.pgVersion).toBe(15);
    expect(parseConfig({ lint: { pgVersion: 12 } }, 'dbmigrate.json').lint.pgVersion).toBe(12);
    expect(parseConfig({ lint: 'warn' }, 'dbmigrate.json').lint.pgVersion).toBeUndefined();
    expect(() => parseConfig({ lint: { pgVersion: 9 } }, 'dbmigrate.json')).toThrow(
      'dbmigrate.json: lint.pgVersion: "9" is older than the versions the lint rules know; give a major version from 10 to 18',
    );
  });
});

describe('ADD COLUMN with a constant DEFAULT (no rewrite from PostgreSQL 11)', () => {
  const sql = "alter table t add column c text default 'x';";

  it('rewrites the table on 10, and the finding says why and what to do there', async () => {
    const [f, ...rest] = await lintOne(sql, at(10));
    expect(rest).toEqual([]);
    expect(f?.ruleId).toBe('adding-field-with-volatile-default');
    expect(f?.message).toContain(
      'before PostgreSQL 11 a DEFAULT, even a constant one, is written into every existing row (linted for PostgreSQL 10)',
    );
    expect(f?.help).toMatch(/^Before PostgreSQL 11 every DEFAULT on ADD COLUMN rewrites the table/);
  });

  it('is catalog-only from 11', async () => {
    expect(await lintOne(sql, at(11))).toEqual([]);
  });

  it('NOT NULL with a constant default: a rewrite on 10, fine from 11', async () => {
    const notNull = 'alter table t add column c bigint not null default 0;';
    expect(ruleIds(await lintOne(notNull, at(10)))).toEqual(['adding-field-with-volatile-default']);
    expect(await lintOne(notNull, at(11))).toEqual([]);
  });

  it('DEFAULT NULL writes nothing on any version', async () => {
    expect(await lintOne('alter table t add column c text default null;', at(10))).toEqual([]);
  });
});

describe('SET NOT NULL after a validated CHECK (the scan is skipped from PostgreSQL 12)', () => {
  const set = [
    'alter table t add constraint t_a_nn check (a is not null) not valid;',
    'alter table t validate constraint t_a_nn;',
    'alter table t alter column a set not null;',
  ];

  it('still scans on 11: flagged, with the reason and advice for 11', async () => {
    const findings = await lintSet(set, at(11));
    expect(ruleIds(findings)).toEqual(['set-not-null-without-check']);
    expect(findings[0]?.message).toContain(
      'PostgreSQL 11 scans even with the validated CHECK (a IS NOT NULL); it uses one to skip the scan only from PostgreSQL 12',
    );
    expect(findings[0]?.help).toMatch(/^Before PostgreSQL 12, SET NOT NULL scans/);
  });

  it('passes on 12', async () => {
    expect(await lintSet(set, at(12))).toEqual([]);
  });

  it('advises NOT NULL … NOT VALID only from 18', async () => {
    const bare = 'alter table t alter column a set not null;';
    const on17 = await lintOne(bare, at(17));
    expect(on17[0]?.help).toMatch(/^First ADD CONSTRAINT c CHECK \(col IS NOT NULL\) NOT VALID/);
    expect(on17[0]?.help).not.toContain('NOT NULL col NOT VALID');
    const on18 = await lintOne(bare, at(18));
    expect(on18[0]?.help).toMatch(/^On PostgreSQL 18\+: ALTER TABLE … ADD CONSTRAINT c NOT NULL/);
  });
});

describe('NOT NULL constraints NOT VALID (PostgreSQL 18)', () => {
  const add = 'alter table t add constraint t_a_nn not null a not valid;';

  it('is rejected before 18: an error that gives the CHECK route instead', async () => {
    const findings = await lintOne(add, at(17));
    expect(ruleIds(findings)).toEqual(['requires-newer-postgres']);
    expect(findings[0]?.message).toBe(
      'ADD CONSTRAINT … NOT NULL … NOT VALID needs PostgreSQL 18; linted for PostgreSQL 17, which rejects the statement',
    );
    expect(findings[0]?.help).toContain('CHECK (col IS NOT NULL) NOT VALID');
  });

  it('on 18, adding it NOT VALID then validating it later makes SET NOT NULL safe', async () => {
    expect(await lintOne(add, at(18))).toEqual([]);
    expect(
      await lintSet(
        [
          add,
          'alter table t validate constraint t_a_nn;',
          'alter table t alter column a set not null;',
        ],
        at(18),
      ),
    ).toEqual([]);
  });

  it('on 18, adding it without NOT VALID scans like SET NOT NULL', async () => {
    expect(
      ruleIds(await lintOne('alter table t add constraint t_a_nn not null a;', at(18))),
    ).toEqual(['set-not-null-without-check']);
  });
});

describe('REINDEX CONCURRENTLY (PostgreSQL 12)', () => {
  it('is rejected on 11 and fine on 12', async () => {
    const sql = nonTx('reindex index concurrently t_a_idx;');
    const on11 = await lintOne(sql, at(11));
    expect(ruleIds(on11)).toEqual(['requires-newer-postgres']);
    expect(on11[0]?.help).toContain('CREATE INDEX CONCURRENTLY');
    expect(await lintOne(sql, at(12))).toEqual([]);
  });

  it('a plain REINDEX on 11 is advised a concurrent build and swap, never REINDEX CONCURRENTLY', async () => {
    const [f] = await lintOne('reindex index t_a_idx;', at(11));
    expect(f?.ruleId).toBe('reindex-without-concurrently');
    expect(f?.message).toContain('(PostgreSQL 11 has no REINDEX CONCURRENTLY)');
    expect(f?.help).toMatch(
      /^PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a replacement/,
    );
    const [on12] = await lintOne('reindex index t_a_idx;', at(12));
    expect(on12?.help).toMatch(/^Use REINDEX … CONCURRENTLY/);
  });
});

describe('DETACH PARTITION … CONCURRENTLY (PostgreSQL 14)', () => {
  it('is rejected on 13 and fine on 14', async () => {
    const sql = nonTx('alter table events detach partition events_2020 concurrently;');
    expect(ruleIds(await lintOne(sql, at(13)))).toEqual(['requires-newer-postgres']);
    expect(await lintOne(sql, at(14))).toEqual([]);
  });

  it('a plain DETACH on 13 is advised a window, not the CONCURRENTLY form it lacks', async () => {
    const [f] = await lintOne('alter table events detach partition events_2020;', at(13));
    expect(f?.ruleId).toBe('require-concurrent-partition-detach');
    expect(f?.help).toMatch(/^PostgreSQL before 14 has no DETACH PARTITION … CONCURRENTLY/);
  });
});

describe('generated columns', () => {
  it('VIRTUAL (the default from 18 when STORED is not written) adds no rewrite on 18 and is rejected on 17', async () => {
    const virtual = 'alter table t add column c bigint generated always as (a * 2);';
    expect(await lintOne(virtual, at(18))).toEqual([]);
    expect(ruleIds(await lintOne(virtual, at(17)))).toEqual(['requires-newer-postgres']);
  });

  it('STORED rewrites an existing table from 12, and does not exist on 11', async () => {
    const stored = 'alter table t add column c bigint generated always as (a * 2) stored;';
    expect(ruleIds(await lintOne(stored, at(12)))).toEqual(['adding-field-with-volatile-default']);
    expect(ruleIds(await lintOne(stored, at(11)))).toEqual([
      'adding-field-with-volatile-default',
      'requires-newer-postgres',
    ]);
  });
});

describe('other statements older servers reject', () => {
  it('SET ACCESS METHOD before 15', async () => {
    const sql = 'alter table t set access method heap2;';
    expect(ruleIds(await lintOne(sql, at(14)))).toEqual(['requires-newer-postgres']);
    expect(ruleIds(await lintOne(sql, at(15)))).toEqual(['table-rewrite']);
  });

  it('ALTER TYPE … ADD VALUE in a transaction before 12, unless the type is created in it', async () => {
    const sql = "alter type mood add value 'sad' after 'ok';";
    expect(ruleIds(await lintOne(sql, at(11)))).toEqual(['requires-newer-postgres']);
    expect(await lintOne(sql, at(12))).toEqual([]);
    const repeatable = "alter type mood add value if not exists 'sad' after 'ok';";
    expect(await lintOne(nonTx(repeatable), at(11))).toEqual([]);
    expect(await lintOne(`create type mood as enum ('ok');\n${sql}`, at(11))).toEqual([]);
  });
});
