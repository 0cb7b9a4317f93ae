import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import pg, { DatabaseError } from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConnector, DatabaseSession } from '../db/connection.js';
import { DatabaseUnreachableError } from '../db/connection.js';
import { DEFAULTS } from '../api/settings.js';
import { silentLogger } from '../observability/logger.js';
import type { EngineMetrics } from '../observability/metrics.js';
import {
  BaselineRefusedError,
  EngineDatabaseError,
  IrreversibleMigrationError,
  isConnectionLoss,
  LockTimeoutError,
  MigrationError,
  MigrationValidationError,
  RunStoppedError,
  UnknownTargetError,
  type ValidationIssue,
} from './errors.js';
import { NoticeCollector } from './notices.js';
import { MigrationExecutor, type ExecutionObserver, type ExecutionSettings } from './executor.js';
import { interruptReason, Interrupter } from './interrupt.js';
import { mapForeignHistory, readForeignHistory, type ForeignRunner } from './foreign-history.js';
import { buildMigrationGraph, type MigrationGraph } from './graph.js';
import { isInEffect, isPartial, resumesOnItsOwn, type HistoryEvent } from './history.js';
import { HistoryStore } from './history-store.js';
import { readDatabaseState, type DatabaseState } from './database-state.js';
import { AdvisoryMigrationLock, type MigrationLock } from './lock.js';
import {
  compareMigrationIds,
  isMigrationId,
  migrationIdKey,
  sameMigrationId,
  type Migration,
} from './migration.js';
import {
  historyById,
  migrationStatus,
  pendingMigrations,
  resumePoints,
  rollbackSet,
  validateAgainstHistory,
  type MigrationStatusEntry,
} from './plan.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './retry.js';
import type { MigrationSource } from './source.js';

export interface MigratorOptions {
  readonly database: DatabaseConnector;
  readonly source: MigrationSource;
  /** Schema of the history tables; also keys the advisory lock. */
  readonly historySchema?: string;
  readonly logger?: Logger;
  /** How long to wait for another runner's lock before LOCK_BUSY; 0 fails at once. */
  readonly lockWaitMs?: number;
  /** Default lock_timeout per migration (a header directive overrides it). */
  readonly lockTimeoutMs?: number;
  /** Default statement_timeout per migration; 0 means none. */
  readonly statementTimeoutMs?: number;
  /** Retries after a lock_timeout, with jittered exponential backoff. */
  readonly lockRetries?: number;
  readonly backoff?: BackoffPolicy;
  readonly appliedBy?: string;
  /** Instrumentation called after every statement (the staging dry-run's lock probe). */
  readonly observer?: ExecutionObserver;
  /** Counters this Migrator's runs are recorded in (the caller's registry). */
  readonly metrics?: EngineMetrics;
}

export interface ApplyOptions {
  /** Apply only up to this ID (and what it depends on). */
  readonly target?: string;
  readonly allowOutOfOrder?: boolean;
  /** Continue partial non-transactional migrations instead of refusing. */
  readonly resume?: boolean;
  /** Use this run ID (the operator passes its own so history and logs carry it). */
  readonly runId?: string;
  /**
   * Asked before every statement and commit; a reason stops the run there with RUN_STOPPED
   * (the operator answers from its Lease, the CLI from Ctrl-C).
   */
  readonly stopIf?: () => string | null;
  /**
   * Aborting it (the CLI's Ctrl-C) stops the run like stopIf, and also cancels the statement
   * in progress on the server instead of waiting for it.
   */
  readonly signal?: AbortSignal;
}

/** stopIf, or the abort reason of `signal`. */
function stopCondition(options: {
  readonly stopIf?: () => string | null;
  readonly signal?: AbortSignal;
}): (() => string | null) | undefined {
  const { stopIf, signal } = options;
  if (signal === undefined) return stopIf;
  return () => stopIf?.() ?? (signal.aborted ? interruptReason(signal) : null);
}

export type MigrationResultStatus = 'applied' | 'failed' | 'not_executed';

export interface MigrationResult {
  readonly id: string;
  readonly name: string;
  readonly file: string;
  readonly status: MigrationResultStatus;
  readonly durationMs: number | null;
  readonly resumedFromStatement: number | null;
  readonly lockRetries: number;
  readonly error: string | null;
  /** NOTICE/WARNING messages the migration's SQL raised. */
  readonly notices: readonly string[];
}

