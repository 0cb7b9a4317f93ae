// The `pgbackrest` snapshot method: for databases too large to dump, a physical backup of the
// whole cluster taken by pgBackRest, verified by pgBackRest's checksums and by a restore that
// starts, and restored into a private server of its own for the staging dry-run (a delta
// restore over the previous copy copies only what changed). The snapshot storage keeps the
// manifest only; the backup lives in the stanza's repository (a volume or S3).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describeDatabaseUrl } from '../../observability/redact.js';
import { silentLogger } from '../../observability/logger.js';
import { startRestoredServer, type LocalServer } from '../scratch/local-server.js';
import { fingerprintOfDatabase } from './fingerprint.js';
import {
  compareFingerprints,
  isVerified,
  type DatabaseFingerprint,
  type PhysicalManifest,
  type SnapshotManifest,
  type Verification,
} from './manifest.js';
import { databaseName, withDatabase } from './pg-tools.js';
import {
  listBackups,
  restoreBackup,
  takeBackup,
  verifyBackup,
  type PgBackRestTarget,
} from './pgbackrest.js';
import type { BackupSet, BackupType } from './pgbackrest-output.js';
import {
  listSnapshots,
  newSnapshotId,
  readManifest,
  SnapshotError,
  writeManifest,
} from './snapshot.js';
import type { SnapshotStorage } from './storage.js';

