import type { Logger } from 'pino';
import type { DbmigrateConfig } from '../../api/config.js';
import type { RunResult } from '../../engine/migrator.js';
import { createMigrator } from '../../engine/create-migrator.js';
import type { ResolvedSettings } from '../../api/settings.js';
import { PinnedMigrationSource, type MigrationSource } from '../../engine/source.js';
import { silentLogger } from '../../observability/logger.js';
import { runDryRun, type DryRunReport, type StagingSource } from '../dryrun/dry-run.js';
import type { SnapshotManifest, Verification } from '../snapshot/manifest.js';
import { createSnapshot, verifySnapshot, type SnapshotProgress } from '../snapshot/snapshot.js';
import { createPhysicalSnapshot, verifyPhysicalSnapshot } from '../snapshot/physical-snapshot.js';
import type { PgBackRestTarget } from '../snapshot/pgbackrest.js';
import type { BackupType } from '../snapshot/pgbackrest-output.js';
import { snapshotBytes } from '../snapshot/manifest.js';
import type { ExecutionObserver } from '../../engine/executor.js';
import type { SnapshotStorage } from '../snapshot/storage.js';
import { postVerify, type PostVerifyReport } from '../verify/post-verify.js';
import { waitForWindow } from '../window/window.js';
import { describePgVersion } from '../../api/pg-version.js';
import { judgeDryRun, lintPending, touchedRelations } from './steps.js';

export type SafeStep =
  'plan' | 'lint' | 'snapshot' | 'verify-snapshot' | 'dry-run' | 'window' | 'apply' | 'post-verify';

export interface StepOutcome {
  readonly step: SafeStep;
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly durationMs: number;
  readonly detail: string;
}

export interface SafeApplyReport {
  readonly ok: boolean;
  /** The step that stopped the run, if any. */
  readonly stoppedAt: SafeStep | null;
  readonly productionTouched: boolean;
  readonly steps: readonly StepOutcome[];
  readonly snapshot: SnapshotManifest | null;
  readonly snapshotVerification: Verification | null;
  readonly dryRun: DryRunReport | null;
  readonly apply: RunResult | null;
  readonly postVerify: PostVerifyReport | null;
}

export interface SafeApplyOptions {
  readonly databaseUrl: string;
  readonly source: MigrationSource;
  /** Project settings: snapshots, maintenance windows, post-verify. */
  readonly config: DbmigrateConfig;
  /** The run's settings, resolved once by the caller (history schema, timings, lint, target). */
  readonly settings: ResolvedSettings;
  readonly storage: SnapshotStorage;
  /** How the pre-apply snapshot is taken, and where its verification and staging copies run. */
  readonly snapshotMethod: SafeSnapshotMethod;
  /** Use this staging database instead of restoring the snapshot into a temporary one. */
  readonly stagingUrl?: string;
  /** Skip waiting for a maintenance window: the caller has obtained explicit confirmation. */
  readonly confirmedNow?: boolean;
  readonly maxWindowWaitMs?: number;
  readonly resume?: boolean;
  readonly logger?: Logger;
  /** Aborting (Ctrl-C) stops the current step; an apply stops before its next statement. */
  readonly signal?: AbortSignal;
  /** Told when each step starts and ends (the CLI's progress line). */
  readonly onStep?: (event: SafeStepEvent) => void;
  /** Bytes dumped and restored by the snapshot and its verification. */
  readonly onSnapshotProgress?: (p: SnapshotProgress) => void;
  /** Told before each statement of the production apply. */
  readonly applyObserver?: ExecutionObserver;
  /** Told before each statement of the staging dry-run. */
  readonly dryRunObserver?: ExecutionObserver;
}

export type SafeSnapshotMethod =
  | {
      /** pg_dump of the database, restored with pg_restore into databases on a scratch server. */
      readonly kind: 'pg_dump';
      /** Server for the scratch (verify) and staging databases; its database part is the maintenance db. */
      readonly scratchServerUrl: string;
    }
  | {
      /** A pgBackRest backup of the cluster, restored into private servers for verify and staging. */
      readonly kind: 'pgbackrest';
      readonly target: PgBackRestTarget;
      readonly type?: BackupType;
      /** Where the copies go; one an earlier run left there is updated by a delta restore. */
      readonly directory?: string;
    };

export type SafeStepEvent =
  | { readonly step: SafeStep; readonly phase: 'start' }
  | {
      readonly step: SafeStep;
      readonly phase: 'end';
      readonly ok: boolean;
      readonly detail: string;
    };

/**
 * snapshot → verify snapshot → staging dry-run → (maintenance window) → apply → post-verify.
 * Stops at the first failed step; production is written only by the apply step, after every
 * earlier step passed.
 */
