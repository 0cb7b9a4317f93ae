// Flags that more than one command reads, described once.
import { DEFAULTS } from '../../api/settings.js';
import type { FlagSpec } from '../command-spec.js';

export const SNAPSHOT_STORAGE_FLAG = {
  type: 'string',
  value: 'LOCATION',
  description:
    'where the snapshots are: a directory, or s3://BUCKET/PREFIX for S3-compatible object storage (credentials and region from the AWS environment; DBMIGRATE_S3_ENDPOINT, DBMIGRATE_S3_PATH_STYLE, DBMIGRATE_S3_SSE for other servers and encryption)',
  env: 'DBMIGRATE_SNAPSHOT_DIR',
  defaultText: '"snapshots.storage" in dbmigrate.json, else ./snapshots',
} as const satisfies FlagSpec;

/** Where temporary full copies (snapshot verification, staging restores) may be created. */
export const SCRATCH_FLAGS = {
  'scratch-url': {
    type: 'string',
    value: 'URL',
    description:
      'a server for temporary copies (snapshot verification, staging restore), never production',
    env: 'DBMIGRATE_SCRATCH_URL',
  },
  'scratch-local': {
    type: 'boolean',
    description:
      'start a throwaway local PostgreSQL of the same major for the copies (needs initdb), removed on exit',
  },
  'scratch-on-production': {
    type: 'boolean',
    description:
      'create the temporary copies on the production server itself (costs its disk and I/O)',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const THRESHOLD_TEXT = `${String(DEFAULTS.windowThresholdMs)}ms`;

/** The `pgbackrest` snapshot method: physical backups of a stanza the user configured. */
export const PGBACKREST_FLAGS = {
  'pgbackrest-stanza': {
    type: 'string',
    value: 'STANZA',
    description:
      "snapshots are pgBackRest backups of this stanza's cluster instead of pg_dump (for databases too large to dump); its repository keeps the backup, the storage its manifest",
    env: 'DBMIGRATE_PGBACKREST_STANZA',
  },
  'pgbackrest-config': {
    type: 'string',
    value: 'FILE',
    description: "the stanza's pgbackrest.conf",
    env: 'DBMIGRATE_PGBACKREST_CONFIG',
    defaultText: "pgBackRest's own, /etc/pgbackrest/pgbackrest.conf",
  },
  'restore-dir': {
    type: 'string',
    value: 'DIR',
    description:
      'with --pgbackrest-stanza: where a backup is restored to be checked or dry-run; a copy an earlier run left there is updated by a delta restore',
    env: 'DBMIGRATE_RESTORE_DIR',
    defaultText: 'a temporary directory, removed afterwards',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** The kind of pgBackRest backup a snapshot takes. */
export const BACKUP_TYPE_FLAG = {
  type: 'string',
  value: 'TYPE',
  description:
    'with --pgbackrest-stanza: full, diff (changes since the last full) or incr (changes since the last backup)',
  defaultText: 'incr (full when the stanza has none)',
} as const satisfies FlagSpec;
