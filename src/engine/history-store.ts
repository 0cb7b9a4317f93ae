import type pg from 'pg';
import { HistoryCorruptError } from './errors.js';
import { compareMigrationIds, isMigrationId, migrationIdKey } from './migration.js';
import { quoteIdent } from './plan.js';
import {
  historyRecordOf,
  isInEffectAction,
  OUTCOME_ACTIONS,
  type HistoryEvent,
  type InEffectAction,
  type HistoryRecord,
  type HistorySource,
  type HistoryStatus,
} from './history.js';

/** Values written for one migration's history row. */
export interface HistoryWrite {
  readonly id: string;
  readonly name: string;
  readonly checksum: string;
  readonly status: HistoryStatus;
  readonly transactional: boolean;
  readonly statementsDone: number;
  readonly statementsTotal: number;
  readonly doneChecksum: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly appliedBy: string;
  readonly runId: string;
  readonly error: string | null;
  readonly source: HistorySource;
}

export type HistoryEventWrite = Omit<HistoryEvent, 'seq' | 'at'>;

/**
 * The history schema: `migration_history` (one row per migration, its latest state) and
 * `migration_events` (append-only log of every apply, failure, rollback, baseline, import).
 */
export class HistoryStore {
  readonly schema: string;
  /** The history table's qualified name, as to_regclass takes it. */
  readonly historyTable: string;
  private readonly events: string;

  constructor(schema: string) {
    this.schema = schema;
    this.historyTable = `${quoteIdent(schema)}.migration_history`;
    this.events = `${quoteIdent(schema)}.migration_events`;
  }

  /** Creates the schema; call only while holding the migration lock (CREATE IF NOT EXISTS races). */
  async ensure(client: pg.ClientBase): Promise<void> {
    await client.query(`
      create schema if not exists ${quoteIdent(this.schema)};
      create table if not exists ${this.historyTable} (
        id text primary key,
        name text not null,
        checksum text not null,
        status text not null check (status in ('running','applied','failed','baselined','rolled_back')),
        transactional boolean not null,
        statements_done integer not null default 0,
        statements_total integer not null default 0,
        done_checksum text,
        started_at timestamptz not null,
        finished_at timestamptz,
        duration_ms integer,
        applied_by text not null,
        run_id text not null,
        error text,
        source text not null default 'dbmigrate'
      );
      create table if not exists ${this.events} (
        seq bigint generated always as identity primary key,
        at timestamptz not null default clock_timestamp(),
        run_id text not null,
        migration_id text not null,
        action text not null,
        checksum text,
        duration_ms integer,
        actor text not null,
        detail text
      );
      comment on table ${this.historyTable} is 'dbmigrate history v1: one row per migration';
    `);
  }

