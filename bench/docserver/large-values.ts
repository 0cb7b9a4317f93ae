// Partial bit(3072) HNSW indexes for the large filter values of a doc-server database, built as
// docs/playbook.md tells an operator to: an index on the partitioned parent alone (ON ONLY,
// catalog only), one built CONCURRENTLY on each partition and attached to it, so that writers go
// on and partitions created later get theirs with the parent's definition.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { PartialIndexKey } from '../../src/db/partial-indexes.js';

const quoteLiteral = (v: string): string => `'${v.replaceAll("'", "''")}'`;

/** The doc_type and source_name values holding at least `share` of the documents, largest first. */
export async function largeValues(
  pool: pg.Pool,
  share: number,
): Promise<(PartialIndexKey & { readonly rows: number })[]> {
  const res = await pool.query<{ column: PartialIndexKey['column']; value: string; n: string }>(
    `with total as (select count(*)::float8 n from documents)
     select * from (
       select 'doc_type' as column, doc_type as value, count(*)::text n from documents group by 2
       union all
       select 'source_name', source_name, count(*)::text from documents group by 2) v
      where v.n::float8 >= $1 * (select n from total)
      order by v.n::bigint desc, 1, 2`,
    [share],
  );
  return res.rows.map((r) => ({ column: r.column, value: r.value, rows: Number(r.n) }));
}

export interface BuiltPartialIndex {
  /** The parent index (partitioned table) or the index (plain table): dropping it drops all. */
  readonly name: string;
  readonly buildMs: number;
  readonly bytes: number;
}

/** Builds the partial index of one value on every partition of documents. */
export async function createPartialIndex(
  pool: pg.Pool,
  key: PartialIndexKey,
): Promise<BuiltPartialIndex> {
  const tag = createHash('sha1')
    .update(`${key.column}\u0000${key.value}`)
    .digest('hex')
    .slice(0, 10);
  const using = `using hnsw (embedding_bq bit_hamming_ops) with (m = 16, ef_construction = 64)
                 where ${key.column} = ${quoteLiteral(key.value)}`;
  const name = `documents_bq_hnsw_${tag}`;
  const client = await pool.connect();
  try {
    const leaves = (
      await client.query<{ name: string }>(
        `select relid::regclass::text as name from pg_partition_tree('documents')
          where isleaf order by 1`,
      )
    ).rows.map((r) => r.name);
    // The graph is built several times faster when it fits maintenance_work_mem (0008 does so).
    await client.query(`set maintenance_work_mem = '1GB'`);
    const t0 = performance.now();
    const built: string[] = [];
    if (leaves.length === 0) {
      await client.query(`create index concurrently if not exists ${name} on documents ${using}`);
      built.push(name);
    } else {
      await client.query(`create index if not exists ${name} on only documents ${using}`);
      for (const leaf of leaves) {
        const child = `${leaf.slice(0, 40)}_bq_${tag}`;
        await client.query(`create index concurrently if not exists ${child} on ${leaf} ${using}`);
        await client.query(`alter index ${name} attach partition ${child}`);
        built.push(child);
      }
    }
    const buildMs = performance.now() - t0;
    const bytes = Number(
      (
        await client.query<{ b: string }>(
          `select coalesce(sum(pg_relation_size(c.oid)), 0)::text b from pg_class c
            where c.relname = any($1)`,
          [built],
        )
      ).rows[0]?.b ?? 0,
    );
    return { name, buildMs, bytes };
  } finally {
    await client.query('reset maintenance_work_mem').catch(() => undefined);
    client.release();
  }
}
