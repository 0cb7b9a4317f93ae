-- The 3072-d ANN index, step 2 of 4: quantise the embeddings of the rows that existed before
-- 0005's trigger, in keyset batches of 2,000 ids, each committed on its own, so row locks are
-- held for one batch only and replicas and autovacuum keep up. Idempotent (it only touches rows
-- whose bits are missing), so an interrupted run is simply re-run (`apply --resume`).
-- dbmigrate:transaction=false lock_timeout=2s lock_retries=5
-- migrate:up
do $$
declare
  last_id bigint := 0;
  batch_end bigint;
  done bigint := 0;
  n bigint;
begin
  loop
    select max(id) into batch_end
      from (select id from documents where id > last_id order by id limit 2000) b;
    exit when batch_end is null;
    update documents
       set embedding_bq = binary_quantize(embedding)::bit(3072)
     where id > last_id and id <= batch_end
       and embedding is not null and embedding_bq is null;
    get diagnostics n = row_count;
    done := done + n;
    last_id := batch_end;
    commit;
    perform pg_sleep(0.01);
  end loop;
  raise notice 'quantised % embedding(s)', done;
end
$$;

-- migrate:down
-- Nothing to undo: the column goes with 0005's down section.
select 1;
