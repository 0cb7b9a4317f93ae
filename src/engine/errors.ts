import { isMigrationId } from './migration.js';

/**
 * Every refusal the engine makes is one of these classes. `code` is stable (scripts and the
 * operator match on it); `message` names the file, line or migration and says how to fix it.
 */
export type MigrationErrorCode =
  | 'PARSE_ERROR'
  | 'DUPLICATE_ID'
  | 'MISSING_DEPENDENCY'
  | 'DEPENDENCY_CYCLE'
  | 'VALIDATION_FAILED'
  | 'LOCK_BUSY'
  | 'LOCK_TIMEOUT'
  | 'SQL_ERROR'
  | 'DATABASE_ERROR'
  | 'IRREVERSIBLE'
  | 'UNKNOWN_TARGET'
  | 'BASELINE_REFUSED'
  | 'IMPORT_REFUSED'
  | 'SOURCE_ERROR'
  | 'RUN_STOPPED'
  | 'CONNECTION_LOST'
  | 'HISTORY_CORRUPT';

export abstract class MigrationError extends Error {
  abstract readonly code: MigrationErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A migration file that cannot be read as a migration; `line` is 1-based. */
export class MigrationParseError extends MigrationError {
  readonly code = 'PARSE_ERROR';

  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export class DuplicateMigrationIdError extends MigrationError {
  readonly code = 'DUPLICATE_ID';

  constructor(
    readonly id: string,
    readonly files: readonly string[],
  ) {
    super(
      `migration ID ${id} is used by more than one file (${files.join(', ')}); rename one of them to a new, unused number`,
    );
  }
}

export class MissingDependencyError extends MigrationError {
  readonly code = 'MISSING_DEPENDENCY';

  constructor(
    readonly file: string,
    readonly dependency: string,
  ) {
    super(
      `${file}: depends on migration ${dependency}, which does not exist; fix the depends= directive or add the missing file`,
    );
  }
}

export class DependencyCycleError extends MigrationError {
  readonly code = 'DEPENDENCY_CYCLE';

  constructor(readonly cycle: readonly string[]) {
    super(
      `migrations depend on each other in a cycle: ${cycle.join(' -> ')}; a migration may only depend on migrations with lower IDs`,
    );
  }
}

export type ValidationIssueCode =
  | 'CHECKSUM_DRIFT'
  | 'MISSING_FILE'
  | 'OUT_OF_ORDER'
  | 'HALF_APPLIED'
  | 'INTERRUPTED'
  | 'INVALID_INDEX'
  | 'HISTORY_MISMATCH'
  | 'NOT_EMPTY_WITHOUT_HISTORY';

/** One reason the database and the migration files disagree. */
export interface ValidationIssue {
  readonly code: ValidationIssueCode;
  readonly migrationId: string | null;
  readonly message: string;
  readonly fix: string;
}

export class MigrationValidationError extends MigrationError {
  readonly code = 'VALIDATION_FAILED';

  constructor(readonly issues: readonly ValidationIssue[]) {
    super(
      `validation failed, nothing was applied:\n${issues.map((i) => `  - [${i.code}] ${i.message}\n    fix: ${i.fix}`).join('\n')}`,
    );
  }
}

/** Another runner holds the migration lock and it was not released in time. */
export class MigrationLockBusyError extends MigrationError {
  readonly code = 'LOCK_BUSY';

  constructor(
    readonly waitedMs: number,
    readonly holder: string | null,
  ) {
    super(
      `another dbmigrate run holds the migration lock${holder ? ` (${holder})` : ''}; waited ${waitedMs} ms. Wait for it to finish or raise --lock-wait`,
    );
  }
}

/** A migration could not take its table locks within lock_timeout, after every retry. */
export class LockTimeoutError extends MigrationError {
  readonly code = 'LOCK_TIMEOUT';

  constructor(
    readonly migrationId: string,
    readonly attempts: number,
    cause: unknown,
    /** Statements of a non-transactional migration that had run before the one that timed out. */
    readonly statementsDone = 0,
  ) {
    super(
      statementsDone === 0
        ? `migration ${migrationId} could not acquire its locks within lock_timeout after ${attempts} attempts; nothing of it was applied. Retry when the conflicting sessions are done, or raise lock_timeout for this migration`
        : `migration ${migrationId} could not acquire its locks within lock_timeout after ${attempts} attempts at statement ${statementsDone + 1}; its first ${statementsDone} statement(s) were applied and are recorded. Run apply again when the conflicting sessions are done: it continues at statement ${statementsDone + 1}. Or raise lock_timeout for this migration`,
      { cause },
    );
  }
}

export class MigrationSqlError extends MigrationError {
  readonly code = 'SQL_ERROR';

