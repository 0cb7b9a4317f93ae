// What the linter learns from a live database: the server's version, which migrations are
// applied, and the catalog's facts about the tables (types, NOT NULL, CHECKs, sizes). The
// queries only; what they mean for a rule is decided in the pure modules (schema-facts.ts).
import type pg from 'pg';
import { openClient } from '../../db/connection.js';
import { resolvePgVersion, type PgVersion } from '../../api/pg-version.js';
import { DEFAULTS, type LintSmallTable } from '../../api/settings.js';
import { isInEffect } from '../../engine/history.js';
import { HistoryStore } from '../../engine/history-store.js';
import { quoteIdent } from '../../engine/plan.js';
import type { CatalogTable } from './schema-facts.js';

/** Tables read at most: a bound on the catalog query for databases with very many tables. */
export const MAX_LIVE_TABLES = 5_000;

/** Tables measured at most (size and rows): the ones the planner's estimates call small. */
const MAX_MEASURED_TABLES = 200;

/** `server_version_num` of the connected server (150004 for 15.4). */
export async function readServerVersionNum(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
  return Number(r.rows[0]?.v);
}

/** What a lint run connected to a database judges with. */
export interface LiveLintContext {
  readonly pgVersion: PgVersion;
  /** The user tables as the catalog shows them (before the migrations being linted). */
  readonly catalog: readonly CatalogTable[];
}

export interface LiveLintOptions {
  /** An explicit version (a flag or dbmigrate.json) wins over the server's. */
  readonly explicit?: { readonly flag?: number | undefined; readonly config?: number | undefined };
  /** Rows are counted only for never-analysed tables below this size (the rest are not small). */
  readonly smallTable?: LintSmallTable | undefined;
}

/**
 * The version to lint for on `client`'s server (an explicit one wins: the user may lint for
 * the server production will be upgraded to) and the catalog's facts about its user tables.
 */
export async function liveLintContext(
  client: pg.ClientBase,
  options: LiveLintOptions = {},
): Promise<LiveLintContext> {
  const serverVersionNum = await readServerVersionNum(client);
  const pgVersion = resolvePgVersion({ ...options.explicit, serverVersionNum });
  const catalog = await readCatalog(
    client,
    serverVersionNum,
    options.smallTable ?? DEFAULTS.lintSmallTable,
  );
  return { pgVersion, catalog };
}

