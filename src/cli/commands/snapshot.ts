import { parseCommandArgs } from '../command-spec.js';
import { bytesText, startProgress, type Progress } from '../progress.js';
import type { CommandIo } from '../context.js';
import { SNAPSHOT_SUBCOMMANDS, snapshotSpec } from '../specs/snapshot.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { projectConfig } from '../project-config.js';
import { formatMs, formatTime, renderTable } from '../table.js';
import { scratchServer, type ScratchServer } from '../scratch.js';
import { UsageError } from '../usage-error.js';
import { checkDatabaseUrl } from '../../db/database-url.js';
import { createLogger } from '../../observability/logger.js';
import {
  formatBytes,
  isVerified,
  snapshotBytes,
  type SnapshotManifest,
  type Verification,
} from '../../safety/snapshot/manifest.js';
import { RetentionPolicySchema } from '../../safety/snapshot/retention.js';
import {
  applyRetention,
  createSnapshot,
  listSnapshots,
  readManifest,
  restoreSnapshot,
  verifySnapshot,
  type SnapshotProgress,
} from '../../safety/snapshot/snapshot.js';
import { snapshotStorage } from '../snapshot-storage.js';
import {
  backupType,
  pgbackrestTarget,
  refusePgBackRestOnlyFlags,
  restoreDirectory,
} from '../pgbackrest-target.js';
import {
  backupSetProblem,
  createPhysicalSnapshot,
  verifyPhysicalSnapshot,
} from '../../safety/snapshot/physical-snapshot.js';
import { listBackups, type PgBackRestTarget } from '../../safety/snapshot/pgbackrest.js';
import type { BackupSet } from '../../safety/snapshot/pgbackrest-output.js';

function listTable(manifests: readonly SnapshotManifest[]): string {
  return renderTable(
    ['ID', 'CREATED', 'DATABASE', 'SIZE', 'TABLES', 'ROWS', 'VERIFIED'],
    manifests.map((m) => [
      m.id,
      formatTime(new Date(m.createdAt)),
      m.database,
      formatBytes(snapshotBytes(m)),
      String(m.fingerprint.tables.length),
      String(m.fingerprint.tables.reduce((n, t) => n + t.rowCount, 0)),
      m.verification === null
        ? 'no'
        : m.verification.ok
          ? formatTime(new Date(m.verification.at))
          : 'FAILED',
    ]),
  );
}

