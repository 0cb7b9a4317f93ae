import { defineCommand } from '../command-spec.js';

export const DEFAULT_PARTITIONS_AHEAD = '3 months';

export const partitionsSpec = defineCommand({
  name: 'partitions',
  summary:
    'list the partitions of documents | ensure [--ahead "3 months"] creates the months ahead',
  usage: ['partitions [list]', 'partitions ensure [--ahead INTERVAL]'],
  positionals: 1,
  flags: {
    ahead: {
      type: 'string',
      value: 'INTERVAL',
      description: 'ensure: create monthly partitions up to now() + INTERVAL',
      defaultText: DEFAULT_PARTITIONS_AHEAD,
    },
  },
  globals: ['database-url', 'json', 'log-level'],
});
