import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { migration, splitter } from './fixtures.js';
import { lintOne, lintSet, NON_TX, ruleIds, TEST_STATEMENT_TIMEOUT } from './lint-helpers.js';
import { parseMigrationFile } from '../../src/engine/migration-file.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { LintFindingSchema } from '../../src/safety/lint/finding-schema.js';
import { summariseFindings } from '../../src/safety/lint/finding.js';
import { lintMigration, lintMigrations } from '../../src/safety/lint/linter.js';
import { locksTaken } from '../../src/safety/lint/locks.js';
import { loadSqlParser } from '../../src/safety/lint/parser.js';
import { LINT_RULES } from '../../src/safety/lint/rules.js';

const lines = (...l: string[]): string => l.join('\n');

/** Lints a whole file text as `migrations/<name>`, header comments included. */
async function lintFile(name: string, text: string) {
  const parser = await loadSqlParser();
  return lintMigration(parseMigrationFile(`migrations/${name}`, text, splitter), {
    parser,
    fileText: text,
    ...TEST_STATEMENT_TIMEOUT,
  });
}

describe('file:line of findings', () => {
  it('points at the statement line of a multi-line file, after header, comments and blanks', async () => {
    const findings = await lintFile(
      '0007_idx.sql',
      lines(
        '-- dbmigrate:lock_timeout=2s', //                   1
        '-- adds an index', //                                2
        '-- migrate:up', //                                   3
        '', //                                                4
        'alter table t', //                                   5
        '  add column note text;', //                         6
        '', //                                                7
        '/* a block comment', //                              8
        '   over two lines */', //                            9
        '-- and a line comment', //                           10
        'create index t_note_idx', //                         11
        '  on t (note);', //                                  12
        '-- migrate:down', //                                 13
        'drop index t_note_idx;', //                          14
      ),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      ruleId: 'require-concurrent-index-creation',
      file: 'migrations/0007_idx.sql',
      line: 11,
      column: 1,
      statement: 'create index t_note_idx on t (note)',
    });
  });

  it('counts characters, not UTF-8 bytes, when non-ASCII text stands before a statement', async () => {
    const findings = await lintOne(
      lines(
        '-- Übersicht: naïve café 🎉 — Größe ≥ 3 — 日本語',
        "comment on table t is 'Grüße, 世界 🌍';",
        "select 'é', 'ß'; create index t_a_idx on t (a);",
        "insert into t (name) values ('Łódź 🚀'),",
        "  ('Zürich');",
        "select '🎉'; drop table t;",
      ),
    );
    // fixtures put `-- migrate:up` on line 1, so the up section starts on line 2. Columns
    // count characters: 'é' is 2 bytes, '🎉' 4 bytes (and 2 UTF-16 units), each 1 column.
    expect(findings.map((f) => [f.ruleId, f.line, f.column])).toEqual([
      ['require-concurrent-index-creation', 4, 18],
      ['ban-drop-table', 7, 13],
    ]);
  });

  it('points a column-level finding at the column, not the CREATE TABLE line', async () => {
    const findings = await lintOne(
      lines(
        'create table ünïcode_names (',
        '  id bigint generated always as identity primary key,',
        "  title varchar(200) not null default 'ø',",
        '  created timestamp not null',
        ');',
      ),
    );
    expect(findings.map((f) => [f.ruleId, f.line, f.severity])).toEqual([
      ['prefer-text-field', 4, 'warning'],
      ['prefer-timestamptz', 5, 'warning'],
    ]);
    expect(findings[0]?.column).toBe(3);
  });

  it('points identifier-too-long at the identifier and names what PostgreSQL keeps of it', async () => {
    const long = `${'ü'.repeat(30)}_notes`; // 60 + 6 = 66 bytes, 36 characters
    const findings = await lintOne(
      lines('-- Größe', `create table t2 (id bigint,`, `  "${long}" text, "${long}x" text);`),
    );
    expect(findings.map((f) => [f.ruleId, f.line, f.column])).toEqual([
      ['identifier-too-long', 4, 3],
      ['ban-duplicate-column-assignments', 4, 48],
      ['identifier-too-long', 4, 48],
    ]);
    // 63 bytes: 30 ü and three bytes of "_notes", so both columns are named the same.
    expect(findings[0]?.message).toContain(
      `PostgreSQL keeps only the first 63: ${'ü'.repeat(30)}_no`,
    );
    expect(findings[0]?.message).toContain('66 bytes');
  });

  it('every finding matches the LintFinding schema and abbreviates the statement to 120 chars', async () => {
    const longList = Array.from({ length: 60 }, (_, i) => `c${i} text`).join(', ');
    const findings = await lintOne(`create table wide (${longList}, at timestamp);\ndrop table t;`);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(LintFindingSchema.parse(f)).toEqual(f);
      expect(Array.from(f.statement).length).toBeLessThanOrEqual(120);
      expect(f.statement).not.toMatch(/\s{2,}|\n/);
    }
  });
});

