-- Time partitioning of documents on created_at (docs/partitioning.md: when it pays, and what it
-- costs vector search), online. The existing table is never copied: it becomes the partition
-- `documents_legacy` for everything before a month boundary B at least a week ahead, and
-- monthly partitions take over from B.
--
--   1. an empty partitioned parent under a temporary name, with the same columns, the indexes
--      of 0007/0008 created ON ONLY (built per partition, then attached), the source foreign
--      key (added while the parent is empty: PostgreSQL 15 cannot add a NOT VALID foreign key
--      to a partitioned table, and validating an empty one is instant), the dual-write trigger,
--      and monthly partitions from B to three months ahead;
--   2. CHECK (created_at < B) on the live table, NOT VALID, then validated under SHARE UPDATE
--      EXCLUSIVE (writers go on), so attaching it as a partition needs no scan;
--   3. a unique index on (id, created_at), built CONCURRENTLY: the primary key of a partitioned
--      table must include the partition key;
--   4. the swap, one short transaction under lock_timeout (retried): the legacy primary key is
--      replaced by that index, tables and indexes are renamed, the legacy table is attached,
--      and its privileges are copied to the parent. Catalog changes only: milliseconds.
--
-- Irreversible (no down section): roll forward, or restore the snapshot taken before it. If it
-- stops before the swap, resume it (`apply --resume`) before B: until the swap, rows written
-- with created_at >= B would be refused by the CHECK.
-- dbmigrate:transaction=false lock_timeout=2s lock_retries=10
-- migrate:up
-- Refuse before changing anything when the swap could not work: views and rules point at the
-- table by OID and would keep reading the legacy partition only.
do $$
declare
  views text;
begin
  if (select relkind from pg_class where oid = 'documents'::regclass) <> 'r' then
    raise exception 'documents is already partitioned';
  end if;
  select string_agg(distinct w.ev_class::regclass::text, ', ') into views
    from pg_depend d join pg_rewrite w on w.oid = d.objid
   where d.classid = 'pg_rewrite'::regclass and d.refobjid = 'documents'::regclass
     and w.ev_class <> 'documents'::regclass;
  if views is not null then
    raise exception 'views depend on documents (%): drop them before this migration and recreate them after it', views;
  end if;
end
$$;

