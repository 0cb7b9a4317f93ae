import type pg from 'pg';
import { openClient } from '../../db/connection.js';
import { sqlStateOf } from '../../engine/retry.js';

/** A probe that waits longer than this counts as this long (and the step backs off). */
export const PROBE_TIMEOUT_MS = 2000;
const QUERY_CANCELED = '57014';

export interface ProbeSample {
  /** From sending the write to its commit returning, ms. */
  readonly ms: number;
  /** pg_current_wal_insert_lsn() when it committed, as PostgreSQL prints it. */
  readonly lsn: string | null;
  /** performance.now() when it returned. */
  readonly at: number;
}

/**
 * What an application's write feels while a long step runs: a tiny committed write (an upsert
 * of one row of `<schema>.throttle_probes` in its own transaction, so its COMMIT waits for the
 * WAL flush like any writer's) on a connection of its own, timed from send to return. It also
 * reads the server's WAL insert position, for the WAL rate. Costs one small WAL record and one
 * flush per probe.
 */
export class WriterProbe {
  private constructor(
    private readonly client: pg.Client,
    private readonly table: string,
    private readonly name: string,
  ) {}

  /** Opens the probe's connection and its table (`create … if not exists`). */
  static async open(databaseUrl: string, schema: string, name: string): Promise<WriterProbe> {
    const client = await openClient(databaseUrl, `dbmigrate:probe:${name}`.slice(0, 63));
    try {
      const table = `${client.escapeIdentifier(schema)}.throttle_probes`;
      await client.query(`create schema if not exists ${client.escapeIdentifier(schema)}`);
      await client.query(
        `create table if not exists ${table} (name text primary key, probed_at timestamptz not null)`,
      );
      await client.query(`set statement_timeout = ${String(PROBE_TIMEOUT_MS)}`);
      return new WriterProbe(client, table, name);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  /** One probe write. A probe cancelled by its timeout counts as PROBE_TIMEOUT_MS. */
  async sample(): Promise<ProbeSample> {
    const sent = performance.now();
    try {
      const res = await this.client.query<{ lsn: string }>(
        `insert into ${this.table} (name, probed_at) values ($1, clock_timestamp())
           on conflict (name) do update set probed_at = excluded.probed_at
         returning pg_current_wal_insert_lsn()::text as lsn`,
        [this.name],
      );
      const at = performance.now();
      return { ms: at - sent, lsn: res.rows[0]?.lsn ?? null, at };
    } catch (err) {
      if (sqlStateOf(err) !== QUERY_CANCELED) throw err;
      return { ms: PROBE_TIMEOUT_MS, lsn: null, at: performance.now() };
    }
  }

  /**
   * Probes again and again while `work` runs, starting one at most every `everyMs`, and
   * returns its value with the longest probe that overlapped it (null if none did).
   */
  async during<T>(work: Promise<T>, everyMs: number): Promise<{ value: T; maxMs: number | null }> {
    const state = { settled: false };
    const done = work.then(
      () => {
        state.settled = true;
      },
      () => {
        state.settled = true;
      },
    );
    let maxMs: number | null = null;
    while (!state.settled) {
      const s = await this.sample();
      maxMs = Math.max(maxMs ?? 0, s.ms);
      const wait = everyMs - s.ms;
      if (wait > 0) {
        await Promise.race([done, new Promise((r) => setTimeout(r, wait))]);
      }
    }
    return { value: await work, maxMs };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