describe('syntax errors', () => {
  it('report the line of the error and still lint the statements that parse', async () => {
    const findings = await lintOne(
      lines(
        "select 'Größe 🎉';", //                 2
        'create index t_a_idx on t (a);', //      3
        'alter table t', //                       4
        '  add column größe text defaultt 1;', // 5
        'drop table t;', //                       6
      ),
    );
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['require-concurrent-index-creation', 3],
      ['syntax-error', 5],
      ['ban-drop-table', 6],
    ]);
    const err = findings.find((f) => f.ruleId === 'syntax-error');
    expect(err?.message).toMatch(/syntax error at or near "defaultt"/);
    // 24 characters (26 UTF-8 bytes) stand before it on its line.
    expect(err?.column).toBe(25);
    expect(err?.statement).toBe('alter table t add column größe text defaultt 1');
  });

  it('reports each broken statement once', async () => {
    const findings = await lintOne(lines('selec 1;', 'select 2;', 'creat table x ();'));
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['syntax-error', 2],
      ['syntax-error', 4],
    ]);
  });

  it('reports an unterminated string at the line where it starts', async () => {
    const findings = await lintOne(lines('select 1;', '', "select 'never closed;", 'select 3;'));
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([['syntax-error', 4]]);
  });
});

describe('ignore comments', () => {
  it('ignore <rule> on the line above silences only that rule for only that statement', async () => {
    const findings = await lintOne(
      lines(
        '-- dbmigrate-lint: ignore ban-drop-column column unused since v3.2',
        'alter table t drop column legacy, alter column a type bigint;',
        'alter table u drop column legacy;',
      ),
    );
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['changing-column-type', 3],
      ['ban-drop-column', 4],
    ]);
  });

  it('accepts several rules, separated by commas, on several comment lines above', async () => {
    const findings = await lintOne(
      lines(
        '-- dbmigrate-lint: ignore ban-drop-column, changing-column-type reviewed in #123',
        '-- a plain comment in between is fine',
        '-- dbmigrate-lint: ignore renaming-column',
        'alter table t drop column legacy, alter column a type bigint;',
        'alter table t rename column b to c;',
      ),
    );
    // The renaming-column ignore stands above the first statement, which renames nothing.
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['unused-ignore', 4],
      ['renaming-column', 6],
    ]);
  });

  it('reports each rule of an ignore that suppresses nothing, at the comment, as a warning', async () => {
    const findings = await lintFile(
      '0004_cleanup.sql',
      lines(
        '-- dbmigrate-lint: ignore-file ban-truncate nothing is truncated here', // 1
        '-- migrate:up', //                                                       2
        '-- dbmigrate-lint: ignore ban-drop-table, renaming-table retired in v3', // 3
        'drop table legacy;', //                                                   4
        '-- dbmigrate-lint: ignore prefer-bigint-primary-key small lookup table', // 5
        'create table kinds (id bigint primary key);', //                         6
      ),
    );
    expect(findings.map((f) => [f.ruleId, f.severity, f.line])).toEqual([
      ['unused-ignore', 'warning', 1],
      ['unused-ignore', 'warning', 3],
      ['unused-ignore', 'warning', 5],
    ]);
    expect(findings.map((f) => f.message)).toEqual([
      'ignore-file for ban-truncate suppresses nothing: no statement of this file has a ban-truncate finding',
      'ignore for renaming-table suppresses nothing: the statement at line 4 has no renaming-table finding',
      'ignore for prefer-bigint-primary-key (now prefer-bigint) suppresses nothing: the statement at line 6 has no prefer-bigint finding',
    ]);
    expect(findings[1]?.statement).toBe(
      '-- dbmigrate-lint: ignore ban-drop-table, renaming-table retired in v3',
    );
  });

  it('does not judge an ignore above a statement that does not parse, or of an opt-in rule not run', async () => {
    const findings = await lintOne(
      lines(
        '-- dbmigrate-lint: ignore ban-drop-table reviewed',
        'drop tabel t;',
        '-- dbmigrate-lint: ignore require-table-schema search_path is fixed',
        'alter table t add column c text;',
      ),
    );
    expect(ruleIds(findings)).toEqual(['syntax-error']);
  });

  it('the former ID prefer-bigint-primary-key still ignores prefer-bigint, above a statement or file-wide', async () => {
    const statement = await lintOne(
      lines(
        '-- dbmigrate-lint: ignore prefer-bigint-primary-key lookup table of 12 rows',
        'create table months (id smallint primary key, name text);',
        'create table days (id smallint primary key);',
      ),
    );
    expect(statement.map((f) => [f.ruleId, f.line])).toEqual([['prefer-bigint', 4]]);
    expect(statement[0]?.message).toBe(
      'primary key column days.id is smallint: values stop at 32,767',
    );
    const file = await lintFile(
      '0003_lookups.sql',
      lines(
        '-- dbmigrate-lint: ignore-file Prefer-Bigint-Primary-Key lookup tables',
        '-- migrate:up',
        'create table months (id smallint primary key, n int);',
      ),
    );
    expect(file).toEqual([]);
  });

  it('a blank line between comment and statement breaks the link and is reported', async () => {
    const findings = await lintOne(
      lines('-- dbmigrate-lint: ignore ban-drop-table', '', 'drop table t;'),
    );
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['invalid-ignore-comment', 2],
      ['ban-drop-table', 4],
    ]);
    expect(findings[0]?.message).toMatch(/not directly above a statement/);
  });

  it('ignore-file in the header silences a rule for the whole file', async () => {
    const text = lines(
      '-- dbmigrate-lint: ignore-file ban-drop-table tables retired in release 9',
      '-- migrate:up',
      'drop table a;',
      'drop table b;',
      'drop index c;',
    );
    const findings = await lintFile('0009_retire.sql', text);
    expect(ruleIds(findings)).toEqual(['require-concurrent-index-deletion']);
  });

  it('ignore-file also works inside the up section (when the header text is not available)', async () => {
    const findings = await lintOne(
      lines('-- dbmigrate-lint: ignore-file ban-drop-table', 'drop table a;', 'drop table b;'),
    );
    expect(findings).toEqual([]);
  });

  it('an ignore naming an unknown rule is a finding and ignores nothing', async () => {
    const findings = await lintOne(
      lines('-- dbmigrate-lint: ignore ban-drop-tabel, ban-drop-column', 'drop table t;'),
    );
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['invalid-ignore-comment', 2],
      ['ban-drop-table', 3],
    ]);
    expect(findings[0]?.message).toContain('"ban-drop-tabel"');
    expect(findings[0]?.statement).toBe(
      '-- dbmigrate-lint: ignore ban-drop-tabel, ban-drop-column',
    );
  });

  it('an unknown rule in a header ignore-file is reported at its header line', async () => {
    const text = lines('-- dbmigrate-lint: ignore-file nope', '-- migrate:up', 'select 1;');
    const findings = await lintFile('0010_x.sql', text);
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([['invalid-ignore-comment', 1]]);
  });

  it('a statement-level ignore in the header ignores nothing and is reported', async () => {
    const text = lines(
      '-- dbmigrate-lint: ignore ban-drop-table',
      '-- migrate:up',
      'drop table t;',
    );
    const findings = await lintFile('0011_x.sql', text);
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['invalid-ignore-comment', 1],
      ['ban-drop-table', 3],
    ]);
  });

  it('syntax errors cannot be ignored', async () => {
    const findings = await lintOne(lines('-- dbmigrate-lint: ignore syntax-error', 'selec 1;'));
    expect(ruleIds(findings).sort()).toEqual(['invalid-ignore-comment', 'syntax-error']);
  });
});

