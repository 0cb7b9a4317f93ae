import { defineCommand } from '../command-spec.js';

export const BACKFILL_DEFAULTS = { batchSize: 1000, throttle: '50ms' } as const;

export const backfillSpec = defineCommand({
  name: 'backfill',
  summary: 'keyset-batched UPDATE with throttle and a resumable checkpoint',
  usage: ['backfill --name NAME --table TABLE --set EXPR [--where COND] [--key COLUMN]'],
  details: [
    'Each batch is its own short transaction; the checkpoint is stored under NAME, so Ctrl-C stops after the batch in flight and the next run continues from there.',
  ],
  flags: {
    name: { type: 'string', value: 'NAME', description: 'checkpoint name (required)' },
    table: { type: 'string', value: 'TABLE', description: 'table to update (required)' },
    set: {
      type: 'string',
      value: 'EXPR',
      description: 'the SET list, e.g. "title_lower = lower(title)" (required)',
    },
    where: {
      type: 'string',
      value: 'COND',
      description: 'only rows matching this condition',
    },
    key: {
      type: 'string',
      value: 'COLUMN',
      description: 'single-column unique key the batches walk',
      defaultText: 'id',
    },
    'batch-size': {
      type: 'string',
      value: 'N',
      description: 'rows per batch',
      defaultText: String(BACKFILL_DEFAULTS.batchSize),
    },
    throttle: {
      type: 'string',
      value: 'DURATION',
      description: 'pause between batches',
      defaultText: BACKFILL_DEFAULTS.throttle,
    },
  },
  globals: ['database-url', 'schema', 'json', 'log-level'],
});
