-- The 3072-d ANN index, step 1 of 4 (docs/pgvector-dimensions.md has the measurements and the
-- choice): pgvector indexes `vector` up to 2,000 dimensions, so similarity search goes through
-- a binary quantisation of the embedding, bit(3072) (one bit per dimension: its sign), with an
-- HNSW Hamming index (0008), and the candidates are re-ranked by exact cosine distance on the
-- full vector. The bits are stored, not computed on the fly, so a scan of a filter's rows reads
-- 384 bytes per row (from the covering btrees of 0007, without touching the heap) instead of
-- detoasting 12 kB.
--
-- Expand: a nullable column without a default is a catalog change (ACCESS EXCLUSIVE for
-- milliseconds, no rewrite); the trigger keeps every new or re-embedded row in step from now on
-- (dual write), and 0006 backfills the rows that existed before.
-- dbmigrate:lock_timeout=2s lock_retries=5
-- migrate:up
alter table documents add column if not exists embedding_bq bit(3072);

create or replace function documents_embedding_bq_sync() returns trigger
language plpgsql as $$
begin
  new.embedding_bq := case when new.embedding is null then null
                           else binary_quantize(new.embedding)::bit(3072) end;
  return new;
end
$$;

create trigger documents_embedding_bq_sync
  before insert or update of embedding on documents
  for each row execute function documents_embedding_bq_sync();

-- migrate:down
drop trigger if exists documents_embedding_bq_sync on documents;

drop function if exists documents_embedding_bq_sync();

-- dbmigrate-lint: ignore ban-drop-column undoes this migration's own derived column (recomputable)
alter table documents drop column if exists embedding_bq;
