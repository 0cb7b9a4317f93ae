// Driving pgBackRest (https://pgbackrest.org) for the `pgbackrest` snapshot method: a physical
// backup of the whole cluster, its verification, and a restore into a directory of our own.
// The stanza, its repository (a volume or S3) and the server's archive_command are the user's
// pgBackRest configuration; we pass only what each command needs on its command line.
import { spawn } from 'node:child_process';
import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactSecrets } from '../../observability/redact.js';
import { serverUser, type SystemUser } from '../scratch/local-server.js';
import {
  backupMadeSince,
  parseBackupInfo,
  parseVerifyText,
  verifyProblems,
  type BackupSet,
  type BackupType,
} from './pgbackrest-output.js';

export type PgBackRestErrorCode = 'PGBACKREST_FAILED' | 'PGBACKREST_REFUSED';

/** pgBackRest failed or refused; its own message, never a credential. */
export class PgBackRestError extends Error {
  readonly code: PgBackRestErrorCode;

  constructor(code: PgBackRestErrorCode, message: string, options?: ErrorOptions) {
    super(redactSecrets(message), options);
    this.name = 'PgBackRestError';
    this.code = code;
  }
}

/** Where a stanza's backups are, as the user configured pgBackRest. */
export interface PgBackRestTarget {
  readonly stanza: string;
  /** pgbackrest.conf; pgBackRest's default (/etc/pgbackrest/pgbackrest.conf) when absent. */
  readonly config?: string;
  /** The binary; `$DBMIGRATE_PGBACKREST`, else `pgbackrest` on PATH. */
  readonly bin?: string;
  /** Parallel processes for backup and restore (pgBackRest's process-max). */
  readonly processMax?: number;
}

/** Marks a directory dbmigrate restored into, so a later delta restore may overwrite it. */
const STAGING_MARK = 'dbmigrate-staging';

function binaryOf(target: PgBackRestTarget): string {
  return target.bin ?? process.env['DBMIGRATE_PGBACKREST'] ?? 'pgbackrest';
}

function commonArgs(target: PgBackRestTarget): string[] {
  return [
    `--stanza=${target.stanza}`,
    ...(target.config !== undefined ? [`--config=${target.config}`] : []),
    // Its console carries the errors we report; file logs are the user's configuration.
    '--log-level-console=warn',
  ];
}

/**
 * Runs one pgBackRest command. As root it runs as the `postgres` system user, like the
 * server whose files it reads and the local server that will own what it restores.
 */
