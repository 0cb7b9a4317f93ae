// The lint rule corpus: for every rule, statements it must flag and the safe alternatives it
// must pass. test/unit/lint-rules.test.ts checks our linter against it; tools/squawk-agreement.ts
// runs Squawk over the same cases (docs/lint.md, "Beside Squawk").
import { migration, type MigrationSpec } from './fixtures.js';
import { lintOne, lintSet, NON_TX } from './lint-helpers.js';
import type { LintFinding } from '../../src/safety/lint/finding.js';
import type { LintRuleId } from '../../src/safety/lint/rules.js';

/** One migration's up SQL, a migration spec (header directives), or a whole set in ID order. */
export type Case = string | MigrationSpec | readonly (string | MigrationSpec)[];

export interface RuleCases {
  readonly flagged: readonly Case[];
  /** The safe alternative: the rule stays quiet and nothing else is an error either. */
  readonly safe: readonly Case[];
}

const nonTx = (up: string): MigrationSpec => ({ header: NON_TX, up });

export const LINT_CASES: Record<LintRuleId, RuleCases> = {
  'syntax-error': {
    flagged: ['create tabel t (id bigint);', 'select 1;\nalter table t add colum c text;'],
    safe: ['create table t (id bigint);'],
  },
  'invalid-ignore-comment': {
    flagged: [
      '-- dbmigrate-lint: ignore no-such-rule\ncreate table t (id bigint);',
      '-- dbmigrate-lint: ignroe ban-drop-table\ncreate table t (id bigint);',
      '-- dbmigrate-lint: ignore\ncreate table t (id bigint);',
      '-- dbmigrate-lint: ignore syntax-error\ncreate table t (id bigint);',
      '-- dbmigrate-lint: ignore ban-drop-table\n\ndrop table t;',
    ],
    safe: ['-- dbmigrate-lint: ignore ban-drop-table retired in v3 (ticket 42)\ndrop table t;'],
  },
  'transaction-control-in-migration': {
    flagged: [
      'begin;\nalter table t add column c text;\ncommit;',
      'start transaction;\nalter table t add column c text;\nend;',
      nonTx('alter table t add column c text;\nrollback;'),
      "prepare transaction 'x';",
    ],
    safe: [
      'alter table t add column c text;',
      'savepoint s;\nalter table t add column c text;\nrelease savepoint s;',
    ],
  },
  'concurrently-in-transaction': {
    flagged: [
      'create index concurrently t_a_idx on t (a);',
      'drop index concurrently t_a_idx;',
      'reindex index concurrently t_a_idx;',
      'alter table events detach partition events_2020 concurrently;',
      nonTx('begin;\ncreate index concurrently t_a_idx on t (a);\ncommit;'),
    ],
    safe: [
      nonTx('create index concurrently t_a_idx on t (a);'),
      nonTx('drop index concurrently t_a_idx;'),
      nonTx('reindex index concurrently t_a_idx;'),
      nonTx('alter table events detach partition events_2020 concurrently;'),
    ],
  },
  'missing-lock-timeout': {
    flagged: [
      { header: '-- dbmigrate:lock_timeout=0', up: 'alter table t add column c text;' },
      'set lock_timeout = 0;\nalter table t add column c text;',
      "set local lock_timeout = '0s';\nalter table t drop constraint t_c_check;",
      'reset lock_timeout;\nalter table t add column c text;',
      "set lock_timeout = '0';\nalter table t add constraint t_u_fk foreign key (u_id) references u (id) not valid;",
      nonTx('set lock_timeout = 0;\nlock table t in share mode;'),
    ],
    safe: [
      'alter table t add column c text;',
      "set lock_timeout = '2s';\nalter table t add column c text;",
      {
        header: '-- dbmigrate:lock_timeout=0',
        up: 'create table t2 (id bigint);\nalter table t2 add column c text;',
      },
      { header: '-- dbmigrate:lock_timeout=0', up: 'alter table t validate constraint t_c_check;' },
      {
        header: '-- dbmigrate:lock_timeout=0',
        up: "set lock_timeout = '1s';\nalter table t add column c text;",
      },
    ],
  },
  'require-statement-timeout': {
    flagged: [
      'alter table t add column c text;',
      {
        header: '-- dbmigrate:statement_timeout=0',
        up: 'create index concurrently t_a_idx on t (a);\ndrop table u;',
      },
      {
        header: '-- dbmigrate:statement_timeout=1min',
        up: 'set statement_timeout = 0;\nalter table t add column c text;',
      },
      {
        header: '-- dbmigrate:statement_timeout=1min',
        up: 'reset all;\nalter table t add column c text;',
      },
    ],
    safe: [
      { header: '-- dbmigrate:statement_timeout=1min', up: 'alter table t add column c text;' },
      "set statement_timeout = '5min';\nalter table t add column c text;",
      'create table t2 (id bigint);\nalter table t2 add column c text;',
      'alter table t validate constraint t_c_check;',
      nonTx('create index concurrently t_a_idx on t (a);'),
    ],
  },
  'require-concurrent-index-creation': {
    flagged: [
      'create index t_a_idx on t (a);',
      'create unique index t_a_key on public.t (a);',
      ['create table t (a bigint);', 'create index t_a_idx on t (a);'],
    ],
    safe: [
      nonTx('create index concurrently t_a_idx on t (a);'),
      'create table t (a bigint);\ncreate index t_a_idx on t (a);',
      'create table app.t (a bigint);\ncreate index t_a_idx on t (a);',
      'create index events_at_idx on only events (at);',
    ],
  },
  'require-concurrent-index-deletion': {
    flagged: ['drop index t_a_idx;', 'drop index if exists public.t_a_idx, t_b_idx;'],
    safe: [
      nonTx('drop index concurrently t_a_idx;'),
      'create table t2 (a bigint);\ncreate index t2_a_idx on t2 (a);\ndrop index t2_a_idx;',
    ],
  },
  'ban-reindex-system': {
    flagged: ['reindex system app;'],
    safe: [nonTx('reindex database concurrently app;')],
  },
  'reindex-without-concurrently': {
    flagged: ['reindex index t_a_idx;', 'reindex table t;', 'reindex database app;'],
    safe: [
      nonTx('reindex index concurrently t_a_idx;'),
      nonTx('reindex table concurrently t;'),
      'create table t2 (a bigint);\nreindex table t2;',
    ],
  },
  'constraint-missing-not-valid': {
    flagged: [
      'alter table t add constraint t_u_fk foreign key (u_id) references u (id);',
      'alter table t add constraint t_a_positive check (a > 0);',
      'alter table t add column u_id bigint references u (id);',
      'alter table t add column a bigint check (a > 0);',
      'alter table t add constraint t_a_positive check (a > 0) not valid;\nalter table t validate constraint t_a_positive;',
      'alter table t add foreign key (u_id) references u (id) not valid;\nalter table t validate constraint t_u_id_fkey;',
    ],
    safe: [
      'alter table t add constraint t_u_fk foreign key (u_id) references u (id) not valid;',
      'alter table t add constraint t_a_positive check (a > 0) not valid;',
      [
        'alter table t add constraint t_a_positive check (a > 0) not valid;',
        'alter table t validate constraint t_a_positive;',
      ],
      nonTx(
        'alter table t add constraint t_a_positive check (a > 0) not valid;\nalter table t validate constraint t_a_positive;',
      ),
      'create table t2 (a bigint, u_id bigint references u (id), check (a > 0));\nalter table t2 add constraint t2_b check (a < 10);',
    ],
  },
  'set-not-null-without-check': {
    flagged: [
      'alter table t alter column a set not null;',
      'alter table t add constraint t_a_nn check (a is not null) not valid;\nalter table t alter column a set not null;',
      [
        'alter table t add constraint t_b_nn check (b is not null) not valid;',
        'alter table t validate constraint t_b_nn;',
        'alter table t alter column a set not null;',
      ],
    ],
    safe: [
      nonTx(
        'alter table t add constraint t_a_nn check (a is not null) not valid;\nalter table t validate constraint t_a_nn;\nalter table t alter column a set not null;',
      ),
      [
        'alter table t add constraint t_a_nn check (a is not null) not valid;',
        'alter table t validate constraint t_a_nn;',
        'alter table t alter column a set not null;\nalter table t drop constraint t_a_nn;',
      ],
      [
        'alter table t add check (a is not null and b is not null) not valid;',
        'alter table t validate constraint t_a_check;',
        'alter table t alter column b set not null;',
      ],
      'create table t2 (a bigint);\nalter table t2 alter column a set not null;',
    ],
  },
  'adding-field-with-volatile-default': {
    flagged: [
      'alter table t add column c uuid default gen_random_uuid();',
      'alter table t add column c double precision default random() * 10;',
      'alter table t add column c timestamptz default clock_timestamp();',
      'alter table t add column c bigint default my_function();',
      'alter table t add column c bigserial;',
      'alter table t add column c bigint generated always as identity;',
      'alter table t add column c bigint generated always as (a * 2) stored;',
    ],
    safe: [
      'alter table t add column c timestamptz default now();',
      'alter table t add column c timestamptz not null default current_timestamp;',
      "alter table t add column c jsonb not null default '{}'::jsonb;",
      "alter table t add column c text default 'a' || 'b';",
      "alter table t add column c text default lower('X');",
      "alter table t add column c bigint;\nalter table t alter column c set default nextval('t_c_seq');",
      'create table t2 (id bigint generated always as identity primary key, u uuid default gen_random_uuid());',
      'alter table t add column c bigint generated always as (a * 2) virtual;',
    ],
  },
  'adding-required-field': {
    flagged: [
      'alter table t add column c text not null;',
      'alter table t add column c bigint primary key;',
    ],
    safe: [
      "alter table t add column c text not null default '';",
      'alter table t add column c text;',
      'create table t2 (c text not null);',
    ],
  },
  'changing-column-type': {
    flagged: [
      'alter table t alter column a type bigint;',
      ['create table t (a varchar(20));', 'alter table t alter column a type varchar(10);'],
      ['create table t (a text);', 'alter table t alter column a type bigint using a::bigint;'],
      ['create table t (a numeric(10,2));', 'alter table t alter column a type numeric(12,3);'],
    ],
    safe: [
      ['create table t (a varchar(10));', 'alter table t alter column a type varchar(20);'],
      ['create table t (a varchar(10));', 'alter table t alter column a type text;'],
      ['create table t (a numeric(10,2));', 'alter table t alter column a type numeric(12,2);'],
      'create table t2 (a integer);\nalter table t2 alter column a type bigint;',
    ],
  },
  'renaming-column': {
    flagged: ['alter table t rename column a to b;', 'alter table t rename a to b;'],
    safe: [
      'alter table t add column b text;',
      'create table t2 (a text);\nalter table t2 rename column a to b;',
    ],
  },
  'renaming-table': {
    flagged: ['alter table t rename to t_old;'],
    safe: [
      'create table t2 (a text);\nalter table t2 rename to t3;\ncreate index t3_a_idx on t3 (a);',
      'alter index t_a_idx rename to t_a_index;',
    ],
  },
  'ban-drop-column': {
    flagged: ['alter table t drop column a;', 'alter table t drop column if exists a cascade;'],
    safe: [
      '-- dbmigrate-lint: ignore ban-drop-column unread since v2.3, snapshot taken\nalter table t drop column a;',
      'create table t2 (a text, b text);\nalter table t2 drop column b;',
    ],
  },
  'ban-drop-table': {
    flagged: ['drop table t;', 'drop table if exists t, u cascade;'],
    safe: ['create table tmp (a text);\ndrop table tmp;', 'drop view v;'],
  },
  'ban-drop-database': {
    flagged: ['drop database app;', 'drop database if exists app;'],
    safe: [
      '-- dbmigrate-lint: ignore ban-drop-database decommissioned tenant\ndrop database old_app;',
    ],
  },
  'ban-truncate': {
    flagged: ['truncate t;', 'truncate table t, u restart identity cascade;'],
    safe: [
      'delete from t where id in (select id from t order by id limit 1000);',
      'create table staging (a text);\ntruncate staging;',
    ],
  },
  'adding-primary-key-without-index': {
    flagged: [
      'alter table t add primary key (id);',
      'alter table t add constraint t_pkey primary key (id);',
    ],
    safe: [
      'alter table t add constraint t_pkey primary key using index t_id_idx;',
      'create table t2 (id bigint);\nalter table t2 add primary key (id);',
    ],
  },
  'disallowed-unique-constraint': {
    flagged: [
      'alter table t add constraint t_a_key unique (a);',
      "alter table t add column code text unique default '';",
    ],
    safe: [
      'alter table t add constraint t_a_key unique using index t_a_idx;',
      'create table t2 (a text unique);\nalter table t2 add constraint t2_b unique (a);',
    ],
  },
  'add-exclusion-constraint': {
    flagged: [
      'alter table bookings add constraint no_overlap exclude using gist (during with &&);',
    ],
    safe: [
      'create table bookings2 (during tstzrange, exclude using gist (during with &&));',
      'create table b3 (during tstzrange);\nalter table b3 add constraint b3_x exclude using gist (during with &&);',
    ],
  },
  'ban-alter-domain-with-add-constraint': {
    flagged: [
      'alter domain positive_int add constraint positive_check check (value > 0);',
      'alter domain positive_int set not null;',
    ],
    safe: [
      'alter domain positive_int add constraint positive_check check (value > 0) not valid;',
      'create domain positive_int as integer check (value > 0);',
    ],
  },
  'require-concurrent-partition-detach': {
    flagged: ['alter table events detach partition events_2020;'],
    safe: [nonTx('alter table events detach partition events_2020 concurrently;')],
  },
  'ban-vacuum-full': {
    flagged: [nonTx('vacuum full t;'), nonTx('vacuum (full, analyze) t;'), nonTx('vacuum full;')],
    safe: [nonTx('vacuum (analyze) t;'), nonTx('vacuum (full false) t;')],
  },
  'ban-cluster': {
    flagged: ['cluster t using t_pkey;', 'cluster;'],
    safe: ['create table t2 (id bigint primary key);\ncluster t2 using t2_pkey;'],
  },
  'table-rewrite': {
    flagged: [
      'alter table t set logged;',
      'alter table t set unlogged;',
      'alter table t set tablespace fast_ssd;',
    ],
    safe: [
      'alter table t set (fillfactor = 90);',
      'create unlogged table t2 (a text);\nalter table t2 set logged;',
    ],
  },
  'ban-duplicate-column-assignments': {
    flagged: [
      'create table t2 (a bigint, b text, a text);',
      'update t set a = 1, b = 2, a = 3;',
      'update t set (a, b) = (1, 2), a = 3;',
      'insert into t (a, b, a) values (1, 2, 3);',
      'insert into t (a) values (1) on conflict (a) do update set b = 1, b = 2;',
      'create view v (a, a) as select 1, 2;',
      'create view v as select t.a, u.a from t join u using (id);',
      'create table t2 as select a, count(*), count(*) from t group by a;',
      'create materialized view mv as select a as x, b as x from t;',
      'select a, a into t2 from t;',
      'with moved as (update t set a = 1, a = 2 returning id) select count(*) from moved;',
      'merge into t using s on t.id = s.id when matched then update set a = s.a, a = s.b;',
      // Two names that PostgreSQL truncates to the same 63 bytes.
      `create table t2 (${'c'.repeat(63)}_1 bigint, ${'c'.repeat(63)}_2 bigint);`,
    ],
    safe: [
      'update t set a[1] = 1, a[2] = 2;',
      'update t set c.x = 1, c.y = 2;',
      'insert into t (a[1], a[2]) values (1, 2);',
      'create view v (a, b) as select a, a from t;',
      'create view v as select a, a as a2, b from t;',
      'create table t2 as select a from t union all select a from u;',
      'select a, b into t2 from t;',
    ],
  },
  // Linted for PostgreSQL 11 (CONTEXT below): each statement is one the server rejects there.
  'requires-newer-postgres': {
    flagged: [
      nonTx('reindex index concurrently t_a_idx;'),
      nonTx('alter table events detach partition events_2020 concurrently;'),
      'alter table t add constraint t_a_nn not null a not valid;',
      'alter table t add column c bigint generated always as (a * 2) virtual;',
      'alter table t set access method heap2;',
      "alter type doc_status add value 'archived' after 'published';",
    ],
    safe: [
      nonTx('create index concurrently t_a_idx on t (a);'),
      nonTx("alter type doc_status add value 'archived' after 'published';"),
      "create type mood as enum ('ok');\nalter type mood add value 'sad' after 'ok';",
      'alter table t add constraint t_a_nn check (a is not null) not valid;',
    ],
  },
  'require-concurrent-refresh': {
    flagged: ['refresh materialized view daily_stats;'],
    safe: ['refresh materialized view concurrently daily_stats;'],
  },
  'prefer-bigint': {
    flagged: [
      'create table t2 (id integer primary key);',
      'create table t2 (id serial, primary key (id));',
      'create table t2 (id smallint generated always as identity primary key);',
      'alter table t add column id int primary key default 1;',
      'create table t2 (id bigint primary key, n int4);',
      'create table t2 (id bigint primary key, n smallserial);',
      'create table t2 (id bigint primary key, tags int[]);',
      'alter table t add column n smallint;',
      'alter table t alter column n type integer;',
    ],
    safe: [
      'create table t2 (id bigint generated always as identity primary key);',
      'create table t2 (id uuid primary key, n bigint, tags bigint[], ratio numeric(5, 2));',
      'alter table t add column n bigint;',
      '-- dbmigrate-lint: ignore prefer-bigint quarters are bounded\ncreate table t2 (id bigint primary key, quarter int2 check (quarter between 1 and 4));',
    ],
  },
  'prefer-identity': {
    flagged: [
      'create table t2 (id bigserial primary key);',
      'create table t2 (id bigint, n serial8);',
    ],
    safe: ['create table t2 (id bigint generated by default as identity primary key);'],
  },
  'prefer-text-field': {
    flagged: [
      'create table t2 (id bigint, name varchar(100));',
      'create table t2 (id bigint, name character varying(100)[]);',
      "alter table t add column name varchar(64) default '';",
    ],
    safe: [
      'create table t2 (id bigint, name text check (char_length(name) <= 100));',
      'create table t2 (id bigint, name varchar);',
    ],
  },
  'ban-char-field': {
    flagged: ['create table t2 (code char(3));', 'create table t2 (code character);'],
    safe: ['create table t2 (code text);', 'create table t2 (flag "char");'],
  },
  'prefer-timestamptz': {
    flagged: [
      'create table t2 (at timestamp);',
      'create table t2 (at timestamp(3) without time zone);',
      'alter table t add column at timestamp;',
      'alter table t alter column at type timestamp;',
    ],
    safe: ['create table t2 (at timestamptz);', 'create table t2 (at timestamp with time zone);'],
  },
  'ban-drop-not-null': {
    flagged: [
      'alter table t alter column a drop not null;',
      'alter table t add column b text, alter column a drop not null;',
    ],
    safe: [
      'alter table t alter column a set default 0;',
      'create table t2 (a bigint not null);\nalter table t2 alter column a drop not null;',
    ],
  },
  'ban-create-domain-with-constraint': {
    flagged: [
      'create domain positive_int as bigint check (value > 0);',
      'create domain email as text constraint email_nn not null;',
    ],
    safe: ['create domain email as text;', "create domain email as text default '' null;"],
  },
  'prefer-robust-stmts': {
    flagged: [
      nonTx('create table t2 (id bigint);'),
      nonTx('create table t2 as select * from t;'),
      nonTx('create index concurrently on t (a);'),
      nonTx('create index t2_a_idx on t2 (a);'),
      nonTx('drop index concurrently t_a_idx;'),
      nonTx('drop table t;'),
      nonTx('drop type doc_status;'),
      nonTx('drop trigger t_sync on t;'),
      nonTx('alter table t add column c text;'),
      nonTx('alter table t drop column c;'),
      nonTx('alter table t drop constraint t_c_check;'),
      nonTx('alter table t add constraint t_c_check check (c > 0) not valid;'),
      nonTx('alter table t add check (c > 0) not valid;'),
      nonTx('create sequence s;'),
      nonTx('create view v as select 1 as one;'),
      nonTx('create function f() returns int language sql as $$ select 1 $$;'),
      nonTx("alter type doc_status add value 'archived' after 'published';"),
    ],
    safe: [
      'create table t2 (id bigint);\nalter table t add column c text;\ndrop type doc_status;',
      nonTx('create table if not exists t2 (id bigint);'),
      nonTx('create temporary table scratch (id bigint);'),
      nonTx('create index concurrently t_a_idx on t (a);'),
      nonTx('create index concurrently if not exists t_a_idx on t (a);'),
      nonTx('drop index concurrently if exists t_a_idx;'),
      nonTx('alter table t add column if not exists c text;'),
      nonTx(
        '-- dbmigrate-lint: ignore ban-drop-column unread since v3\nalter table t drop column if exists d;',
      ),
      nonTx(
        'alter table t drop constraint if exists t_c_check, add constraint t_c_check check (c > 0) not valid;\nalter table t validate constraint t_c_check;',
      ),
      nonTx('alter table t alter column c set default 0;'),
      nonTx('create or replace view v as select 1 as one;'),
      nonTx("alter type doc_status add value if not exists 'archived' after 'published';"),
      nonTx("set maintenance_work_mem = '1GB';\nreset maintenance_work_mem;"),
    ],
  },
  'require-table-schema': {
    flagged: [
      'create table t2 (id bigint);',
      'create table t2 as select * from t;',
      'alter table t add column c text;',
      'drop table if exists t2;',
      'create table t2_2026 partition of t2 for values from (1) to (2);',
    ],
    safe: [
      'create table public.t2 (id bigint);',
      'create table app.t2 as select * from app.t;',
      'alter table public.t add column c text;',
      'create temporary table scratch (id bigint);',
      'create materialized view daily as select 1 as one;',
      nonTx('create index concurrently if not exists t_a_idx on t (a);'),
    ],
  },
  'identifier-too-long': {
    flagged: [
      `create table t2 (id bigint, ${'x'.repeat(64)} text);`,
      `create index concurrently ${'i'.repeat(70)} on t (a);`,
      `alter table t add column "${'Ä'.repeat(32)}" text;`,
      `create table ${'t'.repeat(64)} (id bigint);`,
    ],
    safe: [
      `create table t2 (id bigint, ${'x'.repeat(63)} text);`,
      `alter table t add column "${'Ä'.repeat(31)}" text;`,
      `comment on table t is '${'a very long comment '.repeat(10)}';`,
      `do $$ begin perform ${'f'.repeat(70)}(); end $$;`,
    ],
  },
  'require-enum-value-ordering': {
    flagged: ["alter type doc_status add value 'archived';"],
    safe: [
      "alter type doc_status add value 'in_review' before 'published';",
      "alter type doc_status add value if not exists 'archived' after 'published';",
      "alter type doc_status rename value 'draft' to 'drafted';",
    ],
  },
  'unused-ignore': {
    flagged: [
      '-- dbmigrate-lint: ignore ban-drop-table reviewed\nalter table t add column c text;',
      '-- dbmigrate-lint: ignore ban-drop-column, renaming-column reviewed\nalter table t drop column c;',
      '-- dbmigrate-lint: ignore-file ban-truncate reviewed\nalter table t add column c text;',
      '-- dbmigrate-lint: ignore prefer-bigint-primary-key reviewed\ncreate table t2 (id bigint primary key);',
    ],
    safe: [
      '-- dbmigrate-lint: ignore ban-drop-table retired in v3\ndrop table t;',
      '-- dbmigrate-lint: ignore-file ban-drop-table retired in v3\ndrop table t;\ncreate table t2 (id bigint);',
      '-- dbmigrate-lint: ignore require-table-schema search_path is fixed\nalter table t add column c text;',
      '-- dbmigrate-lint: ignore-file unused-ignore kept for the staging lint\n-- dbmigrate-lint: ignore ban-drop-table\nalter table t add column c text;',
    ],
  },
};

