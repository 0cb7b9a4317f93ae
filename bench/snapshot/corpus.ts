// The doc-server database bench/snapshot backs up: the project's migrations applied by the
// engine and the synthetic corpus of bench/docserver (binary COPY from the generating worker),
// loaded the way bench/docserver loads it (the baseline schema, the documents, then the forward
// migrations: backfill, covering btrees, the HNSW index, partitioning), so the database holds
// what production holds. Then the change between a full and an incremental backup: a share of
// the documents re-embedded (new content and vector) and new documents inserted.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { copyDocuments } from '../docserver/copy-load.js';
import { DATASET_MIGRATIONS_UP_TO } from '../docserver/dataset.js';
import { generateDocuments, type SyntheticDocument } from '../docserver/documents.js';
import { seededRandom, vectorLiteral } from '../docserver/embeddings.js';
import { loadDocuments } from '../docserver/load.js';
import { MANIFOLD } from '../docserver/shapes.js';

export interface LoadedCorpus {
  readonly rows: number;
  readonly copyMs: number;
  readonly migrationsMs: number;
  readonly vacuumMs: number;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-snapshot' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Loads `rows` documents into the empty database `url` and brings it to the newest schema. */
export async function loadCorpus(
  url: string,
  rows: number,
  root: string,
  progress: (message: string) => void,
): Promise<LoadedCorpus> {
  const migrator = new Migrator({
    database: connectorFromUrl(url),
    source: new DirectoryMigrationSource(join(root, 'migrations')),
  });
  const base = await migrator.apply({ target: DATASET_MIGRATIONS_UP_TO });
  if (base.error) throw new Error(`migrations up to 0004 failed: ${base.error.message}`);
  const t0 = performance.now();
  let reported = 0;
  await copyDocuments(url, rows, MANIFOLD, (n) => {
    if (n - reported >= Math.max(10_000, rows / 10) || n === rows) {
      reported = n;
      progress(`loaded ${n.toLocaleString('en')} of ${rows.toLocaleString('en')} documents`);
    }
  });
  const t1 = performance.now();
  progress('applying the forward migrations (backfill, btrees, HNSW, partitioning)');
  const forward = await migrator.apply();
  if (forward.error) throw new Error(`forward migrations failed: ${forward.error.message}`);
  const t2 = performance.now();
  progress('vacuum analyze');
  await withClient(url, async (c) => {
    await c.query('vacuum analyze');
  });
  return {
    rows,
    copyMs: t1 - t0,
    migrationsMs: t2 - t1,
    vacuumMs: performance.now() - t2,
  };
}

export interface CorpusChange {
  readonly updated: number;
  readonly inserted: number;
  readonly ms: number;
  /** WAL the change wrote (pg_current_wal_lsn before and after). */
  readonly walBytes: number;
}

/**
 * What happens between two backups: `updateShare` of the `rows` documents (ids spread over the
 * table by a seeded draw) get new content and a new embedding, as an edited and re-embedded
 * document does (a new TOAST value, a new row version in every index), in batches of 250;
 * `insertShare` new documents are inserted. Deterministic.
 */
export async function changeCorpus(
  url: string,
  rows: number,
  updateShare: number,
  insertShare: number,
): Promise<CorpusChange> {
  return withClient(url, async (client) => {
    const lsn = async (): Promise<string> =>
      (await client.query<{ l: string }>('select pg_current_wal_lsn()::text l')).rows[0]?.l ??
      '0/0';
    const from = await lsn();
    const t0 = performance.now();
    const updates = Math.round(rows * updateShare);
    const random = seededRandom(2026);
    const ids = new Set<number>();
    while (ids.size < updates) ids.add(1 + Math.floor(random() * rows));
    const chosen = [...ids].sort((a, b) => a - b);
    const fresh = generateDocuments(updates, { shape: MANIFOLD, seed: 4242 });
    const next = (): SyntheticDocument => {
      const r = fresh.next();
      if (r.done === true) throw new Error('the generator ran out of documents');
      return r.value;
    };
    for (let at = 0; at < chosen.length; at += 250) {
      const batch = chosen.slice(at, at + 250);
      const docs = batch.map(next);
      await client.query(
        `update documents d
            set content = u.content, embedding = u.embedding::vector, updated_at = now()
           from unnest($1::bigint[], $2::text[], $3::text[]) u(id, content, embedding)
          where d.id = u.id`,
        [
          batch,
          docs.map((d) => `${d.content} (revised)`),
          docs.map((d) => vectorLiteral(d.embedding)),
        ],
      );
    }
    const inserts = Math.round(rows * insertShare);
    await loadDocuments(client, inserts, { shape: MANIFOLD, seed: 9001, end: new Date() });
    const ms = performance.now() - t0;
    const to = await lsn();
    const wal = await client.query<{ b: string }>('select pg_wal_lsn_diff($1, $2)::text b', [
      to,
      from,
    ]);
    return { updated: updates, inserted: inserts, ms, walBytes: Number(wal.rows[0]?.b ?? 0) };
  });
}

/** The documents in `url`: a restored copy must hold what its source held. */
export async function documentCount(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const res = await c.query<{ n: string }>('select count(*)::text n from documents');
    return Number(res.rows[0]?.n ?? -1);
  });
}

export interface DatabaseSize {
  readonly database: number;
  /** User tables (partitions included): main fork, free space and visibility maps. */
  readonly heap: number;
  readonly toast: number;
  readonly indexes: number;
  /** Of the indexes, the HNSW ones. */
  readonly hnsw: number;
}

/** pg_database_size and its split over the user tables' heap, TOAST and indexes. */
export async function databaseSize(url: string): Promise<DatabaseSize> {
  return withClient(url, async (c) => {
    const res = await c.query<Record<keyof DatabaseSize, string>>(
      `with t as (
         select c.oid, c.reltoastrelid from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg_toast%')
       select pg_database_size(current_database())::text as database,
              (select coalesce(sum(pg_table_size(oid)
                 - case when reltoastrelid = 0 then 0 else pg_total_relation_size(reltoastrelid) end), 0)
                 from t)::text as heap,
              (select coalesce(sum(pg_total_relation_size(reltoastrelid)), 0)
                 from t where reltoastrelid <> 0)::text as toast,
              (select coalesce(sum(pg_indexes_size(oid)), 0) from t)::text as indexes,
              (select coalesce(sum(pg_relation_size(i.indexrelid)), 0)
                 from pg_index i join pg_class ic on ic.oid = i.indexrelid
                 join pg_am am on am.oid = ic.relam
                where am.amname = 'hnsw' and i.indrelid in (select oid from t))::text as hnsw`,
    );
    const r = res.rows[0];
    return {
      database: Number(r?.database ?? 0),
      heap: Number(r?.heap ?? 0),
      toast: Number(r?.toast ?? 0),
      indexes: Number(r?.indexes ?? 0),
      hnsw: Number(r?.hnsw ?? 0),
    };
  });
}
