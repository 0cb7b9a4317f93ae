-- Contract: once every reader uses title_norm and the backfill has finished.
-- dbmigrate:lock_timeout=2s
-- migrate:up
drop trigger documents_title_norm_sync on documents;
drop function documents_title_norm_sync();