  async exists(client: pg.ClientBase): Promise<boolean> {
    const res = await client.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [
      this.historyTable,
    ]);
    return res.rows[0]?.ok === true;
  }

  async read(client: pg.ClientBase): Promise<HistoryRecord[]> {
    if (!(await this.exists(client))) return [];
    const res = await client.query<{ rows: string }>(`select ${this.historyJsonSql()} as rows`);
    return this.recordsOf(res.rows[0]?.rows);
  }

  /**
   * The history rows and, per migration, the last thing the append-only events log says
   * happened to it (applied, baselined, imported, rolled back): what the history table must
   * agree with. A repair is not one of them: it changes the bookkeeping, never whether the
   * migration is in the database. One statement, for a database whose history tables exist
   * (the caller checked, in the same round trip as its other questions).
   */
  async readWithOutcomes(
    client: pg.ClientBase,
  ): Promise<{ history: HistoryRecord[]; lastOutcomes: Map<string, string> }> {
    const res = await client.query<{ rows: string; outcomes: string }>(
      `select ${this.historyJsonSql()} as rows, ${this.outcomesJsonSql('$1')} as outcomes`,
      [OUTCOME_ACTIONS],
    );
    return {
      history: await this.recordsOf(res.rows[0]?.rows),
      lastOutcomes: outcomesOf(res.rows[0]?.outcomes),
    };
  }

  /**
   * All rows as one JSON text, parsed natively: pg turning a thousand rows of fifteen columns
   * into objects (and its timestamp parser) was a third of `dbmigrate status`'s queries. Times
   * come as milliseconds since the epoch; a Date holds milliseconds either way.
   */
  private historyJsonSql(): string {
    return `(select coalesce(json_agg(h), '[]')::text
         from (select id, name, checksum, status, transactional, statements_done as "statementsDone",
                      statements_total as "statementsTotal", done_checksum as "doneChecksum",
                      floor(extract(epoch from started_at) * 1000)::float8 as "startedAt",
                      floor(extract(epoch from finished_at) * 1000)::float8 as "finishedAt",
                      duration_ms as "durationMs", applied_by as "appliedBy", run_id as "runId",
                      error, source
                 from ${this.historyTable}) h)`;
  }

  private async recordsOf(json: string | undefined): Promise<HistoryRecord[]> {
    const rows = JSON.parse(json ?? '[]') as Record<string, unknown>[];
    const records: HistoryRecord[] = [];
    for (const row of rows) {
      row['startedAt'] = dateOfEpochMs(row['startedAt']);
      row['finishedAt'] = dateOfEpochMs(row['finishedAt']);
      const record = historyRecordOf(row) ?? (await this.checkedBySchema(row));
      if (!isMigrationId(record.id)) throw this.corrupt(record.id, ' is not a migration ID');
      records.push(record);
    }
    return records.sort((a, b) => compareMigrationIds(a.id, b.id));
  }

  /** A row the plain check refused: zod's schema has the last word, and words the error. */
  private async checkedBySchema(row: Record<string, unknown>): Promise<HistoryRecord> {
    const { HistoryRecordSchema } = await import('./history-schema.js');
    const parsed = HistoryRecordSchema.safeParse(row);
    if (parsed.success) return parsed.data;
    const id = typeof row['id'] === 'string' ? row['id'] : '?';
    throw this.corrupt(
      id,
      `: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  }

  private corrupt(id: string, what: string): HistoryCorruptError {
    return new HistoryCorruptError(
      `${this.historyTable} has a row no dbmigrate runner wrote (id ${JSON.stringify(id.slice(0, 40))}${what}); the history table was edited by hand. Restore it from a snapshot, or delete that row once you know what it was`,
    );
  }

  /**
   * [ID, action] pairs as one JSON text, parsed natively as the history rows are (an array, not
   * an object: JavaScript would reorder numeric-looking keys). `actions` is the parameter
   * holding OUTCOME_ACTIONS.
   */
  private outcomesJsonSql(actions: string): string {
    return `(select coalesce(json_agg(json_build_array(id, action) order by id), '[]')::text
         from (select distinct on (migration_id) migration_id as id, action
                 from ${this.events}
                where action = any(${actions}::text[])
                order by migration_id, seq desc) e)`;
  }

  async readEvents(client: pg.ClientBase, limit: number): Promise<HistoryEvent[]> {
    if (!(await this.exists(client))) return [];
    const res = await client.query(
      `select seq::int as seq, at, run_id as "runId", migration_id as "migrationId", action, checksum,
              duration_ms as "durationMs", actor, detail
         from (select * from ${this.events} order by seq desc limit $1) e order by seq`,
      [limit],
    );
    const { HistoryEventSchema } = await import('./history-schema.js');
    return res.rows.map((row) => HistoryEventSchema.parse(row));
  }

  async write(client: pg.ClientBase, w: HistoryWrite): Promise<void> {
    await client.query(this.upsertSql(), this.upsertParams(w));
  }

  /** The history row and its event in one round trip (a migration's commit path). */
  async writeWithEvent(
    client: pg.ClientBase,
    w: HistoryWrite,
    e: HistoryEventWrite,
  ): Promise<void> {
    await client.query(this.withEventSql(placeholders(1, 15), placeholders(16, 7)), [
      ...this.upsertParams(w),
      ...eventParams(e),
    ]);
  }

  /**
   * The history row, its event and COMMIT of the open transaction in one round trip: a
   * transactional migration's last step. Values go as literals, since a statement with
   * parameters cannot share its round trip with another; if the write fails, PostgreSQL runs
   * nothing after it in the text, so COMMIT is not reached and the caller rolls back.
   */
  async writeWithEventAndCommit(
    client: pg.ClientBase,
    w: HistoryWrite,
    e: HistoryEventWrite,
  ): Promise<void> {
    const literals = (values: readonly HistoryValue[]) => values.map((v) => literal(client, v));
    await client.query(
      `${this.withEventSql(literals(this.upsertParams(w)), literals(eventParams(e)))};\ncommit`,
    );
  }

  private withEventSql(row: readonly string[], event: readonly string[]): string {
    return `with h as (${this.upsertSql(row)})
       insert into ${this.events} (run_id, migration_id, action, checksum, duration_ms, actor, detail)
       values (${event.join(', ')})`;
  }

  private upsertSql(values: readonly string[] = placeholders(1, 15)): string {
    return `insert into ${this.historyTable} (id, name, checksum, status, transactional, statements_done,
         statements_total, done_checksum, started_at, finished_at, duration_ms, applied_by, run_id, error, source)
       values (${values.join(',')})
       on conflict (id) do update set name = excluded.name, checksum = excluded.checksum,
         status = excluded.status, transactional = excluded.transactional,
         statements_done = excluded.statements_done, statements_total = excluded.statements_total,
         done_checksum = excluded.done_checksum, started_at = excluded.started_at,
         finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
         applied_by = excluded.applied_by, run_id = excluded.run_id, error = excluded.error,
         source = excluded.source`;
  }

  private upsertParams(w: HistoryWrite): HistoryValue[] {
    return [
      w.id,
      w.name,
      w.checksum,
      w.status,
      w.transactional,
      w.statementsDone,
      w.statementsTotal,
      w.doneChecksum,
      w.startedAt,
      w.finishedAt,
      w.durationMs,
      w.appliedBy,
      w.runId,
      w.error,
      w.source,
    ];
  }

  /** Records that a non-transactional migration finished one more statement. */
  async recordProgress(
    client: pg.ClientBase,
    id: string,
    statementsDone: number,
    doneChecksum: string,
  ): Promise<void> {
    await client.query(
      `update ${this.historyTable} set statements_done = $2, done_checksum = $3 where id = $1`,
      [id, statementsDone, doneChecksum],
    );
  }

  async setChecksum(client: pg.ClientBase, id: string, checksum: string): Promise<void> {
    await client.query(`update ${this.historyTable} set checksum = $2 where id = $1`, [
      id,
      checksum,
    ]);
  }

  async remove(client: pg.ClientBase, id: string): Promise<void> {
    await client.query(`delete from ${this.historyTable} where id = $1`, [id]);
  }

  /**
   * The latest apply, baseline or import event of migration `id`, when that is also its latest
   * outcome (no rollback after it): what the events log says is in the database.
   */
  async lastInEffectEvent(
    client: pg.ClientBase,
    id: string,
  ): Promise<{
    action: InEffectAction;
    checksum: string | null;
    at: Date;
  } | null> {
    if (!(await this.exists(client))) return null;
    const res = await client.query<{ action: string; checksum: string | null; at: Date }>(
      `select action, checksum, at from ${this.events}
        where migration_id ~ '^[0-9]+$' and migration_id::numeric = $1::numeric
          and action = any($2::text[])
        order by seq desc limit 1`,
      [id, OUTCOME_ACTIONS],
    );
    const row = res.rows[0];
    if (!row || !isInEffectAction(row.action)) return null;
    return { action: row.action, checksum: row.checksum, at: row.at };
  }

  async logEvent(client: pg.ClientBase, e: HistoryEventWrite): Promise<void> {
    await client.query(
      `insert into ${this.events} (run_id, migration_id, action, checksum, duration_ms, actor, detail)
       values ($1,$2,$3,$4,$5,$6,$7)`,
      [e.runId, e.migrationId, e.action, e.checksum, e.durationMs, e.actor, e.detail],
    );
  }
}

/** What a history row or event holds in a column. */
type HistoryValue = string | number | boolean | Date | null;

/** `$first` … for `count` parameters. */
function placeholders(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `$${String(first + i)}`);
}

function eventParams(e: HistoryEventWrite): HistoryValue[] {
  return [e.runId, e.migrationId, e.action, e.checksum, e.durationMs, e.actor, e.detail];
}

/** A value as SQL text: strings quoted by the driver, instants in UTC with their milliseconds. */
function literal(client: pg.ClientBase, value: HistoryValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return client.escapeLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not a whole number: ${String(value)}`);
    return String(value);
  }
  return `${client.escapeLiteral(value.toISOString())}::timestamptz`;
}

function outcomesOf(json: string | undefined): Map<string, string> {
  const outcomes = JSON.parse(json ?? '[]') as [string, string][];
  return new Map(
    outcomes
      .filter(([id]) => isMigrationId(id))
      .map(([id, action]) => [migrationIdKey(id), action]),
  );
}

function dateOfEpochMs(value: unknown): unknown {
  return typeof value === 'number' ? new Date(value) : value;
}
