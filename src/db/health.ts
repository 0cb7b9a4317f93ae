import type pg from 'pg';
import { redactSecrets } from '../observability/redact.js';
import { DatabaseUnreachableError, errorText } from './connection.js';
import { listDocuments } from './read-paths.js';

/**
 * What `dbmigrate health` measures, read from catalogs and statistics views only (no table is
 * scanned), each section in its own read-only transaction with its own statement_timeout and
 * lock_timeout, so one slow or forbidden view costs its section and nothing else. Judging the
 * values is health-findings.ts's job; this module only measures.
 *
 * Sessions, locks and statements are those of the connected database (pg_stat_activity and
 * pg_locks are cluster-wide); connection totals, wraparound, replication and checkpoints are
 * the cluster's, because that is where their limits are.
 */

/** A section measured, not present here (no pgvector, no replicas …), or not readable. */
export type Section<T> =
  | { readonly status: 'ok'; readonly data: T }
  | { readonly status: 'absent'; readonly reason: string }
  | { readonly status: 'unavailable'; readonly reason: string };

export interface ServerInfo {
  readonly version: string;
  readonly versionNum: number;
  readonly database: string;
  readonly user: string;
  readonly inRecovery: boolean;
  /** Whether this role sees every session's state and query (pg_read_all_stats, in pg_monitor). */
  readonly readsAllStats: boolean;
}

export interface Connections {
  readonly max: number;
  readonly superuserReserved: number;
  /** Client connections to the whole cluster: what max_connections limits. */
  readonly total: number;
  /** Client connections to this database by state (`unknown` when the role cannot see it). */
  readonly byState: Readonly<Record<string, number>>;
}

export interface SessionSummary {
  readonly pid: number;
  readonly user: string | null;
  readonly application: string | null;
  readonly seconds: number;
  /** The session's current or last statement, shortened, credentials masked. */
  readonly query: string | null;
}

export interface Activity {
  readonly longestQuery: SessionSummary | null;
  readonly longestTransaction: SessionSummary | null;
  /** Seconds is how long each has been idle in its open transaction. */
  readonly idleInTransaction: readonly (SessionSummary & { readonly aborted: boolean })[];
}

export interface LockWait extends SessionSummary {
  /** What it waits for, e.g. `transactionid` or `relation public.documents`. */
  readonly waitingFor: string;
  /** pg_blocking_pids(): the sessions holding or queued ahead for the lock it wants. */
  readonly blockedBy: readonly number[];
  /** From the session at the head of the queue to this one: who blocks whom. */
  readonly chain: readonly number[];
}

export interface LockBlocker extends SessionSummary {
  readonly state: string | null;
  readonly database: string | null;
}

export interface Locks {
  readonly waiting: readonly LockWait[];
  /** Sessions that block others without waiting themselves: the ones to look at first. */
  readonly blockers: readonly LockBlocker[];
}

export interface InvalidIndex {
  readonly schema: string;
  readonly index: string;
  readonly table: string;
  /** A CREATE INDEX CONCURRENTLY still running: invalid until it finishes, not a failure. */
  readonly building: boolean;
}

export interface Cache {
  readonly blocksHit: number;
  readonly blocksRead: number;
  /** blks_hit / (blks_hit + blks_read); null before anything was read. */
  readonly hitRatio: number | null;
}

export interface BloatEstimate {
  readonly schema: string;
  readonly name: string;
  /** The table, for an index. */
  readonly table: string | null;
  readonly bytes: number;
  readonly wastedBytes: number;
  readonly ratio: number;
}

export interface Bloat {
  readonly tables: readonly BloatEstimate[];
  readonly indexes: readonly BloatEstimate[];
  /** pg_stats shows only the columns this role may read: other tables have no estimate. */
  readonly limitedToReadableTables: boolean;
}

export interface TableVacuum {
  readonly schema: string;
  readonly table: string;
  readonly liveTuples: number;
  readonly deadTuples: number;
  readonly deadRatio: number;
  readonly lastVacuum: string | null;
  readonly lastAutovacuum: string | null;
  readonly lastAnalyze: string | null;
  readonly lastAutoanalyze: string | null;
  /** The table's autovacuum_enabled reloption (true when unset). */
  readonly autovacuumEnabled: boolean;
}

export interface Vacuum {
  /** The server's autovacuum setting (it also needs track_counts). */
  readonly autovacuum: boolean;
  readonly trackCounts: boolean;
  /** The tables with the most dead tuples, and every table with autovacuum disabled. */
  readonly tables: readonly TableVacuum[];
}

export interface Wraparound {
  readonly freezeMaxAge: number;
  readonly databases: readonly { readonly database: string; readonly age: number }[];
  /** The database with the oldest datfrozenxid, or null when none is readable. */
  readonly oldest: { readonly database: string; readonly age: number } | null;
}

