import type pg from 'pg';

/** Physical identity and write counters of every user table and index, between two migrations. */
export interface RelationState {
  readonly filenodes: ReadonlyMap<
    string,
    { readonly name: string; readonly filenode: string; readonly kind: string }
  >;
  readonly writes: ReadonlyMap<string, number>;
}

/**
 * Read on the probe connection while no migration runs. The migrating session has just
 * disconnected, which flushes its statistics, so the write counters are current.
 */
export async function readRelationState(
  client: pg.ClientBase,
  historySchema: string,
): Promise<RelationState> {
  await client.query('select pg_stat_clear_snapshot()');
  const rels = await client.query<{ oid: string; name: string; filenode: string; kind: string }>(
    `select c.oid::text as oid, c.oid::regclass::text as name, c.relfilenode::text as filenode, c.relkind::text as kind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'm', 'i') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%' and n.nspname <> $1`,
    [historySchema],
  );
  const stats = await client.query<{ oid: string; writes: string }>(
    `select relid::text as oid, (n_tup_ins + n_tup_upd + n_tup_del)::text as writes
       from pg_stat_user_tables where schemaname <> $1`,
    [historySchema],
  );
  return {
    filenodes: new Map(
      rels.rows.map((r) => [r.oid, { name: r.name, filenode: r.filenode, kind: r.kind }]),
    ),
    writes: new Map(stats.rows.map((r) => [r.oid, Number(r.writes)])),
  };
}

/** Tables and indexes whose storage was replaced (a rewrite: ALTER TYPE, VACUUM FULL, CLUSTER, TRUNCATE, REINDEX). */
export function rewrittenRelations(before: RelationState, after: RelationState): string[] {
  const out: string[] = [];
  for (const [oid, b] of before.filenodes) {
    const a = after.filenodes.get(oid);
    if (a && a.filenode !== b.filenode) out.push(`${a.kind === 'i' ? 'index' : 'table'} ${a.name}`);
  }
  return out.sort();
}

export function rowsWritten(before: RelationState, after: RelationState): number {
  let total = 0;
  for (const [oid, w] of after.writes) total += Math.max(0, w - (before.writes.get(oid) ?? 0));
  return total;
}
