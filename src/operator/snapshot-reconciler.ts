import type { Logger } from 'pino';
import {
  BackupSnapshotSchema,
  type BackupSnapshot,
  type BackupSnapshotStatus,
} from '../api/v1alpha1/backup-snapshot.js';
import { createSnapshot, readManifest, verifySnapshot } from '../safety/snapshot/snapshot.js';
import {
  formatBytes,
  type SnapshotManifest,
  type Verification,
} from '../safety/snapshot/manifest.js';
import { applyRetention } from '../safety/snapshot/snapshot.js';
import { withDatabase } from '../safety/snapshot/pg-tools.js';
import { LocalDirectoryStorage } from '../safety/snapshot/storage.js';
import { setConditions } from './conditions.js';
import type { KubeApi } from './kube.js';
import { databaseUrlFor, ResourceProblem } from './migration-source.js';
import type { ReconcileResult } from './migration-reconciler.js';
import type { TaskRunner } from './tasks.js';

export const SNAPSHOT_FINALIZER = 'dbops.docserver.io/snapshot-cleanup';

/**
 * BackupSnapshot: Pending → Running (pg_dump + manifest) → Verifying (restore into a scratch
 * database) → Completed | Failed. A finalizer removes the snapshot's files when the resource
 * is deleted; retention is applied to the storage after each completed snapshot.
 */
