import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseConfig } from '../api/config.js';
import { resolveSettings, type ResolvedSettings } from '../api/settings.js';
import {
  APPROVED_GENERATION_ANNOTATION,
  DatabaseMigrationSchema,
  RESTART_ANNOTATION,
  type DatabaseMigration,
  type DatabaseMigrationStatus,
  type MigrationPhase,
} from '../api/v1alpha1/database-migration.js';
import type { BackupSnapshot } from '../api/v1alpha1/backup-snapshot.js';
import {
  asApplied,
  asApplyFailed,
  asApplyStarted,
  asApplying,
  asAwaitingApproval,
  asAwaitingWindow,
  asDatabaseUnreachable,
  asDryRunFailed,
  asDryRunIncomplete,
  asDryRunPassed,
  asDryRunSkipped,
  asFailed,
  asInvalidSpec,
  asLintFailed,
  asNewRun,
  asPlanned,
  asResumed,
  asSnapshotRequested,
  asSnapshotVerified,
  asSucceeded,
  asUpToDate,
  asVerifyFailed,
  dryRunPassedCondition,
  dryRunSkippedCondition,
  isEventWorthy,
  nextStatus,
  type OwnCondition,
  type Transition,
} from '../api/v1alpha1/migration-transitions.js';
import { API_VERSION } from '../api/v1alpha1/common.js';
import { DatabaseUnreachableError } from '../db/connection.js';
import { MigrationError } from '../engine/errors.js';
import { createMigrator } from '../engine/create-migrator.js';
import type { EngineMetrics } from '../observability/metrics.js';
import type { Migrator, RunResult } from '../engine/migrator.js';
import { PinnedMigrationSource, type MigrationSource } from '../engine/source.js';
import { runDryRun, type DryRunReport } from '../safety/dryrun/dry-run.js';
import {
  OPERATOR_VOCABULARY,
  pinnedProgress,
  scratchChoice,
  stagingChoice,
  type LintVerdict,
  type StagingChoice,
} from '../safety/pipeline/choices.js';
import { suggestName } from '../api/nearest.js';
import { lintRuleSettingProblems } from '../safety/lint/rules.js';
import { judgeDryRun, lintPending, touchedRelations } from '../safety/pipeline/steps.js';
import { readManifest, SnapshotError } from '../safety/snapshot/snapshot.js';
import type { SnapshotManifest } from '../safety/snapshot/manifest.js';
import { withDatabase } from '../safety/snapshot/pg-tools.js';
import type { OpenedStorage } from '../safety/snapshot/storage-location.js';
import { openSnapshotStorage } from './snapshot-storage.js';
import {
  backupSetProblemFor,
  pgbackrestSettings,
  restoreDirectory,
  withPgBackRestTarget,
} from './pgbackrest-target.js';
import { databaseIdentity } from '../db/database-url.js';
import { postVerify, type PostVerifyReport } from '../safety/verify/post-verify.js';
import { activeWindow, nextWindowStart } from '../safety/window/window.js';
import { httpStatus, type ResourceApi } from './kube.js';
import {
  databaseUrlFor,
  migrationSourceFor,
  EXTERNAL_REASONS,
  ResourceProblem,
  RetryLater,
} from './migration-source.js';
import {
  done,
  requeueAfter,
  requeueNow,
  TerminalError,
  type Reconciler,
  type Request,
  type Result,
} from './reconcile.js';
import { recordEvent } from './events.js';
import { STEP_PRIORITY, type TaskRunner } from './tasks.js';

export interface ReconcilerDeps {
  readonly api: ResourceApi;
  readonly tasks: TaskRunner;
  readonly logger: Logger;
  /** Called when a task ends, to reconcile the resource again. */
  readonly requeue: (namespace: string, name: string) => void;
  /** Why this replica must not write to a database now (it lost the Lease), or null. */
  readonly fence?: () => string | null;
  readonly now?: () => Date;
  /** Where the engine counts the migrations it applies (the operator's registry). */
  readonly engineMetrics?: EngineMetrics;
}

/** Failed for these reasons, a resource retries by itself: their cause lies outside the spec. */
const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  ...EXTERNAL_REASONS,
  'DatabaseUnreachable',
]);

/** The label (and annotation) naming the DatabaseMigration a pre-migration BackupSnapshot was taken for. */
export const MIGRATION_LABEL = 'dbops.docserver.io/migration';

/**
 * The pre-migration snapshot's name: per resource UID and generation, so a re-created
 * DatabaseMigration of the same name never adopts an older resource's snapshot.
 */
function snapshotName(dbm: DatabaseMigration): string {
  const uid = (dbm.metadata.uid ?? '').replace(/-/g, '').slice(0, 5);
  const restart = restartTag(dbm);
  // A restarted run takes a backup of its own: the previous run's no longer matches production.
  const run = restart ? `-r${restart.slice(0, 6)}` : '';
  return `${dbm.metadata.name ?? 'dbm'}-g${String(dbm.metadata.generation ?? 0)}${run}${uid ? `-${uid}` : ''}`.slice(
    0,
    253,
  );
}

