import type pg from 'pg';
import type { Logger } from 'pino';
import { statementsChecksum } from './checksum.js';
import {
  ConnectionLostError,
  isConnectionLoss,
  LockTimeoutError,
  MigrationSqlError,
  RunStoppedError,
  type MigrationError,
} from './errors.js';
import type { HistoryEventWrite, HistoryStore, HistoryWrite } from './history-store.js';
import {
  ONLINE_INDEX_BUILD_WORKERS,
  type Migration,
  type SqlSection,
  type SqlText,
} from './migration.js';
import { concurrentIndexNames, concurrentIndexTarget, quoteIdent } from './plan.js';
import {
  LOCK_NOT_AVAILABLE,
  QUERY_CANCELED,
  retryDelayMs,
  sqlStateOf,
  type BackoffPolicy,
} from './retry.js';
import type { Interrupter } from './interrupt.js';
import type { SqlStatement } from './sql-splitter.js';
import { compressSessionWal } from './wal-compression.js';

/** What a `transaction=false` migration's session sets, put back after it. */
const RESET_SESSION =
  'reset lock_timeout; reset statement_timeout; reset max_parallel_maintenance_workers';

/** Settings that hold for every migration of one run unless its header overrides them. */
export interface ExecutionSettings {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly lockRetries: number;
  readonly backoff: BackoffPolicy;
  readonly runId: string;
  readonly appliedBy: string;
  readonly sleep: (ms: number) => Promise<void>;
  readonly observer?: ExecutionObserver;
  /**
   * Asked before every statement and commit; a reason stops the run there (RunStoppedError).
   * The operator answers from its Lease, so a deposed leader never writes again.
   */
  readonly stopIf?: () => string | null;
  /** Cancels a migration statement in progress when the run is interrupted (Ctrl-C). */
  readonly interrupter?: Interrupter;
}

/** One statement as it ran, for instrumentation (the staging dry-run's lock report). */
export interface StatementEvent {
  /** The migrating session: inside the migration's transaction when `inTransaction`. */
  readonly client: pg.ClientBase;
  readonly migration: Migration;
  readonly index: number;
  readonly line: number;
  readonly sql: string;
  readonly inTransaction: boolean;
  /** performance.now() when the statement was sent. */
  readonly startedAt: number;
  readonly durationMs: number;
}

/**
 * Watches a run from inside: called after every statement, before the migration's commit.
 * It must not change the database; an error it throws fails the migration.
 */
export interface ExecutionObserver {
  /** Before each statement is sent (a progress display); never awaited, never fails the run. */
  readonly statementStarted?: (event: {
    readonly migration: Migration;
    readonly index: number;
    readonly total: number;
  }) => void;
  statementFinished?(event: StatementEvent): Promise<void>;
  /**
   * After a transactional migration's COMMIT or ROLLBACK returned, with performance.now()
   * then: the moment its locks were released. Never awaited, never fails the run.
   */
  readonly transactionEnded?: (event: {
    readonly migration: Migration;
    readonly endedAt: number;
  }) => void;
}

export interface ExecutionOutcome {
  readonly durationMs: number;
  readonly statements: number;
  readonly lockRetries: number;
}

type Direction = 'up' | 'down';

/**
 * Runs one migration's up or down section on the locked session and records it in history.
 * Throws a MigrationError (LockTimeoutError or MigrationSqlError) after recording the failure.
 */