export function isSet(c: Case): c is readonly (string | MigrationSpec)[] {
  return Array.isArray(c);
}

/**
 * How a rule's cases are linted when the defaults do not fit: the helpers lint with a
 * statement_timeout, and opt-in rules run only when included.
 */
const CONTEXT: Partial<
  Record<
    LintRuleId,
    { defaultStatementTimeoutMs?: undefined; include?: readonly string[]; pgVersion?: number }
  >
> = {
  'require-statement-timeout': { defaultStatementTimeoutMs: undefined },
  'require-table-schema': { include: ['require-table-schema'] },
  'requires-newer-postgres': { pgVersion: 11 },
};

export async function lintCase(c: Case, id?: LintRuleId): Promise<LintFinding[]> {
  const context = id === undefined ? {} : (CONTEXT[id] ?? {});
  if (typeof c === 'string') return lintOne(c, context);
  if (isSet(c)) return lintSet(c, { pgVersion: context.pgVersion });
  return lintOne(c, context);
}

export function caseLabel(c: Case): string {
  const one = (x: string | MigrationSpec): string =>
    typeof x === 'string' ? x : `${x.header ?? ''} ${x.up ?? ''}`;
  const text = isSet(c) ? c.map(one).join(' | ') : one(c);
  return text.replace(/\s+/g, ' ').slice(0, 90);
}

/** A case's migrations as files would hold them, and whether the engine runs each in a transaction. */
export function caseMigrations(c: Case): { text: string; transactional: boolean }[] {
  const specs = isSet(c) ? c : [c];
  return specs.map((s) => {
    const spec: MigrationSpec = typeof s === 'string' ? { up: s } : s;
    const header = spec.header ?? '';
    return {
      text: [...(header ? [header] : []), '-- migrate:up', spec.up ?? '', ''].join('\n'),
      // The engine's reading of the header, as for the lint of the same case.
      transactional: migration('0001', 'case', spec).directives.transaction,
    };
  });
}
