import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConnector } from '../db/connection.js';

/**
 * Cancels, on abort, the statement a session is running, but only while a guarded call is in
 * flight: a cancel that reached the history bookkeeping after a statement finished would lose
 * the record that it ran. Each guarded call waits for a cancel it triggered to be delivered
 * before returning, so the next query never receives it.
 */
export class Interrupter {
  private constructor(
    private readonly signal: AbortSignal,
    private readonly cancel: () => Promise<void>,
  ) {}

  /** The session's backend pid is read once; cancelling uses a second, short session. */
  static async forSession(
    client: pg.ClientBase,
    connector: DatabaseConnector,
    signal: AbortSignal,
    log: Logger,
  ): Promise<Interrupter> {
    const res = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const pid = res.rows[0]?.pid;
    return new Interrupter(signal, async () => {
      try {
        const other = await connector.connect('dbmigrate:cancel');
        try {
          await other.client.query('select pg_cancel_backend($1)', [pid]);
        } finally {
          await other.release();
        }
      } catch (err) {
        log.warn({ err }, 'could not cancel the statement in progress');
      }
    });
  }

  /** Runs `work`; an abort meanwhile cancels what the session executes (SQLSTATE 57014). */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    const pending: { sent?: Promise<void> } = {};
    const onAbort = (): void => {
      pending.sent = this.cancel();
    };
    if (this.signal.aborted) onAbort();
    else this.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await work();
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      if (pending.sent) await pending.sent;
    }
  }
}

/** Why a run was interrupted: the abort reason the CLI gives (`interrupted (SIGINT)`). */
export function interruptReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return typeof reason === 'string' ? reason : 'interrupted';
}
