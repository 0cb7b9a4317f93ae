import type { Logger } from 'pino';
import {
  BackupSnapshotSchema,
  type BackupSnapshot,
  type PgBackRestSpec,
} from '../api/v1alpha1/backup-snapshot.js';
import { scratchChoice } from '../safety/pipeline/choices.js';
import {
  createSnapshot,
  dumpProblem,
  expiredSnapshots,
  newSnapshotId,
  readManifest,
  SnapshotError,
  verifySnapshot,
} from '../safety/snapshot/snapshot.js';
import {
  formatBytes,
  snapshotBytes,
  type SnapshotManifest,
  type Verification,
} from '../safety/snapshot/manifest.js';
import { databaseIdentity } from '../db/database-url.js';
import {
  createPhysicalSnapshot,
  physicalManifest,
  verifyPhysicalSnapshot,
} from '../safety/snapshot/physical-snapshot.js';
import { PgBackRestError } from '../safety/snapshot/pgbackrest.js';
import {
  BackupSetReader,
  pgbackrestSettings,
  restoreDirectory,
  withPgBackRestTarget,
  type PgBackRestSettings,
} from './pgbackrest-target.js';
import { databaseName, withDatabase } from '../safety/snapshot/pg-tools.js';
import type { OpenedStorage } from '../safety/snapshot/storage-location.js';
import type { SnapshotStorage } from '../safety/snapshot/storage.js';
import {
  asSnapshotDumped,
  asSnapshotFailed,
  asSnapshotFilesMissing,
  asSnapshotFilesPresent,
  asSnapshotInvalid,
  asSnapshotStarted,
  asSnapshotVerified,
  asSnapshotVerifyFailed,
  nextSnapshotStatus,
  type SnapshotTransition,
} from '../api/v1alpha1/snapshot-transitions.js';
import type { ResourceApi } from './kube.js';
import { databaseUrlFor, ResourceProblem } from './migration-source.js';
import {
  done,
  requeueAfter,
  requeueNow,
  type Reconciler,
  type Request,
  type Result,
} from './reconcile.js';
import { recordEvent } from './events.js';
import {
  openSnapshotStorage,
  snapshotLocationText,
  withSnapshotStorage,
} from './snapshot-storage.js';
import { STEP_PRIORITY, type TaskRunner } from './tasks.js';

export const SNAPSHOT_FINALIZER = 'dbops.docserver.io/snapshot-cleanup';

/** Who owns the snapshots a namespace's BackupSnapshots make: retention never crosses it. */
export function storageOwner(namespace: string): string {
  return `kubernetes:${namespace}`;
}

/** How often a Completed snapshot's files are checked for presence. */
const FILE_CHECK_MS = 60_000;

/**
 * BackupSnapshot: Pending → Running (pg_dump + manifest) → Verifying (restore into a scratch
 * database) → Completed | Failed. A finalizer stops any running dump or verify and then
 * removes the snapshot's files when the resource is deleted; retention prunes older snapshots
 * of the same database made in the same namespace, through their resources where they exist.
 */
export class SnapshotReconciler implements Reconciler {
  constructor(
    private readonly deps: {
      readonly api: ResourceApi;
      readonly tasks: TaskRunner;
      readonly logger: Logger;
      readonly requeue: (namespace: string, name: string) => void;
    },
  ) {}

  /** One `pgbackrest info` a minute per repository, whatever the number of Completed snapshots. */
  private readonly backupSets = new BackupSetReader(FILE_CHECK_MS);

  /** UIDs of resources this process runs tasks for, so a vanished one's tasks can be stopped. */
  private readonly uids = new Map<string, string>();

