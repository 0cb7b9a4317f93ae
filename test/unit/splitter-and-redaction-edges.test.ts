import { splitter, statementTexts } from './fixtures.js';
import { describe, expect, it } from 'vitest';
import { parseMigrationFile } from '../../src/engine/migration-file.js';
import { concurrentIndexNames } from '../../src/engine/plan.js';
import { splitSqlStatements } from '../../src/engine/sql-splitter.js';
import { redactSecrets } from '../../src/observability/redact.js';

describe('edge cases found in review', () => {
  it('finds a concurrent index under a comment line', () => {
    const sql =
      'create table t (c int);\n-- speeds up lookups\ncreate index concurrently t_c on t (c);';
    expect(concurrentIndexNames(statementTexts(sql))).toEqual(['t_c']);
    expect(splitSqlStatements(sql)[1]).toEqual({
      sql: 'create index concurrently t_c on t (c)',
      line: 3,
    });
  });

  it('does not take ON for the name of an unnamed concurrent index', () => {
    expect(concurrentIndexNames(statementTexts('create index concurrently on t (a);'))).toEqual([]);
  });

  it("counts the newline escaped by a backslash inside E'...'", () => {
    const lines = splitSqlStatements("select E'a\\\nb';\nselect 2;").map((s) => s.line);
    expect(lines).toEqual([1, 3]);
  });

  it("does not read a word ending in e before a quote as E'...'", () => {
    expect(splitSqlStatements("select 1 where x like'a\\'; select 2;")).toHaveLength(2);
  });

  it('refuses an up section holding only a nested comment', () => {
    expect(() =>
      parseMigrationFile('0001_x.sql', '-- migrate:up\n/* a /* b */ c */\n', splitter),
    ).toThrow('0001_x.sql:1: the up section is empty');
  });

  it('names the directive line for out-of-range values', () => {
    expect(() =>
      parseMigrationFile(
        '0001_x.sql',
        '-- c\n-- dbmigrate:lock_retries=99999999999999999999\n-- migrate:up\nselect 1;',
        splitter,
      ),
    ).toThrow('0001_x.sql:2: directive lock_retries: must be a whole number from 0 to 100');
    expect(() =>
      parseMigrationFile(
        '0001_x.sql',
        '-- dbmigrate:statement_timeout=9999999h\n-- migrate:up\nselect 1;',
        splitter,
      ),
    ).toThrow('0001_x.sql:1: directive statement_timeout: is longer than PostgreSQL allows');
  });

  it('redacts passwords with @ in them, PGPASSWORD=, and JSON password fields', () => {
    expect(redactSecrets('postgres://u:p@ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redactSecrets('PGPASSWORD=secret psql')).toBe('PGPASSWORD=*** psql');
    expect(redactSecrets('{"password":"s3cret","a":1}')).toBe('{"password":"***","a":1}');
  });
});
