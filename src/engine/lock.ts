import { createHash } from 'node:crypto';
import type pg from 'pg';
import { MigrationLockBusyError, RunStoppedError } from './errors.js';
import { interruptReason } from './interrupt.js';

/** First key of every dbmigrate advisory lock ('dbmg'); the second is derived from the history schema. */
const LOCK_CLASS = 0x64626d67;

/** The session-level advisory lock that keeps two runners from interleaving. */
export interface MigrationLock {
  /** Aborting `signal` stops the wait with RUN_STOPPED. */
  acquire(client: pg.ClientBase, waitMs: number, signal?: AbortSignal): Promise<void>;
  release(client: pg.ClientBase): Promise<void>;
  /** Who holds it now (application_name, pid), or null when free. */
  holder(client: pg.ClientBase): Promise<string | null>;
}

export function lockKeyFor(historySchema: string): number {
  return (
    createHash('sha256').update(`dbmigrate:${historySchema}`).digest().readUInt32BE(0) & 0x7fffffff
  );
}

/**
 * Session lock, not transaction lock: it must outlive the per-migration transactions and the
 * autocommit statements of non-transactional migrations. It therefore needs a real session
 * (never a transaction-pooled PgBouncer connection).
 */
export class AdvisoryMigrationLock implements MigrationLock {
  private readonly key: number;

  constructor(
    historySchema: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {
    this.key = lockKeyFor(historySchema);
  }

  async acquire(client: pg.ClientBase, waitMs: number, signal?: AbortSignal): Promise<void> {
    const started = Date.now();
    let delay = 50;
    for (;;) {
      if (signal?.aborted) throw new RunStoppedError(null, interruptReason(signal));
      const res = await client.query<{ ok: boolean }>(
        'select pg_try_advisory_lock($1::int, $2::int) as ok',
        [LOCK_CLASS, this.key],
      );
      if (res.rows[0]?.ok === true) return;
      const waited = Date.now() - started;
      if (waited >= waitMs) {
        throw new MigrationLockBusyError(waited, await this.holder(client));
      }
      await this.sleep(Math.min(delay + Math.random() * delay, waitMs - waited));
      delay = Math.min(delay * 2, 1000);
    }
  }

  async release(client: pg.ClientBase): Promise<void> {
    await client.query('select pg_advisory_unlock($1::int, $2::int)', [LOCK_CLASS, this.key]);
  }

  async holder(client: pg.ClientBase): Promise<string | null> {
    const res = await client.query<{ who: string }>(
      `select coalesce(nullif(a.application_name, ''), 'unnamed') || ' (pid ' || a.pid || ', since ' ||
              to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')' as who
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.classid = $1::int::oid
          and l.objid = $2::int::oid and l.objsubid = 2 and l.database = (select oid from pg_database where datname = current_database())`,
      [LOCK_CLASS, this.key],
    );
    return res.rows[0]?.who ?? null;
  }
}
