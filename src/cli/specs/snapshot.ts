import { DEFAULTS } from '../../api/settings.js';
import { defineCommand } from '../command-spec.js';
import {
  BACKUP_TYPE_FLAG,
  PGBACKREST_FLAGS,
  SCRATCH_FLAGS,
  SNAPSHOT_STORAGE_FLAG,
} from './shared.js';

export const SNAPSHOT_SUBCOMMANDS =
  'create | verify ID | restore ID --target-url URL | list | prune';

export const snapshotSpec = defineCommand({
  name: 'snapshot',
  summary: `pg_dump or pgBackRest snapshots with a manifest: ${SNAPSHOT_SUBCOMMANDS}`,
  usage: [
    'snapshot create [--checksums full|counts] [--verify (--scratch-url URL | --scratch-local | --scratch-on-production)]',
    'snapshot create --pgbackrest-stanza STANZA [--backup-type full|diff|incr] [--verify [--restore-dir DIR]]',
    'snapshot verify ID (--scratch-url URL | --scratch-local | --scratch-on-production)',
    'snapshot verify ID [--pgbackrest-config FILE] [--restore-dir DIR]   (a pgBackRest snapshot)',
    'snapshot restore ID --target-url URL [--allow-unverified]',
    'snapshot list',
    'snapshot prune [--keep-last N] [--max-age-days D]',
  ],
  details: [
    "A snapshot is a pg_dump plus a manifest: server version, extensions, per-table row counts and checksums. verify restores it into a scratch database and compares. prune removes only this database's snapshots made by the CLI.",
    "With --pgbackrest-stanza a snapshot is a pgBackRest backup of the whole cluster (the stanza, its repository and the server's archive_command are your pgBackRest configuration): incremental by default on top of the last full one. verify has pgBackRest check every file of the backup and the WAL archive, then restores it into a private server (no TCP port, no archiving) that must recover and hold the database with the manifest's schema and tables.",
  ],
  positionals: 2,
  flags: {
    storage: SNAPSHOT_STORAGE_FLAG,
    checksums: {
      type: 'string',
      value: 'MODE',
      description: 'create: full (row counts and content checksums) or counts (row counts only)',
      defaultText: `"snapshots.checksums" in dbmigrate.json, else ${DEFAULTS.snapshotChecksums}`,
    },
    verify: { type: 'boolean', description: 'create: verify the new snapshot at once' },
    ...SCRATCH_FLAGS,
    ...PGBACKREST_FLAGS,
    'backup-type': BACKUP_TYPE_FLAG,
    'target-url': {
      type: 'string',
      value: 'URL',
      description: 'restore: a new or empty database to restore into',
    },
    'allow-unverified': {
      type: 'boolean',
      description: 'restore: accept a snapshot that was never verified',
    },
    'keep-last': {
      type: 'string',
      value: 'N',
      description: 'prune: keep the N newest snapshots',
    },
    'max-age-days': {
      type: 'string',
      value: 'D',
      description: 'prune: remove snapshots older than D days',
    },
  },
  globals: ['database-url', 'config', 'json', 'log-level'],
  examples: [
    'dbmigrate snapshot create --verify --scratch-local',
    'dbmigrate snapshot create --pgbackrest-stanza main --verify --restore-dir /var/lib/dbmigrate/copy',
    'dbmigrate snapshot restore 20261130T101500Z-ab12 --target-url postgres://localhost/restored',
  ],
});
