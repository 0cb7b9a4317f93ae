import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

export const statusSpec = defineCommand({
  name: 'status',
  summary: 'show every migration and whether it is applied, pending or drifted',
  usage: ['status [--out-of-order] [--json]'],
  details: [
    'Read-only: takes no lock. Lists the files beside the history table and names what validate would refuse (edited, missing, out of order, half applied).',
  ],
  flags: {
    'out-of-order': {
      type: 'boolean',
      description: 'do not report pending migrations older than the newest applied one',
    },
  },
  globals: ENGINE_GLOBALS,
});
