-- The 3072-d ANN index, step 4 of 4: HNSW over the stored bits with Hamming distance
-- (m = 16, ef_construction = 64, pgvector's defaults). On 100k documents it builds in about
-- 10 s and takes 66 MB, against 59 s and 781 MB for a halfvec(3072) HNSW with the same recall
-- after re-ranking (docs/pgvector-dimensions.md). CONCURRENTLY: writers go on; a failed build
-- leaves an INVALID index that `apply --resume` drops and rebuilds.
-- dbmigrate:transaction=false lock_timeout=5s lock_retries=5
-- migrate:up
-- The build is several times faster when the graph fits in maintenance_work_mem (about 0.7 kB
-- a row: 66 MB per 100k rows); this session only, reset below.
set maintenance_work_mem = '1GB';

create index concurrently if not exists documents_embedding_bq_hnsw
  on documents using hnsw (embedding_bq bit_hamming_ops) with (m = 16, ef_construction = 64);

reset maintenance_work_mem;

-- migrate:down
drop index concurrently if exists documents_embedding_bq_hnsw;
