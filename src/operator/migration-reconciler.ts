import type { Logger } from 'pino';
import { parseConfig } from '../api/config.js';
import {
  APPROVED_GENERATION_ANNOTATION,
  DatabaseMigrationSchema,
  type DatabaseMigration,
  type DatabaseMigrationStatus,
  type MigrationPhase,
} from '../api/v1alpha1/database-migration.js';
import type { BackupSnapshot } from '../api/v1alpha1/backup-snapshot.js';
import { API_VERSION } from '../api/v1alpha1/common.js';
import { connectorFromUrl, DatabaseUnreachableError } from '../db/connection.js';
import { MigrationError } from '../engine/errors.js';
import { Migrator, type RunResult } from '../engine/migrator.js';
import { PinnedMigrationSource, type MigrationSource } from '../engine/source.js';
import { runDryRun, type DryRunReport } from '../safety/dryrun/dry-run.js';
import { withDatabase } from '../safety/snapshot/pg-tools.js';
import { LocalDirectoryStorage } from '../safety/snapshot/storage.js';
import { postVerify, type PostVerifyReport } from '../safety/verify/post-verify.js';
import { activeWindow, nextWindowStart } from '../safety/window/window.js';
import { setConditions } from './conditions.js';
import { httpStatus, type KubeApi } from './kube.js';
import { databaseUrlFor, migrationSourceFor, ResourceProblem } from './migration-source.js';
import type { TaskRunner } from './tasks.js';

export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export interface ReconcilerDeps {
  readonly api: KubeApi;
  readonly tasks: TaskRunner;
  readonly logger: Logger;
  /** Called when a task ends, to reconcile the resource again. */
  readonly requeue: (namespace: string, name: string) => void;
  readonly now?: () => Date;
}

const HISTORY_LIMIT = 20;

function snapshotName(dbm: DatabaseMigration): string {
  return `${dbm.metadata.name ?? 'dbm'}-g${String(dbm.metadata.generation ?? 0)}`.slice(0, 253);
}

/**
 * Level-triggered reconcile of one DatabaseMigration: read the resource and the world, do one
 * step (or check on the step's task), write status, return when to look again.
 */