describe('transactions', () => {
  it('names the BEGIN that makes a CONCURRENTLY statement transactional', async () => {
    const findings = await lintOne({
      header: NON_TX,
      up: lines('begin;', 'create index concurrently t_a_idx on t (a);', 'commit;'),
    });
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['transaction-control-in-migration', 3],
      ['concurrently-in-transaction', 4],
      ['transaction-control-in-migration', 5],
    ]);
    expect(findings[1]?.message).toContain('BEGIN at line 3');
  });

  it('CONCURRENTLY after COMMIT in a transaction=false migration is fine', async () => {
    const findings = await lintOne({
      header: NON_TX,
      up: lines(
        '-- dbmigrate-lint: ignore transaction-control-in-migration',
        'begin;',
        '-- dbmigrate-lint: ignore transaction-control-in-migration',
        'commit;',
        'create index concurrently t_a_idx on t (a);',
      ),
    });
    expect(findings).toEqual([]);
  });
});

describe('lock_timeout', () => {
  it('is flagged once per migration, at the first statement that blocks writes', async () => {
    const findings = await lintOne({
      header: '-- dbmigrate:lock_timeout=0',
      up: lines(
        'create table fresh (id bigint);',
        'alter table fresh add column a text;',
        'alter table t add column b text;',
        'alter table u add column c text;',
      ),
    });
    expect(findings.map((f) => [f.ruleId, f.line])).toEqual([['missing-lock-timeout', 5]]);
    expect(findings[0]?.message).toContain('ACCESS EXCLUSIVE on t');
    expect(findings[0]?.message).toContain('lock_timeout=0');
  });

  it('follows the context default, and a directive overrides it', async () => {
    const up = 'alter table t add column b text;';
    expect(ruleIds(await lintOne(up, { defaultLockTimeoutMs: 0 }))).toEqual([
      'missing-lock-timeout',
    ]);
    expect(
      await lintOne({ header: '-- dbmigrate:lock_timeout=3s', up }, { defaultLockTimeoutMs: 0 }),
    ).toEqual([]);
    expect(await lintOne(up, { defaultLockTimeoutMs: 1000 })).toEqual([]);
  });

  it('names the SET that turned it off', async () => {
    const findings = await lintOne(lines('select 1;', 'set lock_timeout to 0;', 'drop index i;'));
    const f = findings.find((x) => x.ruleId === 'missing-lock-timeout');
    expect(f?.message).toContain('SET lock_timeout = 0 at line 3');
    expect(f?.line).toBe(4);
  });

  it('the lock table of a statement covers existing tables only', () => {
    // Used by the lock_timeout rule; checked directly against the documented lock levels.
    const parse = async (sql: string) => (await loadSqlParser()).parse(sql).stmts?.[0]?.stmt;
    return Promise.all([
      parse('alter table t add constraint f foreign key (a) references u (id)'),
      parse('create index concurrently on t (a)'),
      parse('alter table t validate constraint c'),
    ]).then(([fk, cic, validate]) => {
      const all = () => true;
      if (!fk || !cic || !validate) throw new Error('parse failed');
      expect(locksTaken(fk, all)).toEqual([
        { relation: 't', mode: 'ShareRowExclusiveLock' },
        { relation: 'u', mode: 'ShareRowExclusiveLock' },
      ]);
      expect(locksTaken(cic, all)).toEqual([{ relation: 't', mode: 'ShareUpdateExclusiveLock' }]);
      expect(locksTaken(validate, all)).toEqual([
        { relation: 't', mode: 'ShareUpdateExclusiveLock' },
      ]);
      expect(locksTaken(fk, (r) => r.name !== 'u')).toEqual([
        { relation: 't', mode: 'ShareRowExclusiveLock' },
      ]);
    });
  });
});

