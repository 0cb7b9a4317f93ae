import type pg from 'pg';

/** One range partition of a partitioned table. */
export interface PartitionInfo {
  readonly name: string;
  /** Inclusive lower bound, PostgreSQL's text of it; null for MINVALUE. */
  readonly from: string | null;
  /** Exclusive upper bound; null for MAXVALUE. */
  readonly to: string | null;
  /** Rows according to the statistics (reltuples; -1 never analyzed becomes 0). */
  readonly estimatedRows: number;
  /** A DETACH PARTITION … CONCURRENTLY that was interrupted and needs FINALIZE. */
  readonly detachPending: boolean;
}

/** Refusals of the partition and archive commands; `code` is stable for scripts. */
export class PartitionError extends Error {
  constructor(
    readonly code:
      'NOT_PARTITIONED' | 'BAD_INTERVAL' | 'ARCHIVE_MISSING' | 'ARCHIVE_COUNT_MISMATCH',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PartitionError';
  }
}

/** The bounds of `FOR VALUES FROM (…) TO (…)`, as PostgreSQL prints them. */
export function parseRangeBound(expr: string): { from: string | null; to: string | null } {
  const m = /^FOR VALUES FROM \((.+)\) TO \((.+)\)$/.exec(expr.trim());
  if (!m) return { from: null, to: null };
  const value = (s: string | undefined): string | null => {
    const q = /^'(.*)'$/.exec(s ?? '');
    return q ? (q[1] ?? null) : null;
  };
  return { from: value(m[1]), to: value(m[2]) };
}

export async function listPartitions(
  client: pg.ClientBase | pg.Pool,
  table = 'documents',
): Promise<PartitionInfo[]> {
  const kind = await client.query<{ relkind: string }>(
    'select relkind from pg_class where oid = to_regclass($1)',
    [table],
  );
  if (kind.rows[0]?.relkind !== 'p')
    throw new PartitionError(
      'NOT_PARTITIONED',
      kind.rows.length === 0
        ? `${table} does not exist`
        : `${table} is not partitioned: apply migration 0009 first`,
    );
  const res = await client.query<{
    name: string;
    bound: string;
    rows: string;
    pending: boolean;
  }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound,
            greatest(c.reltuples, 0)::bigint::text as rows, i.inhdetachpending as pending
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = to_regclass($1)
      order by c.relpartbound is null, c.relname`,
    [table],
  );
  return res.rows
    .map((r) => ({
      name: r.name,
      ...parseRangeBound(r.bound),
      estimatedRows: Number(r.rows),
      detachPending: r.pending,
    }))
    .sort((a, b) => (a.from === null ? -1 : b.from === null ? 1 : a.from.localeCompare(b.from)));
}

/**
 * Creates the monthly partitions of documents missing up to now() + `ahead` (a PostgreSQL
 * interval such as '3 months'), through the documents_ensure_partitions() function of migration
 * 0009: each is created on its own and attached, so documents is only ever locked SHARE UPDATE
 * EXCLUSIVE. Returns the names created (none when they all exist).
 */
export async function ensurePartitions(
  client: pg.ClientBase | pg.Pool,
  ahead: string,
): Promise<string[]> {
  await checkInterval(client, ahead, '--ahead');
  await listPartitions(client, 'documents');
  const res = await client.query<{ name: string }>(
    'select documents_ensure_partitions($1::interval) as name',
    [ahead],
  );
  return res.rows.map((r) => r.name);
}

/** Refuses an interval PostgreSQL cannot read, or one that is not positive. */
export async function checkInterval(
  client: pg.ClientBase | pg.Pool,
  value: string,
  what: string,
): Promise<void> {
  let positive: boolean | undefined;
  try {
    positive = (
      await client.query<{ ok: boolean }>("select $1::interval > interval '0' as ok", [value])
    ).rows[0]?.ok;
  } catch (err) {
    throw new PartitionError(
      'BAD_INTERVAL',
      `${what}: "${value}" is not an interval (write e.g. "90 days", "6 months", "1 year")`,
      { cause: err },
    );
  }
  if (positive !== true)
    throw new PartitionError('BAD_INTERVAL', `${what}: "${value}" must be a positive interval`);
}
