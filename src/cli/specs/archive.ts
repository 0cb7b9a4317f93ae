import { defineCommand } from '../command-spec.js';

export const ARCHIVE_DEFAULTS = { batchSize: 1000, throttle: '20ms' } as const;

export const archiveSpec = defineCommand({
  name: 'archive',
  summary: 'move documents older than --older-than INTERVAL to documents_archive [--dry-run]',
  usage: ['archive --older-than INTERVAL [--dry-run] [--batch-size N] [--throttle DURATION]'],
  details: [
    'Whole months move by detaching their partition and attaching it to documents_archive (no copy); rows of the legacy partition move in batches. Ctrl-C stops after the batch in flight.',
  ],
  flags: {
    'older-than': {
      type: 'string',
      value: 'INTERVAL',
      description: 'a PostgreSQL interval such as "2 years" (required)',
    },
    'dry-run': { type: 'boolean', description: 'report what would move and change nothing' },
    'batch-size': {
      type: 'string',
      value: 'N',
      description: 'rows per batch for the legacy partition',
      defaultText: String(ARCHIVE_DEFAULTS.batchSize),
    },
    throttle: {
      type: 'string',
      value: 'DURATION',
      description: 'pause between batches',
      defaultText: ARCHIVE_DEFAULTS.throttle,
    },
  },
  globals: ['database-url', 'json', 'log-level'],
});
