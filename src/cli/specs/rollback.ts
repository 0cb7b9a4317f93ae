import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

export const rollbackSpec = defineCommand({
  name: 'rollback',
  summary: 'emergency rollback to --to ID through down sections',
  usage: ['rollback --to ID'],
  details: [
    'Runs the down sections of every applied migration above ID, newest first. Refuses when one of them has no down section.',
  ],
  flags: {
    to: {
      type: 'string',
      value: 'ID',
      description: 'the last migration to keep (required; 0 rolls back everything)',
    },
  },
  globals: ENGINE_GLOBALS,
});
