-- Validate the existing rows. VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE on documents
-- (reads and writes go on) while it scans. Sources of documents written between 0002 and 0003
-- are registered first, in the same transaction, so the scan cannot find an orphan.
-- dbmigrate:lock_timeout=2s lock_retries=5
-- migrate:up
insert into document_sources (source_name, description)
select distinct d.source_name, 'registered by migration 0002 (orphaned documents)'
  from documents d
 where not exists (select 1 from document_sources s where s.source_name = d.source_name)
on conflict (source_name) do nothing;

alter table documents validate constraint documents_source_name_fkey;

-- migrate:down
-- A validated constraint needs no undo: rolling back 0003 drops it.
select 1;
