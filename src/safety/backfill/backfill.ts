import type { Logger } from 'pino';
import { DEFAULTS } from '../../api/settings.js';
import { errorText, openClient } from '../../db/connection.js';
import { LOCK_NOT_AVAILABLE, retryDelayMs, sqlStateOf } from '../../engine/retry.js';
import { compressSessionWal } from '../../engine/wal-compression.js';
import { silentLogger } from '../../observability/logger.js';
import {
  IdleLatency,
  initialThrottleState,
  lsnBytes,
  nextPace,
  throttleLimits,
  THROTTLE_DEFAULTS,
  type PaceReason,
  type ThrottleLimits,
} from '../throttle/adaptive-throttle.js';
import { WriterProbe, type ProbeSample } from '../throttle/impact-probe.js';

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
  /** Rows per batch: the first batch's, and the most the adaptive throttle grows it to. */
  readonly batchSize?: number;
  /**
   * Pause between batches so replicas and autovacuum keep up: the shortest the adaptive
   * throttle pauses, or every pause when `adaptive` is false.
   */
  readonly throttleMs?: number;
  /**
   * Pace by measured impact (src/safety/throttle): a probe write on a second connection during
   * every batch; when it waits more than `maxAddedLatencyMs` over its idle latency, or the
   * server's WAL rate passes `maxWalBytesPerSecond`, batches shrink and pauses grow, and they
   * recover when writers are unaffected. false: fixed batches and pauses, no probe.
   */
  readonly adaptive?:
    | false
    | Partial<
        Pick<
          ThrottleLimits,
          'maxAddedLatencyMs' | 'maxWalBytesPerSecond' | 'minBatchSize' | 'maxPauseMs'
        >
      >;
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
  /** The adaptive throttle's pace after the last batch (absent when it is off). */
  readonly pace?: BackfillPace;
}

export interface BackfillPace {
  readonly batchSize: number;
  readonly pauseMs: number;
  readonly reason: PaceReason;
  /** The last batch's longest probe write over the idle latency, ms (null: none measured). */
  readonly addedLatencyMs: number | null;
  /** The server's WAL rate over the last cycle, bytes/s (null: unknown). */
  readonly walBytesPerSecond: number | null;
}

export interface BackfillResult extends BackfillProgress {
  readonly finished: boolean;
  readonly resumedFrom: string | null;
  readonly durationMs: number;
  /** Times the adaptive throttle slowed down (writers slowed or WAL over its ceiling). */
  readonly backoffs: number;
  /** Longest probe write over its idle latency during any batch, ms (null: no probe). */
  readonly maxAddedLatencyMs: number | null;
}

