// Facts from a live database, injected as the catalog reader would return them: findings they
// prove harmless are kept as cleared (with the reason), hazards stay findings.
import { describe, expect, it } from 'vitest';
import { summariseFindings, type LintFinding } from '../../src/safety/lint/finding.js';
import { lintMigrations, type LintOptions } from '../../src/safety/lint/linter.js';
import { catalogColumnType, type CatalogTable } from '../../src/safety/lint/schema-facts.js';
import { migration, type MigrationSpec } from './fixtures.js';
import { TEST_STATEMENT_TIMEOUT } from './lint-helpers.js';

const column = (name: string, typname: string, typmod = -1, notNull = false) => ({
  name,
  typname,
  array: false,
  typmod,
  notNull,
});

/** tags: 100 rows in 16 kB; documents: 20,000 rows; events: partitioned. */
const CATALOG: CatalogTable[] = [
  {
    schema: 'public',
    name: 'tags',
    kind: 'r',
    rows: 100,
    bytes: 16_384,
    columns: [
      column('id', 'int8', -1, true),
      column('name', 'varchar', 10 + 4),
      column('slug', 'text'),
      column('n', 'int4'),
    ],
    checks: [
      { name: 'tags_slug_nn', definition: 'CHECK ((slug IS NOT NULL))', validated: true },
      { name: 'tags_n_nn', definition: 'CHECK ((n IS NOT NULL)) NOT VALID', validated: false },
    ],
  },
  {
    schema: 'public',
    name: 'documents',
    kind: 'r',
    rows: 20_000,
    bytes: 1_400_000,
    columns: [column('id', 'int8', -1, true), column('title', 'varchar', 50 + 4)],
    checks: [],
  },
  { schema: 'public', name: 'events', kind: 'p', rows: 0, bytes: 0, columns: [], checks: [] },
];

async function lint(
  ups: readonly (string | MigrationSpec)[],
  options: LintOptions = {},
  applied: readonly string[] = [],
): Promise<LintFinding[]> {
  const migrations = ups.map((up, i) =>
    migration(
      String(i + 1).padStart(4, '0'),
      `m${String(i + 1)}`,
      typeof up === 'string' ? { up } : up,
    ),
  );
  return lintMigrations(migrations, {
    ...TEST_STATEMENT_TIMEOUT,
    live: { catalog: CATALOG, applied: new Set(applied) },
    ...options,
  });
}

describe('the catalog’s types', () => {
  it('reads type modifiers as the rules compare them', () => {
    expect(catalogColumnType('varchar', false, 14)).toEqual({
      name: 'varchar',
      mods: [10],
      array: false,
    });
    expect(catalogColumnType('numeric', false, ((10 << 16) | 2) + 4)).toEqual({
      name: 'numeric',
      mods: [10, 2],
      array: false,
    });
    expect(catalogColumnType('text', true, -1)).toEqual({ name: 'text', mods: [], array: true });
    // A modifier the rules do not read makes the type unknown, never a false match.
    expect(catalogColumnType('interval', false, 32767)).toBeUndefined();
  });
});