  constructor(
    readonly migrationId: string,
    readonly file: string,
    readonly line: number | null,
    readonly sqlState: string | null,
    detail: string,
    readonly rolledBack: boolean,
    cause?: unknown,
  ) {
    super(
      `${file}${line === null ? '' : `:${line}`}: migration ${migrationId} failed${sqlState ? ` (SQLSTATE ${sqlState})` : ''}: ${detail}${rolledBack ? '; its transaction was rolled back, nothing of it was applied' : ''}`,
      { cause },
    );
  }
}

export class IrreversibleMigrationError extends MigrationError {
  readonly code = 'IRREVERSIBLE';

  constructor(readonly migrationIds: readonly string[]) {
    super(
      `cannot roll back: migration${migrationIds.length > 1 ? 's' : ''} ${migrationIds.join(', ')} ha${migrationIds.length > 1 ? 've' : 's'} no -- migrate:down section; nothing was rolled back. Roll forward with a new migration instead (see docs/playbook.md)`,
    );
  }
}

export class UnknownTargetError extends MigrationError {
  readonly code = 'UNKNOWN_TARGET';

  constructor(readonly target: string) {
    super(
      isMigrationId(target)
        ? `no migration has ID ${target}; use an ID listed by \`dbmigrate status\``
        : `"${target}" is not a migration ID (the digits a file name starts with, e.g. 0007); use an ID listed by \`dbmigrate status\``,
    );
  }
}

export class BaselineRefusedError extends MigrationError {
  readonly code = 'BASELINE_REFUSED';
}

export class HistoryImportError extends MigrationError {
  readonly code = 'IMPORT_REFUSED';
}

export class MigrationSourceError extends MigrationError {
  readonly code = 'SOURCE_ERROR';
}

/** The database refused the engine's own bookkeeping (history, lock, catalog reads), not a migration. */
export class EngineDatabaseError extends MigrationError {
  readonly code = 'DATABASE_ERROR';

  constructor(
    readonly sqlState: string | null,
    detail: string,
    cause?: unknown,
  ) {
    super(
      `database error outside any migration${sqlState ? ` (SQLSTATE ${sqlState})` : ''}: ${detail}; check the role's privileges on the history schema and the server log`,
      { cause },
    );
  }
}

/**
 * The run was told to stop (the operator lost its Lease, the user pressed Ctrl-C) and did, before
 * its next statement: a transactional migration was rolled back, a non-transactional one keeps
 * its progress in history and resumes where it stopped.
 */
export class RunStoppedError extends MigrationError {
  readonly code = 'RUN_STOPPED';

  constructor(
    /** null when the run stopped before any migration (waiting for the lock). */
    readonly migrationId: string | null,
    readonly reason: string,
    /** The statement in progress was cancelled on the server (Ctrl-C), not waited for. */
    cancelled = false,
  ) {
    super(
      migrationId === null
        ? `run stopped before any migration: ${reason}; nothing was written`
        : cancelled
          ? `run stopped in migration ${migrationId}: ${reason}; the statement in progress was cancelled and rolled back, and the next run continues from history (a non-transactional migration with \`apply --resume\`)`
          : `run stopped before the next statement of migration ${migrationId}: ${reason}; nothing more was written, and the next run resumes from history`,
    );
  }
}

/**
 * The session died under a migration (server restart, terminated backend, network): not a
 * fault of the SQL. A transactional migration was rolled back by the server; a
 * non-transactional one resumes from its recorded progress (`apply --resume`).
 */
export class ConnectionLostError extends MigrationError {
  readonly code = 'CONNECTION_LOST';

  constructor(
    readonly migrationId: string,
    detail: string,
    cause?: unknown,
  ) {
    super(
      `lost the database connection during migration ${migrationId}: ${detail}; check the server, then run apply again (a non-transactional migration resumes with --resume)`,
      { cause },
    );
  }
}

/** Whether an error means the session is gone rather than that a statement failed. */
export function isConnectionLoss(err: unknown): boolean {
  const state = (err as { code?: unknown } | null)?.code;
  if (typeof state === 'string') {
    // Class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now).
    if (/^08/.test(state) || ['57P01', '57P02', '57P03'].includes(state)) return true;
    if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes(state)) return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(
    message,
  );
}

/** The history table holds something no runner of ours wrote (edited by hand, or damaged). */
export class HistoryCorruptError extends MigrationError {
  readonly code = 'HISTORY_CORRUPT';
}