/** liveLintContext on a session of its own, closed afterwards. */
export async function liveLintContextAt(
  url: string,
  options: LiveLintOptions & {
    /** Read which migrations are in effect from this history schema (the CLI's lint). */
    readonly historySchema?: string | undefined;
  } = {},
): Promise<LiveLintContext & { readonly applied: ReadonlySet<string> }> {
  const client = await openClient(url, 'dbmigrate:lint');
  try {
    const context = await liveLintContext(client, options);
    const history =
      options.historySchema === undefined
        ? []
        : await new HistoryStore(options.historySchema).read(client);
    return { ...context, applied: new Set(history.filter(isInEffect).map((r) => r.id)) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * How long the reader waits for a table's ACCESS SHARE lock when it measures a table: on a
 * busy production database (or a staging copy a test holds) it must never queue. A table it
 * cannot measure in time has no size, and is never judged small.
 */
const MEASURE_LOCK_TIMEOUT = '200ms';

async function readCatalog(
  client: pg.ClientBase,
  serverVersionNum: number,
  small: LintSmallTable,
): Promise<CatalogTable[]> {
  // Catalog rows only: no lock on any user table. relpages and reltuples are the planner's
  // estimates (from the last VACUUM or ANALYZE), used to pick the tables worth measuring.
  const tables = await client.query<{
    oid: string;
    schema: string;
    name: string;
    kind: string;
    reltuples: number;
    estimated_bytes: string;
  }>(
    `select c.oid::int8 as oid, n.nspname as schema, c.relname as name, c.relkind as kind,
            c.reltuples::float8 as reltuples,
            c.relpages::int8 * current_setting('block_size')::int8 as estimated_bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'm')
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
      order by n.nspname, c.relname
      limit $1`,
    [MAX_LIVE_TABLES],
  );
  const oids = tables.rows.map((t) => t.oid);
  // PostgreSQL 18 keeps an invalid (NOT VALID) NOT NULL in attnotnull too: only a valid one counts.
  const notNull =
    serverVersionNum >= 180000 ? 'a.attnotnull and a.attnotnullvalid' : 'a.attnotnull';
  const columns = await client.query<{
    rel: string;
    name: string;
    typname: string;
    array: boolean;
    typmod: number;
    not_null: boolean;
  }>(
    `select a.attrelid::int8 as rel, a.attname as name,
            coalesce(e.typname, t.typname) as typname, e.oid is not null as array,
            a.atttypmod as typmod, ${notNull} as not_null
       from pg_attribute a
       join pg_type t on t.oid = a.atttypid
       left join pg_type e on t.typcategory = 'A' and e.oid = t.typelem
      where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped`,
    [oids],
  );
  const checks = await client.query<{
    rel: string;
    name: string;
    definition: string;
    validated: boolean;
  }>(
    `select conrelid::int8 as rel, conname as name, pg_get_constraintdef(oid) as definition,
            convalidated as validated
       from pg_constraint where contype = 'c' and conrelid = any($1::oid[])`,
    [oids],
  );
  // Only a table the estimates call small (or never analysed) can be small; it is measured
  // (its size now, its rows counted up to the limit) so a stale estimate clears nothing.
  const candidates = tables.rows
    .filter(
      (t) =>
        t.kind !== 'p' && Number(t.estimated_bytes) < small.maxBytes && t.reltuples < small.maxRows,
    )
    .slice(0, MAX_MEASURED_TABLES);
  const sizes = await measure(client, candidates, small);
  const columnsOf = groupBy(columns.rows, (c) => c.rel);
  const checksOf = groupBy(checks.rows, (c) => c.rel);
  return tables.rows.map((t) => {
    const size = sizes.get(t.oid);
    return {
      schema: t.schema,
      name: t.name,
      kind: t.kind,
      rows: size?.rows,
      bytes: size?.bytes ?? Number(t.estimated_bytes),
      columns: (columnsOf.get(t.oid) ?? []).map((c) => ({
        name: c.name,
        typname: c.typname,
        array: c.array,
        typmod: c.typmod,
        notNull: c.not_null,
      })),
      checks: (checksOf.get(t.oid) ?? []).map((c) => ({
        name: c.name,
        definition: c.definition,
        validated: c.validated,
      })),
    };
  });
}

/**
 * pg_table_size and rows counted up to the limit (one past it says "over"), per table, each
 * under a short lock_timeout in a savepoint: a table locked by someone else is skipped.
 */
async function measure(
  client: pg.ClientBase,
  tables: readonly { oid: string; schema: string; name: string }[],
  small: LintSmallTable,
): Promise<Map<string, { rows: number; bytes: number }>> {
  const out = new Map<string, { rows: number; bytes: number }>();
  if (tables.length === 0) return out;
  await client.query('begin read only');
  try {
    await client.query(`set local lock_timeout = '${MEASURE_LOCK_TIMEOUT}'`);
    for (const t of tables) {
      await client.query('savepoint measure');
      try {
        const r = await client.query<{ bytes: string; n: string }>(
          `select pg_table_size($1::oid)::int8 as bytes,
                  (select count(*) from (select 1 from only ${quoteIdent(t.schema)}.${quoteIdent(t.name)} limit $2) s) as n`,
          [t.oid, small.maxRows + 1],
        );
        const row = r.rows[0];
        if (row !== undefined) out.set(t.oid, { rows: Number(row.n), bytes: Number(row.bytes) });
        await client.query('release savepoint measure');
      } catch {
        // Locked (lock_timeout), dropped meanwhile or not readable: unknown, so never small.
        await client.query('rollback to savepoint measure');
      }
    }
  } finally {
    await client.query('commit').catch(() => undefined);
  }
  return out;
}

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