describe('index builds and scans on small tables', () => {
  it('clears a plain CREATE INDEX on a 100-row table, saying the figures', async () => {
    const findings = await lint(['create index tags_name_idx on tags (name);']);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      ruleId: 'require-concurrent-index-creation',
      severity: 'error',
      cleared:
        'table tags has ~100 rows (16 kB), under the small-table limit (10,000 rows, 10 MB): the build holds SHARE for milliseconds',
    });
    expect(summariseFindings(findings)).toMatchObject({ errors: 0, cleared: 1, ok: true });
  });

  it('keeps flagging a big table, an unknown one and a partitioned one', async () => {
    for (const sql of [
      'create index documents_title_idx on documents (title);',
      'create index things_a_idx on things (a);',
      'create index events_at_idx on events (at);',
    ]) {
      const findings = await lint([sql]);
      expect(
        findings.map((f) => [f.ruleId, f.cleared]),
        sql,
      ).toEqual([['require-concurrent-index-creation', undefined]]);
    }
  });

  it('uses lint.smallTable when the project sets it', async () => {
    const findings = await lint(['create index tags_name_idx on tags (name);'], {
      smallTable: { maxRows: 50, maxBytes: 10 * 1024 * 1024 },
    });
    expect(findings[0]?.cleared).toBeUndefined();
  });

  it('forgets the size once the migrations write rows into the table', async () => {
    const findings = await lint([
      'insert into tags (id, name) select g, g::text from generate_series(1, 1000000) g;',
      'create index tags_name_idx on tags (name);',
    ]);
    expect(findings.map((f) => f.cleared)).toEqual([undefined]);
  });

  it('clears REINDEX TABLE, ADD PRIMARY KEY / UNIQUE and a CHECK validated on a small table', async () => {
    const findings = await lint([
      'reindex table tags;',
      'alter table tags add constraint tags_name_key unique (name);',
      'alter table tags add constraint tags_n_positive check (n > 0);',
    ]);
    expect(findings.map((f) => [f.ruleId, f.cleared !== undefined])).toEqual([
      ['reindex-without-concurrently', true],
      ['disallowed-unique-constraint', true],
      ['constraint-missing-not-valid', true],
    ]);
  });
});

describe('column types from the database', () => {
  it('clears widening varchar and varchar to text, keeps a real rewrite', async () => {
    const widen = await lint(['alter table tags alter column name type varchar(20);']);
    expect(widen[0]).toMatchObject({
      ruleId: 'changing-column-type',
      cleared:
        'column name is varchar(10) in the database: varchar(20) is binary-compatible, a catalog-only change (no rewrite, ACCESS EXCLUSIVE for milliseconds)',
    });
    expect((await lint(['alter table tags alter column name type text;']))[0]?.cleared).toContain(
      'varchar(10) in the database: text is binary-compatible',
    );
    for (const sql of [
      'alter table tags alter column name type varchar(5);',
      'alter table tags alter column n type bigint;',
    ]) {
      const [f] = await lint([sql]);
      expect([f?.ruleId, f?.cleared], sql).toEqual(['changing-column-type', undefined]);
    }
  });
});

describe('SET NOT NULL with the database’s facts', () => {
  it('clears a column already NOT NULL', async () => {
    const [f] = await lint(['alter table tags alter column id set not null;'], {
      smallTable: NONE,
    });
    expect(f?.cleared).toBe(
      'column id is already NOT NULL in the database: SET NOT NULL changes nothing',
    );
  });

  it('clears one a validated CHECK proves from PostgreSQL 12, not on 11', async () => {
    const sql = 'alter table tags alter column slug set not null;';
    const [on15] = await lint([sql], { smallTable: NONE, pgVersion: 15 });
    expect(on15?.cleared).toBe(
      'the database has the validated CHECK tags_slug_nn (slug IS NOT NULL): PostgreSQL 15 skips the scan',
    );
    const [on11] = await lint([sql], { smallTable: NONE, pgVersion: 11 });
    expect(on11?.cleared).toBeUndefined();
  });

  it('keeps flagging one whose CHECK is NOT VALID', async () => {
    const [f] = await lint(['alter table tags alter column n set not null;'], { smallTable: NONE });
    expect([f?.ruleId, f?.cleared]).toEqual(['set-not-null-without-check', undefined]);
  });
});

describe('where the live facts apply in the set', () => {
  const set = [
    'create table tags (id bigint, name text);',
    'create index tags_name_idx on tags (name);',
  ];

  it('after the migrations the database has applied', async () => {
    const findings = await lint(set, {}, ['0001']);
    expect(findings.map((f) => [f.file, f.cleared !== undefined])).toEqual([
      ['migrations/0002_m2.sql', true],
    ]);
  });

  it('before the first pending one: a table a pending migration creates is no longer the live one', async () => {
    const findings = await lint(set);
    expect(findings.map((f) => [f.ruleId, f.cleared])).toEqual([
      ['require-concurrent-index-creation', undefined],
    ]);
  });
});

/** A small-table limit nothing is under, to test the other reasons alone. */
const NONE = { maxRows: 0, maxBytes: 0 };