export class SnapshotReconciler {
  constructor(
    private readonly deps: {
      readonly api: KubeApi;
      readonly tasks: TaskRunner;
      readonly logger: Logger;
      readonly requeue: (namespace: string, name: string) => void;
    },
  ) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const raw = await this.deps.api.get('backupsnapshots', namespace, name);
    if (raw === null) return {};
    const parsed = BackupSnapshotSchema.safeParse(raw);
    if (!parsed.success) {
      await this.write(
        raw as BackupSnapshot,
        { phase: 'Failed', lastError: parsed.error.message },
        'InvalidSpec',
      );
      return {};
    }
    const snap = parsed.data;
    const storage = new LocalDirectoryStorage(snap.spec.storage.path);
    const finalizers = snap.metadata.finalizers ?? [];
    if (snap.metadata.deletionTimestamp) {
      if (!finalizers.includes(SNAPSHOT_FINALIZER)) return {};
      if (snap.status?.snapshotId) await storage.removeId(snap.status.snapshotId);
      await this.deps.api.patchMetadata('backupsnapshots', namespace, name, {
        finalizers: finalizers.filter((f) => f !== SNAPSHOT_FINALIZER),
        resourceVersion: snap.metadata.resourceVersion,
      });
      return {};
    }
    if (!finalizers.includes(SNAPSHOT_FINALIZER)) {
      await this.deps.api.patchMetadata('backupsnapshots', namespace, name, {
        finalizers: [...finalizers, SNAPSHOT_FINALIZER],
        resourceVersion: snap.metadata.resourceVersion,
      });
      return { requeueAfterMs: 0 };
    }
    const uid = snap.metadata.uid ?? `${namespace}/${name}`;
    const settled = (): void => {
      this.deps.requeue(namespace, name);
    };
    const phase = snap.status?.phase ?? 'Pending';
    try {
      switch (phase) {
        case 'Pending': {
          await this.write(
            snap,
            { phase: 'Running', startedAt: new Date().toISOString() },
            'Started',
          );
          return { requeueAfterMs: 0 };
        }
        case 'Running': {
          const key = `${uid}/dump`;
          const step = await this.deps.tasks.step<SnapshotManifest>(
            key,
            async () => {
              const url = await this.databaseUrl(snap);
              return () =>
                createSnapshot({
                  databaseUrl: url,
                  storage,
                  checksums: snap.spec.checksums,
                  logger: this.deps.logger,
                });
            },
            settled,
          );
          if (step.state === 'pending' || step.state === 'skipped')
            return { requeueAfterMs: 10_000 };
          if (step.state === 'failed')
            throw new ResourceProblem('SnapshotFailed', step.error.message);
          const m = step.value;
          await this.write(
            snap,
            {
              phase: snap.spec.verify ? 'Verifying' : 'Completed',
              snapshotId: m.id,
              location: `${snap.spec.storage.path}/${m.id}`,
              sizeBytes: m.dumpSizeBytes,
              size: formatBytes(m.dumpSizeBytes),
              tables: m.fingerprint.tables.length,
              rows: m.fingerprint.tables.reduce((n, t) => n + t.rowCount, 0),
              schemaHash: m.fingerprint.schemaHash,
              serverVersion: m.fingerprint.serverVersion,
              ...(snap.spec.verify
                ? {}
                : { completedAt: new Date().toISOString(), verified: false }),
            },
            'Dumped',
          );
          return { requeueAfterMs: 0 };
        }
        case 'Verifying': {
          const key = `${uid}/verify`;
          const id = snap.status?.snapshotId ?? '';
          const step = await this.deps.tasks.step<Verification>(
            key,
            async () => {
              await readManifest(storage, id);
              const url = await this.databaseUrl(snap);
              return () =>
                verifySnapshot({
                  storage,
                  id,
                  scratchServerUrl: withDatabase(url, 'postgres'),
                  logger: this.deps.logger,
                });
            },
            settled,
          );
          if (step.state === 'pending' || step.state === 'skipped')
            return { requeueAfterMs: 10_000 };
          if (step.state === 'failed')
            throw new ResourceProblem('VerifyFailed', step.error.message);
          const v = step.value;
          await this.write(
            snap,
            {
              phase: v.ok ? 'Completed' : 'Failed',
              verified: v.ok,
              verifiedAt: v.at,
              mismatches: v.mismatches,
              completedAt: new Date().toISOString(),
              ...(v.ok ? {} : { lastError: `verification failed: ${v.mismatches.join('; ')}` }),
            },
            v.ok ? 'Verified' : 'VerifyFailed',
          );
          if (v.ok && snap.spec.retention) {
            const removed = await applyRetention(storage, snap.spec.retention);
            if (removed.length > 0)
              this.deps.logger.info({ removed }, 'snapshot retention applied');
          }
          return {};
        }
        case 'Completed':
        case 'Failed':
          return {};
      }
    } catch (err) {
      if (err instanceof ResourceProblem) {
        await this.write(snap, { phase: 'Failed', lastError: err.message }, err.reason);
        return {};
      }
      throw err;
    }
  }

  private databaseUrl(snap: BackupSnapshot): Promise<string> {
    return databaseUrlFor(
      this.deps.api,
      snap.metadata.namespace ?? 'default',
      snap.spec.database.secretRef,
      'spec.database.secretRef',
    );
  }

  private async write(
    snap: BackupSnapshot,
    patch: Partial<BackupSnapshotStatus>,
    reason: string,
  ): Promise<void> {
    const generation = snap.metadata.generation ?? 0;
    const now = new Date();
    const phase = patch.phase ?? snap.status?.phase ?? 'Pending';
    const message = patch.lastError ?? `snapshot ${phase.toLowerCase()}`;
    const conditions = setConditions(
      snap.status?.conditions,
      { Ready: phase === 'Completed', Degraded: phase === 'Failed' },
      { reason, message, observedGeneration: generation },
      now,
    );
    const status = { ...patch, observedGeneration: generation, conditions };
    await this.deps.api.writeStatus('backupsnapshots', snap, status);
    snap.status = { ...snap.status, ...status };
    if (patch.phase !== undefined) {
      await this.deps.api
        .event(
          {
            kind: 'BackupSnapshot',
            namespace: snap.metadata.namespace ?? 'default',
            name: snap.metadata.name ?? '',
            uid: snap.metadata.uid,
          },
          phase === 'Failed' ? 'Warning' : 'Normal',
          reason,
          message,
        )
        .catch(() => undefined);
    }
  }
}
