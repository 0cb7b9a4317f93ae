import { describe, it, expect } from 'vitest';
import { hasCode, splitSqlStatements } from '../../src/engine/sql-splitter.js';

const sqlOf = (text: string): string[] => splitSqlStatements(text).map((s) => s.sql);

describe('splitSqlStatements', () => {
  it('splits at top-level semicolons and drops the semicolons', () => {
    expect(sqlOf('create table a (id int);\ncreate table b (id int);')).toEqual([
      'create table a (id int)',
      'create table b (id int)',
    ]);
  });

  it('keeps a last statement that has no semicolon', () => {
    expect(sqlOf('select 1;\nselect 2')).toEqual(['select 1', 'select 2']);
  });

  it('returns nothing for empty or whitespace-only text', () => {
    expect(splitSqlStatements('')).toEqual([]);
    expect(splitSqlStatements('  \n\t\n')).toEqual([]);
  });

  it('drops empty statements between doubled semicolons', () => {
    expect(sqlOf('select 1;;\n;select 2;')).toEqual(['select 1', 'select 2']);
  });

  it('does not split at a semicolon inside a single-quoted string', () => {
    expect(sqlOf("insert into t values ('a;b');select 2;")).toEqual([
      "insert into t values ('a;b')",
      'select 2',
    ]);
  });

  it("handles '' escapes inside strings", () => {
    expect(sqlOf("select 'it''s; fine';select 2")).toEqual(["select 'it''s; fine'", 'select 2']);
  });

  it("handles a string that is just an escaped quote: ''''", () => {
    expect(sqlOf("select '''';select 2")).toEqual(["select ''''", 'select 2']);
  });

  it("handles backslash escapes in E'...' strings", () => {
    expect(sqlOf("select E'\\';still a string';select 2")).toEqual([
      "select E'\\';still a string'",
      'select 2',
    ]);
    expect(sqlOf("select e'\\\\';select 2")).toEqual(["select e'\\\\'", 'select 2']);
  });

  it('treats a backslash in a standard string as an ordinary character', () => {
    expect(sqlOf("select 'C:\\';select 2")).toEqual(["select 'C:\\'", 'select 2']);
  });

  it('does not split at a semicolon inside a double-quoted identifier', () => {
    expect(sqlOf('create table "a;b" ("x""; y" int);select 2')).toEqual([
      'create table "a;b" ("x""; y" int)',
      'select 2',
    ]);
  });

  it('keeps a $$ function body with semicolons in one statement', () => {
    const fn = [
      'create function f() returns int language plpgsql as $$',
      'begin',
      '  perform 1;',
      '  return 2;',
      'end;',
      '$$',
    ].join('\n');
    expect(sqlOf(`${fn};\nselect f();`)).toEqual([fn, 'select f()']);
  });

  it('keeps a $tag$ body containing $$ and semicolons in one statement', () => {
    const fn = [
      'create function g() returns text language plpgsql as $body$',
      'begin',
      "  execute $$select ';'$$;",
      "  return 'x';",
      'end',
      '$body$',
    ].join('\n');
    expect(sqlOf(`${fn};select 2`)).toEqual([fn, 'select 2']);
  });

  it('keeps a DO block in one statement', () => {
    const block = "do $do$ begin raise notice 'a;b'; end $do$";
    expect(sqlOf(`${block};select 1`)).toEqual([block, 'select 1']);
  });

  it('does not take $1 parameters or identifiers containing $ for dollar quotes', () => {
    expect(sqlOf('prepare p as select $1;select 2')).toEqual([
      'prepare p as select $1',
      'select 2',
    ]);
    expect(sqlOf('select 1 as a$b$;select 2')).toEqual(['select 1 as a$b$', 'select 2']);
  });

  it('ignores semicolons in -- comments', () => {
    expect(sqlOf('select 1 -- a; b; c\n;select 2')).toEqual(['select 1 -- a; b; c', 'select 2']);
  });

  it('ignores semicolons in /* */ comments, nested ones included', () => {
    expect(sqlOf('select /* a; /* b; */ c; */ 1;select 2')).toEqual([
      'select /* a; /* b; */ c; */ 1',
      'select 2',
    ]);
  });

  it('ignores quotes inside comments', () => {
    const statements = sqlOf("select 1; -- don't\nselect 2; /* it's */ select 3");
    expect(statements).toHaveLength(3);
    expect(statements[1]).toMatch(/select 2$/);
    expect(statements[2]).toMatch(/select 3$/);
  });

  it('drops statements that are only comments', () => {
    expect(sqlOf('select 1;\n-- trailing note\n/* and a block */\n')).toEqual(['select 1']);
    expect(sqlOf('-- only a comment; with a semicolon\n')).toEqual([]);
    expect(sqlOf('/* outer /* inner */ still comment */;\nselect 1;')).toEqual(['select 1']);
  });

  it('gives each statement the 1-based line its code starts on', () => {
    const text = ['select 1;', '', '-- comment', 'select', '  2;', '  select 3;'].join('\n');
    expect(splitSqlStatements(text).map((s) => s.line)).toEqual([1, 4, 6]);
  });

  it('offsets lines by firstLine', () => {
    const text = ['', 'select 1;', 'select 2;'].join('\n');
    expect(splitSqlStatements(text, 10).map((s) => s.line)).toEqual([11, 12]);
  });

  it('counts lines inside multi-line strings, identifiers, dollar bodies and block comments', () => {
    const text = [
      "select 'a", // 1
      "b';", // 2
      'select "x', // 3
      'y";', // 4
      'do $$', // 5
      'begin', // 6
      'end $$;', // 7
      '/* one', // 8
      '  two */', // 9
      'select 4;', // 10
      "select E'a\\'", // 11
      "b';", // 12
      'select 6;', // 13
    ].join('\n');
    expect(splitSqlStatements(text).map((s) => s.line)).toEqual([1, 3, 5, 10, 11, 13]);
  });

  it('counts lines with CRLF endings the same as with LF', () => {
    const text = 'select 1;\r\n\r\nselect 2;\r\n/* x\r\n*/ select 3;';
    expect(splitSqlStatements(text).map((s) => s.line)).toEqual([1, 3, 5]);
  });

  it('reads an unterminated string to the end instead of splitting inside it', () => {
    expect(sqlOf("select 'oops; select 2;")).toEqual(["select 'oops; select 2;"]);
  });

  it('reads an unterminated dollar body to the end', () => {
    expect(sqlOf('do $$ begin; end; select 2;')).toEqual(['do $$ begin; end; select 2;']);
  });
});

describe('hasCode', () => {
  it('is false for comments and whitespace only', () => {
    expect(hasCode('')).toBe(false);
    expect(hasCode('  \n\t')).toBe(false);
    expect(hasCode('-- a\n-- b\n')).toBe(false);
    expect(hasCode('/* a\n b */\n-- c')).toBe(false);
  });

  it('is true when any code is present', () => {
    expect(hasCode('select 1')).toBe(true);
    expect(hasCode('-- a\nselect 1 -- b')).toBe(true);
    expect(hasCode('/* a */ select 1')).toBe(true);
  });
});