-- Creates the monthly partitions (UTC months) missing from the highest existing bound (or
-- `start_at` when there is none) up to now() + ahead, named <prefix>_pYYYYMM (prefix: the
-- parent's name), and returns their names. Run it on a
-- schedule (`dbmigrate partitions ensure`): a row whose created_at has no partition is refused.
create or replace function documents_ensure_partitions(
  ahead interval default interval '3 months',
  parent text default 'documents',
  start_at timestamptz default null,
  prefix text default null
) returns setof text
language plpgsql as $$
declare
  parent_name text;
  parent_schema text;
  lo timestamptz;
  hi timestamptz;
  part text;
begin
  select c.relname, n.nspname into parent_name, parent_schema
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.oid = parent::regclass and c.relkind = 'p';
  if parent_name is null then
    raise exception '% is not a partitioned table', parent;
  end if;
  -- (parent is text, resolved on each call: a regclass default would be frozen to an OID.)
  -- Only SHARE UPDATE EXCLUSIVE on the parent: CREATE TABLE ... PARTITION OF would take
  -- ACCESS EXCLUSIVE, so each partition is created on its own, bounded by a CHECK (instant on
  -- an empty table) and then attached.
  perform set_config('lock_timeout', '2s', true);
  select max(substring(pg_get_expr(c.relpartbound, c.oid) from $re$TO \('([^']+)'\)$re$)::timestamptz)
    into lo
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = parent::regclass;
  lo := coalesce(lo, start_at, date_trunc('month', now(), 'UTC'));
  while lo < now() + ahead loop
    hi := ((lo at time zone 'UTC') + interval '1 month') at time zone 'UTC';
    part := format('%s_p%s', coalesce(prefix, parent_name), to_char(lo at time zone 'UTC', 'YYYYMM'));
    execute format('create table %I.%I (like %I.%I including defaults)',
                   parent_schema, part, parent_schema, parent_name);
    execute format('alter table %I.%I add constraint %I check (created_at >= %L and created_at < %L)',
                   parent_schema, part, part || '_range', lo, hi);
    execute format('alter table %I.%I attach partition %I.%I for values from (%L) to (%L)',
                   parent_schema, parent_name, parent_schema, part, lo, hi);
    return next part;
    lo := hi;
  end loop;
end
$$;

do $$
declare
  bound timestamptz := (date_trunc('month', now() + interval '7 days', 'UTC') at time zone 'UTC'
                        + interval '1 month') at time zone 'UTC';
begin
  create table documents_partitioned (
    id bigint not null,
    doc_type text not null,
    source_name text not null,
    title text,
    content text not null,
    metadata jsonb not null default '{}'::jsonb,
    embedding vector(3072),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    embedding_bq bit(3072),
    constraint documents_partitioned_pkey primary key (id, created_at),
    constraint documents_source_name_fkey foreign key (source_name)
      references document_sources (source_name)
  ) partition by range (created_at);
  -- New rows keep drawing ids from the identity sequence of the existing table.
  execute format('alter table documents_partitioned alter column id set default nextval(%L::regclass)',
                 pg_get_serial_sequence('documents', 'id'));
  create index documents_partitioned_source_created_idx
    on only documents_partitioned (source_name, created_at desc, id desc)
    include (embedding_bq);
  create index documents_partitioned_type_created_idx
    on only documents_partitioned (doc_type, created_at desc, id desc)
    include (embedding_bq);
  create index documents_partitioned_type_source_created_idx
    on only documents_partitioned (doc_type, source_name, created_at desc, id desc)
    include (embedding_bq);
  create index documents_partitioned_created_idx
    on only documents_partitioned (created_at desc, id desc)
    include (embedding_bq);
  create index documents_partitioned_doc_type_idx on only documents_partitioned (doc_type);
  create index documents_partitioned_source_name_idx on only documents_partitioned (source_name);
  create index documents_partitioned_embedding_bq_hnsw
    on only documents_partitioned using hnsw (embedding_bq bit_hamming_ops)
    with (m = 16, ef_construction = 64);
  create trigger documents_embedding_bq_sync
    before insert or update of embedding on documents_partitioned
    for each row execute function documents_embedding_bq_sync();
  -- Enforced for new rows from now on; existing rows are checked by the next statement.
  execute format('alter table documents add constraint documents_legacy_range check (created_at < %L) not valid',
                 bound);
  -- The monthly partitions start at the bound, where the legacy partition will end.
  perform documents_ensure_partitions(interval '3 months', 'documents_partitioned', bound, 'documents');
end
$$;

alter table documents validate constraint documents_legacy_range;

create unique index concurrently if not exists documents_id_created_key on documents (id, created_at);

do $$
declare
  bound timestamptz;
  r record;
  missing text;
begin
  select (regexp_match(pg_get_constraintdef(oid), $re$'([^']+)'$re$))[1]::timestamptz into bound
    from pg_constraint where conrelid = 'documents'::regclass and conname = 'documents_legacy_range';
  if bound is null then
    raise exception 'documents has no documents_legacy_range constraint; was 0009 edited?';
  end if;
  -- Checked again: a view may have been created since the first statement.
  select string_agg(distinct w.ev_class::regclass::text, ', ') into missing
    from pg_depend d join pg_rewrite w on w.oid = d.objid
   where d.classid = 'pg_rewrite'::regclass and d.refobjid = 'documents'::regclass
     and w.ev_class <> 'documents'::regclass;
  if missing is not null then
    raise exception 'views depend on documents (%): drop them, resume this migration, recreate them', missing;
  end if;
  -- Every index of the parent needs its twin on the legacy table, or ATTACH would build it
  -- under ACCESS EXCLUSIVE.
  select string_agg(p.def, '; ') into missing
    from (select regexp_replace(pg_get_indexdef(indexrelid), '^.* USING ', '') as def
            from pg_index where indrelid = 'documents_partitioned'::regclass) p
   where not exists (
     select 1 from pg_index l
      where l.indrelid = 'documents'::regclass and l.indisvalid
        and regexp_replace(pg_get_indexdef(l.indexrelid), '^.* USING ', '') = p.def);
  if missing is not null then
    raise exception 'documents lacks indexes the partitioned table has: %', missing;
  end if;

  lock table documents in access exclusive mode;
  alter table documents drop constraint documents_pkey,
    add constraint documents_legacy_pkey primary key using index documents_id_created_key;
  -- The parent's trigger is cloned onto the partition when it is attached.
  drop trigger documents_embedding_bq_sync on documents;
  alter table documents rename to documents_legacy;
  for r in select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
            where i.indrelid = 'documents_legacy'::regclass and c.relname like 'documents\_%'
              and c.relname not like 'documents\_legacy\_%' loop
    execute format('alter index %I rename to %I', r.relname,
                   'documents_legacy_' || substr(r.relname, length('documents_') + 1));
  end loop;
  alter table documents_partitioned rename to documents;
  for r in select c.relname from pg_class c
            where c.relkind = 'I' and c.relname like 'documents\_partitioned\_%' loop
    execute format('alter index %I rename to %I', r.relname,
                   'documents_' || substr(r.relname, length('documents_partitioned_') + 1));
  end loop;
  execute format('alter table documents attach partition documents_legacy for values from (minvalue) to (%L)',
                 bound);
  for r in select a.grantee, a.privilege_type
             from pg_class c, aclexplode(c.relacl) a
            where c.oid = 'documents_legacy'::regclass and a.grantee <> c.relowner loop
    execute format('grant %s on documents to %s', r.privilege_type,
                   case when r.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(r.grantee)) end);
  end loop;
end
$$;

-- Autovacuum never analyzes a partitioned parent; the planner needs its statistics.
analyze documents;
