// The four changes, each written the naive way and the online way this project documents
// (docs/playbook.md, "Online patterns"), and four catalog-only changes, which written plainly
// already are the online way. Every DDL is an inline migration file applied through the real
// Migrator; the online paths add the project's keyset backfill between migrations.
import type { MigrationText } from '../../src/engine/source.js';

export type Step =
  | {
      readonly kind: 'migrate';
      /** Apply up to and including this migration ID. */
      readonly target: string;
      readonly label: string;
    }
  | {
      readonly kind: 'backfill';
      readonly label: string;
      readonly name: string;
      readonly table: string;
      readonly set: string;
      readonly where: string;
    };

export interface PathPlan {
  readonly files: readonly MigrationText[];
  readonly steps: readonly Step[];
}

export interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly naive: PathPlan;
  readonly online: PathPlan;
  /** One row, one boolean column `ok`: the change is complete and equivalent on either path. */
  readonly verify: string;
}

function file(id: string, name: string, up: string, header = ''): MigrationText {
  return {
    file: `${id}_${name}.sql`,
    content: `${header ? `${header}\n` : ''}-- migrate:up\n${up.trim()}\n`,
  };
}

/** The online files ask for what the project's examples ask for: give up on a busy lock fast. */
const SHORT_LOCK = '-- dbmigrate:lock_timeout=2s';

