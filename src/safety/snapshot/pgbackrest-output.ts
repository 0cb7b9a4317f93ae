// What pgBackRest prints, read into plain values: `info --output=json` (the backup sets of a
// stanza) and `verify --output=text` (whose exit code is 0 even when it finds damage, so the
// verdict has to be read from its text). Pure: no I/O.
import { z } from 'zod';

export type BackupType = 'full' | 'diff' | 'incr';

/** One backup set as `pgbackrest info` describes it. */
export interface BackupSet {
  readonly label: string;
  readonly type: BackupType;
  /** The set this one builds on (diff/incr), or null for a full backup. */
  readonly prior: string | null;
  /** Size of the database files the set restores to. */
  readonly sizeBytes: number;
  /** Bytes this set copied from the database (all of them for a full backup). */
  readonly deltaBytes: number;
  /** Bytes it takes in the repository (compressed), and of that what this set added. */
  readonly repositorySizeBytes: number;
  readonly repositoryDeltaBytes: number;
  readonly startedAt: Date;
  readonly stoppedAt: Date;
  readonly lsnStart: string;
  readonly lsnStop: string;
  /** The PostgreSQL major the set was taken from. */
  readonly pgVersion: string;
  /** pgBackRest marks a set whose files had page checksum errors. */
  readonly error: boolean;
  /** The pgBackRest version that took it. */
  readonly pgbackrestVersion: string;
}

const BackupSchema = z.object({
  label: z.string().min(1),
  type: z.enum(['full', 'diff', 'incr']),
  prior: z.string().nullable(),
  error: z.boolean().optional(),
  backrest: z.object({ version: z.string() }),
  database: z.object({ id: z.number() }),
  info: z.object({
    size: z.number(),
    delta: z.number(),
    repository: z.object({ size: z.number(), delta: z.number() }),
  }),
  lsn: z.object({ start: z.string(), stop: z.string() }),
  timestamp: z.object({ start: z.number(), stop: z.number() }),
});

const StanzaSchema = z.object({
  name: z.string(),
  status: z.object({ code: z.number(), message: z.string() }),
  backup: z.array(BackupSchema),
  // system-id is a 64-bit integer JSON.parse cannot hold exactly; only the version is read.
  db: z.array(z.object({ id: z.number(), version: z.string() })),
});

export class PgBackRestOutputError extends Error {
  readonly code = 'PGBACKREST_OUTPUT';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PgBackRestOutputError';
  }
}

/** The backup sets of `stanza`, oldest first, from `pgbackrest info --output=json`. */
export function parseBackupInfo(text: string, stanza: string): BackupSet[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PgBackRestOutputError(`pgbackrest info did not print JSON: ${text.slice(0, 200)}`, {
      cause: err,
    });
  }
  const parsed = z.array(StanzaSchema).safeParse(json);
  if (!parsed.success) {
    throw new PgBackRestOutputError(
      `pgbackrest info printed JSON of an unexpected shape (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`,
    );
  }
  const entry = parsed.data.find((s) => s.name === stanza);
  if (entry === undefined) {
    throw new PgBackRestOutputError(`pgbackrest info knows no stanza ${stanza}`);
  }
  const versions = new Map(entry.db.map((d) => [d.id, d.version]));
  return entry.backup
    .map((b): BackupSet => ({
      label: b.label,
      type: b.type,
      prior: b.prior,
      sizeBytes: b.info.size,
      deltaBytes: b.info.delta,
      repositorySizeBytes: b.info.repository.size,
      repositoryDeltaBytes: b.info.repository.delta,
      startedAt: new Date(b.timestamp.start * 1000),
      stoppedAt: new Date(b.timestamp.stop * 1000),
      lsnStart: b.lsn.start,
      lsnStop: b.lsn.stop,
      pgVersion: versions.get(b.database.id) ?? 'unknown',
      error: b.error ?? false,
      pgbackrestVersion: b.backrest.version,
    }))
    .sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime());
}

/**
 * The set a backup that started at `since` made: the first to finish at or after it. pgBackRest
 * runs one backup of a stanza at a time (a lock), so no other set finishes in between.
 */
export function backupMadeSince(sets: readonly BackupSet[], since: Date): BackupSet | null {
  // Its timestamps are whole seconds.
  const floor = Math.floor(since.getTime() / 1000) * 1000;
  return sets.find((s) => s.startedAt.getTime() >= floor) ?? null;
}

/** What `pgbackrest verify` found for one backup set. */
export interface VerifiedSet {
  readonly status: string;
  readonly filesChecked: number;
  readonly filesValid: number;
  readonly problems: string;
}

export interface VerifyReport {
  /** `ok` or `error`: the repository as a whole. */
  readonly status: string;
  readonly backups: ReadonlyMap<string, VerifiedSet>;
  /** Damage in the WAL archive (missing or invalid segments), one line per archive id. */
  readonly archiveProblems: readonly string[];
}

const COUNTS = /missing: (\d+), checksum invalid: (\d+), size invalid: (\d+), other: (\d+)/;

function countsProblem(line: string | undefined): string {
  const m = COUNTS.exec(line ?? '');
  if (m === null) return '';
  const [, missing, checksum, size, other] = m.map(Number);
  const parts: string[] = [];
  if (missing) parts.push(`${String(missing)} missing`);
  if (checksum) parts.push(`${String(checksum)} with a wrong checksum`);
  if (size) parts.push(`${String(size)} of a wrong size`);
  if (other) parts.push(`${String(other)} unreadable`);
  return parts.join(', ');
}

/** Reads `pgbackrest verify --output=text --verbose` (pgBackRest 2.4x's layout). */
export function parseVerifyText(text: string): VerifyReport {
  const lines = text.split('\n');
  const status = /^status: (\S+)/m.exec(text)?.[1];
  if (status === undefined) {
    throw new PgBackRestOutputError(
      `pgbackrest verify printed no status line: ${text.slice(0, 200)}`,
    );
  }
  const backups = new Map<string, VerifiedSet>();
  const archiveProblems: string[] = [];
  lines.forEach((line, i) => {
    const backup =
      /^\s+backup: (\S+), status: (\S+), total files checked: (\d+), total valid files: (\d+)/.exec(
        line,
      );
    if (backup !== null) {
      backups.set(backup[1] ?? '', {
        status: backup[2] ?? '',
        filesChecked: Number(backup[3]),
        filesValid: Number(backup[4]),
        problems: countsProblem(lines[i + 1]),
      });
      return;
    }
    const archive = /^\s+archiveId: (\S+), total WAL checked/.exec(line);
    if (archive !== null) {
      const problem = countsProblem(lines[i + 1]);
      if (problem !== '') archiveProblems.push(`WAL archive ${archive[1] ?? ''}: ${problem}`);
    }
  });
  return { status, backups, archiveProblems };
}

/**
 * Why `label` cannot be trusted, one line each; empty when pgBackRest found every file of the
 * set and the WAL archive intact. A restore of the set needs both.
 */
export function verifyProblems(report: VerifyReport, label: string): string[] {
  const set = report.backups.get(label);
  const problems: string[] = [];
  if (set === undefined) problems.push(`pgbackrest verify did not check backup ${label}`);
  else if (set.status !== 'valid') {
    problems.push(
      `backup ${label} is ${set.status}: ${String(set.filesValid)} of ${String(set.filesChecked)} files valid${set.problems === '' ? '' : ` (${set.problems})`}`,
    );
  }
  problems.push(...report.archiveProblems);
  return problems;
}
