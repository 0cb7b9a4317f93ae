import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

export const DEFAULT_HISTORY_LIMIT = 1000;

export const historySpec = defineCommand({
  name: 'history',
  summary: 'list every apply, failure, rollback, baseline and import',
  usage: ['history [--limit N] [--json]'],
  details: ['Reads the append-only events table, newest last.'],
  flags: {
    limit: {
      type: 'string',
      value: 'N',
      description: 'show at most the N latest events',
      defaultText: String(DEFAULT_HISTORY_LIMIT),
    },
  },
  globals: ENGINE_GLOBALS,
});
