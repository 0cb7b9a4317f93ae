import type pg from 'pg';
import type { ExecutionObserver, StatementEvent } from '../../engine/executor.js';
import { isLockMode, type LockMode } from './lock-modes.js';
import type { LockSighting } from './impact.js';

interface HeldLock {
  readonly relation: string;
  readonly mode: string;
}

const TABLE_LOCKS = `
  select l.pid, c.oid::regclass::text as relation, l.mode
    from pg_locks l
    join pg_class c on c.oid = l.relation
    join pg_namespace n on n.oid = c.relnamespace
   where l.locktype = 'relation' and l.granted and c.relkind in ('r', 'p', 'm')
     and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname <> $1`;

/**
 * Watches the locks a migration run takes on staging, two ways:
 * - inside each transactional migration, after every statement, the session's own pg_locks
 *   rows (exact: a transaction holds every lock it took until it commits);
 * - from a second connection, a pg_locks sample every `intervalMs` for statements that run
 *   outside a transaction (CREATE INDEX CONCURRENTLY …), whose locks end with the statement.
 */
export class LockProbe implements ExecutionObserver {
  private readonly sightings = new Map<
    string,
    Map<string, { mode: LockMode; relation: string; first: number; last: number }>
  >();
  /** Locks that stay held until the current transactional migration commits. */
  private readonly untilCommit = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  private samples = 0;

  constructor(
    private readonly probe: pg.ClientBase,
    private readonly applicationPrefix: string,
    private readonly historySchema: string,
    readonly intervalMs = 50,
  ) {}

  get sampleCount(): number {
    return this.samples;
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.sample();
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.sampling) await new Promise((r) => setTimeout(r, 5));
  }

  private record(migrationId: string, lock: HeldLock, first: number, last: number): void {
    if (!isLockMode(lock.mode)) return;
    let forMigration = this.sightings.get(migrationId);
    if (!forMigration) {
      forMigration = new Map();
      this.sightings.set(migrationId, forMigration);
    }
    const key = `${lock.relation}\u0000${lock.mode}`;
    const cur = forMigration.get(key);
    if (cur) {
      cur.first = Math.min(cur.first, first);
      cur.last = Math.max(cur.last, last);
    } else forMigration.set(key, { mode: lock.mode, relation: lock.relation, first, last });
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const at = performance.now();
      const res = await this.probe.query<HeldLock & { app: string }>(
        `select a.application_name as app, t.relation, t.mode
           from (${TABLE_LOCKS}) t
           join pg_stat_activity a on a.pid = t.pid
          where a.application_name like $2`,
        [this.historySchema, `${this.applicationPrefix}%`],
      );
      this.samples++;
      for (const row of res.rows) {
        const migrationId = row.app.split(':').pop() ?? '';
        if (/^\d+$/.test(migrationId)) this.record(migrationId, row, at, at);
      }
    } catch {
      // A sample that fails (the session ended mid-query) is just a missed sample.
    } finally {
      this.sampling = false;
    }
  }

  async statementFinished(event: StatementEvent): Promise<void> {
    if (!event.inTransaction) return;
    const res = await event.client.query<HeldLock>(`${TABLE_LOCKS} and l.pid = pg_backend_pid()`, [
      this.historySchema,
    ]);
    const open = this.untilCommit.get(event.migration.id) ?? new Set<string>();
    this.untilCommit.set(event.migration.id, open);
    const now = performance.now();
    for (const lock of res.rows) {
      const key = `${lock.relation}\u0000${lock.mode}`;
      // First seen after this statement: it was taken while the statement ran.
      this.record(event.migration.id, lock, open.has(key) ? now : event.startedAt, now);
      open.add(key);
    }
  }

  /** Locks of `migrationId`; those held until commit end at `endedAt`. */
  sightingsFor(migrationId: string, endedAt: number): LockSighting[] {
    const open = this.untilCommit.get(migrationId) ?? new Set<string>();
    return [...(this.sightings.get(migrationId)?.entries() ?? [])].map(([key, s]) => ({
      relation: s.relation,
      mode: s.mode,
      firstSeen: s.first,
      lastSeen: open.has(key) ? Math.max(s.last, endedAt) : s.last,
    }));
  }
}