describe('prefer-robust-stmts', () => {
  it('names the statement and the guard it lacks, in transaction=false migrations only', async () => {
    const up = lines(
      'drop trigger t_sync on app.t;',
      'alter table t add column note text, drop constraint t_old_check;',
      'create index concurrently on t (note);',
    );
    const findings = await lintOne({ header: NON_TX, up });
    expect(
      findings
        .filter((f) => f.ruleId === 'prefer-robust-stmts')
        .map((f) => f.message.split(':')[0]),
    ).toEqual([
      'DROP TRIGGER t_sync ON app.t without IF EXISTS',
      // A subcommand without a location in the parse tree points at its statement.
      'DROP CONSTRAINT t_old_check on t without IF EXISTS',
      'ADD COLUMN note on t without IF NOT EXISTS',
      'CREATE INDEX CONCURRENTLY on t without a name (the engine finds the index a failed or interrupted build left only by its name)',
    ]);
    expect(ruleIds(await lintOne(up))).not.toContain('prefer-robust-stmts');
  });
});

describe('statement_timeout', () => {
  const up = lines(
    'create table t2 (id bigint);',
    'alter table t add column c text;',
    'drop table u;',
  );
  const engineDefault = { defaultStatementTimeoutMs: undefined };

  it("is flagged under the engine's default (none), once per migration, at the first statement that blocks writes", async () => {
    const findings = await lintOne(up, engineDefault);
    expect(findings.map((f) => [f.ruleId, f.line, f.severity])).toEqual([
      ['require-statement-timeout', 3, 'warning'],
      ['ban-drop-table', 4, 'error'],
    ]);
    expect(findings[0]?.message).toContain(
      'takes ACCESS EXCLUSIVE on t with statement_timeout 0 (no statement_timeout directive, and the default statement_timeout is 0 (none))',
    );
  });

  it('follows the context default, and a header directive overrides it either way', async () => {
    const flagged = (findings: { ruleId: string }[]) =>
      findings.some((f) => f.ruleId === 'require-statement-timeout');
    expect(flagged(await lintOne(up, { defaultStatementTimeoutMs: 300_000 }))).toBe(false);
    expect(flagged(await lintOne(up, { defaultStatementTimeoutMs: 0 }))).toBe(true);
    const withDirective = (value: string) => ({
      header: `-- dbmigrate:statement_timeout=${value}`,
      up,
    });
    expect(flagged(await lintOne(withDirective('2min'), engineDefault))).toBe(false);
    const zero = await lintOne(withDirective('0'), { defaultStatementTimeoutMs: 300_000 });
    expect(zero.find((f) => f.ruleId === 'require-statement-timeout')?.message).toContain(
      'the header directive statement_timeout=0',
    );
  });

  it('follows SET and RESET in the migration, and names the one that turned it off', async () => {
    const set = await lintOne(
      lines("set statement_timeout = '30s';", 'alter table t add column c text;'),
      engineDefault,
    );
    expect(ruleIds(set)).toEqual([]);
    const reset = await lintOne(
      lines('reset statement_timeout;', 'alter table t add column c text;'),
      { defaultStatementTimeoutMs: 300_000 },
    );
    expect(reset.map((f) => f.message)).toEqual([
      expect.stringContaining('reset at line 2 to the server default'),
    ]);
  });
});