function migrate(target: string, label: string): Step {
  return { kind: 'migrate', target, label };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    key: 'index',
    title: 'index on (source_name, created_at)',
    naive: {
      files: [
        file(
          '0001',
          'index',
          'create index documents_source_created_idx on documents (source_name, created_at);',
        ),
      ],
      steps: [migrate('0001', 'CREATE INDEX')],
    },
    online: {
      files: [
        file(
          '0001',
          'index',
          'create index concurrently documents_source_created_idx on documents (source_name, created_at);',
          `-- dbmigrate:transaction=false\n${SHORT_LOCK}`,
        ),
      ],
      steps: [migrate('0001', 'CREATE INDEX CONCURRENTLY (transaction=false)')],
    },
    verify: `select i.indisvalid as ok from pg_index i
              where i.indexrelid = 'documents_source_created_idx'::regclass`,
  },
  {
    key: 'fk',
    title: 'foreign key documents.source_name → document_sources.name',
    naive: {
      files: [
        file(
          '0001',
          'fk',
          'alter table documents add constraint documents_source_fk foreign key (source_name) references document_sources (name);',
        ),
      ],
      steps: [migrate('0001', 'ADD FOREIGN KEY')],
    },
    online: {
      files: [
        file(
          '0001',
          'fk_not_valid',
          'alter table documents add constraint documents_source_fk foreign key (source_name) references document_sources (name) not valid;',
          SHORT_LOCK,
        ),
        file(
          '0002',
          'fk_validate',
          'alter table documents validate constraint documents_source_fk;',
          SHORT_LOCK,
        ),
      ],
      steps: [migrate('0001', 'ADD … NOT VALID'), migrate('0002', 'VALIDATE CONSTRAINT')],
    },
    verify: `select convalidated as ok from pg_constraint where conname = 'documents_source_fk'`,
  },
  {
    key: 'default',
    title: 'new column indexed_at timestamptz NOT NULL DEFAULT clock_timestamp()',
    naive: {
      files: [
        file(
          '0001',
          'indexed_at',
          'alter table documents add column indexed_at timestamptz not null default clock_timestamp();',
        ),
      ],
      steps: [migrate('0001', 'ADD COLUMN … NOT NULL DEFAULT clock_timestamp() (rewrite)')],
    },
    online: {
      files: [
        file(
          '0001',
          'indexed_at_add',
          `alter table documents add column indexed_at timestamptz;
alter table documents alter column indexed_at set default clock_timestamp();`,
          SHORT_LOCK,
        ),
        file(
          '0002',
          'indexed_at_check',
          'alter table documents add constraint documents_indexed_at_not_null check (indexed_at is not null) not valid;',
          SHORT_LOCK,
        ),
        file(
          '0003',
          'indexed_at_validate',
          'alter table documents validate constraint documents_indexed_at_not_null;',
          SHORT_LOCK,
        ),
        file(
          '0004',
          'indexed_at_not_null',
          `alter table documents alter column indexed_at set not null;
alter table documents drop constraint documents_indexed_at_not_null;`,
          SHORT_LOCK,
        ),
      ],
      steps: [
        migrate('0001', 'ADD COLUMN (nullable) + SET DEFAULT for new rows'),
        {
          kind: 'backfill',
          label: 'runBackfill indexed_at = clock_timestamp()',
          name: 'bench_indexed_at',
          table: 'documents',
          set: 'indexed_at = clock_timestamp()',
          where: 'indexed_at is null',
        },
        migrate('0002', 'CHECK (indexed_at IS NOT NULL) NOT VALID'),
        migrate('0003', 'VALIDATE CONSTRAINT'),
        migrate('0004', 'SET NOT NULL (proved by the check), DROP CHECK'),
      ],
    },
    verify: `select a.attnotnull and not exists (select 1 from documents where indexed_at is null) as ok
               from pg_attribute a
              where a.attrelid = 'documents'::regclass and a.attname = 'indexed_at'`,
  },
  {
    key: 'type',
    title: 'type change doc_type text → varchar(64)',
    naive: {
      files: [
        file(
          '0001',
          'doc_type_varchar',
          'alter table documents alter column doc_type type varchar(64);',
        ),
      ],
      steps: [migrate('0001', 'ALTER COLUMN TYPE (rewrite)')],
    },
    online: {
      files: [
        file(
          '0001',
          'doc_type_expand',
          `alter table documents add column doc_type_new varchar(64);

create function documents_doc_type_sync() returns trigger
language plpgsql as $$
begin
  new.doc_type_new := new.doc_type;
  return new;
end;
$$;

create trigger documents_doc_type_sync
  before insert or update of doc_type on documents
  for each row execute function documents_doc_type_sync();`,
          SHORT_LOCK,
        ),
        file(
          '0002',
          'doc_type_check',
          'alter table documents add constraint documents_doc_type_new_not_null check (doc_type_new is not null) not valid;',
          SHORT_LOCK,
        ),
        file(
          '0003',
          'doc_type_validate',
          'alter table documents validate constraint documents_doc_type_new_not_null;',
          SHORT_LOCK,
        ),
        file(
          '0004',
          'doc_type_contract',
          `drop trigger documents_doc_type_sync on documents;
drop function documents_doc_type_sync();
alter table documents drop column doc_type;
alter table documents rename column doc_type_new to doc_type;
alter table documents alter column doc_type set not null;
alter table documents drop constraint documents_doc_type_new_not_null;`,
          SHORT_LOCK,
        ),
      ],
      steps: [
        migrate('0001', 'expand: ADD COLUMN doc_type_new + dual-write trigger'),
        {
          kind: 'backfill',
          label: 'runBackfill doc_type_new = doc_type',
          name: 'bench_doc_type',
          table: 'documents',
          set: 'doc_type_new = doc_type',
          where: 'doc_type_new is null',
        },
        migrate('0002', 'CHECK (doc_type_new IS NOT NULL) NOT VALID'),
        migrate('0003', 'VALIDATE CONSTRAINT'),
        migrate('0004', 'contract: drop trigger + old column, rename, SET NOT NULL'),
      ],
    },
    verify: `select format_type(a.atttypid, a.atttypmod) = 'character varying(64)' and a.attnotnull as ok
               from pg_attribute a
              where a.attrelid = 'documents'::regclass and a.attname = 'doc_type' and not a.attisdropped`,
  },
];

/**
 * A change PostgreSQL makes in the catalog only (no rewrite, no scan): one migration, written
 * plainly, that the dry-run should find brief enough to need no window.
 */
export interface CatalogScenario {
  readonly key: string;
  readonly title: string;
  /**
   * Migrations of the same set applied beforehand on every fresh copy, with no load and not
   * measured: the state the change starts from (the linter sees them too, as in a project).
   */
  readonly before: readonly MigrationText[];
  /** What `before` and the seed prepared, for the report. */
  readonly prepared: string;
  /** The change: the last migration, applied under load. */
  readonly change: { readonly id: string; readonly file: MigrationText; readonly label: string };
  readonly verify: string;
}

/** The plan of a catalog-only change: everything before it already applied by `prepare`. */
export function catalogPlan(s: CatalogScenario): { prepare: PathPlan | null; change: PathPlan } {
  const files = [...s.before, s.change.file];
  const last = s.before.at(-1);
  return {
    prepare: last
      ? { files, steps: [migrate(last.file.slice(0, last.file.indexOf('_')), 'prepare')] }
      : null,
    change: { files, steps: [migrate(s.change.id, s.change.label)] },
  };
}