export class MigrationReconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const raw = await this.deps.api.get('databasemigrations', namespace, name);
    if (raw === null) return {};
    const parsed = DatabaseMigrationSchema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
      await this.write(
        raw as DatabaseMigration,
        { phase: 'Failed', lastError: message },
        'Failed',
        'InvalidSpec',
        message,
      );
      return {};
    }
    const dbm = parsed.data;
    if (dbm.metadata.deletionTimestamp) return {};
    const generation = dbm.metadata.generation ?? 0;
    const status = dbm.status ?? {};
    const uid = dbm.metadata.uid ?? `${namespace}/${name}`;

    // A new generation starts a new run; the old one's running task (if any) finishes first.
    if (status.observedGeneration !== generation) {
      if (this.deps.tasks.anyRunning(`${uid}/`)) return { requeueAfterMs: 2000 };
      await this.write(
        dbm,
        { phase: 'Pending', observedGeneration: generation, lastError: '', runId: '' },
        'Pending',
        'NewGeneration',
        `generation ${String(generation)} observed`,
      );
      return { requeueAfterMs: 0 };
    }
    try {
      return await this.step(dbm, status.phase ?? 'Pending', uid, generation);
    } catch (err) {
      if (err instanceof ResourceProblem) {
        await this.write(
          dbm,
          { phase: 'Failed', lastError: err.message },
          'Failed',
          err.reason,
          err.message,
        );
        return {};
      }
      if (err instanceof DatabaseUnreachableError) {
        // Transient: say so, keep the phase, retry with backoff.
        await this.write(
          dbm,
          { lastError: err.message },
          status.phase ?? 'Pending',
          'DatabaseUnreachable',
          err.message,
          'Warning',
        );
        throw err;
      }
      if (httpStatus(err) === 409) return { requeueAfterMs: 0 };
      throw err;
    }
  }

  private key(uid: string, generation: number, step: string): string {
    return `${uid}/${String(generation)}/${step}`;
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

  private migrator(dbm: DatabaseMigration, url: string, source: MigrationSource): Migrator {
    return new Migrator({
      database: connectorFromUrl(url),
      source,
      historySchema: dbm.spec.historySchema,
      logger: this.deps.logger.child({
        resource: `${dbm.metadata.namespace ?? ''}/${dbm.metadata.name ?? ''}`,
      }),
      lockWaitMs: 2000,
      ...(dbm.spec.lockTimeoutMs !== undefined && { lockTimeoutMs: dbm.spec.lockTimeoutMs }),
      ...(dbm.spec.statementTimeoutMs !== undefined && {
        statementTimeoutMs: dbm.spec.statementTimeoutMs,
      }),
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
          `migration ${p.id} changed in ${source.description} after the run started (pinned checksum ${p.checksum.slice(0, 12)}); bump the resource (e.g. kubectl annotate … dbops.docserver.io/restart=$(date +%s)) to start a new run`,
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
  ): Promise<ReconcileResult> {
    const ns = dbm.metadata.namespace ?? 'default';
    const name = dbm.metadata.name ?? '';
    const settled = (): void => {
      this.deps.requeue(ns, name);
    };
    switch (phase) {
      case 'Pending': {
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
        const status = await this.migrator(dbm, url, source).status();
        const applied = status.entries
          .filter((e) => e.state === 'applied' || e.state === 'baselined')
          .map((e) => ({
            id: e.id,
            name: e.name,
            checksum: e.appliedChecksum ?? '',
            ...(e.durationMs !== null && { durationMs: e.durationMs }),
          }));
        const pinned = plan.pending.map((p) => ({ id: p.id, name: p.name, checksum: p.checksum }));
        const base = {
          pinned,
          pending: pinned,
          applied: applied.slice(-50),
          appliedCount: applied.length,
          pendingCount: pinned.length,
          startedAt: this.now().toISOString(),
        };
        if (pinned.length === 0) {
          await this.write(
            dbm,
            { ...base, completedAt: this.now().toISOString() },
            'Succeeded',
            'UpToDate',
            `nothing pending; ${String(applied.length)} applied`,
          );
          return {};
        }
        const next: MigrationPhase =
          dbm.spec.snapshot?.enabled === false || !dbm.spec.snapshot
            ? 'DryRunning'
            : 'Snapshotting';
        await this.write(
          dbm,
          base,
          next,
          'Planned',
          `${String(pinned.length)} pending: ${pinned.map((p) => p.id).join(', ')}`,
        );
        return { requeueAfterMs: 0 };
      }

      case 'Snapshotting': {
        const snapSpec = dbm.spec.snapshot;
        if (!snapSpec) return this.gate(dbm);
        const snapName = snapshotName(dbm);
        const existing = (await this.deps.api.get(
          'backupsnapshots',
          ns,
          snapName,
        )) as BackupSnapshot | null;
        if (!existing) {
          const body: BackupSnapshot = {
            apiVersion: API_VERSION,
            kind: 'BackupSnapshot',
            metadata: {
              name: snapName,
              namespace: ns,
              labels: { 'dbops.docserver.io/migration': name },
              ownerReferences: [
                {
                  apiVersion: API_VERSION,
                  kind: 'DatabaseMigration',
                  name,
                  uid,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            spec: {
              database: { secretRef: dbm.spec.database.secretRef },
              storage: snapSpec.storage,
              checksums: snapSpec.checksums,
              verify: true,
              ...(snapSpec.retention !== undefined && { retention: snapSpec.retention }),
            },
          };
          await this.deps.api.create('backupsnapshots', ns, body);
          await this.write(
            dbm,
            { snapshotRef: { name: snapName } },
            'Snapshotting',
            'SnapshotRequested',
            `BackupSnapshot ${snapName} created`,
          );
          return { requeueAfterMs: 5000 };
        }
        const s = existing.status;
        if (s?.phase === 'Failed') {
          throw new ResourceProblem(
            'SnapshotFailed',
            `BackupSnapshot ${snapName} failed: ${s.lastError ?? (s.mismatches ?? []).join('; ')}`,
          );
        }
        if (s?.phase === 'Completed' && s.verified === true) {
          await this.write(
            dbm,
            { snapshotRef: { name: snapName } },
            'DryRunning',
            'SnapshotVerified',
            `snapshot ${s.snapshotId ?? snapName} verified`,
          );
          return { requeueAfterMs: 0 };
        }
        return { requeueAfterMs: 5000 };
      }

      case 'DryRunning': {
        if (dbm.spec.staging?.enabled === false) return this.gate(dbm);
        const key = this.key(uid, gen, 'dry-run');
        const step = await this.deps.tasks.step<DryRunReport>(
          key,
          async () => {
            const { url, source } = await this.world(dbm);
            const pinned = await this.pinnedSource(dbm, source);
            const snapId = dbm.status?.snapshotRef
              ? (
                  (await this.deps.api.get(
                    'backupsnapshots',
                    ns,
                    dbm.status.snapshotRef.name,
                  )) as BackupSnapshot | null
                )?.status?.snapshotId
              : undefined;
            const stagingRef = dbm.spec.staging?.secretRef;
            const stagingUrl = stagingRef
              ? await databaseUrlFor(this.deps.api, ns, stagingRef, 'spec.staging.secretRef')
              : undefined;
            // No staging database and no snapshot to restore: nothing to dry-run on.
            if (!stagingUrl && (!dbm.spec.snapshot || snapId === undefined)) return null;
            return () =>
              runDryRun({
                source: pinned,
                staging:
                  stagingUrl !== undefined
                    ? { kind: 'url', url: stagingUrl }
                    : {
                        kind: 'snapshot',
                        storage: new LocalDirectoryStorage(dbm.spec.snapshot?.storage.path ?? ''),
                        ...(snapId !== undefined && { snapshotId: snapId }),
                        serverUrl: withDatabase(url, 'postgres'),
                      },
                productionUrl: url,
                historySchema: dbm.spec.historySchema,
                windowThresholdMs: dbm.spec.maintenanceWindow?.thresholdMs ?? 1000,
                lint: dbm.spec.lint?.policy !== 'Disabled',
                logger: this.deps.logger,
                ...(dbm.spec.target !== undefined && { target: dbm.spec.target }),
              });
          },
          settled,
        );
        if (step.state === 'skipped') return this.gate(dbm);
        if (step.state === 'pending') return { requeueAfterMs: 10_000 };
        if (step.state === 'failed')
          throw new ResourceProblem('DryRunError', `dry-run could not run: ${step.error.message}`);
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
          })),
        };
        if (!report.ok) {
          const failed = report.migrations.find((m) => m.status === 'failed');
          const message = `dry-run failed on staging at ${failed?.id ?? '?'}: ${failed?.error ?? ''}; production was not touched`;
          await this.write(
            dbm,
            { dryRun, lastError: message },
            'Failed',
            'DryRunFailed',
            message,
            'Warning',
          );
          return {};
        }
        const lintErrors = report.migrations.flatMap((m) =>
          m.lint
            .filter((f) => f.severity === 'error')
            .map((f) => `${m.id}:${String(f.line)} ${f.ruleId}`),
        );
        if (lintErrors.length > 0 && (dbm.spec.lint?.policy ?? 'Enforce') === 'Enforce') {
          const message = `lint errors (policy Enforce): ${lintErrors.join(', ')}; fix them or add ignore comments with reasons`;
          await this.write(
            dbm,
            { dryRun, lastError: message },
            'Failed',
            'LintFailed',
            message,
            'Warning',
          );
          return {};
        }
        await this.write(
          dbm,
          { dryRun },
          'DryRunning',
          'DryRunPassed',
          `dry-run passed${report.needsWindow ? '; a maintenance window is required' : ''}`,
        );
        return this.gate(dbm, report.needsWindow);
      }

      case 'AwaitingApproval':
      case 'AwaitingWindow':
        return this.gate(dbm, dbm.status?.dryRun?.needsWindow ?? false);

      case 'Applying': {
        const key = this.key(uid, gen, 'apply');
        const step = await this.deps.tasks.step<RunResult>(
          key,
          async () => {
            const { url, source } = await this.world(dbm);
            const pinned = await this.pinnedSource(dbm, source);
            const runId =
              dbm.status?.runId || `${uid.slice(0, 8)}-g${String(gen)}-${Date.now().toString(36)}`;
            if (!dbm.status?.runId)
              await this.write(dbm, { runId }, 'Applying', 'ApplyStarted', `run ${runId}`);
            // resume: a run interrupted by an operator restart continues from the engine's history.
            return () =>
              this.migrator(dbm, url, pinned).apply({
                resume: true,
                runId,
                ...(dbm.spec.target !== undefined && { target: dbm.spec.target }),
              });
          },
          settled,
        );
        if (step.state === 'pending' || step.state === 'skipped') return { requeueAfterMs: 10_000 };
        if (step.state === 'failed') throw step.error;
        const run = step.value;
        if (run.error?.code === 'LOCK_BUSY') return { requeueAfterMs: 5000 };
        const appliedNow = run.results.filter((r) => r.status === 'applied');
        const applied = [
          ...(dbm.status?.applied ?? []),
          ...appliedNow.map((r) => ({
            id: r.id,
            name: r.name,
            checksum: dbm.status?.pinned?.find((p) => p.id === r.id)?.checksum ?? '',
            ...(r.durationMs !== null && { durationMs: r.durationMs }),
            appliedAt: this.now().toISOString(),
          })),
        ].slice(-50);
        const pending = (dbm.status?.pending ?? []).filter(
          (p) => !appliedNow.some((a) => a.id === p.id),
        );
        const counts = {
          applied,
          pending,
          appliedCount: (dbm.status?.appliedCount ?? 0) + appliedNow.length,
          pendingCount: pending.length,
        };
        if (run.error) {
          const message = `[${run.error.code}] ${run.error.message}`;
          await this.write(
            dbm,
            { ...counts, lastError: message },
            'Failed',
            'ApplyFailed',
            message,
            'Warning',
          );
          return {};
        }
        await this.write(
          dbm,
          counts,
          'Verifying',
          'Applied',
          `applied ${String(appliedNow.length)} migration(s) in ${String(run.durationMs)} ms`,
        );
        return { requeueAfterMs: 0 };
      }

      case 'Verifying': {
        const key = this.key(uid, gen, 'verify');
        const step = await this.deps.tasks.step<PostVerifyReport>(
          key,
          async () => {
            const { url } = await this.world(dbm);
            const config = parseConfig(
              { postVerify: dbm.spec.postVerify ?? {} },
              'spec.postVerify',
            ).postVerify;
            const touched = (dbm.status?.dryRun?.migrations ?? []).flatMap((m) =>
              m.strongestLock ? [m.strongestLock.split(' ').pop() ?? ''] : [],
            );
            return () =>
              postVerify({
                databaseUrl: url,
                config,
                touchedTables: touched,
                historySchema: dbm.spec.historySchema,
                logger: this.deps.logger,
              });
          },
          settled,
        );
        if (step.state === 'pending' || step.state === 'skipped') return { requeueAfterMs: 10_000 };
        if (step.state === 'failed') throw step.error;
        const bad = step.value.checks
          .filter((c) => c.status === 'error')
          .flatMap((c) => c.findings);
        if (bad.length > 0) {
          const message = `post-verify failed: ${bad.join('; ')}`;
          await this.write(
            dbm,
            { lastError: message },
            'Failed',
            'VerifyFailed',
            message,
            'Warning',
          );
          return {};
        }
        await this.write(
          dbm,
          { completedAt: this.now().toISOString(), lastError: '' },
          'Succeeded',
          'Succeeded',
          'all migrations applied and verified',
        );
        return {};
      }

      case 'Succeeded':
      case 'Failed':
        return {};
    }
  }

  /** After the dry-run: approval, then the maintenance window, then Applying. */
  private async gate(dbm: DatabaseMigration, needsWindow = false): Promise<ReconcileResult> {
    const gen = String(dbm.metadata.generation ?? 0);
    const approved = dbm.metadata.annotations?.[APPROVED_GENERATION_ANNOTATION] === gen;
    if (dbm.spec.approval?.required === true && !approved) {
      if (dbm.status?.phase !== 'AwaitingApproval') {
        await this.write(
          dbm,
          {},
          'AwaitingApproval',
          'AwaitingApproval',
          `approve with: kubectl annotate dbm ${dbm.metadata.name ?? ''} ${APPROVED_GENERATION_ANNOTATION}=${gen}`,
        );
      }
      return {};
    }
    if (needsWindow && !approved) {
      const windows = dbm.spec.maintenanceWindow?.windows ?? [];
      const now = this.now();
      if (!activeWindow(windows, now)) {
        const opens = nextWindowStart(windows, now);
        if (dbm.status?.phase !== 'AwaitingWindow') {
          await this.write(
            dbm,
            {},
            'AwaitingWindow',
            'AwaitingWindow',
            opens
              ? `the dry-run says a migration blocks writes; waiting for the window at ${opens.toISOString()}`
              : `the dry-run says a migration blocks writes and no maintenance window is configured; add spec.maintenanceWindow or approve with ${APPROVED_GENERATION_ANNOTATION}=${gen}`,
          );
        }
        return {
          requeueAfterMs: opens
            ? Math.min(60_000, Math.max(1000, opens.getTime() - now.getTime()))
            : 60_000,
        };
      }
    }
    await this.write(dbm, {}, 'Applying', 'Applying', 'applying the pinned migrations');
    return { requeueAfterMs: 0 };
  }

  /**
   * Writes status through the status subresource, conditional on the resource version read
   * (a 409 makes the caller re-read), and records a phase change as an Event.
   */
  private async write(
    dbm: DatabaseMigration,
    patch: Partial<DatabaseMigrationStatus>,
    phase: MigrationPhase,
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning' = phase === 'Failed' ? 'Warning' : 'Normal',
  ): Promise<void> {
    const now = this.now();
    const generation = dbm.metadata.generation ?? 0;
    const previous = dbm.status ?? {};
    const changed = previous.phase !== phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const conditions = setConditions(
      previous.conditions,
      {
        Ready: phase === 'Succeeded',
        Progressing: !terminal,
        Degraded: phase === 'Failed' || eventType === 'Warning',
      },
      { reason, message, observedGeneration: generation },
      now,
    );
    const history = changed
      ? [
          ...(previous.history ?? []),
          { at: now.toISOString(), phase, message: message.slice(0, 500) },
        ].slice(-HISTORY_LIMIT)
      : previous.history;
    const status: DatabaseMigrationStatus = {
      ...patch,
      phase,
      observedGeneration: patch.observedGeneration ?? previous.observedGeneration ?? generation,
      conditions,
      ...(history !== undefined && { history }),
    };
    await this.deps.api.writeStatus('databasemigrations', dbm, status);
    dbm.status = { ...previous, ...status };
    if (changed || eventType === 'Warning') {
      this.deps.logger.info(
        { resource: `${dbm.metadata.namespace ?? ''}/${dbm.metadata.name ?? ''}`, phase, reason },
        message,
      );
      await this.deps.api
        .event(
          {
            kind: 'DatabaseMigration',
            namespace: dbm.metadata.namespace ?? 'default',
            name: dbm.metadata.name ?? '',
            uid: dbm.metadata.uid,
          },
          eventType,
          reason,
          message,
        )
        .catch((err: unknown) => {
          this.deps.logger.warn({ err }, 'could not record an Event');
        });
    }
  }
}