export interface Replica {
  readonly application: string | null;
  readonly clientAddress: string | null;
  readonly state: string | null;
  readonly syncState: string | null;
  readonly replayLagSeconds: number | null;
  readonly lagBytes: number | null;
}

export interface ReplicationSlot {
  readonly name: string;
  readonly type: string;
  readonly database: string | null;
  readonly active: boolean;
  readonly walStatus: string | null;
  /** WAL kept for the slot (current LSN − restart_lsn); null on a standby. */
  readonly retainedBytes: number | null;
}

export interface Replication {
  readonly replicas: readonly Replica[];
  readonly slots: readonly ReplicationSlot[];
  /** On a standby: seconds since the last replayed transaction's commit. */
  readonly standbyReplayDelaySeconds: number | null;
}

export interface Checkpoints {
  /** pg_stat_checkpointer from PostgreSQL 17, pg_stat_bgwriter before. */
  readonly source: 'pg_stat_checkpointer' | 'pg_stat_bgwriter';
  readonly timed: number;
  readonly requested: number;
  readonly writeSeconds: number;
  readonly syncSeconds: number;
  readonly buffersWritten: number;
  /** From pg_control_checkpoint() when the role may call it (pg_monitor may). */
  readonly secondsSinceLast: number | null;
  readonly statsReset: string | null;
}

export interface Sizes {
  readonly databaseBytes: number;
  readonly largest: readonly {
    readonly schema: string;
    readonly relation: string;
    readonly kind: string;
    readonly bytes: number;
  }[];
}

export interface VectorIndex {
  readonly schema: string;
  readonly index: string;
  readonly table: string;
  readonly method: string;
  readonly bytes: number;
  readonly valid: boolean;
}

export interface Vector {
  readonly version: string;
  readonly availableVersion: string | null;
  readonly indexes: readonly VectorIndex[];
}

export interface IndexBuild {
  readonly pid: number;
  readonly relation: string | null;
  readonly index: string | null;
  readonly command: string;
  readonly phase: string;
  readonly blocksDone: number;
  readonly blocksTotal: number;
  readonly tuplesDone: number;
  readonly tuplesTotal: number;
  readonly seconds: number | null;
}

export interface TopStatement {
  readonly queryId: string;
  readonly calls: number;
  readonly totalSeconds: number;
  readonly meanSeconds: number;
  readonly rows: number;
  /** Normalised text, shortened, credentials masked; never a metric label. */
  readonly query: string;
}

export interface ReadPathTiming {
  /** Stable name, also the metric label. */
  readonly name: 'list_newest' | 'count_bounded';
  readonly ms: number;
  readonly rows: number;
}

export interface HealthSections {
  readonly connections: Section<Connections>;
  readonly activity: Section<Activity>;
  readonly locks: Section<Locks>;
  readonly invalidIndexes: Section<readonly InvalidIndex[]>;
  readonly cache: Section<Cache>;
  readonly bloat: Section<Bloat>;
  readonly vacuum: Section<Vacuum>;
  readonly wraparound: Section<Wraparound>;
  readonly replication: Section<Replication>;
  readonly checkpoints: Section<Checkpoints>;
  readonly sizes: Section<Sizes>;
  readonly vector: Section<Vector>;
  readonly indexBuilds: Section<readonly IndexBuild[]>;
  readonly statements: Section<readonly TopStatement[]>;
  readonly readPaths: Section<readonly ReadPathTiming[]>;
}

export type SectionName = keyof HealthSections;

export interface HealthReport {
  readonly checkedAt: string;
  readonly durationMs: number;
  readonly server: ServerInfo;
  readonly sections: HealthSections;
}

export interface HealthCheckOptions {
  /** statement_timeout and lock_timeout of each section's queries. */
  readonly queryTimeoutMs: number;
  /** Rows per list (largest relations, bloat, dead tuples, statements). */
  readonly topN: number;
}

/** Rows a bounded read-path count reads at most. */
const COUNT_LIMIT = 1000;
const QUERY_TEXT_CHARS = 200;

