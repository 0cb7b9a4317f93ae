-- Archival: documents_archive receives documents older than the configured age
-- (`dbmigrate archive --older-than …`, src/db/archive.ts). Partitioned like documents, so a
-- whole aged month moves by DETACH PARTITION … CONCURRENTLY from documents and ATTACH to the
-- archive (no row copied, no lock that stops readers or writers of documents), while aged rows
-- of documents_legacy move in batches into documents_archive_legacy, which covers the same range.
-- The archive keeps no foreign key (archived documents must not pin their sources) and no
-- vector index (it is not searched by similarity).
-- dbmigrate:lock_timeout=2s lock_retries=5
-- migrate:up
do $$
declare
  legacy_bound text;
begin
  select substring(pg_get_expr(c.relpartbound, c.oid) from $re$TO \('([^']+)'\)$re$)
    into legacy_bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'documents'::regclass and c.relname = 'documents_legacy';
  if legacy_bound is null then
    raise exception 'documents has no documents_legacy partition: apply 0009 first';
  end if;
  create table documents_archive (like documents) partition by range (created_at);
  alter table documents_archive add constraint documents_archive_pkey primary key (id, created_at);
  -- The same definitions as documents' own, so the indexes of an archived month attach as
  -- they are instead of being rebuilt.
  create index documents_archive_created_idx on documents_archive (created_at desc, id desc)
    include (embedding_bq);
  create index documents_archive_source_created_idx
    on documents_archive (source_name, created_at desc, id desc) include (embedding_bq);
  execute format('create table documents_archive_legacy partition of documents_archive for values from (minvalue) to (%L)',
                 legacy_bound);
end
$$;

-- migrate:down
do $$
begin
  if exists (select 1 from documents_archive) then
    raise exception 'documents_archive holds archived documents: move them back before rolling back 0010';
  end if;
  drop table documents_archive;
end
$$;
