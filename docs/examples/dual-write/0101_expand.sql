-- Expand: a normalised copy of documents.title, kept in step by a trigger until the
-- application reads the new column. Existing rows are filled by `dbmigrate backfill`.
-- dbmigrate:lock_timeout=2s
-- migrate:up
alter table documents add column title_norm text;

create function documents_title_norm_sync() returns trigger
language plpgsql as $$
begin
  new.title_norm := lower(new.title);
  return new;
end;
$$;

create trigger documents_title_norm_sync
  before insert or update of title on documents
  for each row execute function documents_title_norm_sync();

-- migrate:down
drop trigger documents_title_norm_sync on documents;
drop function documents_title_norm_sync();
alter table documents drop column title_norm;