/** What a run did. Never thrown: callers (CLI, operator, start-up hook) all read this value. */
export interface RunResult {
  readonly runId: string;
  readonly results: readonly MigrationResult[];
  readonly applied: number;
  /** Migrations already in effect before this run. */
  readonly skipped: number;
  readonly failed: number;
  readonly durationMs: number;
  readonly error: MigrationError | DatabaseUnreachableError | null;
}

export interface PlannedMigration {
  readonly id: string;
  readonly name: string;
  readonly file: string;
  readonly checksum: string;
  readonly transactional: boolean;
  readonly lockTimeoutMs: number;
  readonly windowRequired: boolean;
  readonly resumeFromStatement: number | null;
}

export interface MigrationPlan {
  readonly pending: readonly PlannedMigration[];
  readonly issues: readonly ValidationIssue[];
  readonly appliedCount: number;
}

export interface StatusReport {
  readonly entries: readonly MigrationStatusEntry[];
  readonly issues: readonly ValidationIssue[];
  readonly applied: number;
  readonly pending: number;
}

/**
 * The migration engine. Every method opens one session, does its work and closes it; methods
 * that change anything hold the advisory lock for their whole duration.
 *
 * @example
 *   const migrator = new Migrator({
 *     database: connectorFromUrl(process.env.DATABASE_URL),
 *     source: new DirectoryMigrationSource('migrations'),
 *   });
 *   const result = await migrator.apply();
 *   if (result.error) console.error(result.error.message);
 */
export class Migrator {
  private readonly store: HistoryStore;
  private readonly lock: MigrationLock;
  private readonly log: Logger;
  private readonly appliedBy: string;

  constructor(private readonly options: MigratorOptions) {
    const schema = options.historySchema ?? DEFAULTS.historySchema;
    this.store = new HistoryStore(schema);
    this.lock = new AdvisoryMigrationLock(schema);
    this.log = options.logger ?? silentLogger();
    this.appliedBy = options.appliedBy ?? defaultActor();
  }

  /** Parsed migrations in apply order; throws parse and dependency errors. */
  async loadGraph(): Promise<MigrationGraph> {
    return buildMigrationGraph(await this.options.source.load());
  }

  /** The history and the catalog facts validation needs (src/engine/database-state.ts). */
  private state(client: pg.ClientBase, catalogFacts = true): Promise<DatabaseState> {
    return readDatabaseState(client, this.store, catalogFacts);
  }

  /** Every migration with its state, plus what validation would refuse. Read-only, no lock. */
  async status(
    options: Pick<ApplyOptions, 'allowOutOfOrder' | 'resume'> = {},
  ): Promise<StatusReport> {
    return this.withGraphAndSession('status', async (graph, client) => {
      const { history, invalidIndexes, lastOutcomes, unrecordedRelations } =
        await this.state(client);
      const entries = migrationStatus(graph, history);
      const issues = validateAgainstHistory(graph, history, {
        invalidIndexes,
        allowOutOfOrder: options.allowOutOfOrder ?? false,
        resume: options.resume ?? false,
        lastOutcomes,
        unrecordedRelations,
      });
      return {
        entries,
        issues,
        applied: entries.filter((e) => e.state === 'applied' || e.state === 'baselined').length,
        pending: entries.filter(
          (e) => e.file !== null && e.state !== 'applied' && e.state !== 'baselined',
        ).length,
      };
    });
  }

  /** The append-only log of applies, failures, rollbacks, baselines and imports, oldest first. */
  async history(limit = 1000): Promise<HistoryEvent[]> {
    return this.withSession('history', (client) => this.store.readEvents(client, limit));
  }

  /** What `apply` would run, and what would stop it. Read-only, no lock. */
  async plan(options: ApplyOptions = {}): Promise<MigrationPlan> {
    return this.withGraphAndSession('plan', async (graph, client) => {
      const state = await this.state(client);
      return this.planFrom(graph, state, options);
    });
  }

  async validate(options: ApplyOptions = {}): Promise<ValidationIssue[]> {
    return [...(await this.plan(options)).issues];
  }

  /** Applies the pending set. Never throws; see RunResult.error. */
  async apply(options: ApplyOptions = {}): Promise<RunResult> {
    const run = await this.applyRun(options);
    this.record(run);
    return run;
  }

