import type pg from 'pg';
import type { ExecutionObserver, StatementEvent } from '../../engine/executor.js';
import { isLockMode, type LockMode } from './lock-modes.js';

interface HeldLock {
  readonly relation: string;
  readonly mode: string;
}

/** One lock the migrating session held on one relation, and for how long. */
export interface LockHold {
  readonly relation: string;
  readonly mode: LockMode;
  readonly heldMs: number;
}

/** The locks a statement takes, as far as its text tells (the linter's lock model). */
export type LockPrediction = (sql: string) => readonly { relation: string; mode: LockMode }[];

const TABLE_LOCKS = `
  select l.pid, c.oid::regclass::text as relation, l.mode
    from pg_locks l
    join pg_class c on c.oid = l.relation
    join pg_namespace n on n.oid = c.relnamespace
   where l.locktype = 'relation' and l.granted and c.relkind in ('r', 'p', 'm')
     and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname <> $1`;

interface OpenLock {
  readonly relation: string;
  readonly mode: LockMode;
  /** performance.now() when the statement that took it was sent. */
  readonly since: number;
  /** The probe's own time inside the transaction before that, which production never spends. */
  readonly probeMsBefore: number;
}

interface LockSighting {
  readonly relation: string;
  readonly mode: LockMode;
  /** performance.now() of the sample. */
  readonly at: number;
}

interface StatementWindow {
  readonly from: number;
  readonly to: number;
}

const key = (relation: string, mode: string): string => `${relation}\u0000${mode}`;

/**
 * Times the locks a migration run takes on staging:
 * - inside a transactional migration, after every statement, the session's own pg_locks rows:
 *   a lock first seen after statement N was taken by it and is held until the transaction
 *   ends, so its hold runs from N's start to the commit, less the time this probe itself spent
 *   querying inside the transaction;
 * - outside a transaction (CREATE INDEX CONCURRENTLY, transaction=false), a statement's locks
 *   end with it, so each is held for that statement's duration: the locks the statement's text
 *   says it takes, and any the sampler saw while it ran;
 * - a pg_locks sample every `intervalMs` from a second connection, for what the statement text
 *   does not tell (functions, DO blocks): a lock first seen inside a statement outside a
 *   transaction is held from the statement's last sample that did not see it (or its start)
 *   to its end; seen outside any timed statement it counts as held for one interval.
 */
export class LockProbe implements ExecutionObserver {
  private readonly open = new Map<string, Map<string, OpenLock>>();
  /** The probe's own query time inside the current transaction of each migration. */
  private readonly probeMs = new Map<string, number>();
  private readonly holds = new Map<string, LockHold[]>();
  private readonly windows = new Map<string, StatementWindow[]>();
  private readonly sampled = new Map<string, LockSighting[]>();
  /** When each sample that found a migration's session ran, whether it held anything or not. */
  private readonly sampledAt = new Map<string, number[]>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  private samples = 0;

  constructor(
    private readonly probe: pg.ClientBase,
    private readonly applicationPrefix: string,
    private readonly historySchema: string,
    readonly intervalMs = 50,
    private readonly predict: LockPrediction = () => [],
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

  private listOf<T>(map: Map<string, T[]>, id: string): T[] {
    let list = map.get(id);
    if (!list) {
      list = [];
      map.set(id, list);
    }
    return list;
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const at = performance.now();
      const res = await this.probe.query<{
        app: string;
        relation: string | null;
        mode: string | null;
      }>(
        `select a.application_name as app, t.relation, t.mode
           from pg_stat_activity a
           left join (${TABLE_LOCKS}) t on t.pid = a.pid
          where a.application_name like $2`,
        [this.historySchema, `${this.applicationPrefix}%`],
      );
      this.samples++;
      const found = new Set<string>();
      for (const row of res.rows) {
        const migrationId = row.app.split(':').pop() ?? '';
        if (!/^\d+$/.test(migrationId)) continue;
        if (!found.has(migrationId)) this.listOf(this.sampledAt, migrationId).push(at);
        found.add(migrationId);
        if (row.relation !== null && row.mode !== null && isLockMode(row.mode)) {
          this.listOf(this.sampled, migrationId).push({
            relation: row.relation,
            mode: row.mode,
            at,
          });
        }
      }
    } catch {
      // A sample that fails (the session ended mid-query) is just a missed sample.
    } finally {
      this.sampling = false;
    }
  }