export class MigrationExecutor {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly store: HistoryStore,
    private readonly settings: ExecutionSettings,
    private readonly log: Logger,
  ) {}

  async apply(migration: Migration, resumeFrom: number | null): Promise<ExecutionOutcome> {
    return migration.directives.transaction
      ? this.runTransactional(migration, 'up')
      : this.labelled(migration, () => this.runStatementByStatement(migration, resumeFrom ?? 0));
  }

  async revert(migration: Migration): Promise<ExecutionOutcome> {
    return migration.directives.transaction
      ? this.runTransactional(migration, 'down')
      : this.labelled(migration, () => this.runStatementByStatement(migration, 0, 'down'));
  }

  /** application_name names the run and the migration, so pg_stat_activity shows what runs. */
  private label(m: Migration): string {
    return `dbmigrate:${this.settings.runId}:${m.id}`.slice(0, 63);
  }

  private async labelled<T>(m: Migration, work: () => Promise<T>): Promise<T> {
    const base = `dbmigrate:${this.settings.runId}`;
    await this.client.query("select set_config('application_name', $1, false)", [this.label(m)]);
    try {
      return await work();
    } finally {
      await this.client
        .query("select set_config('application_name', $1, false)", [base.slice(0, 63)])
        .catch(() => undefined);
    }
  }

  /** Throws RunStoppedError when the run must not write any more. */
  private checkpoint(m: Migration): void {
    const reason = this.settings.stopIf?.() ?? null;
    if (reason !== null) throw new RunStoppedError(m.id, reason);
  }

  /** A migration's own statement: the only query an interrupt may cancel. */
  private async runStatement(sql: string): Promise<void> {
    const interrupter = this.settings.interrupter;
    if (interrupter) await interrupter.guard(() => this.client.query(sql));
    else await this.client.query(sql);
  }

  /** A statement cancelled because the run was told to stop (Ctrl-C) is a stop, not a failure. */
  private stoppedBy(m: Migration, err: unknown): RunStoppedError | null {
    if (sqlStateOf(err) !== QUERY_CANCELED) return null;
    const reason = this.settings.stopIf?.() ?? null;
    return reason === null ? null : new RunStoppedError(m.id, reason, true);
  }

  private async observe(
    m: Migration,
    statement: SqlStatement,
    index: number,
    inTransaction: boolean,
    startedAt: number,
  ): Promise<void> {
    await this.settings.observer?.statementFinished?.({
      client: this.client,
      migration: m,
      index,
      line: statement.line,
      sql: statement.sql,
      inTransaction,
      startedAt,
      durationMs: performance.now() - startedAt,
    });
  }

  private timeouts(m: Migration): { lock: number; statement: number; retries: number } {
    return {
      lock: m.directives.lockTimeoutMs ?? this.settings.lockTimeoutMs,
      statement: m.directives.statementTimeoutMs ?? this.settings.statementTimeoutMs,
      retries: m.directives.lockRetries ?? this.settings.lockRetries,
    };
  }

  /**
   * The whole section in one transaction, statement by statement, so a failure names the
   * statement's line even for errors PostgreSQL reports without a position.
   */
  private async runTransactional(m: Migration, direction: Direction): Promise<ExecutionOutcome> {
    const section = sectionOf(m, direction);
    const statements = section.statements;
    const t = this.timeouts(m);
    const startedAt = new Date();
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      let current: SentText = section;
      try {
        // The label and timeouts are transaction-local, so COMMIT resets them. They travel
        // with the first statement: a migration costs two round trips (its statements, then
        // its history row with COMMIT), one fewer than psql's `begin; \i file; commit;`.
        let opening: string | null =
          `begin; select set_config('application_name', ${this.client.escapeLiteral(this.label(m))}, true),
             set_config('lock_timeout', '${String(Math.trunc(t.lock))}ms', true),
             set_config('statement_timeout', '${String(Math.trunc(t.statement))}ms', true);\n`;
        for (const [index, statement] of statements.entries()) {
          current = { sql: statement.sql, startLine: statement.line };
          this.checkpoint(m);
          this.settings.observer?.statementStarted?.({
            migration: m,
            index,
            total: statements.length,
          });
          const sent = performance.now();
          if (opening === null) {
            await this.runStatement(statement.sql);
          } else {
            // An error position then counts from the start of the opening, not the statement.
            current = { ...current, sentAfter: opening.length };
            const sql = opening + statement.sql;
            opening = null;
            await this.runStatement(sql);
          }
          await this.observe(m, statement, index, true, sent);
        }
        if (opening !== null) await this.client.query(opening);
        const durationMs = Math.round(performance.now() - started);
        this.checkpoint(m);
        // The history row commits with the migration, in the same round trip as COMMIT.
        await this.recordSuccess(m, direction, startedAt, durationMs, 0, 0, null, true);
        this.settings.observer?.transactionEnded?.({
          migration: m,
          endedAt: performance.now(),
        });
        return { durationMs, statements: statements.length, lockRetries: attempt };
      } catch (err) {
        await this.client.query('rollback').catch(() => undefined);
        this.settings.observer?.transactionEnded?.({
          migration: m,
          endedAt: performance.now(),
        });
        if (err instanceof RunStoppedError) throw err;
        const stopped = this.stoppedBy(m, err);
        if (stopped) throw stopped;
        if (sqlStateOf(err) === LOCK_NOT_AVAILABLE && attempt < t.retries) {
          const delay = retryDelayMs(attempt, this.settings.backoff);
          this.log.warn(
            { migration: m.id, attempt: attempt + 1, retry_in_ms: delay },
            'lock_timeout expired, retrying',
          );
          await this.settings.sleep(delay);
          continue;
        }
        const failure = this.toError(m, current, err, attempt + 1, true);
        await this.recordFailure(m, direction, startedAt, started, 0, 0, null, failure);
        throw failure;
      }
    }
  }

  /**
   * wal_compression for a `transaction=false` session: the header's value, else
   * ONLINE_WAL_COMPRESSION where the server does not compress already and the role may set it
   * (superuser, or GRANT SET ON PARAMETER wal_compression). True when it was set.
   */
  private async compressWal(m: Migration): Promise<boolean> {
    const wanted = m.directives.walCompression;
    if (wanted !== undefined) {
      // Asked for by the header: a server that refuses it fails the migration, like any SET.
      await this.client.query(`select set_config('wal_compression', $1, false)`, [wanted]);
      return true;
    }
    return compressSessionWal(this.client, this.log, { migration: m.id });
  }

  private async runStatementByStatement(
    m: Migration,
    from: number,
    direction: Direction = 'up',
  ): Promise<ExecutionOutcome> {
    const section = sectionOf(m, direction);
    const statements = section.statements;
    const texts = statements.map((s) => s.sql);
    const t = this.timeouts(m);
    const startedAt = new Date();
    const started = performance.now();
    let retries = 0;
    if (direction === 'up') {
      await this.store.write(this.client, {
        ...this.rowBase(m, startedAt),
        status: 'running',
        statementsDone: from,
        statementsTotal: statements.length,
        doneChecksum: statementsChecksum(texts, from),
        finishedAt: null,
        durationMs: null,
        error: null,
      });
      if (from > 0) {
        await this.store.logEvent(this.client, {
          runId: this.settings.runId,
          migrationId: m.id,
          action: 'resumed',
          checksum: m.checksum,
          durationMs: null,
          actor: this.settings.appliedBy,
          detail: `resumed at statement ${from + 1} of ${statements.length}`,
        });
        this.log.info(
          { migration: m.id, from_statement: from + 1, statements: statements.length },
          'resuming partial migration',
        );
      }
    }
    // Index builds here are online: they leave the application its cores (the directive or
    // ONLINE_INDEX_BUILD_WORKERS), where a blocking build in a transaction takes them all.
    let walCompressionSet: boolean;
    try {
      await this.client.query(
        `select set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false),
                set_config('max_parallel_maintenance_workers', $3, false)`,
        [
          `${t.lock}ms`,
          `${t.statement}ms`,
          String(m.directives.maxParallelMaintenanceWorkers ?? ONLINE_INDEX_BUILD_WORKERS),
        ],
      );
      walCompressionSet = await this.compressWal(m);
    } catch (err) {
      // A setting its header asks for and the server refuses: no statement of it ran.
      await this.client.query(RESET_SESSION).catch(() => undefined);
      const failure = this.toError(m, { sql: '', startLine: 1 }, err, 1, false, from);
      if (direction === 'up' && from === 0) await this.recordNeverStarted(m, failure);
      throw failure;
    }
    try {
      for (let i = from; i < statements.length; i++) {
        const statement = statements[i] as SqlStatement;
        for (let attempt = 0; ; attempt++) {
          // Outside the try: a stop is no failure, the row stays 'running' and resumes here.
          this.checkpoint(m);
          if (direction === 'up' && (await this.alreadyBuilt(m, statement.sql))) break;
          try {
            await this.dropInvalidIndexes(statement.sql);
            this.settings.observer?.statementStarted?.({
              migration: m,
              index: i,
              total: statements.length,
            });
            const sent = performance.now();
            await this.runStatement(statement.sql);
            await this.observe(m, statement, i, false, sent);
            break;
          } catch (err) {
            // The row stays 'running' at this statement: `apply --resume` continues here.
            const stopped = this.stoppedBy(m, err);
            if (stopped) throw stopped;
            if (sqlStateOf(err) === LOCK_NOT_AVAILABLE && attempt < t.retries) {
              retries++;
              const delay = retryDelayMs(attempt, this.settings.backoff);
              this.log.warn(
                { migration: m.id, statement: i + 1, attempt: attempt + 1, retry_in_ms: delay },
                'lock_timeout expired, retrying statement',
              );
              await this.settings.sleep(delay);
              continue;
            }
            const failure = this.toError(
              m,
              { sql: statement.sql, startLine: statement.line },
              err,
              attempt + 1,
              false,
              i,
            );
            if (failure instanceof LockTimeoutError && i === 0 && direction === 'up') {
              // Not one statement of it ever ran: it never started, and a plain retry may run
              // it (a 'failed' row would make the next apply refuse it as half-applied).
              await this.recordNeverStarted(m, failure);
              throw failure;
            }
            await this.recordFailure(
              m,
              direction,
              startedAt,
              started,
              i,
              statements.length,
              statementsChecksum(texts, i),
              failure,
            );
            throw failure;
          }
        }
        if (direction === 'up') {
          await this.store.recordProgress(
            this.client,
            m.id,
            i + 1,
            statementsChecksum(texts, i + 1),
          );
        }
      }
    } finally {
      await this.client
        .query(`${RESET_SESSION}${walCompressionSet ? '; reset wal_compression' : ''}`)
        .catch(() => undefined);
    }
    const durationMs = Math.round(performance.now() - started);
    await this.recordSuccess(
      m,
      direction,
      startedAt,
      durationMs,
      statements.length,
      statements.length,
      statementsChecksum(texts, statements.length),
    );
    return { durationMs, statements: statements.length - from, lockRetries: retries };
  }

  /**
   * A runner killed during CREATE INDEX CONCURRENTLY leaves the server building the index to
   * the end: on the next run the valid index that statement created (same name, same table)
   * is recognised and the statement counted as done, instead of failing with 42P07.
   */
  private async alreadyBuilt(m: Migration, sql: string): Promise<boolean> {
    const target = concurrentIndexTarget(sql);
    if (target === null) return false;
    const res = await this.client.query<{ table: string; def: string }>(
      `select t.relname as "table", pg_get_indexdef(i.indexrelid) as def from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_class t on t.oid = i.indrelid
         join pg_namespace n on n.oid = c.relnamespace
        where c.relname = $1 and i.indisvalid and n.nspname = any(current_schemas(false))`,
      [target.index],
    );
    const row = res.rows[0];
    // Same name, same table, same key columns: what this statement builds, not a namesake.
    if (row?.table !== target.table || keyColumns(row.def) !== keyColumns(sql)) return false;
    this.log.warn(
      { migration: m.id, index: target.index, table: target.table },
      'index already built by an interrupted run; counting the statement as done',
    );
    return true;
  }

  /**
   * A CREATE INDEX CONCURRENTLY that failed or timed out leaves an INVALID index behind, and a
   * retry would then fail with "already exists" (or silently keep it with IF NOT EXISTS).
   */
  private async dropInvalidIndexes(sql: string): Promise<void> {
    for (const name of concurrentIndexNames([sql])) {
      const res = await this.client.query<{ schema: string }>(
        `select n.nspname as schema from pg_index i join pg_class c on c.oid = i.indexrelid
           join pg_namespace n on n.oid = c.relnamespace
          where c.relname = $1 and not i.indisvalid and n.nspname = any(current_schemas(false))`,
        [name],
      );
      for (const row of res.rows) {
        this.log.warn(
          { index: `${row.schema}.${name}` },
          'dropping invalid index before rebuilding it',
        );
        await this.client.query(
          `drop index concurrently if exists ${quoteIdent(row.schema)}.${quoteIdent(name)}`,
        );
      }
    }
  }

  private rowBase(m: Migration, startedAt: Date) {
    return {
      id: m.id,
      name: m.name,
      checksum: m.checksum,
      transactional: m.directives.transaction,
      startedAt,
      appliedBy: this.settings.appliedBy,
      runId: this.settings.runId,
      source: 'dbmigrate' as const,
    };
  }

  private async recordSuccess(
    m: Migration,
    direction: Direction,
    startedAt: Date,
    durationMs: number,
    done: number,
    total: number,
    doneChecksum: string | null,
    andCommit = false,
  ): Promise<void> {
    const row: HistoryWrite = {
      ...this.rowBase(m, startedAt),
      status: direction === 'up' ? 'applied' : 'rolled_back',
      statementsDone: done,
      statementsTotal: total,
      doneChecksum,
      finishedAt: new Date(),
      durationMs,
      error: null,
    };
    const event: HistoryEventWrite = {
      runId: this.settings.runId,
      migrationId: m.id,
      action: direction === 'up' ? 'applied' : 'rolled_back',
      checksum: m.checksum,
      durationMs,
      actor: this.settings.appliedBy,
      detail: null,
    };
    if (andCommit) await this.store.writeWithEventAndCommit(this.client, row, event);
    else await this.store.writeWithEvent(this.client, row, event);
  }

  /** Removes the 'running' row of a migration none of whose statements ran, and logs why. */
  private async recordNeverStarted(m: Migration, failure: MigrationError): Promise<void> {
    try {
      await this.store.remove(this.client, m.id);
      await this.store.logEvent(this.client, {
        runId: this.settings.runId,
        migrationId: m.id,
        action: 'failed',
        checksum: m.checksum,
        durationMs: null,
        actor: this.settings.appliedBy,
        detail: `never started (${failure.message})`,
      });
    } catch (err) {
      this.log.error({ migration: m.id, err }, 'could not record the failure in history');
    }
  }

  private async recordFailure(
    m: Migration,
    direction: Direction,
    startedAt: Date,
    started: number,
    done: number,
    total: number,
    doneChecksum: string | null,
    failure: MigrationError,
  ): Promise<void> {
    try {
      await this.writeFailure(m, direction, startedAt, started, done, total, doneChecksum, failure);
    } catch (err) {
      // The session may be gone (that may be why the migration failed); the error still reaches the caller.
      this.log.error({ migration: m.id, err }, 'could not record the failure in history');
    }
  }

  private async writeFailure(
    m: Migration,
    direction: Direction,
    startedAt: Date,
    started: number,
    done: number,
    total: number,
    doneChecksum: string | null,
    failure: MigrationError,
  ): Promise<void> {
    const durationMs = Math.round(performance.now() - started);
    // A failed rollback leaves the migration applied (transactional) or as it was: only the log says so.
    if (direction === 'up') {
      await this.store.write(this.client, {
        ...this.rowBase(m, startedAt),
        status: 'failed',
        statementsDone: done,
        statementsTotal: total,
        doneChecksum,
        finishedAt: new Date(),
        durationMs,
        // The code first: a lock timeout is resumed by a plain apply (resumesOnItsOwn).
        error: `[${failure.code}] ${failure.message}`,
      });
    }
    await this.store.logEvent(this.client, {
      runId: this.settings.runId,
      migrationId: m.id,
      action: 'failed',
      checksum: m.checksum,
      durationMs,
      actor: this.settings.appliedBy,
      detail: `${direction}: ${failure.message}`,
    });
  }

  private toError(
    m: Migration,
    section: SentText,
    err: unknown,
    attempts: number,
    rolledBack: boolean,
    statementsDone = 0,
  ): MigrationError {
    const state = sqlStateOf(err);
    if (state === LOCK_NOT_AVAILABLE)
      return new LockTimeoutError(m.id, attempts, err, rolledBack ? 0 : statementsDone);
    if (isConnectionLoss(err)) {
      return new ConnectionLostError(m.id, err instanceof Error ? err.message : String(err), err);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new MigrationSqlError(
      m.id,
      m.file,
      errorLine(section, err),
      state,
      message,
      rolledBack,
      err,
    );
  }
}

function sectionOf(m: Migration, direction: Direction): SqlSection {
  if (direction === 'up') return m.up;
  if (!m.down) throw new Error(`migration ${m.id} has no down section`);
  return m.down;
}

/** SQL as sent: `sentAfter` characters of other SQL went before it in the same query text. */
interface SentText extends SqlText {
  readonly sentAfter?: number;
}

/** File line of a PostgreSQL error, from the 1-based character `position` it reports. */
function errorLine(section: SentText, err: unknown): number {
  const position = Number((err as { position?: unknown }).position) - (section.sentAfter ?? 0);
  if (!Number.isFinite(position) || position < 1) return section.startLine;
  const before = section.sql.slice(0, position - 1);
  return section.startLine + (before.match(/\n/g)?.length ?? 0);
}

/** The first parenthesised list after ON (the index's key), normalised for comparison. */
function keyColumns(createIndex: string): string {
  const afterOn = createIndex.slice(createIndex.search(/\son\s/i));
  const m = /\(([^()]*(?:\([^()]*\)[^()]*)*)\)/.exec(afterOn);
  return (m?.[1] ?? '').toLowerCase().replace(/[\s"]/g, '');
}