describe('a set of migrations', () => {
  it('a table is new only in the migration that creates it', async () => {
    const findings = await lintSet([
      'create table docs (id bigint);\ncreate index docs_id_idx on docs (id);',
      'create index docs_id2_idx on docs (id);',
    ]);
    expect(findings.map((f) => [f.file, f.ruleId])).toEqual([
      ['migrations/0002_m2.sql', 'require-concurrent-index-creation'],
    ]);
  });

  it('is linted in ID order whatever order it is given in', async () => {
    const parser = await loadSqlParser();
    expect(parser).toBeDefined();
    const a = migration('0010', 'validate', { up: 'alter table t alter column a set not null;' });
    const b = migration('0002', 'check', {
      header: NON_TX,
      up: 'alter table t drop constraint if exists t_a_nn, add constraint t_a_nn check (a is not null) not valid;\nalter table t validate constraint t_a_nn;',
    });
    expect(await lintMigrations([a, b], TEST_STATEMENT_TIMEOUT)).toEqual([]);
  });

  it('a NOT VALID check that an earlier migration never validated does not count', async () => {
    const findings = await lintSet([
      'alter table t add constraint t_a_nn check (a is not null) not valid;',
      'alter table t alter column a set not null;',
    ]);
    expect(ruleIds(findings)).toEqual(['set-not-null-without-check']);
  });

  it('a dropped check no longer counts', async () => {
    const findings = await lintSet([
      {
        header: NON_TX,
        up: 'alter table t drop constraint if exists c, add constraint c check (a is not null) not valid;\nalter table t validate constraint c;',
      },
      'alter table t drop constraint c;',
      'alter table t alter column a set not null;',
    ]);
    expect(ruleIds(findings)).toEqual(['set-not-null-without-check']);
  });
});

describe('the rule catalogue', () => {
  it('has unique kebab-case IDs, a title, help text and a lock for every rule', () => {
    const ids = LINT_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of LINT_RULES) {
      expect(r.id).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(['error', 'warning']).toContain(r.severity);
      expect(r.title.length).toBeGreaterThan(5);
      expect(r.help.length).toBeGreaterThan(20);
      expect(r.lock.length).toBeGreaterThan(0);
    }
  });

  it('docs/lint.md documents every rule', async () => {
    const doc = await readFile('docs/lint.md', 'utf8');
    for (const r of LINT_RULES) expect(doc, r.id).toContain(`\`${r.id}\``);
  });

  it('summarises: warnings fail only with warningsAsErrors', async () => {
    const findings = await lintOne('create table t2 (id serial8 primary key);');
    expect(summariseFindings(findings)).toEqual({ errors: 0, warnings: 1, cleared: 0, ok: true });
    expect(summariseFindings(findings, true)).toEqual({
      errors: 0,
      warnings: 1,
      cleared: 0,
      ok: false,
    });
  });
});

describe("the project's own migrations", () => {
  it('produce no error-level findings', async () => {
    const migrations = await new DirectoryMigrationSource('migrations').load();
    expect(migrations.length).toBeGreaterThan(0);
    const texts = new Map<string, string>();
    for (const m of migrations) texts.set(m.file, await readFile(m.file, 'utf8'));
    const findings = await lintMigrations(migrations, { fileTexts: texts });
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});
