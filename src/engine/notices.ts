import type pg from 'pg';
import type { Logger } from 'pino';

/**
 * NOTICE and WARNING messages a migration's SQL raises (RAISE NOTICE, "relation already
 * exists, skipping", a backfill's report of orphans found) are part of what it did: they are
 * logged with the migration ID and returned in its result.
 */
export class NoticeCollector {
  private current: string | null = null;
  private collected: string[] = [];
  private readonly onNotice = (notice: {
    severity?: string | undefined;
    message?: string | undefined;
  }): void => {
    if (this.current === null) return;
    const text = `${notice.severity ?? 'NOTICE'}: ${notice.message ?? ''}`;
    this.collected.push(text);
    this.log.info({ migration: this.current, notice: text }, 'migration notice');
  };

  constructor(
    private readonly client: pg.ClientBase,
    private readonly log: Logger,
  ) {
    client.on('notice', this.onNotice);
  }

  /** Starts collecting for `migrationId`. */
  begin(migrationId: string): void {
    this.current = migrationId;
    this.collected = [];
  }

  /** What the current migration raised; stops collecting until the next begin(). */
  take(): string[] {
    const out = this.collected;
    this.current = null;
    this.collected = [];
    return out;
  }

  detach(): void {
    this.client.off('notice', this.onNotice);
  }
}
