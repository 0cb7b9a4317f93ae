// The pgBackRest target a resource's spec names: its stanza, and its configuration from a
// Secret written to a private file for as long as the work runs (it may hold the repository's
// credentials, so it is never left on disk, logged or put in status), or the operator pod's
// own /etc/pgbackrest/pgbackrest.conf.
import { createHash } from 'node:crypto';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBackRestSpec } from '../api/v1alpha1/backup-snapshot.js';
import { databaseIdentity } from '../db/database-url.js';
import { serverUser } from '../safety/scratch/local-server.js';
import type { SnapshotManifest } from '../safety/snapshot/manifest.js';
import { databaseName } from '../safety/snapshot/pg-tools.js';
import { backupSetProblem, physicalManifest } from '../safety/snapshot/physical-snapshot.js';
import type { BackupSet } from '../safety/snapshot/pgbackrest-output.js';
import { listBackups, type PgBackRestTarget } from '../safety/snapshot/pgbackrest.js';
import type { ResourceApi } from './kube.js';
import { ResourceProblem } from './migration-source.js';

/**
 * Where restores go under spec.restorePath: verifications in a folder per namespace and stanza,
 * dry-runs in one per namespace, stanza and database. Each is kept for the next restore there,
 * a delta that copies only what changed; the task lanes keep two restores out of one folder.
 * The readable part is for people; the hash keeps two clusters (or namespaces) that share a
 * stanza or database name apart.
 */
export function restoreDirectory(
  spec: PgBackRestSpec,
  namespace: string,
  /** stagingFor: the production database's URL. */
  use: { readonly verify: true } | { readonly stagingFor: string },
): string {
  const readable = (text: string): string => text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const key =
    'verify' in use
      ? [namespace, spec.stanza]
      : [namespace, spec.stanza, databaseIdentity(use.stagingFor)];
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 10);
  const name =
    'verify' in use
      ? `${readable(spec.stanza)}-verify-${hash}`
      : `${readable(spec.stanza)}-${readable(databaseName(use.stagingFor))}-staging-${hash}`;
  return join(spec.restorePath, name);
}

/** What a spec's pgbackrest names, its configuration read from its Secret (or null: the pod's). */
export interface PgBackRestSettings {
  readonly spec: PgBackRestSpec;
  readonly configText: string | null;
}

/**
 * Reads the configuration Secret when a step is prepared: a missing one fails the resource
 * before anything runs. Nothing is written to disk until the work runs.
 */
export async function pgbackrestSettings(
  api: ResourceApi,
  namespace: string,
  spec: PgBackRestSpec,
  field: string,
): Promise<PgBackRestSettings> {
  const ref = spec.config;
  if (ref === undefined) return { spec, configText: null };
  const text = await api.readSecretKey(namespace, ref.name, ref.key);
  if (text === null || text.trim() === '') {
    throw new ResourceProblem(
      'SecretMissing',
      `${field}.config: Secret ${namespace}/${ref.name} does not exist or has no key ${ref.key}; it holds pgbackrest.conf`,
    );
  }
  return { spec, configText: text };
}

/**
 * Runs `work` with the target: its configuration written to a private file for as long as
 * the work runs, removed after whatever happens (it may hold the repository's credentials).
 */
export async function withPgBackRestTarget<T>(
  settings: PgBackRestSettings,
  work: (target: PgBackRestTarget) => Promise<T>,
): Promise<T> {
  const base = {
    stanza: settings.spec.stanza,
    ...(settings.spec.processMax !== undefined && { processMax: settings.spec.processMax }),
  };
  if (settings.configText === null) return work(base);
  const dir = await mkdtemp(join(tmpdir(), 'dbm-pgbackrest-'));
  try {
    const file = join(dir, 'pgbackrest.conf');
    await writeFile(file, settings.configText, { mode: 0o600 });
    // As root, pgBackRest runs as the postgres system user (pgbackrest.ts): it must read it.
    const user = await serverUser();
    if (user !== null) {
      await chown(dir, user.uid, user.gid);
      await chown(file, user.uid, user.gid);
    }
    return await work({ ...base, config: file });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why the snapshot's set is gone from the repository the settings name, or null while it is there. */
export function backupSetProblemFor(
  settings: PgBackRestSettings,
  manifest: SnapshotManifest,
): Promise<string | null> {
  return withPgBackRestTarget(settings, (target) =>
    backupSetProblem(target, physicalManifest(manifest)),
  );
}

/**
 * The backup sets of the repositories Completed snapshots are on, read at most once per
 * `ttlMs` for each namespace, stanza and configuration however many snapshots a repository
 * holds: each read writes the configuration to disk and runs `pgbackrest info`, which lists
 * the repository (a bucket's objects, on S3). Checks that arrive while a read runs share it; a
 * failed read is not kept.
 */
export class BackupSetReader {
  private readonly reads = new Map<string, { at: number; sets: Promise<readonly BackupSet[]> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly read: (settings: PgBackRestSettings) => Promise<readonly BackupSet[]> = (
      settings,
    ) => withPgBackRestTarget(settings, listBackups),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Why the snapshot's set is gone, or null while it is there, from a read younger than the
   * TTL; a new read when there is none, or when the kept one began before the backup had
   * finished (it cannot know the set). A set gone from a read that knew it is gone: expired
   * sets cost no extra read, and a new read is shared by the checks that wait for it.
   */
  async problem(
    namespace: string,
    settings: PgBackRestSettings,
    manifest: SnapshotManifest,
  ): Promise<string | null> {
    const physical = physicalManifest(manifest);
    const target = { stanza: settings.spec.stanza };
    const key = createHash('sha256')
      .update(`${namespace}\0${settings.spec.stanza}\0${settings.configText ?? ''}`)
      .digest('hex');
    const kept = this.reads.get(key);
    const finished = Date.parse(physical.createdAt) + physical.durationMs;
    if (kept !== undefined && this.now() - kept.at < this.ttlMs) {
      const problem = await backupSetProblem(target, physical, await kept.sets);
      if (problem === null || kept.at >= finished) return problem;
    }
    const sets = this.read(settings);
    this.reads.set(key, { at: this.now(), sets });
    sets.catch(() => {
      if (this.reads.get(key)?.sets === sets) this.reads.delete(key);
    });
    return backupSetProblem(target, physical, await sets);
  }
}
