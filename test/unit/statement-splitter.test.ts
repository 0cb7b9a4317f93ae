import { describe, expect, it } from 'vitest';
import { splitSqlStatements } from '../../src/engine/sql-splitter.js';
import {
  mayHoldSeveralStatements,
  scanningSplitter,
  statementSplitterFor,
} from '../../src/engine/statement-splitter.js';
import { splitter } from './fixtures.js';

const FUNCTION_WITH_ATOMIC_BODY = [
  'create function add_one(x int) returns int',
  '  language sql',
  'begin atomic',
  '  select x + 1;',
  'end;',
  'select add_one(1);',
].join('\n');

const RULE_WITH_TWO_ACTIONS = [
  'create rule log_insert as on insert to items do also (',
  '  insert into audit values (new.id);',
  '  insert into audit values (-new.id)',
  ');',
  'select 1;',
].join('\n');

describe('the parser splitter', () => {
  it('keeps a BEGIN ATOMIC body inside its CREATE FUNCTION', () => {
    expect(splitter.split(FUNCTION_WITH_ATOMIC_BODY, 10)).toEqual([
      {
        sql: 'create function add_one(x int) returns int\n  language sql\nbegin atomic\n  select x + 1;\nend',
        line: 10,
      },
      { sql: 'select add_one(1)', line: 15 },
    ]);
    // What the scanning splitter alone made of it: three pieces, the first a syntax error (42601).
    expect(splitSqlStatements(FUNCTION_WITH_ATOMIC_BODY)).toHaveLength(3);
  });

  it("keeps a rule's parenthesised action list inside its CREATE RULE", () => {
    const statements = splitter.split(RULE_WITH_TWO_ACTIONS, 1);
    expect(statements.map((s) => s.line)).toEqual([1, 5]);
    expect(statements[0]?.sql).toBe(RULE_WITH_TWO_ACTIONS.slice(0, -';\nselect 1;'.length));
    expect(splitSqlStatements(RULE_WITH_TWO_ACTIONS)).toHaveLength(3);
  });

  it('gives the same statements and lines as the scanning splitter on ordinary SQL', () => {
    const text = [
      '-- a comment; with a semicolon',
      'create table café (id int, note text default $$a;b$$);',
      "/* block; */ insert into café values (1, E'x\\';y');",
      '',
      ';;',
      'create index concurrently café_id on café (id) -- trailing',
      '-- the end',
    ].join('\n');
    expect(splitter.split(text, 3)).toEqual(splitSqlStatements(text, 3));
    expect(splitter.split(text, 3).map((s) => s.line)).toEqual([4, 5, 8]);
  });

  it('falls back to the scanning splitter when the parser refuses the text', () => {
    const text = 'create tabel a (id int);\nselect 1;';
    expect(splitter.split(text, 1)).toEqual([
      { sql: 'create tabel a (id int)', line: 1 },
      { sql: 'select 1', line: 2 },
    ]);
  });

  it('returns no statement for comments and blanks alone', () => {
    expect(splitter.split('-- nothing\n/* here */\n', 1)).toEqual([]);
  });
});

describe('when the parser is needed at all', () => {
  it('is needed once code follows a semicolon', () => {
    expect(mayHoldSeveralStatements('select 1; select 2')).toBe(true);
    expect(mayHoldSeveralStatements(FUNCTION_WITH_ATOMIC_BODY)).toBe(true);
    expect(mayHoldSeveralStatements("select ';' as s")).toBe(true);
  });

  it('is not needed for one statement, with or without its semicolon and trailing comments', () => {
    expect(mayHoldSeveralStatements('-- migrate:up\ncreate table t (id int);\n-- done\n')).toBe(
      false,
    );
    expect(mayHoldSeveralStatements('select 1')).toBe(false);
  });

  it('loads the parser only for a set with a multi-statement text', async () => {
    expect(await statementSplitterFor(['select 1;', 'select 2;\n'])).toBe(scanningSplitter);
    const parsing = await statementSplitterFor(['select 1;', FUNCTION_WITH_ATOMIC_BODY]);
    expect(parsing).not.toBe(scanningSplitter);
    expect(parsing.split(FUNCTION_WITH_ATOMIC_BODY, 1)).toHaveLength(2);
  });
});
