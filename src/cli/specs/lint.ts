import { defineCommand, GLOBAL_FLAGS } from '../command-spec.js';

export const lintSpec = defineCommand({
  name: 'lint',
  summary: 'check migration SQL for locks, rewrites and breaking changes (no database needed)',
  usage: ['lint [--migrations DIR] [--warnings-as-errors] [--json]'],
  details: [
    'Parses each up section with PostgreSQL\'s own parser. Silence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md). Exits 3 on an error finding.',
  ],
  flags: {
    'warnings-as-errors': { type: 'boolean', description: 'exit 3 on warnings too' },
    'lock-timeout': {
      ...GLOBAL_FLAGS['lock-timeout'],
      description:
        'the lock_timeout migrations will run with, for the rule that wants one on lock-taking statements',
    },
  },
  globals: ['migrations', 'config', 'json', 'log-level'],
});