/** `dbmigrate snapshot create|verify|restore|list|prune`. */
export async function snapshotCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(snapshotSpec, args);
  const [sub, id] = positionals;
  const config = await projectConfig(values, io);
  const storage = await snapshotStorage(values.storage, io, config.snapshots.storage);
  const logger = createLogger({
    component: 'cli.snapshot',
    ...(values['log-level'] !== undefined && { level: values['log-level'] }),
  });
  let lastReport = 0;
  let progress: Progress | null = null;
  let started = Date.now();
  const onProgress = (p: SnapshotProgress): void => {
    const now = Date.now();
    const what = p.phase === 'restore' ? 'verify: restoring' : 'snapshot: dumping';
    if (progress === null || (p.phase === 'restore') !== verifying) {
      progress?.succeed();
      verifying = p.phase === 'restore';
      started = now;
      progress = startProgress(what);
    }
    if (p.phase === 'checksum') {
      progress.update(
        `snapshot: checksums, table ${String(p.done)} of ${String(p.total)} (${p.table})`,
      );
      logger.info({ table: p.table, done: p.done, total: p.total }, 'table checksummed');
      return;
    }
    progress.update(`${what} ${bytesText(p.bytes, started, now)}`);
    if (now - lastReport > 2000) {
      lastReport = now;
      logger.info({ phase: p.phase, bytes: p.bytes }, 'snapshot progress');
    }
  };
  let verifying = false;
  const endProgress = (ok: boolean): void => {
    if (ok) progress?.succeed();
    else progress?.fail();
    progress = null;
  };
  const verifyOn = async (id: string, server: ScratchServer) =>
    verifySnapshot({ storage, id, scratchServerUrl: server.url, logger, onProgress });
  const needId = (): string => {
    if (id === undefined)
      throw new UsageError(
        `dbmigrate snapshot ${sub ?? ''}: pass the snapshot ID (see \`dbmigrate snapshot list\`)`,
      );
    return id;
  };

  const reportVerification = (
    snapshotId: string,
    verification: Verification,
    physical: boolean,
  ): number => {
    endProgress(verification.ok);
    io.stdout(
      values.json
        ? JSON.stringify(verification, null, 2)
        : verificationLine(snapshotId, verification.ok, verification.mismatches, physical),
    );
    return verification.ok ? ExitCode.ok : ExitCode.validation;
  };
  const verifyPhysical = (snapshotId: string, target: PgBackRestTarget): Promise<Verification> => {
    progress = startProgress(`verify: pgBackRest checks and restores ${snapshotId}`);
    const directory = restoreDirectory(values, io);
    return verifyPhysicalSnapshot({
      storage,
      id: snapshotId,
      pgbackrest: target,
      ...(directory !== undefined && { directory }),
      logger,
    });
  };
  const createPhysical = async (target: PgBackRestTarget): Promise<number> => {
    const type = backupType(values, target);
    const checksums = values.checksums ?? 'counts';
    if (checksums !== 'full' && checksums !== 'counts') {
      throw new UsageError('--checksums must be full or counts');
    }
    progress = startProgress(`snapshot: pgBackRest ${type} backup of stanza ${target.stanza}`);
    const manifest = await createPhysicalSnapshot({
      databaseUrl: databaseUrl(values, io),
      storage,
      pgbackrest: target,
      type,
      checksums,
      logger,
    });
    endProgress(true);
    const verification = values.verify === true ? await verifyPhysical(manifest.id, target) : null;
    endProgress(verification?.ok !== false);
    if (values.json) io.stdout(JSON.stringify({ ...manifest, verification }, null, 2));
    else {
      const set = manifest.pgbackrest;
      io.stdout(
        `snapshot ${manifest.id}: pgBackRest ${set.type} backup ${set.label} of stanza ${set.stanza}: ${formatBytes(set.sizeBytes)} of files, ${formatBytes(set.deltaBytes)} copied, ${formatBytes(set.repositoryDeltaBytes)} added to the repository, ${formatMs(manifest.durationMs)}; manifest in ${storage.description}`,
      );
      if (verification)
        io.stdout(verificationLine(manifest.id, verification.ok, verification.mismatches, true));
    }
    return verification && !verification.ok ? ExitCode.validation : ExitCode.ok;
  };

  const run = async (): Promise<number> => {
    switch (sub) {
      case 'create': {
        const target = pgbackrestTarget(values, io);
        if (target !== null) return createPhysical(target);
        backupType(values, null);
        refusePgBackRestOnlyFlags(values, 'pass --pgbackrest-stanza too');
        const checksums = values.checksums ?? config.snapshots.checksums;
        if (checksums !== 'full' && checksums !== 'counts') {
          throw new UsageError('--checksums must be full or counts');
        }
        // Ready before dumping: a verification that cannot run is refused before anything is written.
        const server =
          values.verify === true
            ? await scratchServer(values, io, 'verifying a snapshot', logger)
            : null;
        let manifest;
        let verification;
        try {
          manifest = await createSnapshot({
            databaseUrl: databaseUrl(values, io),
            storage,
            checksums,
            logger,
            onProgress,
          });
          verification = server ? await verifyOn(manifest.id, server) : null;
        } finally {
          await server?.release();
        }
        endProgress(verification?.ok !== false);
        if (values.json) io.stdout(JSON.stringify({ ...manifest, verification }, null, 2));
        else {
          io.stdout(
            `snapshot ${manifest.id}: ${formatBytes(snapshotBytes(manifest))}, ${manifest.fingerprint.tables.length} tables, ${formatMs(manifest.durationMs)} in ${storage.description}`,
          );
          if (verification)
            io.stdout(verificationLine(manifest.id, verification.ok, verification.mismatches));
        }
        return verification && !verification.ok ? ExitCode.validation : ExitCode.ok;
      }
      case 'verify': {
        const manifest = await readManifest(storage, needId());
        if (manifest.method === 'pgbackrest') {
          const target = pgbackrestTarget(values, io, manifest.pgbackrest.stanza);
          if (target === null) throw new UsageError('no pgBackRest stanza');
          return reportVerification(manifest.id, await verifyPhysical(manifest.id, target), true);
        }
        refusePgBackRestOnlyFlags(
          values,
          `snapshot ${manifest.id} is a pg_dump snapshot (its copy goes to the scratch server)`,
        );
        // The copy runs on the major the snapshot was dumped from, whatever production runs now.
        const { fingerprint } = manifest;
        const server = await scratchServer(
          values,
          io,
          'verifying a snapshot',
          logger,
          Math.floor(fingerprint.serverVersionNum / 10_000),
        );
        let verification;
        try {
          verification = await verifyOn(needId(), server);
        } finally {
          await server.release();
        }
        return reportVerification(needId(), verification, false);
      }
      case 'restore': {
        const targetUrl = values['target-url'];
        if (targetUrl === undefined) {
          throw new UsageError(
            'dbmigrate snapshot restore: --target-url is required (a new or empty database)',
          );
        }
        const res = await restoreSnapshot({
          storage,
          id: needId(),
          targetUrl: checkDatabaseUrl(targetUrl, '--target-url'),
          allowUnverified: values['allow-unverified'] ?? false,
          logger,
        });
        io.stdout(
          values.json
            ? JSON.stringify(res)
            : `restored ${needId()} into ${res.database} in ${formatMs(res.durationMs)}`,
        );
        return ExitCode.ok;
      }
      case 'list': {
        const { manifests, unreadable } = await withBackupSets(
          await listSnapshots(storage),
          (stanza) => pgbackrestTarget({ ...values, 'pgbackrest-stanza': stanza }, io),
          (line) => {
            logger.warn(line);
          },
        );
        if (values.json) io.stdout(JSON.stringify({ snapshots: manifests, unreadable }, null, 2));
        else {
          io.stdout(
            manifests.length ? listTable(manifests) : `no snapshots in ${storage.description}`,
          );
          for (const u of unreadable) io.stdout(`unreadable: ${u.id}: ${u.reason}`);
          const verified = manifests.filter(isVerified).length;
          if (manifests.length)
            io.stdout(`\n${manifests.length} snapshot(s), ${verified} verified`);
        }
        return ExitCode.ok;
      }
      case 'prune': {
        const policy = RetentionPolicySchema.safeParse({
          ...(values['keep-last'] !== undefined && { keepLast: Number(values['keep-last']) }),
          ...(values['max-age-days'] !== undefined && {
            maxAgeDays: Number(values['max-age-days']),
          }),
        });
        if (!policy.success || Object.keys(policy.data).length === 0) {
          throw new UsageError(
            'dbmigrate snapshot prune: pass --keep-last N and/or --max-age-days D (positive numbers)',
          );
        }
        // Only this database's snapshots made by the CLI: never another database's or the operator's.
        const removed = await applyRetention(storage, policy.data, {
          databaseUrl: databaseUrl(values, io),
          owner: 'cli',
        });
        io.stdout(
          values.json
            ? JSON.stringify({ removed })
            : removed.length
              ? `removed ${removed.join(', ')}`
              : 'nothing to remove',
        );
        return ExitCode.ok;
      }
      default:
        throw new UsageError(`dbmigrate snapshot: expected one of ${SNAPSHOT_SUBCOMMANDS}`);
    }
  };
  try {
    const code = await run();
    endProgress(code === ExitCode.ok);
    return code;
  } catch (err) {
    endProgress(false);
    throw err;
  } finally {
    storage.close();
  }
}