/** Measures every section on `client` (a session of its own: sections open transactions). */
export async function checkHealth(
  client: pg.ClientBase,
  options: HealthCheckOptions,
): Promise<HealthReport> {
  const started = performance.now();
  const checkedAt = new Date().toISOString();
  const server = await serverInfo(client);
  const run = <T>(
    work: (c: pg.ClientBase) => Promise<Section<T>>,
    permissionHint = 'grant the role pg_monitor',
  ): Promise<Section<T>> => inSection(client, options.queryTimeoutMs, permissionHint, work);
  const needsAllStats = <T>(
    work: (c: pg.ClientBase) => Promise<Section<T>>,
  ): Promise<Section<T>> =>
    server.readsAllStats
      ? run(work)
      : Promise.resolve({
          status: 'unavailable',
          reason: `role ${server.user} sees only its own sessions: grant it pg_monitor (or pg_read_all_stats)`,
        });
  // One after the other on one session: every query is small, and a health check must not
  // add load by fanning out.
  const sections: HealthSections = {
    connections: await run(connections),
    activity: await needsAllStats(activity),
    locks: await needsAllStats(locks),
    invalidIndexes: await run(invalidIndexes),
    cache: await run(cache),
    bloat: await run((c) => bloat(c, options.topN)),
    vacuum: await run((c) => vacuum(c, options.topN)),
    wraparound: await run(wraparound),
    replication: await run((c) => replication(c, server.inRecovery)),
    checkpoints: await run((c) => checkpoints(c, server.versionNum)),
    sizes: await run((c) => sizes(c, options.topN)),
    vector: await run(vector),
    indexBuilds: await needsAllStats(indexBuilds),
    statements: await run((c) => statements(c, options.topN)),
    // pg_monitor reads statistics, not tables: the read paths need SELECT on documents.
    readPaths: await run(readPaths, 'the read-path queries need SELECT on documents'),
  };
  return {
    checkedAt,
    durationMs: Math.round(performance.now() - started),
    server,
    sections,
  };
}

async function serverInfo(client: pg.ClientBase): Promise<ServerInfo> {
  const res = await query<{
    version: string;
    num: number;
    database: string;
    user: string;
    recovery: boolean;
    all_stats: boolean;
  }>(
    client,
    `select current_setting('server_version') as version,
            current_setting('server_version_num')::int as num,
            current_database() as database, current_user as "user",
            pg_is_in_recovery() as recovery,
            pg_has_role('pg_read_all_stats', 'usage') as all_stats`,
  );
  const r = one(res);
  return {
    version: r.version,
    versionNum: r.num,
    database: r.database,
    user: r.user,
    inRecovery: r.recovery,
    readsAllStats: r.all_stats,
  };
}

/**
 * `work` in a read-only transaction with its own timeouts. A statement error (permission,
 * timeout, a view that needs a preloaded library) makes the section unavailable with the
 * reason; a lost connection ends the whole check.
 */
async function inSection<T>(
  client: pg.ClientBase,
  timeoutMs: number,
  permissionHint: string,
  work: (c: pg.ClientBase) => Promise<Section<T>>,
): Promise<Section<T>> {
  try {
    await client.query('begin transaction read only');
    await client.query(
      "select set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)",
      [`${String(timeoutMs)}ms`],
    );
    const out = await work(client);
    await client.query('commit');
    return out;
  } catch (err) {
    if (!isStatementError(err)) {
      throw new DatabaseUnreachableError('the database', `connection lost: ${errorText(err)}`, {
        cause: err,
      });
    }
    await client.query('rollback').catch(() => undefined);
    return { status: 'unavailable', reason: unavailableReason(err, timeoutMs, permissionHint) };
  }
}

/** An error the server raised for one statement (it has a SQLSTATE), the session intact. */
function isStatementError(err: unknown): boolean {
  const e = err as { severity?: unknown; code?: unknown } | null;
  if (typeof e?.severity !== 'string' || typeof e.code !== 'string') return false;
  // Class 08 (connection exception) and 57P01-57P03 (shutdown, crash): the session is gone.
  return !/^08/.test(e.code) && !['57P01', '57P02', '57P03'].includes(e.code);
}

function unavailableReason(err: unknown, timeoutMs: number, permissionHint: string): string {
  const code = (err as { code?: string }).code;
  const message = redactSecrets(errorText(err));
  if (code === '42501') return `${message}: ${permissionHint}`;
  if (code === '57014')
    return `timed out after ${String(timeoutMs)}ms (health.queryTimeoutMs in dbmigrate.json)`;
  if (code === '55P03')
    return `a relation it reads is locked (waited ${String(timeoutMs)}ms): ${message}`;
  return message;
}

function query<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return client.query<R>(sql, params);
}

function one<R>(res: { rows: R[] }): R {
  const row = res.rows[0];
  if (row === undefined) throw new Error('health query returned no row');
  return row;
}

function ok<T>(data: T): Section<T> {
  return { status: 'ok', data };
}

