import { splitter } from './fixtures.js';
import { describe, it, expect } from 'vitest';
import {
  migrationChecksum,
  normaliseSql,
  sha256Hex,
  statementsChecksum,
} from '../../src/engine/checksum.js';
import { parseMigrationFile } from '../../src/engine/migration-file.js';

const SQL =
  'create table users (\n  id bigint primary key,\n  email text not null\n);\ncreate index users_email on users (email);';

describe('migrationChecksum', () => {
  it('is the sha256 of the normalised up section, as 64 hex digits', () => {
    expect(migrationChecksum(SQL)).toBe(sha256Hex(SQL));
    expect(migrationChecksum(SQL)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not change when a file is checked out with CRLF line endings', () => {
    expect(migrationChecksum(SQL.replace(/\n/g, '\r\n'))).toBe(migrationChecksum(SQL));
  });

  it('does not change with trailing spaces or tabs at line ends', () => {
    const noisy = SQL.split('\n')
      .map((l, i) => (i % 2 === 0 ? `${l}   ` : `${l}\t`))
      .join('\n');
    expect(migrationChecksum(noisy)).toBe(migrationChecksum(SQL));
  });

  it('does not change with blank lines before or after the SQL', () => {
    expect(migrationChecksum(`\n\n${SQL}\n\n  \n`)).toBe(migrationChecksum(SQL));
  });

  it('changes when a statement changes', () => {
    expect(migrationChecksum(SQL.replace('email text', 'email varchar'))).not.toBe(
      migrationChecksum(SQL),
    );
  });

  it('changes when a statement is added', () => {
    expect(migrationChecksum(`${SQL}\ncreate table b ();`)).not.toBe(migrationChecksum(SQL));
  });

  it('changes when whitespace inside a string literal changes', () => {
    expect(migrationChecksum("select 'a b';")).not.toBe(migrationChecksum("select 'a  b';"));
  });

  it('changes when identifier case changes', () => {
    expect(migrationChecksum('create table "Users" ();')).not.toBe(
      migrationChecksum('create table "users" ();'),
    );
  });
});

describe('migration file checksum', () => {
  const file = (up: string, down = 'drop table t;') =>
    parseMigrationFile('0001_x.sql', `-- migrate:up\n${up}\n-- migrate:down\n${down}\n`, splitter);

  it('is the same for a CRLF file and its LF twin', () => {
    const lf = '-- migrate:up\ncreate table t (id int);  \n-- migrate:down\ndrop table t;\n';
    expect(parseMigrationFile('0001_x.sql', lf.replace(/\n/g, '\r\n'), splitter).checksum).toBe(
      parseMigrationFile('0001_x.sql', lf, splitter).checksum,
    );
  });

  it('does not change when only the down section is edited', () => {
    expect(file('create table t (id int);', 'drop table if exists t;').checksum).toBe(
      file('create table t (id int);').checksum,
    );
  });

  it('changes when the up section is edited', () => {
    expect(file('create table t (id bigint);').checksum).not.toBe(
      file('create table t (id int);').checksum,
    );
  });
});

describe('normaliseSql', () => {
  it('turns CRLF and CR into LF, trims line ends and the whole text', () => {
    expect(normaliseSql('  \r\nselect 1;  \r\n  select 2;\t\rselect 3;\n\n')).toBe(
      'select 1;\n  select 2;\nselect 3;',
    );
  });

  it('gives what the line-by-line normalisation gives, on any mix of spaces and line ends', () => {
    const byLines = (sql: string) =>
      sql
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n')
        .trim();
    const alphabet = ['a', ';', ' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff', 'é'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let i = 0; i < 5000; i++) {
      const length = next() % 12;
      let sql = '';
      for (let k = 0; k < length; k++) sql += alphabet[next() % alphabet.length] ?? '';
      expect(normaliseSql(sql)).toBe(byLines(sql));
    }
    const normal = 'create table t (\n  id int\n);\n\ninsert into t values (1);';
    expect(normaliseSql(normal)).toBe(normal);
  });
});

describe('sha256Hex', () => {
  it('matches the well-known digests', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('statementsChecksum', () => {
  const statements = [
    'create table a (id int)',
    'create table b (id int)',
    'create table c (id int)',
  ];

  it('fingerprints nothing as the hash of the empty string when no statement is done', () => {
    expect(statementsChecksum(statements, 0)).toBe(sha256Hex(''));
  });

  it('depends only on the first `count` statements', () => {
    const edited = [...statements.slice(0, 2), 'create table c (id bigint)'];
    expect(statementsChecksum(edited, 2)).toBe(statementsChecksum(statements, 2));
    expect(statementsChecksum(edited, 3)).not.toBe(statementsChecksum(statements, 3));
  });

  it('changes when a done statement changes', () => {
    const edited = ['create table a (id bigint)', ...statements.slice(1)];
    expect(statementsChecksum(edited, 1)).not.toBe(statementsChecksum(statements, 1));
  });

  it('differs for different counts of the same statements', () => {
    expect(statementsChecksum(statements, 1)).not.toBe(statementsChecksum(statements, 2));
  });

  it('ignores CRLF and trailing whitespace inside each statement', () => {
    const noisy = ['create table a (\r\n id int  \r\n)', ...statements.slice(1)];
    const clean = ['create table a (\n id int\n)', ...statements.slice(1)];
    expect(statementsChecksum(noisy, 3)).toBe(statementsChecksum(clean, 3));
  });

  it('does not confuse where one statement ends and the next begins', () => {
    expect(statementsChecksum(['select 1', 'select 2'], 2)).not.toBe(
      statementsChecksum(['select 1\nselect 2'], 1),
    );
    expect(statementsChecksum(['select 12', '3'], 2)).not.toBe(
      statementsChecksum(['select 1', '23'], 2),
    );
  });

  it('treats a count past the end as all statements', () => {
    expect(statementsChecksum(statements, 10)).toBe(statementsChecksum(statements, 3));
  });
});