/**
 * A pgBackRest snapshot whose set the repository no longer holds (expired or removed) is
 * unreadable, as a dump whose file is missing is: it restores nothing. A repository that
 * cannot be read is said in a warning, and its snapshots stay listed as their manifests say.
 */
async function withBackupSets(
  listed: Awaited<ReturnType<typeof listSnapshots>>,
  targetFor: (stanza: string) => PgBackRestTarget | null,
  warn: (line: string) => void,
): Promise<Awaited<ReturnType<typeof listSnapshots>>> {
  const manifests: SnapshotManifest[] = [];
  const unreadable = [...listed.unreadable];
  /** Each stanza's sets, read once; null when its repository could not be read. */
  const setsOf = new Map<string, BackupSet[] | null>();
  for (const m of listed.manifests) {
    if (m.method !== 'pgbackrest') {
      manifests.push(m);
      continue;
    }
    const stanza = m.pgbackrest.stanza;
    const target = targetFor(stanza);
    if (target !== null && !setsOf.has(stanza)) {
      try {
        setsOf.set(stanza, await listBackups(target));
      } catch (err) {
        setsOf.set(stanza, null);
        warn(
          `could not check stanza ${stanza}'s backup sets (${(err as Error).message}); its snapshots are listed as their manifests say`,
        );
      }
    }
    const sets = setsOf.get(stanza) ?? null;
    const problem =
      target === null || sets === null ? null : await backupSetProblem(target, m, sets);
    if (problem === null) manifests.push(m);
    else unreadable.push({ id: m.id, reason: problem });
  }
  return { manifests, unreadable };
}

function verificationLine(
  id: string,
  ok: boolean,
  mismatches: readonly string[],
  physical = false,
): string {
  if (!ok) return `verification of ${id} FAILED:\n${mismatches.map((m) => `  - ${m}`).join('\n')}`;
  return physical
    ? `verified ${id}: pgBackRest found every file and the WAL archive intact; the restored copy recovered with the schema, extensions and tables of the manifest`
    : `verified ${id}: restored into a scratch database, counts, checksums and schema match`;
}