async function pgbackrest(
  target: PgBackRestTarget,
  command: string,
  args: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  const bin = binaryOf(target);
  const user: SystemUser | null = await serverUser();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...commonArgs(target), ...args, command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user !== null && { uid: user.uid, gid: user.gid }),
      ...(signal !== undefined && { signal }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < 16 * 1024 * 1024) stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += c.toString();
    });
    child.on('error', (err) => {
      reject(
        new PgBackRestError(
          'PGBACKREST_FAILED',
          (err as NodeJS.ErrnoException).code === 'ENOENT' ||
            (err as NodeJS.ErrnoException).code === 'EACCES'
            ? `pgbackrest is not installed at ${bin}${user !== null ? ' where the postgres system user can run it' : ''} (install Debian's pgbackrest package or set DBMIGRATE_PGBACKREST)`
            : `pgbackrest ${command} could not start: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on('close', (code, sig) => {
      if (code === 0) resolve(stdout);
      else {
        const said = (stderr.trim() || stdout.trim()).split('\n').slice(0, 6).join(' ');
        reject(
          new PgBackRestError(
            'PGBACKREST_FAILED',
            `pgbackrest ${command} of stanza ${target.stanza} failed (${sig !== null ? `signal ${sig}` : `exit ${String(code)}`}): ${said || 'no message'}`,
          ),
        );
      }
    });
  });
}

/** The stanza's backup sets, oldest first. */
export async function listBackups(target: PgBackRestTarget): Promise<BackupSet[]> {
  return parseBackupInfo(await pgbackrest(target, 'info', ['--output=json']), target.stanza);
}

/**
 * Takes a backup of the stanza's cluster and returns the set it made. An incremental or
 * differential backup with no full one before it is taken full by pgBackRest: the returned
 * set says which it was.
 */
export async function takeBackup(
  target: PgBackRestTarget,
  type: BackupType,
  signal?: AbortSignal,
): Promise<BackupSet> {
  const since = new Date();
  await pgbackrest(
    target,
    'backup',
    [
      `--type=${type}`,
      // A checkpoint now rather than at the next scheduled one: the backup starts at once.
      '--start-fast',
      ...(target.processMax !== undefined ? [`--process-max=${String(target.processMax)}`] : []),
    ],
    signal,
  );
  const made = backupMadeSince(await listBackups(target), since);
  if (made === null) {
    throw new PgBackRestError(
      'PGBACKREST_FAILED',
      `pgbackrest backup of stanza ${target.stanza} succeeded but info lists no set made since ${since.toISOString()}`,
    );
  }
  return made;
}

/**
 * pgBackRest's own check of the repository: every file of the set and every WAL segment read
 * back against its checksum. Returns what is wrong with `label`, empty when nothing is.
 */
export async function verifyBackup(
  target: PgBackRestTarget,
  label: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const text = await pgbackrest(target, 'verify', ['--output=text', '--verbose'], signal);
  return verifyProblems(parseVerifyText(text), label);
}

/**
 * Restores set `label` into `directory` (created, or a directory an earlier restore made:
 * then only the files that differ are copied, `--delta`), recovering to the end of the
 * backup and promoting. The copy never archives WAL into the stanza (archive_mode off), and
 * its tablespaces land inside `directory`, never at the paths production uses.
 */
export async function restoreBackup(
  target: PgBackRestTarget,
  options: {
    readonly label: string;
    readonly directory: string;
    /** Restore only this database's files (and the system databases); the others are left empty. */
    readonly database?: string;
    readonly signal?: AbortSignal;
  },
): Promise<{ delta: boolean }> {
  const data = join(options.directory, 'data');
  const delta = await claimStagingDirectory(options.directory);
  const user = await serverUser();
  await mkdir(data, { recursive: true, mode: 0o700 });
  if (user !== null) {
    await chown(options.directory, user.uid, user.gid);
    await chown(data, user.uid, user.gid);
  }
  await pgbackrest(
    target,
    'restore',
    [
      // Here is the PostgreSQL host of the copy: a repository host's configuration names the
      // production host (pg1-host, over TLS or SSH), where pgBackRest would refuse to restore.
      '--reset-pg1-host',
      `--pg1-path=${data}`,
      `--set=${options.label}`,
      '--type=immediate',
      '--target-action=promote',
      '--archive-mode=off',
      `--tablespace-map-all=${join(options.directory, 'tablespaces')}`,
      ...(delta ? ['--delta'] : []),
      ...(options.database !== undefined ? [`--db-include=${options.database}`] : []),
      ...(target.processMax !== undefined ? [`--process-max=${String(target.processMax)}`] : []),
    ],
    options.signal,
  );
  return { delta };
}

/**
 * A restore overwrites what is in its directory: only an empty or missing directory, or one
 * an earlier restore marked, may be used. Returns whether it holds an earlier copy (a delta
 * restore then copies only what differs).
 */
async function claimStagingDirectory(directory: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    entries = [];
  }
  const marked = entries.includes(STAGING_MARK);
  if (!marked && entries.length > 0) {
    throw new PgBackRestError(
      'PGBACKREST_REFUSED',
      `${directory} is not empty and no earlier dbmigrate restore made it; a restore there would overwrite what it holds (give an empty directory)`,
    );
  }
  if (marked) {
    const pidFile = join(directory, 'data', 'postmaster.pid');
    const pid = await serverPid(pidFile);
    if (pid !== null && processAlive(pid)) {
      throw new PgBackRestError(
        'PGBACKREST_REFUSED',
        `a server is running on the copy in ${directory} (postmaster.pid, process ${String(pid)}); stop it before restoring over it`,
      );
    }
    // Left by a server that died with its process (an operator container restarted after an
    // OOM kill, say): nothing runs on the copy, and the restore replaces it.
    if (pid !== null) await rm(pidFile, { force: true });
  }
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await writeFile(
    join(directory, STAGING_MARK),
    'A copy restored by dbmigrate from a pgBackRest backup; a later restore may overwrite it.\n',
  );
  return marked && entries.includes('data');
}

/** The process a postmaster.pid names, or null when there is none. */
async function serverPid(file: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const pid = Number(text.split('\n')[0]?.trim());
  // Unreadable: treated as a live server, the safe side.
  return Number.isInteger(pid) && pid > 0 ? pid : -1;
}

/** Whether process `pid` exists (another user's counts); -1 (unknown) counts as alive. */
function processAlive(pid: number): boolean {
  if (pid === -1) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes set `label` from the repository (and what only it needs). */
export async function expireBackup(target: PgBackRestTarget, label: string): Promise<void> {
  await pgbackrest(target, 'expire', [`--set=${label}`]);
}
