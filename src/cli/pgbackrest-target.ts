// `--pgbackrest-stanza` / `--pgbackrest-config` / `--restore-dir` (and their environment
// variables) into what the pgbackrest snapshot method needs, for `snapshot`, `dry-run` and
// `apply --safe`.
import type { BackupType } from '../safety/snapshot/pgbackrest-output.js';
import type { PgBackRestTarget } from '../safety/snapshot/pgbackrest.js';
import type { CommandIo } from './context.js';
import { UsageError } from './usage-error.js';

interface PgBackRestValues {
  readonly 'pgbackrest-stanza'?: string | undefined;
  readonly 'pgbackrest-config'?: string | undefined;
  readonly 'restore-dir'?: string | undefined;
}

/** pgBackRest's own rule for a stanza name, checked before anything runs. */
const STANZA_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The stanza the flags or environment name, else `recorded` (the stanza a snapshot's manifest
 * names), else null: no pgBackRest.
 */
export function pgbackrestTarget(
  values: PgBackRestValues,
  io: CommandIo,
  recorded?: string,
): PgBackRestTarget | null {
  const flag = values['pgbackrest-stanza'] !== undefined;
  const stanza = values['pgbackrest-stanza'] ?? io.env['DBMIGRATE_PGBACKREST_STANZA'] ?? recorded;
  if (stanza === undefined || stanza === '') return null;
  if (!STANZA_NAME.test(stanza)) {
    throw new UsageError(
      `${flag ? '--pgbackrest-stanza' : 'DBMIGRATE_PGBACKREST_STANZA'}: "${stanza}" is not a stanza name (letters, digits, _ . -)`,
    );
  }
  const config = values['pgbackrest-config'] ?? io.env['DBMIGRATE_PGBACKREST_CONFIG'];
  const bin = io.env['DBMIGRATE_PGBACKREST'];
  return {
    stanza,
    ...(config !== undefined && config !== '' && { config }),
    ...(bin !== undefined && bin !== '' && { bin }),
  };
}

/** Where pgBackRest copies are restored, when the user keeps one for delta restores. */
export function restoreDirectory(values: PgBackRestValues, io: CommandIo): string | undefined {
  const dir = values['restore-dir'] ?? io.env['DBMIGRATE_RESTORE_DIR'];
  return dir === undefined || dir === '' ? undefined : dir;
}

/**
 * `--backup-type`: the kind of backup a pgBackRest snapshot takes (incr when unset); refused
 * without --pgbackrest-stanza, where it would mean nothing.
 */
export function backupType(
  values: { readonly 'backup-type'?: string | undefined },
  target: PgBackRestTarget | null,
): BackupType {
  const type = values['backup-type'];
  if (type === undefined) return 'incr';
  if (target === null)
    throw new UsageError('--backup-type is for pgBackRest snapshots: pass --pgbackrest-stanza too');
  if (type !== 'full' && type !== 'diff' && type !== 'incr')
    throw new UsageError(`--backup-type: "${type}" is not one of full, diff, incr`);
  return type;
}

/**
 * `--restore-dir` and `--pgbackrest-config` on a pg_dump snapshot's path, where they would be
 * ignored: refused, naming the flag and `why` (what the user must change).
 */
export function refusePgBackRestOnlyFlags(values: PgBackRestValues, why: string): void {
  for (const flag of ['restore-dir', 'pgbackrest-config'] as const) {
    if (values[flag] !== undefined)
      throw new UsageError(`--${flag} is for pgBackRest snapshots: ${why}`);
  }
}