  /** The run's migrations in the caller's metrics, when it passed them. */
  private record(run: RunResult): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const database = this.options.database.description;
    for (const r of run.results) {
      if (r.lockRetries > 0) metrics.lockTimeoutRetries.inc({ database }, r.lockRetries);
      if (r.status === 'applied') {
        metrics.migrationsApplied.inc({ database });
        if (r.durationMs !== null)
          metrics.migrationDuration.observe({ database }, r.durationMs / 1000);
      } else if (r.status === 'failed' && run.error?.code !== 'RUN_STOPPED') {
        // A run stopped on purpose (lost Lease, Ctrl-C) is resumed, not failed.
        metrics.migrationsFailed.inc({ database });
      }
    }
  }

  private applyRun(options: ApplyOptions): Promise<RunResult> {
    const stopIf = stopCondition(options);
    return this.run(
      'apply',
      options.runId,
      options.signal,
      async (client, runId, log, graph, interrupter) => {
        const state = await this.state(client);
        const plan = this.planFrom(graph, state, options);
        if (plan.issues.length > 0) throw new MigrationValidationError(plan.issues);
        if (plan.pending.length > 0) await this.store.ensure(client);
        const byId = new Map(graph.ordered.map((m) => [m.id, m]));
        const executor = this.executor(client, runId, log, stopIf, interrupter);
        const notices = new NoticeCollector(client, log);
        const results: MigrationResult[] = [];
        let error: MigrationError | null = null;
        try {
          for (const planned of plan.pending) {
            const m = byId.get(planned.id) as Migration;
            if (error) {
              results.push(result(m, 'not_executed', null, planned.resumeFromStatement, 0, null));
              continue;
            }
            log.info(
              { migration: m.id, name: m.name, transactional: planned.transactional },
              'migration start',
            );
            notices.begin(m.id);
            try {
              const outcome = await executor.apply(m, planned.resumeFromStatement);
              log.info(
                {
                  migration: m.id,
                  name: m.name,
                  duration_ms: outcome.durationMs,
                  lock_retries: outcome.lockRetries,
                },
                'migration applied',
              );
              results.push(
                result(
                  m,
                  'applied',
                  outcome.durationMs,
                  planned.resumeFromStatement,
                  outcome.lockRetries,
                  null,
                  notices.take(),
                ),
              );
            } catch (err) {
              if (!(err instanceof MigrationError)) throw err;
              error = err;
              if (err instanceof RunStoppedError)
                log.warn({ migration: m.id, name: m.name, reason: err.reason }, 'run stopped');
              else
                log.error(
                  { migration: m.id, name: m.name, ...refusalFields(err) },
                  'migration failed',
                );
              results.push(
                result(
                  m,
                  'failed',
                  null,
                  planned.resumeFromStatement,
                  err instanceof LockTimeoutError ? err.attempts - 1 : 0,
                  err.message,
                  notices.take(),
                ),
              );
            }
          }
        } finally {
          notices.detach();
        }
        return { results, skipped: plan.appliedCount, error };
      },
    );
  }

  /**
   * Rolls back every applied migration above `to`, newest first, through their down sections.
   * Refuses before touching anything when one of them has none. Never throws.
   */
  async rollback(options: {
    to: string;
    runId?: string;
    signal?: AbortSignal;
  }): Promise<RunResult> {
    const stopIf = stopCondition(options);
    return this.run(
      'rollback',
      options.runId,
      options.signal,
      async (client, runId, log, graph) => {
        const { history, lastOutcomes } = await this.state(client, false);
        const issues = validateAgainstHistory(graph, history, {
          invalidIndexes: [],
          allowOutOfOrder: true,
          resume: false,
          lastOutcomes,
        });
        if (issues.length > 0) throw new MigrationValidationError(issues);
        const set = rollbackSet(graph, history, options.to);
        const irreversible = set.filter((m) => m.down === null).map((m) => m.id);
        if (irreversible.length > 0) throw new IrreversibleMigrationError(irreversible);
        if (set.length > 0) await this.store.ensure(client);
        const executor = this.executor(client, runId, log, stopIf);
        const results: MigrationResult[] = [];
        let error: MigrationError | null = null;
        for (const m of set) {
          if (error) {
            results.push(result(m, 'not_executed', null, null, 0, null));
            continue;
          }
          log.info({ migration: m.id, name: m.name }, 'rollback start');
          try {
            const outcome = await executor.revert(m);
            log.info({ migration: m.id, duration_ms: outcome.durationMs }, 'migration rolled back');
            results.push(result(m, 'applied', outcome.durationMs, null, outcome.lockRetries, null));
          } catch (err) {
            if (!(err instanceof MigrationError)) throw err;
            error = err;
            log.error({ migration: m.id, ...refusalFields(err) }, 'rollback failed');
            results.push(result(m, 'failed', null, null, 0, err.message));
          }
        }
        return { results, skipped: 0, error };
      },
    );
  }

  /**
   * Adopts an existing database: records every migration up to `version` as present without
   * running it. Refused when any migration is already recorded.
   */
  async baseline(options: { version: string; runId?: string }): Promise<RunResult> {
    return this.run('baseline', options.runId, undefined, async (client, runId, log, graph) => {
      if (!graph.ordered.some((m) => sameMigrationId(m.id, options.version))) {
        throw new UnknownTargetError(options.version);
      }
      const history = await this.store.read(client);
      const recorded = history.filter((r) => isInEffect(r) || isPartial(r));
      if (recorded.length > 0) {
        throw new BaselineRefusedError(
          `cannot baseline: ${recorded.length} migration(s) are already recorded in ${this.store.schema}.migration_history (first ${recorded[0]?.id ?? ''}); baseline is only for a database no runner of ours has touched`,
        );
      }
      const now = new Date();
      const adopted = graph.ordered.filter((m) => compareMigrationIds(m.id, options.version) <= 0);
      await this.store.ensure(client);
      await client.query('begin');
      try {
        for (const m of adopted) {
          await this.store.write(client, {
            id: m.id,
            name: m.name,
            checksum: m.checksum,
            status: 'baselined',
            transactional: m.directives.transaction,
            statementsDone: 0,
            statementsTotal: 0,
            doneChecksum: null,
            startedAt: now,
            finishedAt: now,
            durationMs: 0,
            appliedBy: this.appliedBy,
            runId,
            error: null,
            source: 'baseline',
          });
          await this.store.logEvent(client, {
            runId,
            migrationId: m.id,
            action: 'baselined',
            checksum: m.checksum,
            durationMs: 0,
            actor: this.appliedBy,
            detail: `baseline at ${options.version}`,
          });
        }
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
      log.info({ version: options.version, baselined: adopted.length }, 'baseline recorded');
      return {
        results: adopted.map((m) => result(m, 'applied', 0, null, 0, null)),
        skipped: 0,
        error: null,
      };
    });
  }

  /** Imports the history another runner (sqlx, Flyway) left, so its migrations are not re-run. */
  async importHistory(options: {
    from: ForeignRunner;
    schema?: string;
    runId?: string;
  }): Promise<RunResult & { readonly notImported: readonly string[] }> {
    let notImported: string[] = [];
    const res = await this.run(
      'import',
      options.runId,
      undefined,
      async (client, runId, log, graph) => {
        const history = await this.store.read(client);
        if (history.some((r) => isInEffect(r) || isPartial(r))) {
          throw new BaselineRefusedError(
            `cannot import ${options.from} history: ${this.store.schema}.migration_history already records migrations; import only into a database dbmigrate has not run on`,
          );
        }
        const entries = await readForeignHistory(client, options.from, options.schema ?? 'public');
        const mapped = mapForeignHistory(options.from, entries, graph.ordered, runId);
        notImported = mapped.skipped;
        await this.store.ensure(client);
        await client.query('begin');
        try {
          for (const w of mapped.writes) {
            await this.store.write(client, w);
            await this.store.logEvent(client, {
              runId,
              migrationId: w.id,
              action: 'imported',
              checksum: w.checksum,
              durationMs: w.durationMs,
              actor: this.appliedBy,
              detail: `from ${options.from} (${w.status}, installed by ${w.appliedBy})`,
            });
          }
          await client.query('commit');
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
        log.info({ from: options.from, imported: mapped.writes.length }, 'history imported');
        const byId = new Map(graph.ordered.map((m) => [m.id, m]));
        return {
          results: mapped.writes.map((w) =>
            result(byId.get(w.id) as Migration, 'applied', w.durationMs, null, 0, null),
          ),
          skipped: 0,
          error: null,
        };
      },
    );
    return { ...res, notImported };
  }

  /**
   * After a human fixed things by hand: accepts a drifted file's new checksum, or forgets a
   * failed/partial migration so it runs again from the start.
   */
  async repair(id: string): Promise<RunResult & { readonly action: string }> {
    let action = 'nothing to repair';
    const res = await this.run(
      'repair',
      undefined,
      undefined,
      async (client, runId, log, graph) => {
        const history = await this.store.read(client);
        if (!isMigrationId(id)) throw new UnknownTargetError(id);
        const record = historyById(history).get(migrationIdKey(id));
        const m = graph.ordered.find((x) => sameMigrationId(x.id, id));
        if (!m) throw new UnknownTargetError(id);
        // The events log is append-only: when it says the migration is in the database but the
        // row was deleted or marked failed by hand, the row is restored, never forgotten (that
        // would run the migration a second time).
        const logged =
          record && isInEffect(record) ? null : await this.store.lastInEffectEvent(client, m.id);
        if (logged) {
          const at = logged.at;
          await this.store.write(client, {
            id: m.id,
            name: m.name,
            transactional: m.directives.transaction,
            startedAt: at,
            appliedBy: this.appliedBy,
            runId,
            checksum: logged.checksum ?? m.checksum,
            status: logged.action === 'baselined' ? 'baselined' : 'applied',
            statementsDone: record?.statementsDone ?? 0,
            statementsTotal: record?.statementsTotal ?? 0,
            doneChecksum: null,
            finishedAt: at,
            durationMs: null,
            error: null,
            source: logged.action === 'baselined' ? 'baseline' : 'dbmigrate',
          });
          action = `restored the history row of ${m.file} from the events log (${logged.action} ${at.toISOString()}); it will not run again`;
        } else if (!record) {
          action = `nothing to repair: ${m.file} has no history row and the events log does not record it as applied`;
        } else if (isInEffect(record) && record.checksum !== m.checksum) {
          await this.store.setChecksum(client, record.id, m.checksum);
          action = `accepted the new checksum ${m.checksum.slice(0, 12)} of ${m.file}`;
        } else if (record.status === 'failed' || record.status === 'running') {
          await this.store.remove(client, record.id);
          action = `forgot the ${record.status} attempt of ${m.file}; it will run again from its first statement`;
        }
        if (!action.startsWith('nothing to repair')) {
          await this.store.logEvent(client, {
            runId,
            migrationId: record?.id ?? m.id,
            action: 'repaired',
            checksum: m.checksum,
            durationMs: null,
            actor: this.appliedBy,
            detail: action,
          });
        }
        log.info({ migration: id, action }, 'repair');
        return { results: [result(m, 'applied', null, null, 0, null)], skipped: 0, error: null };
      },
    );
    return { ...res, action };
  }

  private planFrom(
    graph: MigrationGraph,
    { history, invalidIndexes, lastOutcomes, unrecordedRelations }: DatabaseState,
    options: ApplyOptions,
  ): MigrationPlan {
    const resume = options.resume ?? false;
    const issues = validateAgainstHistory(graph, history, {
      invalidIndexes,
      allowOutOfOrder: options.allowOutOfOrder ?? false,
      resume,
      lastOutcomes,
      unrecordedRelations,
    });
    const points = new Map(
      resumePoints(graph, history)
        .filter((p) => resume || resumesOnItsOwn(p.record))
        .map((p) => [p.migration.id, p.fromStatement]),
    );
    const pending = pendingMigrations(graph, history, options.target).map((m) => ({
      id: m.id,
      name: m.name,
      file: m.file,
      checksum: m.checksum,
      transactional: m.directives.transaction,
      lockTimeoutMs:
        m.directives.lockTimeoutMs ?? this.options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
      windowRequired: m.directives.window === 'required',
      resumeFromStatement: points.get(m.id) ?? null,
    }));
    return { pending, issues, appliedCount: history.filter(isInEffect).length };
  }

  private executor(
    client: pg.ClientBase,
    runId: string,
    log: Logger,
    stopIf?: () => string | null,
    interrupter?: Interrupter | null,
  ): MigrationExecutor {
    const settings: ExecutionSettings = {
      lockTimeoutMs: this.options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
      statementTimeoutMs: this.options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
      lockRetries: this.options.lockRetries ?? DEFAULTS.lockRetries,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      runId,
      appliedBy: this.appliedBy,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...(this.options.observer !== undefined && { observer: this.options.observer }),
      ...(stopIf !== undefined && { stopIf }),
      ...(interrupter && { interrupter }),
    };
    return new MigrationExecutor(client, this.store, settings, log);
  }

  /**
   * The files' graph and a session, for a read-only command. The session opens while the files
   * are read: the server starts its backend meanwhile. A file error still wins over an
   * unreachable server, as when one came after the other.
   */
  private async withGraphAndSession<T>(
    purpose: string,
    work: (graph: MigrationGraph, client: pg.ClientBase) => Promise<T>,
  ): Promise<T> {
    const connecting = this.options.database.connect(`dbmigrate:${purpose}`);
    // Handled now: a refusal while the files are still being read is no unhandled rejection.
    connecting.catch(() => undefined);
    let graph: MigrationGraph;
    try {
      graph = await this.loadGraph();
    } catch (err) {
      await connecting.then((session) => session.release()).catch(() => undefined);
      throw err;
    }
    const session = await connecting;
    try {
      return await work(graph, session.client);
    } finally {
      // Not awaited: the session holds no lock, and the server's goodbye (a few ms while its
      // backend exits) need not delay the answer.
      session.release().catch(() => undefined);
    }
  }

  private async withSession<T>(
    purpose: string,
    work: (client: pg.ClientBase) => Promise<T>,
  ): Promise<T> {
    const session = await this.options.database.connect(`dbmigrate:${purpose}`);
    try {
      return await work(session.client);
    } finally {
      await session.release();
    }
  }

  /** One locked run: connect, lock, ensure history, work, summary line. Errors become RunResult.error. */
  private async run(
    kind: string,
    givenRunId: string | undefined,
    signal: AbortSignal | undefined,
    work: (
      client: pg.ClientBase,
      runId: string,
      log: Logger,
      graph: MigrationGraph,
      interrupter: Interrupter | null,
    ) => Promise<{ results: MigrationResult[]; skipped: number; error: MigrationError | null }>,
  ): Promise<RunResult> {
    const runId = givenRunId ?? randomUUID();
    const log = this.log.child({ run_id: runId });
    const started = performance.now();
    let session: DatabaseSession | null = null;
    let outcome: {
      results: MigrationResult[];
      skipped: number;
      error: MigrationError | DatabaseUnreachableError | null;
    };
    try {
      // Files are parsed before connecting: a malformed migration changes nothing, not even the history schema.
      const graph = await this.loadGraph();
      session = await this.options.database.connect(`dbmigrate:${runId}`);
      const interrupter = signal
        ? await Interrupter.forSession(session.client, this.options.database, signal, log)
        : null;
      await this.lock.acquire(
        session.client,
        this.options.lockWaitMs ?? DEFAULTS.lockWaitMs,
        signal,
      );
      try {
        // No history schema is created here: a run refused before it writes changes nothing.
        outcome = await work(session.client, runId, log, graph, interrupter);
      } finally {
        await this.lock.release(session.client).catch(() => undefined);
      }
    } catch (caught) {
      const err = asRunError(caught, this.options.database.description);
      log.error(refusalFields(err), `${kind} refused`);
      outcome = { results: [], skipped: 0, error: err };
    } finally {
      await session?.release();
    }
    const summary: RunResult = {
      runId,
      results: outcome.results,
      applied: outcome.results.filter((r) => r.status === 'applied').length,
      skipped: outcome.skipped,
      failed: outcome.results.filter((r) => r.status === 'failed').length,
      durationMs: Math.round(performance.now() - started),
      error: outcome.error,
    };
    log.info(
      {
        kind,
        applied: summary.applied,
        skipped: summary.skipped,
        failed: summary.failed,
        total_ms: summary.durationMs,
        ...(summary.error ? { error_code: summary.error.code } : {}),
      },
      `${kind} finished`,
    );
    return summary;
  }
}

/** An expected refusal is logged by its code and message; a stack trace is for bugs. */
function refusalFields(err: MigrationError | DatabaseUnreachableError): Record<string, unknown> {
  return { error_code: err.code, error: err.message };
}

/** Errors a run reports as its result; anything else (a bug) propagates. */
function asRunError(err: unknown, target: string): MigrationError | DatabaseUnreachableError {
  if (err instanceof MigrationError || err instanceof DatabaseUnreachableError) return err;
  // The session died outside any migration (reading history, taking the lock): unreachable.
  if (isConnectionLoss(err)) {
    return new DatabaseUnreachableError(target, err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  }
  if (err instanceof DatabaseError) {
    return new EngineDatabaseError(err.code ?? null, err.message, err);
  }
  throw err;
}

function result(
  m: Migration,
  status: MigrationResultStatus,
  durationMs: number | null,
  resumedFrom: number | null,
  lockRetries: number,
  error: string | null,
  notices: readonly string[] = [],
): MigrationResult {
  return {
    id: m.id,
    name: m.name,
    file: m.file,
    status,
    durationMs,
    resumedFromStatement: resumedFrom,
    lockRetries,
    error,
    notices,
  };
}

function defaultActor(): string {
  let user = process.env['USER'] ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (arbitrary UID in a container): keep $USER.
  }
  return `${user}@${hostname()}`;
}