/** Exactly one unique index on documents, and it is the primary key. */
const PK_VERIFY = `select count(*) = 1 and bool_and(i.indisprimary) as ok
                     from pg_index i
                    where i.indrelid = 'documents'::regclass and i.indisunique`;

// `documents.lang varchar(5) default 'en'` (nullable, no NULLs) is declared by the schema
// migration and filled by the seed (databases.ts), so these start from a populated column.
export const CATALOG_SCENARIOS: readonly CatalogScenario[] = [
  {
    key: 'const-default',
    title: "new column status text NOT NULL DEFAULT 'published' (constant default)",
    before: [],
    prepared: 'nothing',
    change: {
      id: '0001',
      file: file(
        '0001',
        'status',
        "alter table documents add column status text not null default 'published';",
      ),
      label: "ADD COLUMN … NOT NULL DEFAULT 'published' (no rewrite since PG 11)",
    },
    verify: `select a.attnotnull and a.atthasmissing as ok
               from pg_attribute a
              where a.attrelid = 'documents'::regclass and a.attname = 'status'`,
  },
  {
    key: 'varchar',
    title: 'lang varchar(5) → varchar(35) (widening)',
    before: [],
    prepared: 'nothing (0000_schema has lang varchar(5); the seed fills it)',
    change: {
      id: '0001',
      file: file(
        '0001',
        'lang_varchar35',
        'alter table documents alter column lang type varchar(35);',
      ),
      label: 'ALTER COLUMN lang TYPE varchar(35) (binary-compatible)',
    },
    verify: `select format_type(a.atttypid, a.atttypmod) = 'character varying(35)' as ok
               from pg_attribute a
              where a.attrelid = 'documents'::regclass and a.attname = 'lang'`,
  },
  {
    key: 'not-null',
    title: 'lang SET NOT NULL, proved by a validated CHECK (lang IS NOT NULL)',
    before: [
      file(
        '0001',
        'lang_check',
        'alter table documents add constraint documents_lang_not_null check (lang is not null) not valid;',
        SHORT_LOCK,
      ),
      file(
        '0002',
        'lang_validate',
        'alter table documents validate constraint documents_lang_not_null;',
        SHORT_LOCK,
      ),
    ],
    prepared: 'CHECK (lang IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT',
    change: {
      id: '0003',
      file: file(
        '0003',
        'lang_not_null',
        `alter table documents alter column lang set not null;
alter table documents drop constraint documents_lang_not_null;`,
      ),
      label: 'SET NOT NULL (no scan: the CHECK proves it), DROP CHECK',
    },
    verify: `select a.attnotnull and not exists (select 1 from pg_constraint
                                                     where conname = 'documents_lang_not_null') as ok
               from pg_attribute a
              where a.attrelid = 'documents'::regclass and a.attname = 'lang'`,
  },
  {
    key: 'pk-using-index',
    title: 'primary key for documents (it has none) from a unique index on id built beforehand',
    before: [
      // The state it starts from: a table created without a primary key.
      file('0001', 'documents_no_pkey', 'alter table documents drop constraint documents_pkey;'),
      file(
        '0002',
        'documents_id_key',
        'create unique index concurrently documents_id_key on documents (id);',
        `-- dbmigrate:transaction=false\n${SHORT_LOCK}`,
      ),
    ],
    prepared:
      'no primary key (dropped), then CREATE UNIQUE INDEX CONCURRENTLY documents_id_key ON documents (id)',
    change: {
      id: '0003',
      file: file(
        '0003',
        'documents_pkey',
        'alter table documents add constraint documents_pkey primary key using index documents_id_key;',
      ),
      label: 'ADD PRIMARY KEY USING INDEX (id is NOT NULL already: no scan)',
    },
    verify: PK_VERIFY,
  },
  {
    key: 'pk-swap',
    title:
      'primary key moved to a new unique index on id (also drops the old index, whose file goes at commit)',
    before: [
      file(
        '0001',
        'documents_id_key',
        'create unique index concurrently documents_id_key on documents (id);',
        `-- dbmigrate:transaction=false\n${SHORT_LOCK}`,
      ),
    ],
    prepared: 'CREATE UNIQUE INDEX CONCURRENTLY documents_id_key ON documents (id)',
    change: {
      id: '0002',
      file: file(
        '0002',
        'documents_pkey_swap',
        `alter table documents
  drop constraint documents_pkey,
  add constraint documents_pkey primary key using index documents_id_key;`,
      ),
      label: 'DROP CONSTRAINT documents_pkey, ADD PRIMARY KEY USING INDEX',
    },
    verify: PK_VERIFY,
  },
];