export async function runSafeApply(options: SafeApplyOptions): Promise<SafeApplyReport> {
  const log = options.logger ?? silentLogger();
  const steps: StepOutcome[] = [];
  const state: {
    snapshot: SnapshotManifest | null;
    verification: Verification | null;
    dryRun: DryRunReport | null;
    apply: RunResult | null;
    verify: PostVerifyReport | null;
  } = { snapshot: null, verification: null, dryRun: null, apply: null, verify: null };
  const finish = (stoppedAt: SafeStep | null): SafeApplyReport => ({
    ok: stoppedAt === null,
    stoppedAt,
    productionTouched: state.apply !== null && state.apply.applied > 0,
    steps,
    snapshot: state.snapshot,
    snapshotVerification: state.verification,
    dryRun: state.dryRun,
    apply: state.apply,
    postVerify: state.verify,
  });
  const step = async (
    name: SafeStep,
    work: () => Promise<{ ok: boolean; detail: string }>,
  ): Promise<boolean> => {
    const t0 = performance.now();
    log.info({ step: name }, 'safe apply step start');
    options.onStep?.({ step: name, phase: 'start' });
    let outcome: { ok: boolean; detail: string };
    try {
      outcome = await work();
    } catch (err) {
      outcome = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
    const durationMs = Math.round(performance.now() - t0);
    steps.push({
      step: name,
      status: outcome.ok ? 'ok' : 'failed',
      durationMs,
      detail: outcome.detail,
    });
    options.onStep?.({ step: name, phase: 'end', ok: outcome.ok, detail: outcome.detail });
    (outcome.ok ? log.info.bind(log) : log.error.bind(log))(
      { step: name, ok: outcome.ok, duration_ms: durationMs, detail: outcome.detail },
      'safe apply step end',
    );
    return outcome.ok;
  };

  const source = await PinnedMigrationSource.pin(options.source);
  const settings = options.settings;
  const historySchema = settings.historySchema;
  const production = createMigrator({
    database: options.databaseUrl,
    source,
    settings,
    logger: log,
    ...(options.applyObserver !== undefined && { observer: options.applyObserver }),
  });
  const applyOptions = {
    ...(settings.target !== undefined && { target: settings.target }),
    ...(options.resume !== undefined && { resume: options.resume }),
    allowOutOfOrder: settings.allowOutOfOrder,
  };

  let pendingIds: string[] = [];
  if (
    !(await step('plan', async () => {
      const plan = await production.plan(applyOptions);
      pendingIds = plan.pending.map((p) => p.id);
      if (plan.issues.length > 0) {
        return { ok: false, detail: plan.issues.map((i) => `[${i.code}] ${i.message}`).join('; ') };
      }
      return {
        ok: true,
        detail: pendingIds.length ? `pending: ${pendingIds.join(', ')}` : 'nothing pending',
      };
    }))
  ) {
    return finish('plan');
  }
  if (pendingIds.length === 0) return finish(null);

  if (settings.lint !== 'off') {
    if (
      !(await step('lint', async () => {
        const verdict = await lintPending(await source.load(), pendingIds, settings.lint, {
          rules: settings.lintRules,
          lockTimeoutMs: settings.lockTimeoutMs,
          statementTimeoutMs: settings.statementTimeoutMs,
          pgVersion: settings.lintPgVersion,
          databaseUrl: options.databaseUrl,
          smallTable: settings.lintSmallTable,
        });
        return {
          ok: verdict.ok,
          detail: `${verdict.detail}${verdict.cleared > 0 ? `; ${String(verdict.cleared)} cleared by live facts` : ''} (judged for ${describePgVersion(verdict.pgVersion)})`,
        };
      }))
    ) {
      return finish('lint');
    }
  }

  if (
    !(await step('snapshot', async () => {
      const method = options.snapshotMethod;
      state.snapshot =
        method.kind === 'pgbackrest'
          ? await createPhysicalSnapshot({
              databaseUrl: options.databaseUrl,
              storage: options.storage,
              pgbackrest: method.target,
              ...(method.type !== undefined && { type: method.type }),
              checksums: 'counts',
              logger: log,
              ...(options.signal !== undefined && { signal: options.signal }),
            })
          : await createSnapshot({
              databaseUrl: options.databaseUrl,
              storage: options.storage,
              checksums: options.config.snapshots.checksums,
              logger: log,
              ...(options.signal !== undefined && { signal: options.signal }),
              ...(options.onSnapshotProgress !== undefined && {
                onProgress: options.onSnapshotProgress,
              }),
            });
      const what =
        state.snapshot.method === 'pgbackrest'
          ? `pgBackRest ${state.snapshot.pgbackrest.type} backup ${state.snapshot.pgbackrest.label}, `
          : '';
      return {
        ok: true,
        detail: `${state.snapshot.id} (${what}${String(snapshotBytes(state.snapshot))} bytes)`,
      };
    }))
  ) {
    return finish('snapshot');
  }
  const snapshotId = state.snapshot?.id ?? '';

  if (
    !(await step('verify-snapshot', async () => {
      const method = options.snapshotMethod;
      state.verification =
        method.kind === 'pgbackrest'
          ? await verifyPhysicalSnapshot({
              storage: options.storage,
              id: snapshotId,
              pgbackrest: method.target,
              ...(method.directory !== undefined && { directory: method.directory }),
              logger: log,
              ...(options.signal !== undefined && { signal: options.signal }),
            })
          : await verifySnapshot({
              storage: options.storage,
              id: snapshotId,
              scratchServerUrl: method.scratchServerUrl,
              logger: log,
              ...(options.signal !== undefined && { signal: options.signal }),
              ...(options.onSnapshotProgress !== undefined && {
                onProgress: options.onSnapshotProgress,
              }),
            });
      return {
        ok: state.verification.ok,
        detail: state.verification.ok
          ? 'restored and matched'
          : state.verification.mismatches.join('; '),
      };
    }))
  ) {
    return finish('verify-snapshot');
  }

  if (
    !(await step('dry-run', async () => {
      state.dryRun = await runDryRun({
        ...(options.dryRunObserver?.statementStarted !== undefined && {
          statementStarted: options.dryRunObserver.statementStarted,
        }),
        source,
        staging: stagingOf(options, snapshotId),
        productionUrl: options.databaseUrl,
        historySchema,
        windowThresholdMs: settings.windowThresholdMs,
        lint: settings.lint !== 'off',
        logger: log,
        migrator: settings,
        ...(options.signal !== undefined && { signal: options.signal }),
        ...(settings.target !== undefined && { target: settings.target }),
        allowOutOfOrder: settings.allowOutOfOrder,
      });
      // Lint already stopped the run in its own step; here it only adds to the dry-run's word.
      const verdict = judgeDryRun(state.dryRun, pendingIds, 'off');
      return { ok: verdict.kind === 'passed', detail: verdict.detail };
    }))
  ) {
    return finish('dry-run');
  }

  const needsWindow = state.dryRun?.needsWindow ?? false;
  if (needsWindow) {
    const why = (state.dryRun?.migrations ?? [])
      .flatMap((m) => m.reasons.map((r) => `${m.id} ${r}`))
      .join('; ');
    if (
      !(await step('window', async () => {
        if (options.confirmedNow === true)
          return { ok: true, detail: `--now confirmed; running outside a window although ${why}` };
        await waitForWindow(options.config.maintenanceWindows, {
          ...(options.signal !== undefined && { signal: options.signal }),
          ...(options.maxWindowWaitMs !== undefined && { maxWaitMs: options.maxWindowWaitMs }),
          onWait: (at) => {
            log.warn(
              { opens_at: at.toISOString(), reasons: why },
              'waiting for the maintenance window',
            );
          },
        });
        return { ok: true, detail: `inside a maintenance window (${why})` };
      }))
    ) {
      return finish('window');
    }
  }

  if (
    !(await step('apply', async () => {
      state.apply = await production.apply({
        ...applyOptions,
        stopIf: () => (options.signal?.aborted === true ? 'interrupted (Ctrl-C)' : null),
      });
      const err = state.apply.error;
      return {
        ok: err === null,
        detail: err ? `[${err.code}] ${err.message}` : `applied ${state.apply.applied}`,
      };
    }))
  ) {
    return finish('apply');
  }

  const touched = new Set((state.dryRun?.migrations ?? []).flatMap(touchedRelations));
  if (
    !(await step('post-verify', async () => {
      state.verify = await postVerify({
        databaseUrl: options.databaseUrl,
        config: options.config.postVerify,
        touchedTables: [...touched],
        historySchema,
        logger: log,
        ...(state.snapshot !== null && { manifest: state.snapshot }),
      });
      const bad = state.verify.checks
        .filter((c) => c.status === 'error')
        .flatMap((c) => c.findings);
      return {
        ok: state.verify.ok,
        detail: state.verify.ok ? 'all checks passed' : bad.join('; '),
      };
    }))
  ) {
    return finish('post-verify');
  }
  return finish(null);
}

/** The staging copy the dry-run applies to: a given database, or the snapshot just verified. */
function stagingOf(options: SafeApplyOptions, snapshotId: string): StagingSource {
  if (options.stagingUrl !== undefined) return { kind: 'url', url: options.stagingUrl };
  const method = options.snapshotMethod;
  return method.kind === 'pgbackrest'
    ? {
        kind: 'pgbackrest',
        storage: options.storage,
        target: method.target,
        snapshotId,
        ...(method.directory !== undefined && { directory: method.directory }),
      }
    : {
        kind: 'snapshot',
        storage: options.storage,
        snapshotId,
        serverUrl: method.scratchServerUrl,
      };
}
