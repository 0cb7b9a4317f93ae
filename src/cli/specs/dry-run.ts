import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';
import { PLAN_FLAGS } from './plan.js';
import {
  PGBACKREST_FLAGS,
  SCRATCH_FLAGS,
  SNAPSHOT_STORAGE_FLAG,
  THRESHOLD_TEXT,
} from './shared.js';

export const dryRunSpec = defineCommand({
  name: 'dry-run',
  summary: 'apply pending migrations to a staging copy and report locks, rewrites and timing',
  usage: [
    'dry-run --staging-url URL',
    'dry-run [--snapshot ID] (--scratch-url URL | --scratch-local | --scratch-on-production) [--keep]',
    'dry-run [--snapshot ID] --pgbackrest-stanza STANZA [--restore-dir DIR]',
  ],
  details: [
    'Either an existing staging database (--staging-url), or the newest verified snapshot (or --snapshot ID) restored into a temporary database on the scratch server, dropped afterwards unless --keep. Production is only read, to compare plans. Exits 5 when a migration fails on staging.',
    "With --pgbackrest-stanza the newest verified pgBackRest snapshot of the stanza is restored into a private server of its own (no TCP port, no archiving), removed afterwards; with --restore-dir the copy is kept there and the next dry-run's restore copies only what changed.",
  ],
  flags: {
    'staging-url': {
      type: 'string',
      value: 'URL',
      description: 'an existing staging database to apply to (never production)',
      env: 'DBMIGRATE_STAGING_URL',
    },
    snapshot: {
      type: 'string',
      value: 'ID',
      description: 'the snapshot to restore for staging',
      defaultText: 'the newest verified one',
    },
    storage: SNAPSHOT_STORAGE_FLAG,
    ...SCRATCH_FLAGS,
    ...PGBACKREST_FLAGS,
    keep: { type: 'boolean', description: 'keep the restored staging database for inspection' },
    threshold: {
      type: 'string',
      value: 'DURATION',
      description: 'a lock that blocks writes longer than this needs a maintenance window',
      defaultText: THRESHOLD_TEXT,
    },
    target: PLAN_FLAGS.target,
  },
  globals: ENGINE_GLOBALS,
});
