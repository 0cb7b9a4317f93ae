import { afterEach, describe, expect, it, vi } from 'vitest';
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

describe('parsing migration files without the parser', () => {
  afterEach(() => {
    vi.resetModules();
  });

  /** A fresh parser module (it loads once per module instance), counting its loads. */
  async function freshParse(texts: readonly { file: string; content: string }[]) {
    vi.resetModules();
    const parser = await import('../../src/engine/sql-parser.js');
    const { parseMigrationTexts } = await import('../../src/engine/source.js');
    let loads = 0;
    parser.configureSqlParser({ beforeLoad: () => loads++ });
    const migrations = await parseMigrationTexts(texts);
    return { loads, migrations };
  }

  const upAndDown = (n: number) => ({
    file: `000${String(n)}_t${String(n)}.sql`,
    content: `-- migrate:up\ncreate table t${String(n)} (id int); -- new\n\n-- migrate:down\ndrop table t${String(n)};\n`,
  });

  it('does not load it for files whose sections hold one statement each (an up and a down)', async () => {
    const { loads, migrations } = await freshParse([upAndDown(1), upAndDown(2)]);
    expect(loads).toBe(0);
    expect(migrations.map((m) => [m.up.statements, m.down?.statements])).toEqual([
      [[{ sql: 'create table t1 (id int)', line: 2 }], [{ sql: 'drop table t1', line: 5 }]],
      [[{ sql: 'create table t2 (id int)', line: 2 }], [{ sql: 'drop table t2', line: 5 }]],
    ]);
  });

  it('loads it when one section can hold several, and splits that one by the grammar', async () => {
    const atomic = {
      file: '0003_atomic.sql',
      content: `-- migrate:up\n${FUNCTION_WITH_ATOMIC_BODY}\n-- migrate:down\ndrop function add_one;\n`,
    };
    const { loads, migrations } = await freshParse([upAndDown(1), atomic, upAndDown(2)]);
    expect(loads).toBe(1);
    expect(migrations[1]?.up.statements).toEqual(splitter.split(FUNCTION_WITH_ATOMIC_BODY, 2));
    expect(migrations[1]?.up.statements).toHaveLength(2);
    expect(migrations.map((m) => m.id)).toEqual(['0001', '0003', '0002']);
  });
});
