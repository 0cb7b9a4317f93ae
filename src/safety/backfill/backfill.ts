import type { Logger } from 'pino';
import { DEFAULTS } from '../../api/settings.js';
import { errorText, openClient } from '../../db/connection.js';
import { LOCK_NOT_AVAILABLE, retryDelayMs, sqlStateOf } from '../../engine/retry.js';
import { silentLogger } from '../../observability/logger.js';

export interface BackfillOptions {
  readonly databaseUrl: string;
  /** Checkpoint name: a second run with the same name resumes after the last committed batch. */
  readonly name: string;
  /** `schema.table` or `table`. */
  readonly table: string;
  /** A unique, indexed column to walk in order (the primary key). */
  readonly keyColumn?: string;
  /** The SET list of the UPDATE, e.g. `small = l2_normalize(subvector(embedding, 1, 1024))`. */
  readonly set: string;
  /** Which rows still need it, e.g. `small is null`; makes re-runs cheap and idempotent. */
  readonly where?: string;
  readonly batchSize?: number;
  /** Pause between batches so replicas and autovacuum keep up. */
  readonly throttleMs?: number;
  readonly lockTimeoutMs?: number;
  readonly historySchema?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: BackfillProgress) => void;
}

export interface BackfillProgress {
  readonly batches: number;
  readonly rowsUpdated: number;
  readonly lastKey: string | null;
}

export interface BackfillResult extends BackfillProgress {
  readonly finished: boolean;
  readonly resumedFrom: string | null;
  readonly durationMs: number;
}

export class BackfillError extends Error {
  readonly code = 'BACKFILL_REFUSED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BackfillError';
  }
}

/**
 * Keyset-batched UPDATE: each batch is its own short transaction that also advances the
 * checkpoint, so a crash loses at most the batch in flight and a re-run continues exactly
 * where the last commit left off. Row locks are held for one batch only.
 */
export async function runBackfill(options: BackfillOptions): Promise<BackfillResult> {
  const log = (options.logger ?? silentLogger()).child({ backfill: options.name });
  const started = performance.now();
  const batchSize = options.batchSize ?? 1000;
  const throttle = options.throttleMs ?? 50;
  const schema = options.historySchema ?? DEFAULTS.historySchema;
  const client = await openClient(options.databaseUrl, `dbmigrate:backfill:${options.name}`);
  try {
    const id = client.escapeIdentifier.bind(client);
    const checkpoints = `${id(schema)}.backfill_checkpoints`;
    await client.query(`create schema if not exists ${id(schema)}`);
    await client.query(`create table if not exists ${checkpoints} (
      name text primary key, table_name text not null, key_column text not null, last_key text,
      rows_done bigint not null default 0, batches integer not null default 0,
      started_at timestamptz not null default now(), updated_at timestamptz not null default now(),
      finished_at timestamptz)`);
    const keyColumn = options.keyColumn ?? 'id';
    const rel = await client.query<{ rel: string | null; type: string | null; unique: boolean }>(
      `select to_regclass($1)::text as rel,
              (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                where a.attrelid = to_regclass($1) and a.attname = $2 and not a.attisdropped) as type,
              exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                       where i.indrelid = to_regclass($1) and i.indisunique and i.indnatts = 1 and a.attname = $2) as unique`,
      [options.table, keyColumn],
    );
    const info = rel.rows[0];
    if (!info?.rel)
      throw new BackfillError(`backfill ${options.name}: table ${options.table} does not exist`);
    if (!info.type)
      throw new BackfillError(
        `backfill ${options.name}: ${options.table} has no column ${keyColumn}`,
      );
    if (!info.unique) {
      throw new BackfillError(
        `backfill ${options.name}: ${options.table}.${keyColumn} has no single-column unique index; keyset batches need one (use the primary key)`,
      );
    }
    const existing = await client.query<{
      table_name: string;
      last_key: string | null;
      rows_done: string;
      batches: number;
      finished_at: Date | null;
    }>(
      `select table_name, last_key, rows_done::text, batches, finished_at from ${checkpoints} where name = $1`,
      [options.name],
    );
    const cp = existing.rows[0];
    if (cp && cp.table_name !== info.rel) {
      throw new BackfillError(
        `backfill ${options.name} was started on ${cp.table_name}, not ${info.rel}; use another name`,
      );
    }
    if (!cp) {
      await client.query(
        `insert into ${checkpoints} (name, table_name, key_column) values ($1, $2, $3)`,
        [options.name, info.rel, keyColumn],
      );
    }
    const resumedFrom = cp?.last_key ?? null;
    let lastKey = resumedFrom;
    let rowsUpdated = Number(cp?.rows_done ?? 0);
    let batches = cp?.batches ?? 0;
    if (cp?.finished_at) {
      log.info({ rows: rowsUpdated }, 'backfill already finished');
      return { batches, rowsUpdated, lastKey, finished: true, resumedFrom, durationMs: 0 };
    }
    const key = id(keyColumn);
    const filter = options.where ? `and (${options.where})` : '';
    const sql = `
      with batch as (
        select ${key} as k from ${info.rel}
         where ($1::text is null or ${key} > $1::text::${info.type}) ${filter}
         order by ${key} limit $2),
      updated as (
        update ${info.rel} set ${options.set} from batch where ${info.rel}.${key} = batch.k returning 1)
      select (select max(k)::text from batch) as last, (select count(*) from updated)::int as n`;
    for (let attempt = 0; ;) {
      if (options.signal?.aborted) break;
      try {
        await client.query('begin');
        await client.query("select set_config('lock_timeout', $1, true)", [
          `${options.lockTimeoutMs ?? 2000}ms`,
        ]);
        const res = await client.query<{ last: string | null; n: number }>(sql, [
          lastKey,
          batchSize,
        ]);
        const row = res.rows[0];
        if (!row?.last) {
          await client.query(
            `update ${checkpoints} set finished_at = now(), updated_at = now() where name = $1`,
            [options.name],
          );
          await client.query('commit');
          log.info({ rows: rowsUpdated, batches }, 'backfill finished');
          return {
            batches,
            rowsUpdated,
            lastKey,
            finished: true,
            resumedFrom,
            durationMs: Math.round(performance.now() - started),
          };
        }
        await client.query(
          `update ${checkpoints} set last_key = $2, rows_done = rows_done + $3, batches = batches + 1, updated_at = now() where name = $1`,
          [options.name, row.last, row.n],
        );
        await client.query('commit');
        attempt = 0;
        lastKey = row.last;
        rowsUpdated += row.n;
        batches++;
        options.onProgress?.({ batches, rowsUpdated, lastKey });
        if (batches % 50 === 0)
          log.info({ batches, rows: rowsUpdated, last_key: lastKey }, 'backfill progress');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        if (sqlStateOf(err) === LOCK_NOT_AVAILABLE && attempt < 5) {
          await new Promise((r) => setTimeout(r, retryDelayMs(attempt++)));
          continue;
        }
        throw new BackfillError(
          `backfill ${options.name} failed after ${rowsUpdated} rows (resume point ${lastKey ?? 'start'}): ${errorText(err)}`,
          {
            cause: err,
          },
        );
      }
      if (throttle > 0) await new Promise((r) => setTimeout(r, throttle));
    }
    log.info(
      { rows: rowsUpdated, batches, last_key: lastKey },
      'backfill stopped; re-run to resume',
    );
    return {
      batches,
      rowsUpdated,
      lastKey,
      finished: false,
      resumedFrom,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
