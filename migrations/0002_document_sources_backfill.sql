-- Every source_name used by a document must exist in document_sources before the foreign key
-- documents.source_name → document_sources.source_name can be added. The doc-server never
-- enforced this, so register the missing ones (and report how many there were).
-- Reads documents (ACCESS SHARE: no writer waits), writes only document_sources.
-- dbmigrate:lock_timeout=2s
-- migrate:up
do $$
declare
  missing integer;
begin
  insert into document_sources (source_name, description)
  select distinct d.source_name, 'registered by migration 0002 (orphaned documents)'
    from documents d
   where not exists (select 1 from document_sources s where s.source_name = d.source_name)
  on conflict (source_name) do nothing;
  get diagnostics missing = row_count;
  raise notice 'registered % source(s) that documents referenced but document_sources lacked', missing;
end
$$;

-- migrate:down
delete from document_sources where description = 'registered by migration 0002 (orphaned documents)';