  async statementFinished(event: StatementEvent): Promise<void> {
    const id = event.migration.id;
    const ended = event.startedAt + event.durationMs;
    if (!event.inTransaction) {
      this.listOf(this.windows, id).push({ from: event.startedAt, to: ended });
      for (const lock of this.predict(event.sql)) {
        this.listOf(this.holds, id).push({ ...lock, heldMs: event.durationMs });
      }
      return;
    }
    const res = await event.client.query<HeldLock>(`${TABLE_LOCKS} and l.pid = pg_backend_pid()`, [
      this.historySchema,
    ]);
    let open = this.open.get(id);
    if (!open) {
      open = new Map();
      this.open.set(id, open);
    }
    const spent = this.probeMs.get(id) ?? 0;
    for (const lock of res.rows) {
      const k = key(lock.relation, lock.mode);
      if (open.has(k) || !isLockMode(lock.mode)) continue;
      open.set(k, {
        relation: lock.relation,
        mode: lock.mode,
        since: event.startedAt,
        probeMsBefore: spent,
      });
    }
    this.probeMs.set(id, spent + (performance.now() - ended));
  }

  /** The transaction's locks end here: each becomes a hold timed from its statement. */
  readonly transactionEnded = (event: { migration: { id: string }; endedAt: number }): void => {
    this.closeOpen(event.migration.id, event.endedAt);
  };

  private closeOpen(id: string, endedAt: number): void {
    const open = this.open.get(id);
    if (!open) return;
    const spent = this.probeMs.get(id) ?? 0;
    for (const lock of open.values()) {
      this.listOf(this.holds, id).push({
        relation: lock.relation,
        mode: lock.mode,
        heldMs: Math.max(0, endedAt - lock.since - (spent - lock.probeMsBefore)),
      });
    }
    this.open.delete(id);
    this.probeMs.delete(id);
  }

  /**
   * Every lock hold of `migrationId`. Locks still open (a transaction whose end was not
   * reported) end at `endedAt`.
   */
  holdsFor(migrationId: string, endedAt: number): LockHold[] {
    this.closeOpen(migrationId, endedAt);
    const timed = [...(this.holds.get(migrationId) ?? [])];
    const windows = this.windows.get(migrationId) ?? [];
    const known = new Set(timed.map((h) => key(h.relation, h.mode)));
    const sampledAt = this.sampledAt.get(migrationId) ?? [];
    // Per lock and statement, the first sample that saw it.
    const firstSeen = new Map<string, { s: LockSighting; w: StatementWindow }>();
    for (const s of this.sampled.get(migrationId) ?? []) {
      const w = windows.find((x) => s.at >= x.from && s.at <= x.to);
      if (!w) {
        if (!known.has(key(s.relation, s.mode))) timed.push({ ...s, heldMs: this.intervalMs });
        continue;
      }
      const k = `${key(s.relation, s.mode)}\u0000${String(w.from)}`;
      const first = firstSeen.get(k);
      if (!first || s.at < first.s.at) firstSeen.set(k, { s, w });
    }
    for (const { s, w } of firstSeen.values()) {
      // Taken after the statement's last sample that did not see it: held at most from then to
      // the statement's end, the tightest bound a sampler gives inside one statement.
      const before = sampledAt.filter((t) => t >= w.from && t < s.at);
      const since = before.length ? Math.max(...before) : w.from;
      timed.push({ relation: s.relation, mode: s.mode, heldMs: w.to - since });
    }
    return timed;
  }
}