  async reconcile({ namespace, name }: Request): Promise<Result> {
    const raw = await this.deps.api.get('backupsnapshots', namespace, name);
    const known = this.uids.get(`${namespace}/${name}`);
    const rawUid = (raw as { metadata?: { uid?: string } } | null)?.metadata?.uid;
    if (known !== undefined && (raw === null || rawUid !== known)) {
      // Gone without our finalizer running (it was removed by hand): stop writing its files.
      this.uids.delete(`${namespace}/${name}`);
      await this.deps.tasks.cancel(`${known}/`, `BackupSnapshot ${namespace}/${name} is gone`);
    }
    if (raw === null) return done;
    const parsed = BackupSnapshotSchema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
      await this.record(raw as BackupSnapshot, asSnapshotInvalid(message));
      return done;
    }
    const snap = parsed.data;
    const finalizers = snap.metadata.finalizers ?? [];
    const uid = snap.metadata.uid ?? `${namespace}/${name}`;
    if (snap.metadata.deletionTimestamp) {
      if (!finalizers.includes(SNAPSHOT_FINALIZER)) return done;
      // A dump or verify still running would write files after they are removed: stop it first.
      await this.deps.tasks.cancel(
        `${uid}/`,
        `BackupSnapshot ${namespace}/${name} is being deleted`,
      );
      // A store out of reach keeps the finalizer (the queue retries): files are never left
      // behind without the resource that describes them. One that never finished a dump
      // (no location recorded; an interrupted dump removes its own partial files) has nothing
      // to remove, and is not held by a store it could never open.
      const id = snap.status?.snapshotId;
      if (id) {
        try {
          await this.withStorage(snap, (storage) => storage.removeId(id));
        } catch (err) {
          if (!(err instanceof ResourceProblem) || snap.status?.location !== undefined) throw err;
          await recordEvent(this.deps, 'BackupSnapshot', snap.metadata, {
            type: 'Warning',
            reason: 'StorageNotCleaned',
            message: `released without reaching its storage (${err.message}); it never finished a dump`,
          });
        }
      }
      await this.deps.api.patchMetadata('backupsnapshots', namespace, name, {
        finalizers: finalizers.filter((f) => f !== SNAPSHOT_FINALIZER),
        resourceVersion: snap.metadata.resourceVersion,
      });
      return done;
    }
    if (!finalizers.includes(SNAPSHOT_FINALIZER)) {
      await this.deps.api.patchMetadata('backupsnapshots', namespace, name, {
        finalizers: [...finalizers, SNAPSHOT_FINALIZER],
        resourceVersion: snap.metadata.resourceVersion,
      });
      return requeueNow();
    }
    this.uids.set(`${namespace}/${name}`, uid);
    const phase = snap.status?.phase ?? 'Pending';
    try {
      switch (phase) {
        case 'Pending':
          return await this.start(snap);
        case 'Running':
          return await this.dump(snap, uid);
        case 'Verifying':
          return await this.verify(snap, uid);
        case 'Completed':
          return await this.withStorage(snap, (storage) => this.checkFiles(snap, storage)).catch(
            (err: unknown) => this.storageOutOfReach(snap, err),
          );
        case 'Failed':
          return done;
      }
    } catch (err) {
      if (err instanceof ResourceProblem) {
        await this.record(snap, asSnapshotFailed(err.reason, err.message));
        return done;
      }
      throw err;
    }
  }

  /** Refuses up front what could not finish; otherwise names the snapshot before dumping it. */
  private async start(snap: BackupSnapshot): Promise<Result> {
    // A pgBackRest snapshot is verified in a private server under its restorePath.
    if (snap.spec.verify && snap.spec.method === 'pg_dump') this.scratchServer(snap);
    const url = await this.databaseUrl(snap);
    // The ID is recorded before the dump starts, so a delete mid-dump knows what to remove.
    const id = newSnapshotId(databaseName(url), new Date());
    await this.record(snap, asSnapshotStarted(id, new Date().toISOString(), snap.spec.method));
    return requeueNow();
  }

  private async dump(snap: BackupSnapshot, uid: string): Promise<Result> {
    const namespace = snap.metadata.namespace ?? 'default';
    const step = await this.deps.tasks.step<SnapshotManifest>(
      `${uid}/snapshot`,
      async () => {
        const url = await this.databaseUrl(snap);
        const id = snap.status?.snapshotId;
        const common = {
          databaseUrl: url,
          checksums: snap.spec.checksums,
          logger: this.deps.logger,
          owner: storageOwner(namespace),
          ...(id !== undefined && { id }),
        };
        const physical = snap.spec.pgbackrest;
        if (snap.spec.method === 'pgbackrest' && physical !== undefined) {
          const settings = await this.pgbackrestSettings(snap, physical);
          const storage = await this.openStorage(snap);
          // One backup of a stanza at a time: pgBackRest locks the stanza, not the database.
          return {
            lane: `pgbackrest-backup:${physical.stanza}`,
            priority: STEP_PRIORITY.snapshot,
            work: (signal) =>
              withPgBackRestTarget(settings, (target) =>
                createPhysicalSnapshot({
                  ...common,
                  storage,
                  pgbackrest: target,
                  type: physical.backupType,
                  signal,
                }),
              ).finally(() => {
                storage.close();
              }),
          };
        }
        // Opened (and an S3 bucket checked) before the dump starts; closed when it ends.
        const storage = await this.openStorage(snap);
        // In the database's lane: one long step at a time per database.
        return {
          lane: databaseIdentity(url),
          priority: STEP_PRIORITY.snapshot,
          work: (signal) =>
            createSnapshot({ ...common, storage, signal }).finally(() => {
              storage.close();
            }),
        };
      },
      this.settled(snap),
    );
    if (step.state === 'pending' || step.state === 'skipped') return requeueAfter(10_000);
    if (step.state === 'failed') throw new ResourceProblem('SnapshotFailed', step.error.message);
    const m = step.value;
    await this.record(
      snap,
      asSnapshotDumped(
        {
          snapshotId: m.id,
          location: snapshotLocationText(snap.spec.storage, m.id),
          sizeBytes: snapshotBytes(m),
          size: formatBytes(snapshotBytes(m)),
          tables: m.fingerprint.tables.length,
          rows: m.fingerprint.tables.reduce((n, t) => n + t.rowCount, 0),
          schemaHash: m.fingerprint.schemaHash,
          serverVersion: m.fingerprint.serverVersion,
          method: m.method,
          durationMs: m.durationMs,
          ...(m.method === 'pgbackrest' && {
            backup: {
              label: m.pgbackrest.label,
              type: m.pgbackrest.type,
              copiedBytes: m.pgbackrest.deltaBytes,
              repositoryBytes: m.pgbackrest.repositoryDeltaBytes,
            },
          }),
        },
        snap.spec.verify,
        new Date().toISOString(),
      ),
    );
    return requeueNow();
  }

  private async verify(snap: BackupSnapshot, uid: string): Promise<Result> {
    const id = snap.status?.snapshotId ?? '';
    const step = await this.deps.tasks.step<Verification>(
      `${uid}/snapshot-verify`,
      async () => {
        const physical = snap.spec.pgbackrest;
        if (snap.spec.method === 'pgbackrest' && physical !== undefined)
          return this.physicalVerification(snap, physical, id);
        const url = await this.databaseUrl(snap);
        const server = await this.scratchServerUrl(snap, url);
        const storage = await this.openStorage(snap);
        try {
          await readManifest(storage, id);
        } catch (err) {
          storage.close();
          throw err;
        }
        return {
          priority: STEP_PRIORITY.snapshotVerify,
          work: (signal) =>
            verifySnapshot({
              storage,
              id,
              scratchServerUrl: server,
              scratchPrefix: `dbm_verify_${uid.replace(/[^a-f0-9]/g, '').slice(0, 16)}_`,
              logger: this.deps.logger,
              signal,
            }).finally(() => {
              storage.close();
            }),
        };
      },
      this.settled(snap),
    );
    if (step.state === 'pending' || step.state === 'skipped') return requeueAfter(10_000);
    if (step.state === 'failed') throw new ResourceProblem('VerifyFailed', step.error.message);
    const v = step.value;
    const at = new Date().toISOString();
    await this.record(snap, v.ok ? asSnapshotVerified(v, at) : asSnapshotVerifyFailed(v, at));
    if (v.ok && snap.spec.retention)
      await this.withStorage(snap, (storage) => this.retain(snap, storage)).catch((err: unknown) =>
        this.storageOutOfReach(snap, err),
      );
    return requeueAfter(FILE_CHECK_MS);
  }

  /**
   * Retention within this database and namespace only. An expired snapshot that a
   * BackupSnapshot describes is removed by deleting that resource (its finalizer removes the
   * files), so no resource is left claiming files that are gone.
   */
  private async retain(snap: BackupSnapshot, storage: SnapshotStorage): Promise<void> {
    const namespace = snap.metadata.namespace ?? 'default';
    const scope = { databaseUrl: await this.databaseUrl(snap), owner: storageOwner(namespace) };
    const policy = snap.spec.retention ?? {};
    const expired = await expiredSnapshots(storage, policy, scope);
    if (expired.length === 0) return;
    const list = (await this.deps.api.list('backupsnapshots', namespace)).items as BackupSnapshot[];
    const byId = new Map(
      list.flatMap((s) => (s.status?.snapshotId ? [[s.status.snapshotId, s] as const] : [])),
    );
    for (const id of expired) {
      const owner = byId.get(id);
      // Through its resource when it has one (the finalizer removes the files); else directly.
      if (owner?.metadata.name) {
        await this.deps.api.delete('backupsnapshots', namespace, owner.metadata.name);
      } else {
        await storage.removeId(id).catch((err: unknown) => {
          this.deps.logger.warn({ err, snapshot_id: id }, 'could not remove an expired snapshot');
        });
      }
    }
    this.deps.logger.info(
      { resource: `${namespace}/${snap.metadata.name ?? ''}`, removed: expired },
      'snapshot retention applied',
    );
  }

  /** A Completed snapshot whose files vanished says so instead of claiming a usable backup. */
  private async checkFiles(snap: BackupSnapshot, storage: SnapshotStorage): Promise<Result> {
    const id = snap.status?.snapshotId;
    if (id === undefined) return done;
    let problem: string | null;
    try {
      const manifest = await readManifest(storage, id);
      const physical = snap.spec.pgbackrest;
      problem =
        manifest.method === 'pgbackrest' && physical !== undefined
          ? await this.backupSetProblem(snap, physical, manifest)
          : await dumpProblem(storage, manifest);
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      problem = err.message;
    }
    const present = problem === null;
    if (present !== (snap.status?.filesPresent ?? true)) {
      await this.record(
        snap,
        present ? asSnapshotFilesPresent() : asSnapshotFilesMissing(problem ?? ''),
      );
    }
    return requeueAfter(FILE_CHECK_MS);
  }

  /**
   * A completed snapshot is not failed by its store being out of reach for a while: the check
   * (or retention) runs again later; anything else is thrown on.
   */
  private storageOutOfReach(snap: BackupSnapshot, err: unknown): Result {
    if (!(err instanceof ResourceProblem)) throw err;
    this.deps.logger.warn(
      { resource: `${snap.metadata.namespace ?? 'default'}/${snap.metadata.name ?? ''}`, err },
      `snapshot storage out of reach (${err.reason}); checking again later`,
    );
    return requeueAfter(FILE_CHECK_MS);
  }

  /**
   * The verification of a pgBackRest snapshot: pgbackrest verify, then a restore into a private
   * server under restorePath. One folder per namespace and stanza, so the next snapshot's
   * verification is a delta over this one; in that folder's lane, so two verifications never share it.
   */
  private async physicalVerification(
    snap: BackupSnapshot,
    physical: PgBackRestSpec,
    id: string,
  ): Promise<{
    lane: string;
    priority: number;
    work: (signal: AbortSignal) => Promise<Verification>;
  }> {
    const settings = await this.pgbackrestSettings(snap, physical);
    const storage = await this.openStorage(snap);
    try {
      physicalManifest(await readManifest(storage, id));
    } catch (err) {
      storage.close();
      throw err;
    }
    const directory = restoreDirectory(physical, snap.metadata.namespace ?? 'default', {
      verify: true,
    });
    return {
      lane: `restore:${directory}`,
      priority: STEP_PRIORITY.snapshotVerify,
      work: (signal) =>
        withPgBackRestTarget(settings, (target) =>
          verifyPhysicalSnapshot({
            storage,
            id,
            pgbackrest: target,
            directory,
            logger: this.deps.logger,
            signal,
          }),
        ).finally(() => {
          storage.close();
        }),
    };
  }

  /** A Completed pgBackRest snapshot's set is still in the repository, or why not. */
  private async backupSetProblem(
    snap: BackupSnapshot,
    physical: PgBackRestSpec,
    manifest: SnapshotManifest,
  ): Promise<string | null> {
    const settings = await this.pgbackrestSettings(snap, physical);
    try {
      return await this.backupSets.problem(
        snap.metadata.namespace ?? 'default',
        settings,
        manifest,
      );
    } catch (err) {
      // A repository out of reach says nothing about the set: checked again later.
      if (err instanceof PgBackRestError)
        throw new ResourceProblem('StorageUnavailable', `spec.pgbackrest: ${err.message}`);
      throw err;
    }
  }

  private pgbackrestSettings(
    snap: BackupSnapshot,
    physical: PgBackRestSpec,
  ): Promise<PgBackRestSettings> {
    return pgbackrestSettings(
      this.deps.api,
      snap.metadata.namespace ?? 'default',
      physical,
      'spec.pgbackrest',
    );
  }

  private openStorage(snap: BackupSnapshot): Promise<OpenedStorage> {
    return openSnapshotStorage(
      this.deps.api,
      snap.metadata.namespace ?? 'default',
      snap.spec.storage,
      'spec.storage',
    );
  }

  private withStorage<T>(
    snap: BackupSnapshot,
    work: (storage: SnapshotStorage) => Promise<T>,
  ): Promise<T> {
    return withSnapshotStorage(
      this.deps.api,
      snap.metadata.namespace ?? 'default',
      snap.spec.storage,
      'spec.storage',
      work,
    );
  }

  private settled(snap: BackupSnapshot): () => void {
    return () => {
      this.deps.requeue(snap.metadata.namespace ?? 'default', snap.metadata.name ?? '');
    };
  }

  /** Where the verification restore may run; refuses (ResourceProblem) when nowhere is allowed. */
  private scratchServer(snap: BackupSnapshot): 'scratch-server' | 'production-server' {
    const scratch = snap.spec.scratch;
    const choice = scratchChoice(
      {
        scratchServer: scratch?.secretRef !== undefined,
        allowProductionServer: scratch?.allowProductionServer === true,
      },
      {
        scratchServer: 'spec.scratch.secretRef (a server for temporary copies)',
        allowProductionServer:
          'spec.scratch.allowProductionServer: true (the copy on the production server: doubles its load and disk use), or spec.verify: false (an unverified snapshot does not count for a migration)',
      },
      'verifying the snapshot',
    );
    if (choice.kind === 'refuse') throw new ResourceProblem('ScratchUnavailable', choice.message);
    return choice.kind;
  }

  private async scratchServerUrl(snap: BackupSnapshot, productionUrl: string): Promise<string> {
    const ref = snap.spec.scratch?.secretRef;
    if (this.scratchServer(snap) === 'scratch-server' && ref !== undefined) {
      return databaseUrlFor(
        this.deps.api,
        snap.metadata.namespace ?? 'default',
        ref,
        'spec.scratch.secretRef',
      );
    }
    return withDatabase(productionUrl, 'postgres');
  }

  private databaseUrl(snap: BackupSnapshot): Promise<string> {
    return databaseUrlFor(
      this.deps.api,
      snap.metadata.namespace ?? 'default',
      snap.spec.database.secretRef,
      'spec.database.secretRef',
    );
  }

  /** Records a transition: status (conditional on the version read) and its Event. */
  private async record(snap: BackupSnapshot, t: SnapshotTransition): Promise<void> {
    const status = nextSnapshotStatus(
      snap.status ?? {},
      t,
      snap.metadata.generation ?? 0,
      new Date(),
    );
    await this.deps.api.writeStatus('backupsnapshots', snap, status);
    snap.status = { ...snap.status, ...status };
    if (!t.event) return;
    await recordEvent(this.deps, 'BackupSnapshot', snap.metadata, {
      type: t.eventType,
      reason: t.reason,
      message: t.message,
    });
  }
}
