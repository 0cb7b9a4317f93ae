import { THROTTLE_DEFAULTS } from '../../safety/throttle/adaptive-throttle.js';
import { defineCommand } from '../command-spec.js';

export const BACKFILL_DEFAULTS = {
  batchSize: THROTTLE_DEFAULTS.maxBatchSize,
  throttle: `${String(THROTTLE_DEFAULTS.minPauseMs)}ms`,
  maxWriterLatency: `${String(THROTTLE_DEFAULTS.maxAddedLatencyMs)}ms`,
} as const;

export const backfillSpec = defineCommand({
  name: 'backfill',
  summary: 'keyset-batched UPDATE with throttle and a resumable checkpoint',
  usage: ['backfill --name NAME --table TABLE --set EXPR [--where COND] [--key COLUMN]'],
  details: [
    'Each batch is its own short transaction; the checkpoint is stored under NAME, so Ctrl-C stops after the batch in flight and the next run continues from there.',
    'The pace adapts to what the batches do to other writers: a probe write on a second connection during each batch; when it waits longer than --max-writer-latency over its idle latency (or the server writes WAL faster than --max-wal-rate), batches halve and pauses double, and they recover while writers are unaffected.',
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
      description: 'rows per batch: the first batch and the most the throttle grows to',
      defaultText: String(BACKFILL_DEFAULTS.batchSize),
    },
    throttle: {
      type: 'string',
      value: 'DURATION',
      description: 'shortest pause between batches (every pause with --max-writer-latency off)',
      defaultText: BACKFILL_DEFAULTS.throttle,
    },
    'max-writer-latency': {
      type: 'string',
      value: 'DURATION',
      description:
        'slow down when a probe write waits longer than this over its idle latency; off: fixed pace, no probe',
      defaultText: BACKFILL_DEFAULTS.maxWriterLatency,
    },
    'max-wal-rate': {
      type: 'string',
      value: 'BYTES',
      description: "ceiling of the server's WAL bytes per second, e.g. 16MB (PostgreSQL units)",
      defaultText: 'none',
    },
  },
  globals: ['database-url', 'schema', 'json', 'log-level'],
});
