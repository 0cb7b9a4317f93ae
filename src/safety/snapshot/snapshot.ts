import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import pg from 'pg';
import type { Logger } from 'pino';
import { openClient } from '../../db/connection.js';
import { describeDatabaseUrl } from '../../observability/redact.js';
import { silentLogger } from '../../observability/logger.js';
import { fingerprintOfDatabase, readFingerprint } from './fingerprint.js';
import {
  compareFingerprints,
  isVerified,
  sourceDatabaseKey,
  SnapshotManifestSchema,
  type DumpManifest,
  type SnapshotManifest,
  type Verification,
} from './manifest.js';
import {
  checkClientMatchesServer,
  databaseName,
  libpqEnvironment,
  PgToolError,
  spawnTool,
  toolVersion,
  withDatabase,
} from './pg-tools.js';
import { restoreArchive } from './restore-archive.js';
import { snapshotsToRemove, type RetentionPolicy } from './retention.js';
import { SnapshotStorageError, type SnapshotStorage } from './storage.js';

export const DUMP_FILE = 'dump.pgdump';
export const MANIFEST_FILE = 'manifest.json';

export class SnapshotError extends Error {
  readonly code:
    'SNAPSHOT_NOT_FOUND' | 'SNAPSHOT_CORRUPT' | 'SNAPSHOT_UNVERIFIED' | 'SNAPSHOT_REFUSED';

  constructor(code: SnapshotError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'SnapshotError';
  }
}

export type SnapshotProgress =
  | { readonly phase: 'dump'; readonly bytes: number }
  | {
      readonly phase: 'checksum';
      readonly done: number;
      readonly total: number;
      readonly table: string;
    }
  | { readonly phase: 'restore'; readonly bytes: number };

export interface CreateSnapshotOptions {
  readonly databaseUrl: string;
  readonly storage: SnapshotStorage;
  readonly checksums?: 'full' | 'counts';
  readonly logger?: Logger;
  readonly onProgress?: (p: SnapshotProgress) => void;
  readonly id?: string;
  /** Recorded in the manifest; retention only prunes snapshots of its own owner (default `cli`). */
  readonly owner?: string;
  /** Aborting kills pg_dump and discards the partial dump: no manifest, so no snapshot. */
  readonly signal?: AbortSignal;
}

/** A new snapshot ID: the database name, a UTC timestamp and a random suffix. */
export function newSnapshotId(database: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${database.replace(/[^A-Za-z0-9_-]/g, '_')}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Counts bytes and hashes a stream as it passes through, so nothing is buffered. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(
    chunk: Buffer,
    _enc: BufferEncoding,
    done: (err?: Error | null, data?: Buffer) => void,
  ): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    done(null, chunk);
  }
}

function connect(url: string, purpose: string): Promise<pg.Client> {
  return openClient(url, `dbmigrate:${purpose}`);
}

/**
 * `pg_dump -Fc` streamed into storage, with a manifest computed from the same MVCC snapshot as
 * the dump (pg_export_snapshot → pg_dump --snapshot), so counts and checksums describe exactly
 * what the dump holds even while the database keeps taking writes.
 */