/** Probe writes during a batch start at most this often. */
const PROBE_EVERY_MS = 10;

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
  const batchSize = options.batchSize ?? THROTTLE_DEFAULTS.maxBatchSize;
  const throttle = options.throttleMs ?? THROTTLE_DEFAULTS.minPauseMs;
  const limits =
    options.adaptive === false
      ? null
      : throttleLimits({ ...options.adaptive, maxBatchSize: batchSize, minPauseMs: throttle });
  let pace = limits ? initialThrottleState(limits) : { batchSize, pauseMs: throttle, calm: 0 };
  let backoffs = 0;
  let maxAdded: number | null = null;
  const schema = options.historySchema ?? DEFAULTS.historySchema;
  const client = await openClient(options.databaseUrl, `dbmigrate:backfill:${options.name}`);
  try {
    // Each page a batch first touches after a checkpoint goes to the WAL whole.
    await compressSessionWal(client, log, { backfill: options.name });
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
      return {
        batches,
        rowsUpdated,
        lastKey,
        finished: true,
        resumedFrom,
        durationMs: 0,
        backoffs: 0,
        maxAddedLatencyMs: null,
      };
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
    const probe = limits ? await WriterProbe.open(options.databaseUrl, schema, options.name) : null;
    const idle = new IdleLatency();
    let lastIdle: ProbeSample | null = null;
    const finish = (finished: boolean): BackfillResult => ({
      batches,
      rowsUpdated,
      lastKey,
      finished,
      resumedFrom,
      durationMs: Math.round(performance.now() - started),
      backoffs,
      maxAddedLatencyMs: maxAdded === null ? null : Math.round(maxAdded * 10) / 10,
    });
    /** One batch in its own transaction, the checkpoint advanced in it; null when none is left. */
    const batch = async (size: number): Promise<{ last: string; n: number } | null> => {
      await client.query('begin');
      await client.query("select set_config('lock_timeout', $1, true)", [
        `${options.lockTimeoutMs ?? 2000}ms`,
      ]);
      const res = await client.query<{ last: string | null; n: number }>(sql, [lastKey, size]);
      const row = res.rows[0];
      if (!row?.last) {
        await client.query(
          `update ${checkpoints} set finished_at = now(), updated_at = now() where name = $1`,
          [options.name],
        );
        await client.query('commit');
        return null;
      }
      await client.query(
        `update ${checkpoints} set last_key = $2, rows_done = rows_done + $3, batches = batches + 1, updated_at = now() where name = $1`,
        [options.name, row.last, row.n],
      );
      await client.query('commit');
      return { last: row.last, n: row.n };
    };
    try {
      for (let attempt = 0; ;) {
        if (options.signal?.aborted) break;
        // The probe's idle latency, taken after the pause, and the server's WAL since the last.
        const before = probe ? await probe.sample() : null;
        let walRate: number | null = null;
        if (before) {
          idle.add(before.ms);
          const bytes = lastIdle?.lsn && before.lsn ? lsnBytes(lastIdle.lsn, before.lsn) : null;
          if (lastIdle && bytes !== null && before.at > lastIdle.at)
            walRate = (bytes * 1000) / (before.at - lastIdle.at);
          lastIdle = before;
        }
        const sent = performance.now();
        let done: { last: string; n: number } | null;
        let probeMax: number | null = null;
        try {
          if (probe) {
            const r = await probe.during(batch(pace.batchSize), PROBE_EVERY_MS);
            done = r.value;
            probeMax = r.maxMs;
          } else {
            done = await batch(pace.batchSize);
          }
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          if (sqlStateOf(err) === LOCK_NOT_AVAILABLE && attempt < 5) {
            await new Promise((r) => setTimeout(r, retryDelayMs(attempt++)));
            continue;
          }
          throw new BackfillError(
            `backfill ${options.name} failed after ${rowsUpdated} rows (resume point ${lastKey ?? 'start'}): ${errorText(err)}`,
            { cause: err },
          );
        }
        const batchMs = performance.now() - sent;
        if (done === null) {
          log.info({ rows: rowsUpdated, batches, backoffs }, 'backfill finished');
          return finish(true);
        }
        attempt = 0;
        lastKey = done.last;
        rowsUpdated += done.n;
        batches++;
        let reported: BackfillPace | undefined;
        if (limits) {
          const base = idle.median();
          const added = probeMax !== null && base !== null ? probeMax - base : null;
          if (added !== null) maxAdded = Math.max(maxAdded ?? added, added);
          const decision = nextPace(
            pace,
            { batchMs, addedLatencyMs: added, walBytesPerSecond: walRate },
            limits,
          );
          if (
            decision.reason === 'writers-slowed' ||
            decision.reason === 'wal-rate' ||
            decision.reason === 'batch-too-long'
          ) {
            backoffs++;
            log.debug(
              {
                reason: decision.reason,
                added_latency_ms: added,
                wal_bytes_per_s: walRate,
                batch_size: decision.state.batchSize,
                pause_ms: decision.state.pauseMs,
              },
              'backfill slowing down',
            );
          }
          pace = decision.state;
          reported = {
            batchSize: pace.batchSize,
            pauseMs: pace.pauseMs,
            reason: decision.reason,
            addedLatencyMs: added,
            walBytesPerSecond: walRate,
          };
        }
        options.onProgress?.({
          batches,
          rowsUpdated,
          lastKey,
          ...(reported && { pace: reported }),
        });
        if (batches % 50 === 0) {
          log.info(
            {
              batches,
              rows: rowsUpdated,
              last_key: lastKey,
              batch_size: pace.batchSize,
              pause_ms: pace.pauseMs,
            },
            'backfill progress',
          );
        }
        if (pace.pauseMs > 0) await new Promise((r) => setTimeout(r, pace.pauseMs));
      }
    } finally {
      await probe?.close();
    }
    log.info(
      { rows: rowsUpdated, batches, last_key: lastKey },
      'backfill stopped; re-run to resume',
    );
    return finish(false);
  } finally {
    await client.end().catch(() => undefined);
  }
}