export interface CreatePhysicalSnapshotOptions {
  readonly databaseUrl: string;
  readonly storage: SnapshotStorage;
  readonly pgbackrest: PgBackRestTarget;
  /** `incr` (the default) and `diff` build on the last full set; pgBackRest takes the first full. */
  readonly type?: BackupType;
  /** Row checksums read every row of the database: `counts` (the default here) does not. */
  readonly checksums?: 'full' | 'counts';
  readonly id?: string;
  readonly owner?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** The manifest of a pgBackRest backup, or SNAPSHOT_REFUSED for a dump. */
export function physicalManifest(manifest: SnapshotManifest): PhysicalManifest {
  if (manifest.method === 'pgbackrest') return manifest;
  throw new SnapshotError(
    'SNAPSHOT_REFUSED',
    `snapshot ${manifest.id} is a pg_dump snapshot, not a pgBackRest backup; it restores into a database with pg_restore`,
  );
}

/**
 * Takes a pgBackRest backup of the cluster that holds the database, and records it as a
 * snapshot of that database. The fingerprint is read once the backup has finished: writes
 * that land in between are in the fingerprint but not in the set, so verification compares
 * the schema, and the restored copy's fingerprint replaces this one.
 */
export async function createPhysicalSnapshot(
  options: CreatePhysicalSnapshotOptions,
): Promise<PhysicalManifest> {
  const log = options.logger ?? silentLogger();
  const started = performance.now();
  const now = new Date();
  const database = databaseName(options.databaseUrl);
  const id = options.id ?? newSnapshotId(database, now);
  const checksums = options.checksums ?? 'counts';
  log.info(
    { snapshot_id: id, stanza: options.pgbackrest.stanza, type: options.type ?? 'incr' },
    'pgbackrest backup start',
  );
  const set = await takeBackup(options.pgbackrest, options.type ?? 'incr', options.signal);
  const fingerprint = await fingerprintOfDatabase(options.databaseUrl, {
    checksums,
    purpose: 'snapshot-fingerprint',
  });
  options.signal?.throwIfAborted();
  const manifest: PhysicalManifest = {
    formatVersion: 1,
    method: 'pgbackrest',
    id,
    createdAt: now.toISOString(),
    source: describeDatabaseUrl(options.databaseUrl),
    owner: options.owner ?? 'cli',
    database,
    durationMs: Math.round(performance.now() - started),
    checksums,
    fingerprint,
    verification: null,
    pgbackrest: {
      stanza: options.pgbackrest.stanza,
      label: set.label,
      type: set.type,
      prior: set.prior,
      sizeBytes: set.sizeBytes,
      deltaBytes: set.deltaBytes,
      repositorySizeBytes: set.repositorySizeBytes,
      repositoryDeltaBytes: set.repositoryDeltaBytes,
      lsnStart: set.lsnStart,
      lsnStop: set.lsnStop,
      pgbackrestVersion: set.pgbackrestVersion,
    },
  };
  await writeManifest(options.storage, manifest);
  log.info(
    {
      snapshot_id: id,
      label: set.label,
      type: set.type,
      size_bytes: set.sizeBytes,
      copied_bytes: set.deltaBytes,
      repository_bytes: set.repositoryDeltaBytes,
      duration_ms: manifest.durationMs,
    },
    'pgbackrest backup written',
  );
  return manifest;
}

/** The newest verified pgBackRest snapshot of `stanza`: what a physical staging copy can use. */
export async function latestVerifiedPhysicalSnapshot(
  storage: SnapshotStorage,
  stanza: string,
  /** Only snapshots recorded for this database: a stanza's backups hold every database. */
  database?: string,
): Promise<PhysicalManifest | null> {
  const physical = (await listSnapshots(storage)).manifests.filter(
    (m): m is PhysicalManifest =>
      m.method === 'pgbackrest' &&
      m.pgbackrest.stanza === stanza &&
      (database === undefined || m.database === database),
  );
  return physical.find(isVerified) ?? null;
}

/**
 * Why the snapshot's backup set cannot be restored (it is gone from the stanza's repository,
 * expired or removed), or null while it is there.
 */
export async function backupSetProblem(
  target: PgBackRestTarget,
  manifest: PhysicalManifest,
  /** The stanza's sets when the caller has read them already (one `info` for many manifests). */
  known?: readonly BackupSet[],
): Promise<string | null> {
  const sets = known ?? (await listBackups(target));
  return sets.some((s) => s.label === manifest.pgbackrest.label)
    ? null
    : `snapshot ${manifest.id}: backup set ${manifest.pgbackrest.label} is no longer in stanza ${target.stanza}'s repository (expired or removed); it cannot be restored`;
}

/** The set must still be in the repository: expired or removed, nothing restores it. */
async function checkSetExists(target: PgBackRestTarget, manifest: PhysicalManifest): Promise<void> {
  const problem = await backupSetProblem(target, manifest);
  if (problem !== null) throw new SnapshotError('SNAPSHOT_NOT_FOUND', problem);
}

/** Schema, extensions and the set of tables; rows are what the set holds, not the fingerprint. */
function structureMismatches(
  expected: DatabaseFingerprint,
  restored: DatabaseFingerprint,
): string[] {
  const shape = (f: DatabaseFingerprint): DatabaseFingerprint => ({
    ...f,
    tables: f.tables.map((t) => ({ ...t, rowCount: 0, checksum: null })),
  });
  return compareFingerprints(shape(expected), shape(restored));
}

export interface RestorePhysicalOptions {
  readonly storage: SnapshotStorage;
  readonly id: string;
  readonly pgbackrest: PgBackRestTarget;
  /**
   * Where the copy goes: a directory of its own (an earlier copy there is updated by a delta
   * restore). A temporary directory, removed at stop, when absent.
   */
  readonly directory?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

export interface RestoredCopy {
  /** The migrated database on the private server. */
  readonly databaseUrl: string;
  readonly server: LocalServer;
  /** The directory the copy is in. */
  readonly directory: string;
  /** Whether only what differed from an earlier copy was copied. */
  readonly delta: boolean;
  readonly restoreMs: number;
  readonly recoveryMs: number;
  /** Stops the server; a temporary directory is removed, a given one kept for the next delta. */
  stop(): Promise<void>;
}

/** Restores the snapshot's set into a private server and starts it (recovered, promoted). */
async function restoreCopy(
  manifest: PhysicalManifest,
  options: RestorePhysicalOptions,
): Promise<RestoredCopy> {
  const temporary = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'dbm-restore-')));
  const cleanup = async (): Promise<void> => {
    if (temporary) await rm(directory, { recursive: true, force: true });
  };
  try {
    const t0 = performance.now();
    const { delta } = await restoreBackup(options.pgbackrest, {
      label: manifest.pgbackrest.label,
      directory,
      database: manifest.database,
      ...(options.signal !== undefined && { signal: options.signal }),
    });
    const t1 = performance.now();
    const server = await startRestoredServer({
      major: Math.floor(manifest.fingerprint.serverVersionNum / 10000),
      directory,
      keep: !temporary,
      ...(options.logger !== undefined && { logger: options.logger }),
    });
    const recoveryMs = Math.round(performance.now() - t1);
    return {
      databaseUrl: withDatabase(server.url, manifest.database),
      server,
      directory,
      delta,
      restoreMs: Math.round(t1 - t0),
      recoveryMs,
      stop: async () => {
        await server.stop();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Verifies a pgBackRest snapshot: pgBackRest reads back every file of the set and the WAL
 * archive against their checksums, then the set is restored into a private server that must
 * recover, promote and hold the database with the schema, extensions and tables the
 * manifest names. The restored copy's fingerprint (its rows at the end of the backup) then
 * becomes the manifest's. Only a verified snapshot counts.
 */
export async function verifyPhysicalSnapshot(
  options: RestorePhysicalOptions,
): Promise<Verification> {
  const log = options.logger ?? silentLogger();
  const manifest = physicalManifest(await readManifest(options.storage, options.id));
  const started = performance.now();
  await checkSetExists(options.pgbackrest, manifest);
  let mismatches = await verifyBackup(
    options.pgbackrest,
    manifest.pgbackrest.label,
    options.signal,
  );
  let restored: DatabaseFingerprint | null = null;
  let where = '';
  if (mismatches.length === 0) {
    const copy = await restoreCopy(manifest, options);
    where = copy.directory;
    try {
      restored = await fingerprintOfDatabase(copy.databaseUrl, {
        checksums: manifest.checksums,
        purpose: 'snapshot-verify',
      }).catch((err: unknown) => {
        mismatches = [
          `the restored copy has no database ${manifest.database}: ${(err as Error).message}`,
        ];
        return null;
      });
      if (restored !== null) mismatches = structureMismatches(manifest.fingerprint, restored);
    } finally {
      await copy.stop();
    }
  }
  options.signal?.throwIfAborted();
  const verification: Verification = {
    at: new Date().toISOString(),
    ok: mismatches.length === 0,
    scratchDatabase: where,
    durationMs: Math.round(performance.now() - started),
    mismatches,
    backupLabel: manifest.pgbackrest.label,
  };
  await writeManifest(options.storage, {
    ...manifest,
    ...(verification.ok && restored !== null && { fingerprint: restored }),
    verification,
  });
  log.info(
    {
      snapshot_id: manifest.id,
      label: manifest.pgbackrest.label,
      ok: verification.ok,
      mismatches,
      duration_ms: verification.durationMs,
    },
    'pgbackrest snapshot verified',
  );
  return verification;
}

/**
 * A staging copy from a verified pgBackRest snapshot: the set restored into a private server
 * (no TCP port, no archiving), for the dry-run. `stop()` ends it.
 */
export async function restorePhysicalSnapshot(
  options: RestorePhysicalOptions & { readonly allowUnverified?: boolean },
): Promise<RestoredCopy> {
  const manifest = physicalManifest(await readManifest(options.storage, options.id));
  if (!isVerified(manifest) && options.allowUnverified !== true) {
    throw new SnapshotError(
      'SNAPSHOT_UNVERIFIED',
      `snapshot ${manifest.id} is not verified; run \`dbmigrate snapshot verify ${manifest.id}\` first (an unverified snapshot does not count)`,
    );
  }
  await checkSetExists(options.pgbackrest, manifest);
  const copy = await restoreCopy(manifest, options);
  (options.logger ?? silentLogger()).info(
    {
      snapshot_id: manifest.id,
      label: manifest.pgbackrest.label,
      delta: copy.delta,
      restore_ms: copy.restoreMs,
      recovery_ms: copy.recoveryMs,
    },
    'pgbackrest snapshot restored',
  );
  return copy;
}