export async function createSnapshot(options: CreateSnapshotOptions): Promise<DumpManifest> {
  const log = options.logger ?? silentLogger();
  const started = performance.now();
  const now = new Date();
  const database = databaseName(options.databaseUrl);
  const id = options.id ?? newSnapshotId(database, now);
  const checksums = options.checksums ?? 'full';
  const pgDump = await toolVersion('pg_dump');
  const client = await connect(options.databaseUrl, `snapshot:${id}`);
  const out = await options.storage.openWrite(`${id}/${DUMP_FILE}`);
  let dump: ReturnType<typeof spawnTool> | null = null;
  try {
    const server = await client.query<{ n: string }>(
      "select current_setting('server_version_num') as n",
    );
    checkClientMatchesServer(pgDump, Number(server.rows[0]?.n ?? 0));
    await client.query('begin isolation level repeatable read read only');
    const exported = await client.query<{ s: string }>('select pg_export_snapshot() as s');
    const snapshot = exported.rows[0]?.s ?? '';
    log.info({ snapshot_id: id, storage: options.storage.description }, 'snapshot start');

    const { env, dbname } = libpqEnvironment(options.databaseUrl);
    dump = spawnTool(
      'pg_dump',
      ['-Fc', `--snapshot=${snapshot}`, `--dbname=${dbname}`],
      env,
      options.signal,
    );
    const digest = new Digest((bytes) => options.onProgress?.({ phase: 'dump', bytes }));
    const [fingerprint] = await Promise.all([
      readFingerprint(client, {
        checksums,
        onTable: (done, total, table) =>
          options.onProgress?.({ phase: 'checksum', done, total, table }),
      }),
      pipeline(dump.child.stdout, digest, out.stream),
      dump.done,
    ]);
    await client.query('commit');
    options.signal?.throwIfAborted();
    await out.commit();
    const manifest: DumpManifest = {
      formatVersion: 1,
      method: 'pg_dump',
      id,
      createdAt: now.toISOString(),
      source: describeDatabaseUrl(options.databaseUrl),
      owner: options.owner ?? 'cli',
      database,
      pgDumpVersion: pgDump.text,
      dumpFile: DUMP_FILE,
      dumpSizeBytes: digest.bytes,
      dumpSha256: digest.hash.digest('hex'),
      durationMs: Math.round(performance.now() - started),
      checksums,
      fingerprint,
      verification: null,
    };
    options.signal?.throwIfAborted();
    await writeManifest(options.storage, manifest);
    log.info(
      {
        snapshot_id: id,
        size_bytes: manifest.dumpSizeBytes,
        tables: fingerprint.tables.length,
        duration_ms: manifest.durationMs,
      },
      'snapshot written',
    );
    return manifest;
  } catch (err) {
    dump?.child.kill();
    await dump?.done.catch(() => undefined);
    await out.abort().catch(() => undefined);
    // Only what this attempt wrote: another writer (a successor) may be using the same ID.
    await options.storage.removeIdIfEmpty(id).catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function readManifest(
  storage: SnapshotStorage,
  id: string,
): Promise<SnapshotManifest> {
  const text = await storage.readText(`${id}/${MANIFEST_FILE}`);
  if (text === null) {
    throw new SnapshotError('SNAPSHOT_NOT_FOUND', `no snapshot ${id} in ${storage.description}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(
      'SNAPSHOT_CORRUPT',
      `snapshot ${id}: ${MANIFEST_FILE} is not valid JSON`,
      { cause: err },
    );
  }
  const parsed = SnapshotManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new SnapshotError(
      'SNAPSHOT_CORRUPT',
      `snapshot ${id}: ${MANIFEST_FILE} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * The manifest of a dump, or SNAPSHOT_REFUSED for a pgBackRest backup: what restores a dump
 * (pg_restore into a database) cannot restore a cluster's files.
 */
export function dumpManifest(manifest: SnapshotManifest): DumpManifest {
  if (manifest.method === 'pg_dump') return manifest;
  throw new SnapshotError(
    'SNAPSHOT_REFUSED',
    `snapshot ${manifest.id} is a pgBackRest backup (stanza ${manifest.pgbackrest.stanza}, set ${manifest.pgbackrest.label}), not a dump; it restores into a server of its own, through its stanza`,
  );
}

export async function writeManifest(
  storage: SnapshotStorage,
  manifest: SnapshotManifest,
): Promise<void> {
  await storage.writeText(
    `${manifest.id}/${MANIFEST_FILE}`,
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
}

/**
 * Why a manifest's dump cannot serve a restore (gone or truncated), or null when it is whole.
 * A pgBackRest backup keeps no file here: its set is looked up in the stanza's repository
 * when it is verified or restored.
 */
export async function dumpProblem(
  storage: SnapshotStorage,
  manifest: SnapshotManifest,
): Promise<string | null> {
  if (manifest.method === 'pgbackrest') return null;
  const size = await storage.size(`${manifest.id}/${manifest.dumpFile}`);
  if (size === null)
    return `snapshot ${manifest.id}: its dump file is missing; it cannot be restored`;
  if (size !== manifest.dumpSizeBytes) {
    return `snapshot ${manifest.id}: its dump file is ${String(size)} bytes, the manifest says ${String(manifest.dumpSizeBytes)}; it cannot be restored`;
  }
  return null;
}

/**
 * Every snapshot whose manifest reads and whose dump is there, newest first. The others are
 * reported as unreadable, never listed as usable: a manifest alone restores nothing.
 */
export async function listSnapshots(
  storage: SnapshotStorage,
): Promise<{ manifests: SnapshotManifest[]; unreadable: { id: string; reason: string }[] }> {
  const manifests: SnapshotManifest[] = [];
  const unreadable: { id: string; reason: string }[] = [];
  for (const id of await storage.listIds()) {
    try {
      const manifest = await readManifest(storage, id);
      const problem = await dumpProblem(storage, manifest);
      if (problem === null) manifests.push(manifest);
      else unreadable.push({ id, reason: problem });
    } catch (err) {
      unreadable.push({ id, reason: (err as Error).message });
    }
  }
  manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { manifests, unreadable };
}

/** The newest verified dump: what a logical restore into a staging database can use. */
export async function latestVerifiedSnapshot(
  storage: SnapshotStorage,
): Promise<DumpManifest | null> {
  const dumps = (await listSnapshots(storage)).manifests.filter(
    (m): m is DumpManifest => m.method === 'pg_dump',
  );
  return dumps.find(isVerified) ?? null;
}

/**
 * A local file holding the dump whose sha256 and size match the manifest, or SNAPSHOT_CORRUPT.
 * pg_restore needs a seekable file: a dump written through a pipe has no data offsets.
 */
async function checkedDumpFile(
  storage: SnapshotStorage,
  manifest: DumpManifest,
  onBytes?: (bytes: number) => void,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const key = `${manifest.id}/${manifest.dumpFile}`;
  const local = storage.localPath(key);
  let path = local;
  let tmp: string | null = null;
  const digest = new Digest(onBytes);
  let source: Readable;
  try {
    source = await storage.openRead(key);
  } catch (err) {
    if (err instanceof SnapshotStorageError) throw err;
    throw new SnapshotError('SNAPSHOT_CORRUPT', `snapshot ${manifest.id}: cannot read ${key}`, {
      cause: err,
    });
  }
  try {
    if (local === null) {
      tmp = await mkdtemp(join(tmpdir(), 'dbm-restore-'));
      path = join(tmp, manifest.dumpFile);
      await pipeline(source, digest, createWriteStream(path));
    } else {
      await pipeline(
        source,
        digest,
        new Transform({
          transform: (_c, _e, done) => {
            done();
          },
        }),
      );
    }
  } catch (err) {
    throw new SnapshotError(
      'SNAPSHOT_CORRUPT',
      `snapshot ${manifest.id}: cannot read ${key}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const sha = digest.hash.digest('hex');
  const cleanup = async (): Promise<void> => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
  if (digest.bytes !== manifest.dumpSizeBytes || sha !== manifest.dumpSha256) {
    await cleanup();
    throw new SnapshotError(
      'SNAPSHOT_CORRUPT',
      `snapshot ${manifest.id}: dump file is damaged (${digest.bytes} bytes, sha256 ${sha.slice(0, 12)}; manifest says ${manifest.dumpSizeBytes} bytes, ${manifest.dumpSha256.slice(0, 12)}); it cannot be trusted for a restore`,
    );
  }
  return { path: path as string, cleanup };
}

/**
 * Drops the temporary copies whose names start with `prefix`: what crashed attempts of the
 * same owner (one resource, one generation) left. Never called with a prefix a user chose.
 */
export async function dropCopiesWithPrefix(serverUrl: string, prefix: string): Promise<string[]> {
  if (!/^dbm_(staging|verify)_[a-z0-9_]+_$/.test(prefix)) {
    throw new Error(`refusing to sweep databases by the prefix ${prefix}`);
  }
  return withAdmin(serverUrl, async (c) => {
    const res = await c.query<{ datname: string }>(
      'select datname from pg_database where left(datname, length($1)) = $1',
      [prefix],
    );
    for (const { datname } of res.rows) {
      await c.query(`drop database if exists ${c.escapeIdentifier(datname)} with (force)`);
    }
    return res.rows.map((r) => r.datname);
  });
}

async function withAdmin<T>(serverUrl: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(serverUrl, 'snapshot-admin');
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface VerifySnapshotOptions {
  readonly storage: SnapshotStorage;
  readonly id: string;
  /** A URL on the server where a scratch database may be created (its database part is the maintenance db). */
  readonly scratchServerUrl: string;
  readonly logger?: Logger;
  readonly onProgress?: (p: SnapshotProgress) => void;
  /** Aborting stops the restore, drops the scratch database and records nothing. */
  readonly signal?: AbortSignal;
  /**
   * A prefix for the scratch database's name (the operator's is per resource): copies under it
   * that crashed attempts left are dropped first, and this attempt's gets a suffix of its own.
   */
  readonly scratchPrefix?: string;
}

/**
 * Restores the snapshot into a scratch database, compares it with the manifest, drops the
 * scratch database, and records the outcome in the manifest. Only a verified snapshot counts.
 */
export async function verifySnapshot(options: VerifySnapshotOptions): Promise<Verification> {
  const log = options.logger ?? silentLogger();
  const manifest = dumpManifest(await readManifest(options.storage, options.id));
  const started = performance.now();
  const scratch = `${options.scratchPrefix ?? 'dbm_verify_'}${randomBytes(6).toString('hex')}`;
  const scratchUrl = withDatabase(options.scratchServerUrl, scratch);
  let mismatches: string[];
  let file: { path: string; cleanup: () => Promise<void> } | null = null;
  try {
    file = await checkedDumpFile(options.storage, manifest, (bytes) =>
      options.onProgress?.({ phase: 'restore', bytes }),
    );
    if (options.scratchPrefix !== undefined)
      await dropCopiesWithPrefix(options.scratchServerUrl, options.scratchPrefix);
    await withAdmin(options.scratchServerUrl, (c) =>
      c.query(`create database ${c.escapeIdentifier(scratch)}`),
    );
    try {
      await restoreArchive(file.path, scratchUrl, {
        ...(options.signal !== undefined && { signal: options.signal }),
      });
      const restored = await fingerprintOfDatabase(scratchUrl, {
        checksums: manifest.checksums,
        purpose: 'snapshot-verify',
      });
      mismatches = compareFingerprints(manifest.fingerprint, restored);
    } catch (err) {
      if (!(err instanceof PgToolError) || options.signal?.aborted === true) throw err;
      mismatches = [`restore failed: ${err.message}`];
    } finally {
      await withAdmin(options.scratchServerUrl, (c) =>
        c.query(`drop database if exists ${c.escapeIdentifier(scratch)} with (force)`),
      );
    }
  } catch (err) {
    if (!(err instanceof SnapshotError) || err.code !== 'SNAPSHOT_CORRUPT') throw err;
    mismatches = [err.message];
  } finally {
    await file?.cleanup();
  }
  options.signal?.throwIfAborted();
  const verification: Verification = {
    at: new Date().toISOString(),
    ok: mismatches.length === 0,
    scratchDatabase: scratch,
    durationMs: Math.round(performance.now() - started),
    mismatches,
    dumpSha256: manifest.dumpSha256,
  };
  // Deleted while verifying: writing the manifest back would leave a snapshot without a dump.
  if ((await options.storage.size(`${manifest.id}/${manifest.dumpFile}`)) === null) {
    throw new SnapshotError(
      'SNAPSHOT_NOT_FOUND',
      `snapshot ${manifest.id}: its dump file is missing; it cannot be restored (removed while it was being verified)`,
    );
  }
  await writeManifest(options.storage, { ...manifest, verification });
  log.info(
    {
      snapshot_id: manifest.id,
      ok: verification.ok,
      mismatches,
      duration_ms: verification.durationMs,
    },
    'snapshot verified',
  );
  return verification;
}

export interface RestoreSnapshotOptions {
  readonly storage: SnapshotStorage;
  readonly id: string;
  /** The database to restore into: created when missing, refused when it holds any table. */
  readonly targetUrl: string;
  readonly allowUnverified?: boolean;
  readonly logger?: Logger;
}

/** Restores a verified snapshot into a new or empty database. Never overwrites data. */
export async function restoreSnapshot(
  options: RestoreSnapshotOptions,
): Promise<{ database: string; durationMs: number }> {
  const manifest = dumpManifest(await readManifest(options.storage, options.id));
  if (!isVerified(manifest) && options.allowUnverified !== true) {
    throw new SnapshotError(
      'SNAPSHOT_UNVERIFIED',
      `snapshot ${manifest.id} is not verified; run \`dbmigrate snapshot verify ${manifest.id}\` first (an unverified snapshot does not count)`,
    );
  }
  const started = performance.now();
  const database = databaseName(options.targetUrl);
  const maintenance = withDatabase(options.targetUrl, 'postgres');
  const exists = await withAdmin(maintenance, async (c) => {
    const res = await c.query('select 1 from pg_database where datname = $1', [database]);
    return (res.rowCount ?? 0) > 0;
  });
  if (exists) {
    const client = await connect(options.targetUrl, 'snapshot-restore');
    try {
      const res = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','p') and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg\\_toast%'",
      );
      if ((res.rows[0]?.n ?? 0) > 0) {
        throw new SnapshotError(
          'SNAPSHOT_REFUSED',
          `database ${database} already holds ${res.rows[0]?.n ?? 0} tables; restore only into a new or empty database`,
        );
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  } else {
    await withAdmin(maintenance, (c) => c.query(`create database ${c.escapeIdentifier(database)}`));
  }
  const file = await checkedDumpFile(options.storage, manifest);
  try {
    await restoreArchive(file.path, options.targetUrl);
  } finally {
    await file.cleanup();
  }
  const durationMs = Math.round(performance.now() - started);
  options.logger?.info(
    { snapshot_id: manifest.id, database, duration_ms: durationMs },
    'snapshot restored',
  );
  return { database, durationMs };
}

/** Whose snapshots a retention pass may consider: one database, one owner. */
export interface RetentionScope {
  /** The database's URL (its host, port and name identify it; the role does not). */
  readonly databaseUrl: string;
  readonly owner: string;
}

/**
 * The snapshots the retention policy expires among those of `scope` only: never another
 * database's, never another owner's (a namespace's, the CLI's), never one without an owner.
 */
export async function expiredSnapshots(
  storage: SnapshotStorage,
  policy: RetentionPolicy,
  scope: RetentionScope,
  now = new Date(),
): Promise<string[]> {
  const { manifests } = await listSnapshots(storage);
  const database = sourceDatabaseKey(describeDatabaseUrl(scope.databaseUrl));
  const mine = manifests.filter(
    (m) => m.owner === scope.owner && sourceDatabaseKey(m.source) === database,
  );
  return snapshotsToRemove(mine, policy, now);
}

/** Deletes what the retention policy expires within `scope`; returns the removed IDs. */
export async function applyRetention(
  storage: SnapshotStorage,
  policy: RetentionPolicy,
  scope: RetentionScope,
  now = new Date(),
): Promise<string[]> {
  const expired = await expiredSnapshots(storage, policy, scope, now);
  for (const id of expired) await storage.removeId(id);
  return expired;
}