/** A short hash of the restart annotation the current run started with, or '' for none. */
function restartTag(dbm: DatabaseMigration): string {
  const restart = dbm.status?.observedRestart ?? '';
  return restart ? createHash('sha256').update(restart).digest('hex').slice(0, 8) : '';
}

/**
 * What the approval annotation must say for this run: the generation, and for a restarted run
 * also the restart value, so an approval never carries over to a run nobody looked at.
 */
function approvalToken(dbm: DatabaseMigration): string {
  const gen = String(dbm.metadata.generation ?? 0);
  const restart = dbm.status?.observedRestart ?? '';
  return restart ? `${gen}-${restart}` : gen;
}

/** The last pinned migration: apply and dry-run go no further, whatever joined the source since. */
function pinnedTarget(dbm: DatabaseMigration): string | undefined {
  return dbm.spec.target ?? dbm.status?.pinned?.at(-1)?.id;
}

/** The operator's entry point resolves settings from the spec, once, with the shared defaults. */
export function settingsOf(dbm: DatabaseMigration): ResolvedSettings {
  const policy = dbm.spec.lint?.policy;
  return resolveSettings({
    historySchema: dbm.spec.historySchema,
    lockTimeoutMs: dbm.spec.lockTimeoutMs,
    statementTimeoutMs: dbm.spec.statementTimeoutMs,
    windowThresholdMs: dbm.spec.maintenanceWindow?.thresholdMs,
    lint:
      policy === undefined
        ? undefined
        : policy === 'Enforce'
          ? 'enforce'
          : policy === 'Warn'
            ? 'warn'
            : 'off',
    lintRules: dbm.spec.lint?.rules,
    lintPgVersion: dbm.spec.lint?.pgVersion,
    lintSmallTable: dbm.spec.lint?.smallTable,
    target: dbm.spec.target,
    // Short: a busy lock is a requeue for the reconciler, never a long wait inside one.
    lockWaitMs: 2000,
  });
}

/** Where the spec lets temporary copies (verification, staging restore) be made. */
function scratchOf(dbm: DatabaseMigration): {
  scratchServer: boolean;
  allowProductionServer: boolean;
} {
  return {
    scratchServer: dbm.spec.staging?.scratch?.secretRef !== undefined,
    allowProductionServer: dbm.spec.staging?.scratch?.allowProductionServer === true,
  };
}

/** What the spec chose for the staging dry-run (pure: decided the same way in every phase). */
function stagingOf(dbm: DatabaseMigration): StagingChoice {
  const skippedBy =
    dbm.spec.safety === 'Unsafe'
      ? 'spec.safety: Unsafe'
      : dbm.spec.staging?.enabled === false
        ? 'spec.staging.enabled: false'
        : null;
  return stagingChoice(
    {
      skippedBy,
      stagingDatabase: dbm.spec.staging?.secretRef !== undefined,
      snapshot: dbm.spec.snapshot !== undefined && dbm.spec.snapshot.enabled,
      physicalSnapshot: dbm.spec.snapshot?.method === 'pgbackrest',
      ...scratchOf(dbm),
    },
    OPERATOR_VOCABULARY,
  );
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'the task was cancelled';
}

/** The Linted condition of a lint verdict. */
function lintCondition(lint: LintVerdict): OwnCondition {
  return {
    type: 'Linted',
    status: lint.ok,
    reason: lint.ok ? (lint.errors.length > 0 ? 'PassedWithWarnings' : 'Passed') : 'Failed',
    message: lint.detail,
  };
}

/**
 * Level-triggered reconcile of one DatabaseMigration: read the resource and the world, do one
 * step (or check on the step's task), write status, return when to look again. Each phase is
 * its own method; no phase reaches Applying without a dry-run and lint verdict unless the spec
 * skipped the dry-run explicitly, which a Warning Event and the DryRun condition record.
 */
export class MigrationReconciler implements Reconciler {
  private readonly now: () => Date;
  /** UIDs of resources this process runs tasks for, so a deleted one's tasks can be stopped. */
  private readonly uids = new Map<string, string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile({ namespace, name }: Request): Promise<Result> {
    const raw = await this.deps.api.get('databasemigrations', namespace, name);
    const known = this.uids.get(`${namespace}/${name}`);
    const rawUid = (raw as { metadata?: { uid?: string } } | null)?.metadata?.uid;
    if (known !== undefined && (raw === null || rawUid !== known)) {
      // Deleted (or re-created): its running step stops before its next statement.
      this.uids.delete(`${namespace}/${name}`);
      await this.deps.tasks.cancel(
        `${known}/`,
        `DatabaseMigration ${namespace}/${name} was deleted`,
      );
    }
    if (raw === null) return done;
    const parsed = DatabaseMigrationSchema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
      await this.record(raw as DatabaseMigration, asInvalidSpec(message));
      return done;
    }
    const dbm = parsed.data;
    // Rule IDs live in the linter's catalogue, above the API schema: checked here, as the CLI
    // checks dbmigrate.json's, so a typo fails the resource instead of being ignored.
    const ruleProblems = lintRuleSettingProblems(dbm.spec.lint?.rules ?? {}, suggestName);
    if (ruleProblems.length > 0 && !dbm.metadata.deletionTimestamp) {
      await this.record(
        dbm,
        asInvalidSpec(ruleProblems.map((p) => `spec.lint.rules.${p.key}: ${p.message}`).join('; ')),
      );
      return done;
    }
    if (dbm.metadata.deletionTimestamp) {
      await this.deps.tasks.cancel(
        `${dbm.metadata.uid ?? ''}/`,
        `DatabaseMigration ${namespace}/${name} is being deleted`,
      );
      return done;
    }
    const generation = dbm.metadata.generation ?? 0;
    const status = dbm.status ?? {};
    const uid = dbm.metadata.uid ?? `${namespace}/${name}`;
    const restart = dbm.metadata.annotations?.[RESTART_ANNOTATION] ?? '';

