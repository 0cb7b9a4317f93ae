import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { DEFAULTS, resolveSettings, type ResolvedSettings } from '../../api/settings.js';
import { createMigrator } from '../../engine/create-migrator.js';
import type { ExecutionObserver } from '../../engine/executor.js';
import type { Logger } from 'pino';
import { openClient } from '../../db/connection.js';
import { databaseIdentity } from '../../db/database-url.js';
import type { MigrationSource } from '../../engine/source.js';
import { silentLogger } from '../../observability/logger.js';
import { describeDatabaseUrl } from '../../observability/redact.js';
import { quoteIdent } from '../../engine/plan.js';
import { databaseName, withDatabase } from '../snapshot/pg-tools.js';
import {
  dropCopiesWithPrefix,
  latestVerifiedSnapshot,
  readManifest,
  restoreSnapshot,
  SnapshotError,
} from '../snapshot/snapshot.js';
import type { SnapshotStorage } from '../snapshot/storage.js';
import type { PgBackRestTarget } from '../snapshot/pgbackrest.js';
import {
  latestVerifiedPhysicalSnapshot,
  restorePhysicalSnapshot,
} from '../snapshot/physical-snapshot.js';
import type { PgVersion } from '../../api/pg-version.js';
import { lintMigrations } from '../lint/linter.js';
import { liveLintContext } from '../lint/live-facts.js';
import { summariseLocks, windowReasons, type MigrationImpact } from './impact.js';
import { LockProbe, type LockPrediction } from './lock-probe.js';
import { loadSqlParser, rethrowIfParserNotLoaded } from '../../engine/sql-parser.js';
import { locksTaken } from '../lint/locks.js';
import { readRelationState, rewrittenRelations, rowsWritten } from './relation-state.js';

export type StagingSource =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'snapshot';
      readonly storage: SnapshotStorage;
      /** Defaults to the newest verified snapshot. */
      readonly snapshotId?: string;
      /** Server where the temporary staging database is created (its database part is the maintenance db). */
      readonly serverUrl: string;
      /** Keep the staging database afterwards (for inspection). */
      readonly keep?: boolean;
      /**
       * A prefix for the temporary database's name (the operator's is per resource and
       * generation): copies under it that crashed attempts left are dropped first, and this
       * attempt's copy gets a suffix of its own, so a deposed attempt never drops a successor's.
       */
      readonly databasePrefix?: string;
    }
  | {
      /** A pgBackRest snapshot restored into a private server of its own. */
      readonly kind: 'pgbackrest';
      readonly storage: SnapshotStorage;
      readonly target: PgBackRestTarget;
      /** Defaults to the newest verified snapshot of the target's stanza. */
      readonly snapshotId?: string;
      /** Where the copy goes; a copy an earlier dry-run left there is updated (delta restore). */
      readonly directory?: string;
    };

export interface DryRunOptions {
  readonly source: MigrationSource;
  readonly staging: StagingSource;
  /** Production, only to refuse a staging URL that points at it. */
  readonly productionUrl?: string;
  readonly historySchema?: string;
  /** A lock that blocks writes longer than this marks the migration as needing a window. */
  readonly windowThresholdMs?: number;
  readonly sampleIntervalMs?: number;
  /**
   * The production run's settings: its timeouts run the migrations on staging, and the linter
   * judges against them and the project's rule settings (dbmigrate.json `lint.rules`).
   */
  readonly migrator?: Partial<
    Pick<
      ResolvedSettings,
      | 'lockTimeoutMs'
      | 'statementTimeoutMs'
      | 'lockRetries'
      | 'lintRules'
      | 'lintPgVersion'
      | 'lintSmallTable'
    >
  >;
  readonly target?: string;
  /** Let a new migration below the newest applied one run (as `apply --out-of-order`). */
  readonly allowOutOfOrder?: boolean;
  readonly logger?: Logger;
  /** Lint the migrations too (default true); error findings require a window. */
  readonly lint?: boolean;
  /** Aborting stops before the next statement; the staging copy is dropped all the same. */
  readonly signal?: AbortSignal;
  /** Told when the snapshot's restore into staging begins (a progress display). */
  readonly onRestoring?: () => void;
  /** Told before each statement runs on staging (a progress display). */
  readonly statementStarted?: ExecutionObserver['statementStarted'];
}

