/** Documented in README.md; scripts and CI jobs branch on these. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  validation: 3,
  lock: 4,
  sql: 5,
  connection: 6,
  tool: 7,
  /** `dbmigrate health` (check_postgres's ok/warning/critical/unknown, above dbmigrate's own codes). */
  healthWarning: 10,
  healthCritical: 11,
  healthUnknown: 12,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for --help and docs/cli.md. */
export const EXIT_CODE_LINES: readonly (readonly [ExitCode, string])[] = [
  [ExitCode.ok, 'ok'],
  [ExitCode.internal, 'internal error (a bug: please report it)'],
  [ExitCode.usage, 'usage: a bad flag, argument or DATABASE_URL; nothing was changed'],
  [
    ExitCode.validation,
    'validation failed: lint findings, edited or missing files, history that disagrees with its events, a failed verification',
  ],
  [
    ExitCode.lock,
    'another runner holds the lock, lock_timeout ran out, or the run was stopped (Ctrl-C)',
  ],
  [ExitCode.sql, 'a migration failed with an SQL error (on staging, for dry-run)'],
  [ExitCode.connection, 'the database is unreachable or the connection was lost'],
  [
    ExitCode.tool,
    'pg_dump, pg_restore, pgBackRest, the scratch server or the snapshot storage failed',
  ],
  [ExitCode.healthWarning, 'health: at least one warning finding, no critical one'],
  [ExitCode.healthCritical, 'health: at least one critical finding'],
  [ExitCode.healthUnknown, 'health: no finding, but a section could not be read (see its reason)'],
];

export function exitCodeFor(errorCode: string): ExitCode {
  switch (errorCode) {
    case 'LOCK_BUSY':
    case 'LOCK_TIMEOUT':
    case 'RUN_STOPPED':
      return ExitCode.lock;
    case 'SQL_ERROR':
    case 'DATABASE_ERROR':
      return ExitCode.sql;
    case 'CONNECTION_ERROR':
    case 'CONNECTION_LOST':
      return ExitCode.connection;
    case 'SNAPSHOT_TOOL_ERROR':
    case 'SCRATCH_UNAVAILABLE':
    case 'STORAGE_BUCKET_NOT_FOUND':
    case 'STORAGE_ACCESS_DENIED':
    case 'STORAGE_UNREACHABLE':
    case 'STORAGE_REQUEST_FAILED':
    case 'PGBACKREST_FAILED':
    case 'PGBACKREST_OUTPUT':
      return ExitCode.tool;
    case 'USAGE':
    case 'BAD_DATABASE_URL':
      return ExitCode.usage;
    case 'PARSE_ERROR':
    case 'DUPLICATE_ID':
    case 'MISSING_DEPENDENCY':
    case 'DEPENDENCY_CYCLE':
    case 'VALIDATION_FAILED':
    case 'IRREVERSIBLE':
    case 'UNKNOWN_TARGET':
    case 'BASELINE_REFUSED':
    case 'IMPORT_REFUSED':
    case 'SOURCE_ERROR':
    case 'HISTORY_CORRUPT':
    case 'SNAPSHOT_NOT_FOUND':
    case 'SNAPSHOT_CORRUPT':
    case 'SNAPSHOT_UNVERIFIED':
    case 'SNAPSHOT_REFUSED':
    case 'PGBACKREST_REFUSED':
    case 'DRY_RUN_REFUSED':
    case 'CONFIG_ERROR':
    case 'BACKFILL_REFUSED':
    case 'WINDOW_UNAVAILABLE':
    case 'NOT_PARTITIONED':
    case 'BAD_INTERVAL':
    case 'ARCHIVE_MISSING':
    case 'ARCHIVE_COUNT_MISMATCH':
      return ExitCode.validation;
    default:
      return ExitCode.internal;
  }
}
