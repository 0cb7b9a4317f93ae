import { defineCommand } from '../command-spec.js';
import { SNAPSHOT_STORAGE_FLAG } from './shared.js';

export const verifySpec = defineCommand({
  name: 'verify',
  summary:
    'post-verify: constraints, invalid indexes, amcheck, row counts vs a snapshot, smoke queries',
  usage: ['verify [--snapshot ID] [--tables a,b]'],
  details: [
    'Checks the database after a migration: NOT VALID constraints, invalid indexes, amcheck on the touched tables, row counts against the snapshot, and the smoke queries of dbmigrate.json. Exits 3 when a check fails.',
  ],
  flags: {
    snapshot: {
      type: 'string',
      value: 'ID',
      description: 'compare row counts with this snapshot',
    },
    storage: SNAPSHOT_STORAGE_FLAG,
    tables: {
      type: 'string',
      value: 'LIST',
      description: 'comma-separated tables the migration touched (amcheck runs on these)',
      defaultText: 'every table',
    },
  },
  globals: ['database-url', 'config', 'schema', 'json', 'log-level'],
});
