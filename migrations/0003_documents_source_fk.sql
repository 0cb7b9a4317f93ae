-- The foreign key, NOT VALID: only new and updated rows are checked, so adding it takes its
-- SHARE ROW EXCLUSIVE locks for milliseconds instead of scanning documents while holding them.
-- documents_source_name_idx (baseline) serves the key on the referencing side.
-- dbmigrate:lock_timeout=2s lock_retries=5
-- migrate:up
alter table documents
  add constraint documents_source_name_fkey
  foreign key (source_name) references document_sources (source_name)
  not valid;

-- migrate:down
alter table documents drop constraint documents_source_name_fkey;