function num(value: string | number | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

function numOrNull(value: string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Statement text for reports: shortened, credentials masked, one line. */
export function queryText(sql: string | null): string | null {
  if (sql === null) return null;
  const flat = sql.replace(/\s+/g, ' ').trim();
  const masked = redactSecrets(maskSqlPasswords(flat));
  return masked.length > QUERY_TEXT_CHARS ? `${masked.slice(0, QUERY_TEXT_CHARS - 1)}…` : masked;
}

/**
 * `PASSWORD 'secret'` in CREATE/ALTER ROLE text (pg_stat_activity and pg_stat_statements keep
 * utility statements verbatim), which the generic redaction (`password=`) does not match.
 * A text cut short inside the literal is masked to its end.
 */
export function maskSqlPasswords(sql: string): string {
  return sql.replace(
    /\b(password\s+)('(?:[^']|'')*(?:'|$)|"(?:[^"]|"")*(?:"|$)|\$\w*\$[\s\S]*)/gi,
    "$1'***'",
  );
}

interface SessionRow {
  pid: number;
  usename: string | null;
  application_name: string | null;
  query: string | null;
}

function summary(row: SessionRow, seconds: number | string | null): SessionSummary {
  return {
    pid: row.pid,
    user: row.usename,
    application: row.application_name === '' ? null : row.application_name,
    seconds: Math.max(0, num(seconds)),
    query: queryText(row.query),
  };
}

async function connections(client: pg.ClientBase): Promise<Section<Connections>> {
  const res = await query<{
    max: number;
    reserved: number;
    total: number;
    by_state: Record<string, number> | null;
  }>(
    client,
    `select current_setting('max_connections')::int as max,
            current_setting('superuser_reserved_connections')::int as reserved,
            (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as total,
            (select json_object_agg(state, n) from (
               select coalesce(state, 'unknown') as state, count(*)::int as n
                 from pg_stat_activity
                where backend_type = 'client backend' and datname = current_database()
                group by 1) s) as by_state`,
  );
  const r = one(res);
  return ok({
    max: r.max,
    superuserReserved: r.reserved,
    total: r.total,
    byState: r.by_state ?? {},
  });
}

async function activity(client: pg.ClientBase): Promise<Section<Activity>> {
  const res = await query<
    SessionRow & {
      state: string | null;
      query_seconds: string | null;
      xact_seconds: string | null;
      state_seconds: string | null;
    }
  >(
    client,
    `select pid, usename, application_name, state, left(query, 1000) as query,
            extract(epoch from now() - query_start)::float8 as query_seconds,
            extract(epoch from now() - xact_start)::float8 as xact_seconds,
            extract(epoch from now() - state_change)::float8 as state_seconds
       from pg_stat_activity
      where datname = current_database() and backend_type = 'client backend'
        and pid <> pg_backend_pid()`,
  );
  const longest = <R>(rows: R[], value: (r: R) => number | null): R | null =>
    rows.reduce<R | null>((best, r) => {
      const v = value(r);
      return v !== null && (best === null || v > (value(best) ?? -1)) ? r : best;
    }, null);
  const active = res.rows.filter((r) => r.state === 'active');
  const q = longest(active, (r) => numOrNull(r.query_seconds));
  const x = longest(res.rows, (r) => numOrNull(r.xact_seconds));
  return ok({
    longestQuery: q === null ? null : summary(q, q.query_seconds),
    longestTransaction: x === null ? null : summary(x, x.xact_seconds),
    idleInTransaction: res.rows
      .filter((r) => r.state?.startsWith('idle in transaction') === true)
      .map((r) => ({
        ...summary(r, r.state_seconds),
        aborted: r.state === 'idle in transaction (aborted)',
      }))
      .sort((a, b) => b.seconds - a.seconds),
  });
}

async function locks(client: pg.ClientBase): Promise<Section<Locks>> {
  // waitstart (PostgreSQL 14+) says how long the lock has been awaited, not the statement.
  const waiting = await query<
    SessionRow & { blocked_by: number[]; wait_seconds: string | null; waiting_for: string | null }
  >(
    client,
    `select a.pid, a.usename, a.application_name, left(a.query, 1000) as query,
            pg_blocking_pids(a.pid) as blocked_by,
            (select extract(epoch from now() - min(l.waitstart))::float8
               from pg_locks l where l.pid = a.pid and not l.granted) as wait_seconds,
            (select l.locktype || coalesce(' ' || l.relation::regclass::text, '')
               from pg_locks l where l.pid = a.pid and not l.granted limit 1) as waiting_for
       from pg_stat_activity a
      where a.datname = current_database() and a.wait_event_type = 'Lock'
        and a.pid <> pg_backend_pid()`,
  );
  const edges = new Map(waiting.rows.map((r) => [r.pid, r.blocked_by]));
  const waitingPids = new Set(edges.keys());
  const blockerPids = [
    ...new Set(waiting.rows.flatMap((r) => r.blocked_by).filter((p) => !waitingPids.has(p))),
  ];
  const blockers =
    blockerPids.length === 0
      ? []
      : (
          await query<
            SessionRow & {
              state: string | null;
              datname: string | null;
              xact_seconds: string | null;
            }
          >(
            client,
            `select pid, usename, application_name, state, datname, left(query, 1000) as query,
                    extract(epoch from now() - xact_start)::float8 as xact_seconds
               from pg_stat_activity where pid = any($1::int[])`,
            [blockerPids],
          )
        ).rows.map((r) => ({
          ...summary(r, r.xact_seconds),
          state: r.state,
          database: r.datname,
        }));
  return ok({
    waiting: waiting.rows
      .map((r) => ({
        ...summary(r, r.wait_seconds),
        waitingFor: r.waiting_for ?? 'lock',
        blockedBy: r.blocked_by,
        chain: blockingChain(r.pid, edges),
      }))
      .sort((a, b) => b.seconds - a.seconds),
    blockers,
  });
}

/**
 * The chain of sessions ending at `pid`, head first: follow the first blocker of each waiting
 * session until one waits for nobody (or a deadlock cycle closes). Pure, for the unit tests.
 */
export function blockingChain(
  pid: number,
  blockedBy: ReadonlyMap<number, readonly number[]>,
): number[] {
  const chain = [pid];
  let current = pid;
  for (;;) {
    const next = blockedBy.get(current)?.[0];
    if (next === undefined || chain.includes(next)) return chain;
    chain.unshift(next);
    current = next;
  }
}

async function invalidIndexes(client: pg.ClientBase): Promise<Section<readonly InvalidIndex[]>> {
  const res = await query<InvalidIndex>(
    client,
    `select n.nspname as schema, ci.relname as index, ct.relname as table,
            exists (select 1 from pg_stat_progress_create_index p
                     where p.index_relid = i.indexrelid) as building
       from pg_index i
       join pg_class ci on ci.oid = i.indexrelid
       join pg_class ct on ct.oid = i.indrelid
       join pg_namespace n on n.oid = ci.relnamespace
      where not i.indisvalid
      order by 1, 2`,
  );
  return ok(res.rows);
}

async function cache(client: pg.ClientBase): Promise<Section<Cache>> {
  const res = await query<{ hit: string; read: string }>(
    client,
    `select blks_hit::text as hit, blks_read::text as read
       from pg_stat_database where datname = current_database()`,
  );
  const r = one(res);
  const hit = num(r.hit);
  const read = num(r.read);
  return ok({
    blocksHit: hit,
    blocksRead: read,
    hitRatio: hit + read === 0 ? null : hit / (hit + read),
  });
}

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'`;

/**
 * Bloat estimated from the statistics (the estimate check_postgres and pgexperts' queries
 * make): the pages the live rows need at their average width and the fillfactor, against the
 * pages the relation has. Heap: 24-byte page header, 23-byte tuple header plus null bitmap
 * and 4-byte line pointer per row. Btree: 8-byte index tuple header and 4-byte line pointer
 * per entry, 16-byte special space, metapage. Expression indexes are not estimated.
 */
async function bloat(client: pg.ClientBase, topN: number): Promise<Section<Bloat>> {
  type Row = {
    schema: string;
    name: string;
    table: string | null;
    bytes: string;
    wasted: string;
  };
  const tables = await query<Row>(
    client,
    `with cols as (
       select schemaname, tablename, sum((1 - null_frac) * avg_width) as width,
              bool_or(null_frac > 0) as nulls, count(*) as ncols
         from pg_stats group by 1, 2
     ), t as (
       select n.nspname, c.relname, c.relpages::numeric as pages, c.reltuples::numeric as tuples,
              current_setting('block_size')::numeric as bs,
              coalesce((select option_value::numeric from pg_options_to_table(c.reloptions)
                         where option_name = 'fillfactor'), 100) as ff,
              cols.width, cols.nulls, cols.ncols
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         join cols on cols.schemaname = n.nspname and cols.tablename = c.relname
        where c.relkind in ('r', 'm') and c.relpages > 0 and c.reltuples >= 0 and ${USER_SCHEMAS}
     ), e as (
       select *, ceil(tuples * (4 + 8 * ceil((23 + case when nulls then ceil(ncols / 8.0) else 0 end) / 8.0)
                                 + 8 * ceil(width / 8.0))
                      / ((bs - 24) * ff / 100)) as expected
         from t
     )
     select nspname as schema, relname as name, null as table,
            (pages * bs)::text as bytes, (greatest(pages - expected, 0) * bs)::text as wasted
       from e order by greatest(pages - expected, 0) desc, pages desc limit $1`,
    [topN],
  );
  const indexes = await query<Row>(
    client,
    `with idx as (
       select ci.oid, n.nspname, ci.relname, ct.relname as tbl, i.indrelid, i.indkey,
              i.indnatts, ci.relpages::numeric as pages, ci.reltuples::numeric as tuples,
              current_setting('block_size')::numeric as bs,
              coalesce((select option_value::numeric from pg_options_to_table(ci.reloptions)
                         where option_name = 'fillfactor'), 90) as ff
         from pg_index i
         join pg_class ci on ci.oid = i.indexrelid
         join pg_class ct on ct.oid = i.indrelid
         join pg_namespace n on n.oid = ci.relnamespace
         join pg_am am on am.oid = ci.relam
        where am.amname = 'btree' and ci.relpages > 1 and ci.reltuples >= 0
          and i.indexprs is null and ${USER_SCHEMAS}
     ), w as (
       select idx.oid, sum((1 - s.null_frac) * s.avg_width) as width, count(s.attname) as nstats
         from idx
         cross join lateral unnest(idx.indkey::int2[]) as k(attnum)
         join pg_attribute a on a.attrelid = idx.indrelid and a.attnum = k.attnum
         left join pg_stats s on s.schemaname = idx.nspname and s.tablename = idx.tbl
                             and s.attname = a.attname
        group by idx.oid
     ), e as (
       select idx.*, 1 + ceil(tuples * (4 + 8 + 8 * ceil(w.width / 8.0))
                              / ((bs - 24 - 16) * ff / 100)) as expected
         from idx join w on w.oid = idx.oid
        where w.nstats = idx.indnatts
     )
     select nspname as schema, relname as name, tbl as table,
            (pages * bs)::text as bytes, (greatest(pages - expected, 0) * bs)::text as wasted
       from e order by greatest(pages - expected, 0) desc, pages desc limit $1`,
    [topN],
  );
  const superuser = await query<{ su: boolean }>(
    client,
    'select rolsuper as su from pg_roles where rolname = current_user',
  );
  const estimate = (r: Row): BloatEstimate => {
    const bytes = num(r.bytes);
    const wasted = num(r.wasted);
    return {
      schema: r.schema,
      name: r.name,
      table: r.table,
      bytes,
      wastedBytes: wasted,
      ratio: bytes === 0 ? 0 : wasted / bytes,
    };
  };
  return ok({
    tables: tables.rows.map(estimate),
    indexes: indexes.rows.map(estimate),
    limitedToReadableTables: superuser.rows[0]?.su !== true,
  });
}

async function vacuum(client: pg.ClientBase, topN: number): Promise<Section<Vacuum>> {
  const settings = one(
    await query<{ autovacuum: boolean; track_counts: boolean }>(
      client,
      `select current_setting('autovacuum')::bool as autovacuum,
              current_setting('track_counts')::bool as track_counts`,
    ),
  );
  const res = await query<{
    schema: string;
    table: string;
    live: string;
    dead: string;
    last_vacuum: Date | null;
    last_autovacuum: Date | null;
    last_analyze: Date | null;
    last_autoanalyze: Date | null;
    autovacuum_enabled: boolean;
  }>(
    client,
    `select * from (
       select s.schemaname as schema, s.relname as table,
              s.n_live_tup::text as live, s.n_dead_tup::text as dead,
              s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
              coalesce((select option_value::bool from pg_options_to_table(c.reloptions)
                         where option_name = 'autovacuum_enabled'), true) as autovacuum_enabled,
              row_number() over (order by s.n_dead_tup desc, s.relname) as rank
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid) t
      where rank <= $1 or not autovacuum_enabled
      order by rank`,
    [topN],
  );
  const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
  return ok({
    autovacuum: settings.autovacuum,
    trackCounts: settings.track_counts,
    tables: res.rows.map((r) => {
      const live = num(r.live);
      const dead = num(r.dead);
      return {
        schema: r.schema,
        table: r.table,
        liveTuples: live,
        deadTuples: dead,
        deadRatio: live + dead === 0 ? 0 : dead / (live + dead),
        lastVacuum: iso(r.last_vacuum),
        lastAutovacuum: iso(r.last_autovacuum),
        lastAnalyze: iso(r.last_analyze),
        lastAutoanalyze: iso(r.last_autoanalyze),
        autovacuumEnabled: r.autovacuum_enabled,
      };
    }),
  });
}

async function wraparound(client: pg.ClientBase): Promise<Section<Wraparound>> {
  const setting = one(
    await query<{ v: string }>(client, "select current_setting('autovacuum_freeze_max_age') as v"),
  );
  const res = await query<{ database: string; age: number }>(
    client,
    'select datname as database, age(datfrozenxid) as age from pg_database order by age desc, datname',
  );
  return ok({ freezeMaxAge: num(setting.v), databases: res.rows, oldest: res.rows[0] ?? null });
}

async function replication(
  client: pg.ClientBase,
  inRecovery: boolean,
): Promise<Section<Replication>> {
  const replicas = await query<{
    application_name: string | null;
    client_addr: string | null;
    state: string | null;
    sync_state: string | null;
    replay_lag: number | null;
    lag_bytes: string | null;
  }>(
    client,
    `select application_name, client_addr::text, state, sync_state,
            extract(epoch from replay_lag)::float8 as replay_lag,
            ${inRecovery ? 'null' : 'pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text'} as lag_bytes
       from pg_stat_replication order by application_name`,
  );
  const slots = await query<{
    slot_name: string;
    slot_type: string;
    database: string | null;
    active: boolean;
    wal_status: string | null;
    retained: string | null;
  }>(
    client,
    `select slot_name, slot_type, database, active, wal_status,
            ${inRecovery ? 'null' : 'pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text'} as retained
       from pg_replication_slots order by slot_name`,
  );
  const delay = inRecovery
    ? numOrNull(
        one(
          await query<{ s: number | null }>(
            client,
            'select extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as s',
          ),
        ).s,
      )
    : null;
  if (replicas.rows.length === 0 && slots.rows.length === 0 && !inRecovery)
    return { status: 'absent', reason: 'no replicas, no replication slots, not a standby' };
  return ok({
    replicas: replicas.rows.map((r) => ({
      application: r.application_name,
      clientAddress: r.client_addr,
      state: r.state,
      syncState: r.sync_state,
      replayLagSeconds: numOrNull(r.replay_lag),
      lagBytes: numOrNull(r.lag_bytes),
    })),
    slots: slots.rows.map((s) => ({
      name: s.slot_name,
      type: s.slot_type,
      database: s.database,
      active: s.active,
      walStatus: s.wal_status,
      retainedBytes: numOrNull(s.retained),
    })),
    standbyReplayDelaySeconds: delay,
  });
}

async function checkpoints(
  client: pg.ClientBase,
  versionNum: number,
): Promise<Section<Checkpoints>> {
  // PostgreSQL 17 moved the checkpoint counters from pg_stat_bgwriter to pg_stat_checkpointer.
  const v17 = versionNum >= 170000;
  const source = v17 ? 'pg_stat_checkpointer' : 'pg_stat_bgwriter';
  const columns = v17
    ? `num_timed as timed, num_requested as requested, write_time as write_ms,
       sync_time as sync_ms, buffers_written as buffers, stats_reset`
    : `checkpoints_timed as timed, checkpoints_req as requested,
       checkpoint_write_time as write_ms, checkpoint_sync_time as sync_ms,
       buffers_checkpoint as buffers, stats_reset`;
  const r = one(
    await query<{
      timed: string;
      requested: string;
      write_ms: number;
      sync_ms: number;
      buffers: string;
      stats_reset: Date | null;
      since_last: number | null;
    }>(
      client,
      `select ${columns},
              case when has_function_privilege('pg_control_checkpoint()', 'execute')
                   then extract(epoch from now() - (pg_control_checkpoint()).checkpoint_time)::float8
              end as since_last
         from ${source}`,
    ),
  );
  return ok({
    source,
    timed: num(r.timed),
    requested: num(r.requested),
    writeSeconds: num(r.write_ms) / 1000,
    syncSeconds: num(r.sync_ms) / 1000,
    buffersWritten: num(r.buffers),
    secondsSinceLast: numOrNull(r.since_last),
    statsReset: r.stats_reset === null ? null : r.stats_reset.toISOString(),
  });
}

async function sizes(client: pg.ClientBase, topN: number): Promise<Section<Sizes>> {
  const db = one(
    await query<{ bytes: string }>(
      client,
      'select pg_database_size(current_database())::text as bytes',
    ),
  );
  // Candidates by relpages from the statistics, so only a few relations are measured (each
  // measurement opens the relation; lock_timeout bounds a wait behind a DDL lock).
  const res = await query<{ schema: string; relation: string; kind: string; bytes: string }>(
    client,
    `select schema, relation, kind, pg_total_relation_size(oid)::text as bytes from (
       select c.oid, n.nspname as schema, c.relname as relation,
              case c.relkind when 'm' then 'materialized view' else 'table' end as kind
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'm') and ${USER_SCHEMAS}
        order by c.relpages + coalesce((select t.relpages from pg_class t where t.oid = c.reltoastrelid), 0) desc
        limit $1 * 3) candidates
      order by pg_total_relation_size(oid) desc, relation limit $1`,
    [topN],
  );
  return ok({
    databaseBytes: num(db.bytes),
    largest: res.rows.map((r) => ({ ...r, bytes: num(r.bytes) })),
  });
}

async function vector(client: pg.ClientBase): Promise<Section<Vector>> {
  const ext = await query<{ version: string; available: string | null }>(
    client,
    `select e.extversion as version,
            (select default_version from pg_available_extensions where name = 'vector') as available
       from pg_extension e where e.extname = 'vector'`,
  );
  const installed = ext.rows[0];
  if (installed === undefined) return { status: 'absent', reason: 'pgvector is not installed' };
  const res = await query<Omit<VectorIndex, 'bytes'> & { bytes: string }>(
    client,
    `select n.nspname as schema, ci.relname as index, ct.relname as table, am.amname as method,
            pg_relation_size(ci.oid)::text as bytes, i.indisvalid as valid
       from pg_index i
       join pg_class ci on ci.oid = i.indexrelid
       join pg_class ct on ct.oid = i.indrelid
       join pg_namespace n on n.oid = ci.relnamespace
       join pg_am am on am.oid = ci.relam
      where am.amname in ('hnsw', 'ivfflat')
      order by pg_relation_size(ci.oid) desc, 1, 2`,
  );
  return ok({
    version: installed.version,
    availableVersion: installed.available,
    indexes: res.rows.map((r) => ({ ...r, bytes: num(r.bytes) })),
  });
}

/** Index builds running in this database (pg_stat_progress_create_index): phase, blocks, tuples. */
export async function indexBuilds(client: pg.ClientBase): Promise<Section<readonly IndexBuild[]>> {
  const res = await query<{
    pid: number;
    relation: string | null;
    index: string | null;
    command: string;
    phase: string;
    blocks_done: string;
    blocks_total: string;
    tuples_done: string;
    tuples_total: string;
    seconds: number | null;
  }>(
    client,
    `select p.pid, p.relid::regclass::text as relation,
            nullif(p.index_relid, 0)::regclass::text as index, p.command, p.phase,
            p.blocks_done::text, p.blocks_total::text, p.tuples_done::text, p.tuples_total::text,
            extract(epoch from now() - a.query_start)::float8 as seconds
       from pg_stat_progress_create_index p
       left join pg_stat_activity a on a.pid = p.pid
      where p.datname = current_database()
      order by p.pid`,
  );
  return ok(
    res.rows.map((r) => ({
      pid: r.pid,
      relation: r.relation,
      index: r.index,
      command: r.command,
      phase: r.phase,
      blocksDone: num(r.blocks_done),
      blocksTotal: num(r.blocks_total),
      tuplesDone: num(r.tuples_done),
      tuplesTotal: num(r.tuples_total),
      seconds: numOrNull(r.seconds),
    })),
  );
}

async function statements(
  client: pg.ClientBase,
  topN: number,
): Promise<Section<readonly TopStatement[]>> {
  const ext = await query<{ schema: string }>(
    client,
    `select quote_ident(extnamespace::regnamespace::text) as schema
       from pg_extension where extname = 'pg_stat_statements'`,
  );
  const schema = ext.rows[0]?.schema;
  if (schema === undefined)
    return { status: 'absent', reason: 'the pg_stat_statements extension is not installed' };
  const res = await query<{
    queryid: string;
    calls: string;
    total_ms: number;
    mean_ms: number;
    rows: string;
    query: string;
  }>(
    client,
    `select queryid::text as queryid, calls::text, total_exec_time as total_ms,
            mean_exec_time as mean_ms, rows::text, left(query, 1000) as query
       from ${schema}.pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
      order by total_exec_time desc limit $1`,
    [topN],
  );
  return ok(
    res.rows.map((r) => ({
      queryId: r.queryid,
      calls: num(r.calls),
      totalSeconds: r.total_ms / 1000,
      meanSeconds: r.mean_ms / 1000,
      rows: num(r.rows),
      query: queryText(r.query) ?? '',
    })),
  );
}

/**
 * The doc-server's listing read path (newest first, one page) and a count bounded to
 * COUNT_LIMIT rows, timed as the application sees them (round trip included).
 */
async function readPaths(client: pg.ClientBase): Promise<Section<readonly ReadPathTiming[]>> {
  const exists = one(
    await query<{ present: boolean }>(
      client,
      "select to_regclass('documents') is not null as present",
    ),
  );
  if (!exists.present)
    return { status: 'absent', reason: 'no documents table (not a doc-server database)' };
  const timed = async (
    name: ReadPathTiming['name'],
    work: () => Promise<number>,
  ): Promise<ReadPathTiming> => {
    const started = performance.now();
    const rows = await work();
    return { name, ms: Math.round((performance.now() - started) * 100) / 100, rows };
  };
  return ok([
    await timed('list_newest', async () => (await listDocuments(client, {}, 10)).rows.length),
    await timed('count_bounded', async () =>
      num(
        one(
          await query<{ n: number }>(
            client,
            `select count(*)::int as n from (select 1 from documents limit ${String(COUNT_LIMIT)}) d`,
          ),
        ).n,
      ),
    ),
  ]);
}
