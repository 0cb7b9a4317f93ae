import { DEFAULTS } from '../../api/settings.js';
import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';
import { PLAN_FLAGS } from './plan.js';
import {
  BACKUP_TYPE_FLAG,
  PGBACKREST_FLAGS,
  SCRATCH_FLAGS,
  SNAPSHOT_STORAGE_FLAG,
} from './shared.js';

/** Flags that only `apply --safe` reads. */
export const SAFE_ONLY_FLAGS = {
  storage: SNAPSHOT_STORAGE_FLAG,
  'staging-url': {
    type: 'string',
    value: 'URL',
    description:
      'with --safe: run the dry-run on this existing staging database instead of a copy restored from the snapshot',
  },
  ...SCRATCH_FLAGS,
  ...PGBACKREST_FLAGS,
  'backup-type': BACKUP_TYPE_FLAG,
  now: {
    type: 'boolean',
    description:
      'with --safe: run migrations that need a maintenance window now, outside it (needs --confirm)',
  },
  confirm: {
    type: 'string',
    value: 'DBNAME',
    description: 'with --safe --now: the database name, typed out',
  },
  'max-window-wait': {
    type: 'string',
    value: 'DURATION',
    description: 'with --safe: how long to wait for the next maintenance window before giving up',
    defaultText: 'until the window opens',
  },
} as const;

export const applySpec = defineCommand({
  name: 'apply',
  summary: 'apply pending migrations',
  usage: [
    'apply [--target ID] [--out-of-order] [--resume]',
    'apply --safe [--scratch-url URL | --scratch-local | --scratch-on-production] [--staging-url URL] [--now --confirm DBNAME]',
    'apply --safe --pgbackrest-stanza STANZA [--backup-type TYPE] [--restore-dir DIR] [--staging-url URL] [--now --confirm DBNAME]',
  ],
  details: [
    'Each migration runs in its own transaction (statement by statement when its header says transaction=false) under an advisory lock, and is recorded in history. A migration that fails stops the run.',
    `--safe runs the whole pipeline first: lint, a verified snapshot, a dry-run on a staging copy (a lock held longer than ${String(DEFAULTS.windowThresholdMs)} ms needs a maintenance window), then apply and post-verify. Production is touched only after every earlier step passed.`,
    'With --pgbackrest-stanza the snapshot is an incremental pgBackRest backup of the cluster (for databases too large to dump), verified and dry-run on copies restored into private servers of their own; no scratch server is needed.',
  ],
  flags: {
    ...PLAN_FLAGS,
    safe: {
      type: 'boolean',
      description: 'lint, snapshot, dry-run and post-verify around the apply',
    },
    ...SAFE_ONLY_FLAGS,
  },
  globals: ENGINE_GLOBALS,
  examples: [
    'dbmigrate apply',
    'dbmigrate apply --target 0007',
    'dbmigrate apply --safe --scratch-local',
  ],
});