export interface DryRunReport {
  readonly staging: {
    readonly database: string;
    readonly from: 'url' | 'snapshot';
    readonly snapshotId: string | null;
  };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly windowThresholdMs: number;
  readonly sampleIntervalMs: number;
  readonly samples: number;
  readonly migrations: readonly MigrationImpact[];
  /**
   * The PostgreSQL version the lint findings were judged for (staging's server unless the
   * project names one); null when the dry-run did not lint.
   */
  readonly lintPgVersion: PgVersion | null;
  /** Every pending migration applied on staging. */
  readonly ok: boolean;
  readonly needsWindow: boolean;
}

export class DryRunError extends Error {
  readonly code = 'DRY_RUN_REFUSED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DryRunError';
  }
}

function sameDatabase(a: string, b: string): boolean {
  return databaseIdentity(a) === databaseIdentity(b);
}

async function admin(url: string, sql: string): Promise<void> {
  const client = await openClient(url, 'dbmigrate:dry-run-admin');
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Applies the pending migrations to a staging copy, one at a time, while watching locks,
 * rewrites and rows written: the predicted production impact. Never touches production.
 */
export async function runDryRun(options: DryRunOptions): Promise<DryRunReport> {
  const log = options.logger ?? silentLogger();
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const historySchema = options.historySchema ?? DEFAULTS.historySchema;
  const threshold = options.windowThresholdMs ?? DEFAULTS.windowThresholdMs;
  const interval = options.sampleIntervalMs ?? 50;

  let stagingUrl: string;
  let snapshotId: string | null = null;
  let cleanup = (): Promise<void> => Promise.resolve();
  let probeClient: pg.Client | null = null;
  let stateClient: pg.Client | null = null;
  try {
    if (options.staging.kind === 'url') {
      stagingUrl = options.staging.url;
      if (options.productionUrl !== undefined && sameDatabase(stagingUrl, options.productionUrl)) {
        throw new DryRunError(
          `the staging URL points at the production database (${describeDatabaseUrl(stagingUrl)}); a dry-run must never run there`,
        );
      }
    } else if (options.staging.kind === 'pgbackrest') {
      const { storage, target, directory } = options.staging;
      const manifest =
        options.staging.snapshotId !== undefined
          ? await readManifest(storage, options.staging.snapshotId)
          : await latestVerifiedPhysicalSnapshot(
              storage,
              target.stanza,
              options.productionUrl !== undefined ? databaseName(options.productionUrl) : undefined,
            );
      if (!manifest) {
        throw new SnapshotError(
          'SNAPSHOT_NOT_FOUND',
          `no verified pgBackRest snapshot of stanza ${target.stanza} in ${storage.description}; run \`dbmigrate snapshot create --pgbackrest-stanza ${target.stanza} --verify\` or pass --staging-url`,
        );
      }
      snapshotId = manifest.id;
      log.info({ snapshot_id: manifest.id }, 'restoring pgbackrest snapshot into staging');
      options.onRestoring?.();
      const copy = await restorePhysicalSnapshot({
        storage,
        id: manifest.id,
        pgbackrest: target,
        ...(directory !== undefined && { directory }),
        logger: log,
        ...(options.signal !== undefined && { signal: options.signal }),
      });
      // The copy's server trusts every local role: the migrations run there as production's
      // role, never as its superuser, so a dry-run can do nothing production would refuse
      // (read the host's files, run programs) in the process that runs it.
      stagingUrl = asProductionRole(copy.databaseUrl, options.productionUrl);
      cleanup = () => copy.stop();
    } else {
      const { storage, serverUrl } = options.staging;
      const manifest =
        options.staging.snapshotId !== undefined
          ? await readManifest(storage, options.staging.snapshotId)
          : await latestVerifiedSnapshot(storage);
      if (!manifest) {
        throw new SnapshotError(
          'SNAPSHOT_NOT_FOUND',
          `no verified snapshot in ${storage.description}; run \`dbmigrate snapshot create --verify\` or pass --staging-url`,
        );
      }
      if (manifest.method === 'pgbackrest') {
        throw new SnapshotError(
          'SNAPSHOT_REFUSED',
          `snapshot ${manifest.id} is a pgBackRest backup (stanza ${manifest.pgbackrest.stanza}); the dry-run restores it through its stanza (--pgbackrest-stanza ${manifest.pgbackrest.stanza})`,
        );
      }
      snapshotId = manifest.id;
      const prefix = options.staging.databasePrefix;
      const database = `${prefix ?? 'dbm_staging_'}${randomBytes(5).toString('hex')}`;
      stagingUrl = withDatabase(serverUrl, database);
      const drop = (): Promise<void> =>
        admin(serverUrl, `drop database if exists ${quoteIdent(database)} with (force)`);
      // Copies crashed attempts of the same owner left go first.
      if (prefix !== undefined) await dropCopiesWithPrefix(serverUrl, prefix);
      // Armed before the restore: a restore that fails half-way leaves no copy behind either.
      if (options.staging.keep !== true) cleanup = drop;
      log.info({ snapshot_id: manifest.id, staging: database }, 'restoring snapshot into staging');
      options.onRestoring?.();
      await restoreSnapshot({ storage, id: manifest.id, targetUrl: stagingUrl });
    }
    options.signal?.throwIfAborted();
    probeClient = await openClient(stagingUrl, 'dbmigrate:lock-probe');
    // The sampler queries on its own timer: relation state gets a session of its own, since one
    // pg client must not run two queries at once.
    stateClient = await openClient(stagingUrl, 'dbmigrate:relation-state');
    return await measure(options, log, stagingUrl, snapshotId, probeClient, stateClient, {
      historySchema,
      threshold,
      interval,
      started,
      startedAt,
    });
  } finally {
    await probeClient?.end().catch(() => undefined);
    await stateClient?.end().catch(() => undefined);
    await cleanup().catch((err: unknown) => {
      log.error({ err }, 'could not drop the staging copy; drop it by hand');
    });
  }
}

async function measure(
  options: DryRunOptions,
  log: Logger,
  stagingUrl: string,
  snapshotId: string | null,
  probeClient: pg.Client,
  stateClient: pg.Client,
  run: {
    readonly historySchema: string;
    readonly threshold: number;
    readonly interval: number;
    readonly started: number;
    readonly startedAt: string;
  },
): Promise<DryRunReport> {
  const { historySchema, threshold, interval, started, startedAt } = run;
  const runPrefix = `dbmigrate:dry${randomBytes(4).toString('hex')}`;
  const probe = new LockProbe(
    probeClient,
    runPrefix,
    historySchema,
    interval,
    lockPrediction(await loadSqlParser()),
  );
  const migrator = createMigrator({
    database: stagingUrl,
    source: options.source,
    // Staging is ours alone: never wait for a lock there.
    settings: resolveSettings({
      lockTimeoutMs: options.migrator?.lockTimeoutMs,
      statementTimeoutMs: options.migrator?.statementTimeoutMs,
      lockRetries: options.migrator?.lockRetries,
      historySchema,
      lockWaitMs: 0,
    }),
    logger: log,
    observer: {
      statementFinished: (event) => probe.statementFinished(event),
      transactionEnded: probe.transactionEnded,
      ...(options.statementStarted !== undefined && { statementStarted: options.statementStarted }),
    },
  });
  const scope = {
    ...(options.target !== undefined && { target: options.target }),
    ...(options.allowOutOfOrder !== undefined && { allowOutOfOrder: options.allowOutOfOrder }),
  };
  const plan = await migrator.plan(scope);
  const graph = await migrator.loadGraph();
  // Staging is a copy of production before the pending migrations (a restored snapshot, or a
  // given copy): its server's version and catalog are production's, read before applying.
  const live =
    options.lint === false
      ? null
      : await liveLintContext(stateClient, {
          explicit: { config: options.migrator?.lintPgVersion },
          smallTable: options.migrator?.lintSmallTable,
        });
  const pendingIds = new Set(plan.pending.map((p) => p.id));
  const findings =
    live === null
      ? []
      : await lintMigrations(graph.ordered, {
          rules: options.migrator?.lintRules,
          defaultLockTimeoutMs: options.migrator?.lockTimeoutMs,
          defaultStatementTimeoutMs: options.migrator?.statementTimeoutMs,
          pgVersion: live.pgVersion.major,
          smallTable: options.migrator?.lintSmallTable,
          live: {
            catalog: live.catalog,
            applied: new Set(graph.ordered.map((m) => m.id).filter((id) => !pendingIds.has(id))),
          },
        });
  const lintOf = (file: string): MigrationImpact['lint'] =>
    findings
      .filter((f) => f.file === file && f.cleared === undefined)
      .map((f) => ({ ruleId: f.ruleId, severity: f.severity, line: f.line, message: f.message }));
  const clearedOf = (file: string): MigrationImpact['lintCleared'] =>
    findings.flatMap((f) =>
      f.file === file && f.cleared !== undefined
        ? [{ ruleId: f.ruleId, line: f.line, message: f.message, reason: f.cleared }]
        : [],
    );
  const impacts: MigrationImpact[] = [];
  let failed = false;
  probe.start();
  try {
    for (const [index, planned] of plan.pending.entries()) {
      const m = graph.ordered.find((x) => x.id === planned.id);
      if (!m) continue;
      if (failed) {
        impacts.push({
          id: m.id,
          name: m.name,
          file: m.file,
          transactional: m.directives.transaction,
          status: 'not_executed',
          durationMs: null,
          error: null,
          locks: [],
          rewrites: [],
          rowsTouched: 0,
          needsWindow: false,
          reasons: [],
          lint: lintOf(m.file),
          lintCleared: clearedOf(m.file),
        });
        continue;
      }
      const before = await readRelationState(stateClient, historySchema);
      const t0 = performance.now();
      const applied = await migrator.apply({
        ...scope,
        target: m.id,
        runId: `${runPrefix.slice('dbmigrate:'.length)}${String(index)}`,
        stopIf: () => (options.signal?.aborted === true ? 'the dry-run was interrupted' : null),
      });
      const ended = performance.now();
      const after = await readRelationState(stateClient, historySchema);
      const result = applied.results.find((r) => r.id === m.id);
      // A table the migration itself created is invisible to everyone else until commit: its locks block nobody.
      const existed = new Set([...before.filenodes.values()].map((r) => r.name));
      const locks = summariseLocks(
        probe
          .holdsFor(m.id, ended)
          .map((h) => ({ ...h, relation: h.relation.replace(/^public\./, '') }))
          .filter((h) => existed.has(h.relation)),
      );
      const lint = lintOf(m.file);
      const reasons = windowReasons(locks, threshold, m.directives.window === 'required', lint);
      failed = applied.error !== null;
      impacts.push({
        id: m.id,
        name: m.name,
        file: m.file,
        transactional: m.directives.transaction,
        status: result?.status ?? 'failed',
        durationMs: result?.durationMs ?? Math.round(ended - t0),
        error: applied.error?.message ?? null,
        locks,
        rewrites: rewrittenRelations(before, after),
        rowsTouched: rowsWritten(before, after),
        needsWindow: reasons.length > 0,
        reasons,
        lint,
        lintCleared: clearedOf(m.file),
      });
      log.info(
        {
          migration: m.id,
          duration_ms: result?.durationMs,
          locks: locks.length,
          needs_window: reasons.length > 0,
        },
        'dry-run migration measured',
      );
    }
  } finally {
    await probe.stop();
  }
  const report: DryRunReport = {
    staging: {
      database: describeDatabaseUrl(stagingUrl),
      from: options.staging.kind === 'url' ? 'url' : 'snapshot',
      snapshotId,
    },
    startedAt,
    durationMs: Math.round(performance.now() - started),
    windowThresholdMs: threshold,
    sampleIntervalMs: interval,
    samples: probe.sampleCount,
    migrations: impacts,
    lintPgVersion: live?.pgVersion ?? null,
    ok: !failed,
    needsWindow: impacts.some((i) => i.needsWindow),
  };
  log.info(
    {
      ok: report.ok,
      needs_window: report.needsWindow,
      migrations: impacts.length,
      total_ms: report.durationMs,
    },
    'dry-run finished',
  );
  return report;
}

/**
 * The locks a statement's text says it takes (the linter's lock model), for statements that run
 * outside a transaction, whose locks are gone before anyone can look. A statement that does not
 * parse alone predicts nothing; the sampler still sees it.
 */
function lockPrediction(parser: Awaited<ReturnType<typeof loadSqlParser>>): LockPrediction {
  return (sql) => {
    try {
      return (parser.parse(sql).stmts ?? []).flatMap((s) =>
        s.stmt ? locksTaken(s.stmt, () => true) : [],
      );
    } catch (err) {
      rethrowIfParserNotLoaded(err);
      return [];
    }
  };
}

/** `url` connecting as the role `productionUrl` names (unchanged when it names none). */
function asProductionRole(url: string, productionUrl: string | undefined): string {
  if (productionUrl === undefined) return url;
  const role = new URL(productionUrl).username;
  if (role === '') return url;
  const staging = new URL(url);
  staging.username = role;
  return staging.toString();
}
