import type pg from 'pg';
import type { HistoryRecord } from './history.js';
import type { HistoryStore } from './history-store.js';
import type { InvalidIndex } from './plan.js';

/** What the files are compared with before status, plan, apply or rollback. */
export interface DatabaseState {
  readonly history: HistoryRecord[];
  /** Per migration key, the last outcome the events log records (see HistoryStore). */
  readonly lastOutcomes: Map<string, string>;
  /** Invalid indexes left by failed concurrent builds (empty unless catalog facts were asked for). */
  readonly invalidIndexes: InvalidIndex[];
  /** Relations of a database with no history (empty unless catalog facts were asked for). */
  readonly unrecordedRelations: string[];
}

/**
 * Invalid indexes outside the system schemas, as a JSON text of [oid, schema, index, table].
 * Without pg_stat_progress_create_index: planning that view cost a new backend about 10 ms
 * (it joins pg_database), and it is only needed when some index is invalid, which is rare.
 */
const INVALID_INDEXES_JSON = `(select coalesce(json_agg(json_build_array(i.indexrelid::int8, n.nspname, c.relname, t.relname)
                                  order by n.nspname, c.relname), '[]')::text
     from pg_index i
     join pg_class c on c.oid = i.indexrelid
     join pg_class t on t.oid = i.indrelid
     join pg_namespace n on n.oid = c.relnamespace
    where not i.indisvalid
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%')`;

/**
 * The history, the last outcomes and the catalog facts validation needs, in two round trips
 * (a new backend pays for each statement's first planning): whether the history exists, with
 * the invalid indexes; then the history and outcomes as JSON texts, or, for a database with no
 * history, its unrecorded relations. An invalid index or an empty history table adds one.
 */
export async function readDatabaseState(
  client: pg.ClientBase,
  store: HistoryStore,
  /** Also the invalid indexes and unrecorded relations (apply's checks; rollback skips them). */
  catalogFacts: boolean,
): Promise<DatabaseState> {
  const first = await client.query<{ exists: boolean; invalid: string | null }>(
    `select to_regclass($1) is not null as exists, ${catalogFacts ? INVALID_INDEXES_JSON : 'null::text'} as invalid`,
    [store.historyTable],
  );
  const row = first.rows[0];
  const { history, lastOutcomes } =
    row?.exists === true
      ? await store.readWithOutcomes(client)
      : { history: [], lastOutcomes: new Map<string, string>() };
  return {
    history,
    lastOutcomes,
    invalidIndexes: await notBeingBuilt(client, row?.invalid ?? null),
    unrecordedRelations:
      catalogFacts && history.length === 0
        ? await readUnrecordedRelations(client, store.schema)
        : [],
  };
}

/** The invalid indexes, less those another session is building right now (invalid until done). */
async function notBeingBuilt(client: pg.ClientBase, json: string | null): Promise<InvalidIndex[]> {
  const invalid = JSON.parse(json ?? '[]') as [number, string, string, string][];
  if (invalid.length === 0) return [];
  const res = await client.query<{ oid: string }>(
    'select index_relid::int8::text as oid from pg_stat_progress_create_index',
  );
  const building = new Set(res.rows.map((r) => r.oid));
  return invalid
    .filter(([oid]) => !building.has(String(oid)))
    .map(([, schema, name, table]) => ({ schema, name, table }));
}

/**
 * Tables, views, sequences and foreign tables outside the system schemas and the history
 * schema, not created by an extension (CREATE EXTENSION vector is not a schema of ours). Only
 * read when the history is empty, so a database in use pays nothing for it.
 */
async function readUnrecordedRelations(
  client: pg.ClientBase,
  historySchema: string,
): Promise<string[]> {
  const res = await client.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema', $1)
        and n.nspname not like 'pg\\_%'
        and not exists (select 1 from pg_depend d
                         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by c.relkind <> 'r', 1
      limit 50`,
    [historySchema],
  );
  return res.rows.map((r) => r.name);
}