    // A new generation (or restart annotation) starts a new run; the old one's task finishes first.
    if (status.observedGeneration !== generation || (status.observedRestart ?? '') !== restart) {
      if (this.deps.tasks.anyRunning(`${uid}/`)) return requeueAfter(2000);
      // Results of the old run's steps are never this run's.
      await this.deps.tasks.cancel(`${uid}/`, 'a new run started');
      // The previous run's verdicts and backup say nothing about this one (merge patch: null removes).
      const stale = { dryRun: null, snapshotRef: null, completedAt: null, pinned: null };
      await this.deps.api.writeStatus('databasemigrations', dbm, stale);
      const kept = { ...dbm.status };
      for (const k of Object.keys(stale)) Reflect.deleteProperty(kept, k);
      dbm.status = kept;
      await this.record(dbm, asNewRun(generation, restart));
      return requeueNow();
    }
    this.uids.set(`${namespace}/${name}`, uid);
    try {
      return await this.step(dbm, status.phase ?? 'Pending', uid, generation);
    } catch (err) {
      if (err instanceof ResourceProblem) {
        await this.record(dbm, asFailed(err.reason, err.message));
        // Fixed elsewhere (the Secret or ConfigMap appears): retried with backoff. Otherwise
        // only a change to the resource (a new generation or restart) helps.
        if (err.external) throw new RetryLater(err.reason);
        throw new TerminalError(`${err.reason}: ${err.message}`, { cause: err });
      }
      if (err instanceof DatabaseUnreachableError) {
        // Transient: say so, keep the phase, retry with backoff.
        await this.record(dbm, asDatabaseUnreachable(status.phase ?? 'Pending', err.message));
        throw err;
      }
      if (httpStatus(err) === 409) return requeueNow();
      throw err;
    }
  }

  /** A task per resource, run (generation and restart) and step: a new run never reads an old result. */
  private key(dbm: DatabaseMigration, uid: string, generation: number, step: string): string {
    const restart = restartTag(dbm);
    return `${uid}/${String(generation)}${restart ? `-${restart}` : ''}/${step}`;
  }

  private async world(dbm: DatabaseMigration): Promise<{ url: string; source: MigrationSource }> {
    const ns = dbm.metadata.namespace ?? 'default';
    const url = await databaseUrlFor(
      this.deps.api,
      ns,
      dbm.spec.database.secretRef,
      'spec.database.secretRef',
    );
    const source = await migrationSourceFor(this.deps.api, ns, dbm.spec);
    return { url, source };
  }

  /** The one place the operator builds an engine: settings from the spec, history names the resource. */
  private migrator(dbm: DatabaseMigration, url: string, source: MigrationSource): Migrator {
    const resource = `${dbm.metadata.namespace ?? ''}/${dbm.metadata.name ?? ''}`;
    return createMigrator({
      database: url,
      source,
      settings: settingsOf(dbm),
      logger: this.deps.logger.child({ resource }),
      appliedBy: `DatabaseMigration ${resource}`,
      ...(this.deps.engineMetrics !== undefined && { metrics: this.deps.engineMetrics }),
    });
  }

  /** The pinned set, checked against what the source holds now: a run never mixes two sets. */
  private async pinnedSource(
    dbm: DatabaseMigration,
    source: MigrationSource,
  ): Promise<MigrationSource> {
    const migrations = await source.load();
    const pinned = dbm.status?.pinned ?? [];
    for (const p of pinned) {
      const m = migrations.find((x) => x.id === p.id);
      if (!m || m.checksum !== p.checksum) {
        throw new ResourceProblem(
          'SourceChangedMidRun',
          `migration ${p.id} changed in ${source.description} after the run started (pinned checksum ${p.checksum.slice(0, 12)}); start a new run with the new set: kubectl annotate dbm ${dbm.metadata.name ?? ''} --overwrite ${RESTART_ANNOTATION}="$(date +%s)"`,
        );
      }
    }
    return new PinnedMigrationSource(migrations, source.description);
  }

  private async step(
    dbm: DatabaseMigration,
    phase: MigrationPhase,
    uid: string,
    gen: number,
  ): Promise<Result> {
    switch (phase) {
      case 'Pending':
        return this.plan(dbm);
      case 'Snapshotting':
        return this.snapshot(dbm, uid);
      case 'DryRunning':
        return this.dryRun(dbm, uid, gen);
      case 'AwaitingApproval':
      case 'AwaitingWindow':
        return this.gate(dbm, dbm.status?.dryRun?.needsWindow ?? false);
      case 'Applying':
        return this.apply(dbm, uid, gen);
      case 'Verifying':
        return this.verify(dbm, uid, gen);
      case 'Failed': {
        // A failure caused outside the spec is retried once its cause may be gone; one of the
        // spec (or of the database's content) waits for a new generation or restart.
        const reason = dbm.status?.conditions?.find((c) => c.type === 'Ready')?.reason ?? '';
        if (!RETRYABLE_REASONS.has(reason)) return done;
        // After production changed, carry on where it stopped (post-verify must still run);
        // before, plan again from the start.
        const before = [...(dbm.status?.history ?? [])].reverse().find((h) => h.phase !== 'Failed');
        if (before?.phase === 'Applying' || before?.phase === 'Verifying') {
          await this.record(dbm, asResumed(before.phase));
          return requeueNow();
        }
        return this.plan(dbm);
      }
      case 'Succeeded':
        return done;
    }
  }

  private settled(dbm: DatabaseMigration): () => void {
    return () => {
      this.deps.requeue(dbm.metadata.namespace ?? 'default', dbm.metadata.name ?? '');
    };
  }

  /** Pending: validate, pin the set, and refuse up front a spec the pipeline cannot finish. */
  private async plan(dbm: DatabaseMigration): Promise<Result> {
    const { url, source } = await this.world(dbm);
    let plan;
    try {
      plan = await this.migrator(dbm, url, source).plan(
        dbm.spec.target !== undefined
          ? { target: dbm.spec.target, resume: true }
          : { resume: true },
      );
    } catch (err) {
      if (err instanceof MigrationError)
        throw new ResourceProblem('InvalidMigrations', err.message);
      throw err;
    }
    if (plan.issues.length > 0) {
      throw new ResourceProblem(
        'ValidationFailed',
        plan.issues.map((i) => `[${i.code}] ${i.message} (fix: ${i.fix})`).join('; '),
      );
    }
    const pinned = plan.pending.map((p) => ({ id: p.id, name: p.name, checksum: p.checksum }));
    const progress = await this.progress(dbm, url, source, pinned);
    const base = { pinned, ...progress, startedAt: this.now().toISOString(), lastError: '' };
    if (pinned.length === 0) {
      await this.record(
        dbm,
        asUpToDate(base, progress.appliedCount ?? 0, this.now().toISOString()),
      );
      return done;
    }
    const staging = stagingOf(dbm);
    if (staging.kind === 'refuse') throw new ResourceProblem('StagingUnavailable', staging.message);
    if (dbm.spec.snapshot?.enabled === true && dbm.spec.snapshot.method === 'pg_dump') {
      // Refused now rather than after the dump: the backup's verification needs a server too.
      // (A pgBackRest snapshot is verified in a private server of the operator's own.)
      const scratch = scratchChoice(
        scratchOf(dbm),
        OPERATOR_VOCABULARY,
        'verifying the pre-migration snapshot',
      );
      if (scratch.kind === 'refuse')
        throw new ResourceProblem('ScratchUnavailable', scratch.message);
    }
    const next: MigrationPhase =
      dbm.spec.snapshot?.enabled === true ? 'Snapshotting' : 'DryRunning';
    await this.record(
      dbm,
      asPlanned(
        base,
        next,
        pinned.map((p) => p.id),
      ),
    );
    return requeueNow();
  }

  /**
   * applied/pending as the engine's history records them for the pinned set: the truth after
   * any restart, failover or resume, whatever an earlier status write said.
   */
  private async progress(
    dbm: DatabaseMigration,
    url: string,
    source: MigrationSource,
    pinned: readonly { id: string; name: string; checksum: string }[],
  ): Promise<Partial<DatabaseMigrationStatus>> {
    const report = await this.migrator(dbm, url, source).status({ resume: true });
    const p = pinnedProgress(
      pinned.map((x) => x.id),
      report.entries,
    );
    const applied = report.entries
      .filter((e) => e.state === 'applied' || e.state === 'baselined')
      .map((e) => ({
        id: e.id,
        name: e.name,
        checksum: e.appliedChecksum ?? '',
        ...(e.durationMs !== null && { durationMs: e.durationMs }),
        ...(e.finishedAt !== null && { appliedAt: e.finishedAt.toISOString() }),
      }));
    const pending = pinned.filter((x) => p.pendingIds.includes(x.id));
    return {
      applied: applied.slice(-50),
      pending,
      appliedCount: p.appliedTotal,
      pendingCount: pending.length,
    };
  }

  /** Snapshotting: a BackupSnapshot that outlives this resource (no owner reference). */
  private async snapshot(dbm: DatabaseMigration, uid: string): Promise<Result> {
    const snapSpec = dbm.spec.snapshot;
    if (!snapSpec) return requeueNow();
    const ns = dbm.metadata.namespace ?? 'default';
    const name = dbm.metadata.name ?? '';
    const snapName = snapshotName(dbm);
    const existing = (await this.deps.api.get(
      'backupsnapshots',
      ns,
      snapName,
    )) as BackupSnapshot | null;
    if (!existing) {
      const scratch = dbm.spec.staging?.scratch;
      const body: BackupSnapshot = {
        apiVersion: API_VERSION,
        kind: 'BackupSnapshot',
        metadata: {
          name: snapName,
          namespace: ns,
          // A label, not an owner reference: deleting or pruning the migration must never
          // garbage-collect the backup taken before it ran; its retention policy decides.
          // Label values stop at 63 characters; the annotation always carries the whole name.
          ...(name.length <= 63 && { labels: { [MIGRATION_LABEL]: name } }),
          annotations: { [MIGRATION_LABEL]: name, 'dbops.docserver.io/migration-uid': uid },
        },
        spec: {
          database: { secretRef: dbm.spec.database.secretRef },
          storage: snapSpec.storage,
          checksums: snapSpec.checksums,
          method: snapSpec.method,
          ...(snapSpec.pgbackrest !== undefined && { pgbackrest: snapSpec.pgbackrest }),
          verify: true,
          ...(scratch !== undefined && { scratch }),
          ...(snapSpec.retention !== undefined && { retention: snapSpec.retention }),
        },
      };
      await this.deps.api.create('backupsnapshots', ns, body);
      await this.record(dbm, asSnapshotRequested(snapName));
      return requeueAfter(5000);
    }
    const s = existing.status;
    if (s?.phase === 'Failed') {
      throw new ResourceProblem(
        'SnapshotFailed',
        `BackupSnapshot ${snapName} failed: ${s.lastError ?? (s.mismatches ?? []).join('; ')}`,
      );
    }
    if (s?.phase === 'Completed' && s.verified === true && s.filesPresent !== false) {
      await this.record(dbm, asSnapshotVerified(snapName, s.snapshotId ?? snapName));
      return requeueNow();
    }
    return requeueAfter(5000);
  }

  /** The verified pre-migration snapshot's storage and manifest, or null without one. */
  private async snapshotManifest(
    dbm: DatabaseMigration,
  ): Promise<{ storage: OpenedStorage; manifest: SnapshotManifest } | null> {
    const ref = dbm.status?.snapshotRef;
    const spec = dbm.spec.snapshot?.storage;
    if (!ref || spec === undefined) return null;
    const snap = (await this.deps.api.get(
      'backupsnapshots',
      dbm.metadata.namespace ?? 'default',
      ref.name,
    )) as BackupSnapshot | null;
    const id = snap?.status?.snapshotId;
    if (id === undefined) {
      throw new ResourceProblem(
        'SnapshotMissing',
        `BackupSnapshot ${ref.name} is gone or has no snapshot; the run cannot use it. Start a new run with kubectl annotate dbm ${dbm.metadata.name ?? ''} --overwrite ${RESTART_ANNOTATION}="$(date +%s)"`,
      );
    }
    const storage = await openSnapshotStorage(
      this.deps.api,
      dbm.metadata.namespace ?? 'default',
      spec,
      'spec.snapshot.storage',
    );
    try {
      return { storage, manifest: await readManifest(storage, id) };
    } catch (err) {
      storage.close();
      throw err;
    }
  }

  /** The pre-migration snapshot the dry-run restores; a run without one cannot have a dry-run. */
  private async dryRunSnapshot(
    dbm: DatabaseMigration,
  ): Promise<{ storage: OpenedStorage; manifest: SnapshotManifest }> {
    const snap = await this.snapshotManifest(dbm);
    if (!snap) {
      throw new ResourceProblem(
        'SnapshotMissing',
        'the dry-run restores the pre-migration snapshot, and this run has none',
      );
    }
    return snap;
  }

  /** DryRunning: the pinned set on a staging copy, then the lint verdict; or an explicit skip. */
  private async dryRun(dbm: DatabaseMigration, uid: string, gen: number): Promise<Result> {
    const choice = stagingOf(dbm);
    if (choice.kind === 'refuse') throw new ResourceProblem('StagingUnavailable', choice.message);
    if (choice.kind === 'skip') return this.skipDryRun(dbm, choice.why);
    const ns = dbm.metadata.namespace ?? 'default';
    const settings = settingsOf(dbm);
    const step = await this.deps.tasks.step<DryRunReport>(
      this.key(dbm, uid, gen, 'dry-run'),
      async () => {
        const { url, source } = await this.world(dbm);
        const pinned = await this.pinnedSource(dbm, source);
        const target = pinnedTarget(dbm);
        type Staging = Parameters<typeof runDryRun>[0]['staging'];
        type Run = (staging: Staging) => Promise<DryRunReport>;
        /** Calls the dry-run with its staging, once what that staging needs is in place. */
        let launch: (run: Run) => Promise<DryRunReport>;
        let opened: OpenedStorage | null = null;
        const physical = dbm.spec.snapshot?.pgbackrest;
        if (choice.kind === 'restore-snapshot' && choice.server === 'private-server') {
          if (physical === undefined)
            throw new ResourceProblem('StagingUnavailable', 'spec.snapshot.pgbackrest is unset');
          // The Secret is read now; the configuration is written only while the dry-run runs.
          const settings = await pgbackrestSettings(
            this.deps.api,
            ns,
            physical,
            'spec.snapshot.pgbackrest',
          );
          const snap = await this.dryRunSnapshot(dbm);
          opened = snap.storage;
          const storage = snap.storage;
          const snapshotId = snap.manifest.id;
          // Kept for the next dry-run of this database: a delta restore over it.
          const directory = restoreDirectory(physical, ns, { stagingFor: url });
          launch = (run) =>
            withPgBackRestTarget(settings, (target) =>
              run({ kind: 'pgbackrest', storage, target, snapshotId, directory }),
            );
        } else if (choice.kind === 'staging-database') {
          const ref = dbm.spec.staging?.secretRef;
          if (!ref)
            throw new ResourceProblem('StagingUnavailable', 'spec.staging.secretRef is unset');
          const staging: Staging = {
            kind: 'url',
            url: await databaseUrlFor(this.deps.api, ns, ref, 'spec.staging.secretRef'),
          };
          launch = (run) => run(staging);
        } else {
          const scratchRef = dbm.spec.staging?.scratch?.secretRef;
          const server =
            choice.server === 'scratch-server' && scratchRef !== undefined
              ? await databaseUrlFor(
                  this.deps.api,
                  ns,
                  scratchRef,
                  'spec.staging.scratch.secretRef',
                )
              : withDatabase(url, 'postgres');
          // Opened last, held by the dry-run and closed when it ends.
          const snap = await this.dryRunSnapshot(dbm);
          opened = snap.storage;
          const staging: Staging = {
            kind: 'snapshot',
            storage: snap.storage,
            snapshotId: snap.manifest.id,
            serverUrl: server,
            // Per resource and generation: a retry after a crash drops what the crash left.
            databasePrefix: `dbm_staging_${uid.replace(/[^a-f0-9]/g, '').slice(0, 12)}_g${String(gen)}_`,
          };
          launch = (run) => run(staging);
        }
        return {
          lane: databaseIdentity(url),
          priority: STEP_PRIORITY.dryRun,
          work: (signal) =>
            launch((staging) =>
              runDryRun({
                source: pinned,
                staging,
                productionUrl: url,
                historySchema: settings.historySchema,
                windowThresholdMs: settings.windowThresholdMs,
                lint: settings.lint !== 'off',
                logger: this.deps.logger,
                migrator: settings,
                signal,
                ...(target !== undefined && { target }),
              }),
            ).finally(() => {
              opened?.close();
            }),
        };
      },
      this.settled(dbm),
    );
    if (step.state === 'pending' || step.state === 'skipped') return requeueAfter(10_000);
    if (step.state === 'failed') {
      if (step.error instanceof ResourceProblem) throw step.error;
      throw new ResourceProblem('DryRunError', `dry-run could not run: ${step.error.message}`);
    }
    const report = step.value;
    const dryRun = {
      ok: report.ok,
      needsWindow: report.needsWindow,
      migrations: report.migrations.map((m) => ({
        id: m.id,
        status: m.status,
        ...(m.durationMs !== null && { durationMs: m.durationMs }),
        ...(m.locks[0] !== undefined && {
          strongestLock: `${m.locks[0].mode} ${m.locks[0].relation}`,
          lockHeldMs: m.locks[0].heldMs,
        }),
        ...(m.rewrites.length > 0 && { rewrites: m.rewrites }),
        ...(m.reasons.length > 0 && { reasons: m.reasons.slice(0, 5) }),
        touched: touchedRelations(m),
      })),
    };
    const verdict = judgeDryRun(
      report,
      (dbm.status?.pending ?? []).map((p) => p.id),
      settings.lint,
    );
    switch (verdict.kind) {
      case 'incomplete':
        await this.record(dbm, asDryRunIncomplete(dryRun, verdict.detail));
        return done;
      case 'failed':
        await this.record(dbm, asDryRunFailed(dryRun, verdict.detail));
        return done;
      case 'lint-failed':
        await this.record(
          dbm,
          asLintFailed(verdict.detail, lintCondition(verdict.lint), { dryRun }, [
            dryRunPassedCondition(dryRun),
          ]),
        );
        return done;
      case 'passed':
        break;
    }
    await this.record(dbm, asDryRunPassed(dryRun, lintCondition(verdict.lint)));
    return this.gate(dbm, report.needsWindow);
  }

  /**
   * The user skipped the dry-run explicitly: say so (Warning Event, DryRun condition) and still
   * give the lint verdict, which needs no database.
   */
  private async skipDryRun(dbm: DatabaseMigration, why: string): Promise<Result> {
    const { url, source } = await this.world(dbm);
    const pinned = await this.pinnedSource(dbm, source);
    const ids = (dbm.status?.pinned ?? []).map((p) => p.id);
    const settings = settingsOf(dbm);
    // Judged for the target server's version and catalog facts, as the CLI's apply --safe does.
    const lint = await lintPending(await pinned.load(), ids, settings.lint, {
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      databaseUrl: url,
      rules: settings.lintRules,
      pgVersion: settings.lintPgVersion,
      smallTable: settings.lintSmallTable,
    });
    if (!lint.ok) {
      await this.record(
        dbm,
        asLintFailed(lint.detail, lintCondition(lint), {}, [dryRunSkippedCondition(why)]),
      );
      return done;
    }
    await this.record(dbm, asDryRunSkipped(why, lintCondition(lint)));
    return this.gate(dbm);
  }

  /** Applying: the pinned set, stopped before its next statement if this replica loses the Lease. */
  private async apply(dbm: DatabaseMigration, uid: string, gen: number): Promise<Result> {
    const step = await this.deps.tasks.step<{
      run: RunResult;
      url: string;
      source: MigrationSource;
    }>(
      this.key(dbm, uid, gen, 'apply'),
      async () => {
        const { url, source } = await this.world(dbm);
        const pinned = await this.pinnedSource(dbm, source);
        const runId =
          dbm.status?.runId || `${uid.slice(0, 8)}-g${String(gen)}-${Date.now().toString(36)}`;
        if (!dbm.status?.runId) await this.record(dbm, asApplyStarted(runId));
        const target = pinnedTarget(dbm);
        // resume: a run interrupted by an operator restart continues from the engine's history.
        return {
          lane: databaseIdentity(url),
          priority: STEP_PRIORITY.apply,
          work: async (signal) => ({
            run: await this.migrator(dbm, url, pinned).apply({
              resume: true,
              runId,
              ...(target !== undefined && { target }),
              stopIf: () => (signal.aborted ? abortReason(signal) : (this.deps.fence?.() ?? null)),
            }),
            url,
            source,
          }),
        };
      },
      this.settled(dbm),
    );
    if (step.state === 'pending' || step.state === 'skipped') return requeueAfter(10_000);
    if (step.state === 'failed') throw step.error;
    const { run, url, source } = step.value;
    if (run.error?.code === 'LOCK_BUSY') return requeueAfter(5000);
    // A stopped run is no failure: whoever holds the Lease now resumes it from history.
    if (run.error?.code === 'RUN_STOPPED') return done;
    // Production has changed by now: record what history says, with what the apply itself used
    // (a Secret or ConfigMap gone meanwhile must not turn an applied run into a failed one).
    const counts: Partial<DatabaseMigrationStatus> = await this.progress(
      dbm,
      url,
      source,
      dbm.status?.pinned ?? [],
    ).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'could not read history for status');
      return {};
    });
    if (run.error) {
      const message = `[${run.error.code}] ${run.error.message}`;
      await this.record(dbm, asApplyFailed(counts, message));
      return done;
    }
    await this.record(dbm, asApplied(counts, run.applied, run.durationMs));
    return requeueNow();
  }

  /** Verifying: post-verify on production, with the snapshot's counts and the touched relations. */
  private async verify(dbm: DatabaseMigration, uid: string, gen: number): Promise<Result> {
    const step = await this.deps.tasks.step<PostVerifyReport>(
      this.key(dbm, uid, gen, 'verify'),
      async () => {
        const { url } = await this.world(dbm);
        const config = parseConfig(
          { postVerify: dbm.spec.postVerify ?? {} },
          'spec.postVerify',
        ).postVerify;
        const touched = [
          ...new Set((dbm.status?.dryRun?.migrations ?? []).flatMap((m) => m.touched ?? [])),
        ];
        // Production is already changed: a backup gone meanwhile only loses the count comparison.
        const snap = await this.snapshotManifest(dbm).catch((err: unknown) => {
          if (!(err instanceof ResourceProblem) && !(err instanceof SnapshotError)) throw err;
          this.deps.logger.warn({ err }, 'post-verify runs without the snapshot manifest');
          return null;
        });
        // Only the manifest is needed from here on.
        snap?.storage.close();
        return {
          lane: databaseIdentity(url),
          priority: STEP_PRIORITY.postVerify,
          work: () =>
            postVerify({
              databaseUrl: url,
              config,
              touchedTables: touched,
              historySchema: settingsOf(dbm).historySchema,
              logger: this.deps.logger,
              ...(snap !== null && { manifest: snap.manifest }),
            }),
        };
      },
      this.settled(dbm),
    );
    if (step.state === 'pending' || step.state === 'skipped') return requeueAfter(10_000);
    if (step.state === 'failed') throw step.error;
    const bad = step.value.checks.filter((c) => c.status === 'error').flatMap((c) => c.findings);
    if (bad.length > 0) {
      const message = `post-verify failed: ${bad.join('; ')}`;
      await this.record(dbm, asVerifyFailed(message));
      return done;
    }
    await this.record(dbm, asSucceeded(this.now().toISOString()));
    return done;
  }

  /** After the dry-run: approval, then the maintenance window, then Applying. */
  private async gate(dbm: DatabaseMigration, needsWindow = false): Promise<Result> {
    const gen = approvalToken(dbm);
    const approved = dbm.metadata.annotations?.[APPROVED_GENERATION_ANNOTATION] === gen;
    if (dbm.spec.approval?.required === true && !approved) {
      if (dbm.status?.phase !== 'AwaitingApproval') {
        await this.record(
          dbm,
          asAwaitingApproval(
            `kubectl annotate --overwrite dbm ${dbm.metadata.name ?? ''} ${APPROVED_GENERATION_ANNOTATION}=${gen}`,
          ),
        );
      }
      return done;
    }
    if (needsWindow && !approved) {
      const windows = dbm.spec.maintenanceWindow?.windows ?? [];
      const now = this.now();
      if (!activeWindow(windows, now)) {
        const opens = nextWindowStart(windows, now);
        if (dbm.status?.phase !== 'AwaitingWindow') {
          await this.record(
            dbm,
            asAwaitingWindow(
              opens
                ? `the dry-run says a migration blocks writes; waiting for the window at ${opens.toISOString()}`
                : `the dry-run says a migration blocks writes and no maintenance window is configured; add spec.maintenanceWindow or approve with ${APPROVED_GENERATION_ANNOTATION}=${gen}`,
            ),
          );
        }
        return requeueAfter(
          opens ? Math.min(60_000, Math.max(1000, opens.getTime() - now.getTime())) : 60_000,
        );
      }
    }
    await this.checkSnapshotRestorable(dbm);
    await this.record(dbm, asApplying());
    return requeueNow();
  }

  /**
   * The pre-migration snapshot can still be restored when production is about to change: a
   * run may wait hours for approval or a window, and files can vanish or a pgBackRest set be
   * expired by the repository's retention meanwhile (asked of the repository now, not only as
   * the BackupSnapshot's last minutely check saw it).
   */
  private async checkSnapshotRestorable(dbm: DatabaseMigration): Promise<void> {
    const ref = dbm.status?.snapshotRef;
    if (dbm.spec.snapshot?.enabled !== true || ref === undefined) return;
    const ns = dbm.metadata.namespace ?? 'default';
    const remedy = `start a new run (a new snapshot) with kubectl annotate dbm ${dbm.metadata.name ?? ''} --overwrite ${RESTART_ANNOTATION}="$(date +%s)"`;
    const snap = (await this.deps.api.get(
      'backupsnapshots',
      ns,
      ref.name,
    )) as BackupSnapshot | null;
    if (snap === null || snap.status?.filesPresent === false) {
      throw new ResourceProblem(
        'SnapshotMissing',
        `the pre-migration snapshot ${ref.name} can no longer be restored (${snap === null ? 'its BackupSnapshot is gone' : (snap.status?.lastError ?? 'its files are gone')}); nothing was applied; ${remedy}`,
      );
    }
    const physical = dbm.spec.snapshot.pgbackrest;
    if (dbm.spec.snapshot.method !== 'pgbackrest' || physical === undefined) return;
    const found = await this.snapshotManifest(dbm);
    if (found === null) return;
    try {
      const settings = await pgbackrestSettings(
        this.deps.api,
        ns,
        physical,
        'spec.snapshot.pgbackrest',
      );
      const problem = await backupSetProblemFor(settings, found.manifest);
      if (problem !== null) {
        throw new ResourceProblem('SnapshotMissing', `${problem}; nothing was applied; ${remedy}`);
      }
    } finally {
      found.storage.close();
    }
  }

  /**
   * Records a transition: status through the status subresource, conditional on the resource
   * version read (a 409 makes the caller re-read), and an Event for a phase change or Warning.
   */
  private async record(dbm: DatabaseMigration, t: Transition): Promise<void> {
    const previous = dbm.status ?? {};
    const status = nextStatus(previous, t, dbm.metadata.generation ?? 0, this.now());
    await this.deps.api.writeStatus('databasemigrations', dbm, status);
    dbm.status = { ...previous, ...status };
    if (!isEventWorthy(previous, t)) return;
    const resource = `${dbm.metadata.namespace ?? ''}/${dbm.metadata.name ?? ''}`;
    this.deps.logger.info({ resource, phase: t.phase, reason: t.reason }, t.message);
    await recordEvent(this.deps, 'DatabaseMigration', dbm.metadata, {
      type: t.eventType,
      reason: t.reason,
      message: t.message,
    });
  }
}
