import { NEWEST_PG_MAJOR, PG_VERSION_RANGE } from '../../api/pg-version.js';
import { defineCommand, GLOBAL_FLAGS } from '../command-spec.js';

export const lintSpec = defineCommand({
  name: 'lint',
  summary:
    'check migration SQL for locks, rewrites and breaking changes (no database needed; given one, its facts clear safe statements)',
  usage: [
    'lint [--migrations DIR] [--database-url URL] [--pg-version MAJOR] [--warnings-as-errors] [--include RULE[,RULE]] [--format human|json|sarif|github|gcc]',
  ],
  details: [
    'Parses each up section with PostgreSQL\'s own parser. Silence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md). Exits 3 on an error finding.',
    'Rules can be switched off or given another severity in dbmigrate.json: "lint": { "rules": { "<rule-id>": "off" | "warning" | "error" } } (docs/lint.md#configuration).',
    "With --database-url (or DATABASE_URL) it reads the database's catalog: the server's PostgreSQL version, column types, NOT NULL, validated CHECKs and table sizes. Findings those facts prove harmless (an index on a small table, varchar widening, SET NOT NULL on a column already NOT NULL) are shown as cleared notes that fail nothing (docs/lint.md#live-facts).",
  ],
  flags: {
    'warnings-as-errors': { type: 'boolean', description: 'exit 3 on warnings too' },
    include: {
      type: 'string',
      value: 'RULE[,RULE]',
      description:
        'also run these opt-in rules (require-table-schema), or rules that lint.rules in dbmigrate.json switches off',
    },
    format: {
      type: 'string',
      value: 'FORMAT',
      description:
        'human; json (as --json); sarif (SARIF 2.1.0, for GitHub code scanning); github (workflow-command annotations); gcc (file:line:col: severity: message [rule], for editors)',
      defaultText: 'human',
    },
    'pg-version': {
      type: 'string',
      value: 'MAJOR',
      description: `the PostgreSQL major version (${PG_VERSION_RANGE}) the migrations will run on: what rewrites, scans or exists changes between versions`,
      defaultText: `lint.pgVersion in dbmigrate.json, else the server's with --database-url, else ${String(NEWEST_PG_MAJOR)}`,
    },
    'lock-timeout': {
      ...GLOBAL_FLAGS['lock-timeout'],
      description:
        'the lock_timeout migrations will run with, for the rule that wants one on lock-taking statements',
    },
    'statement-timeout': {
      ...GLOBAL_FLAGS['statement-timeout'],
      description:
        'the statement_timeout migrations will run with (0 for none), for the rule that wants one on statements that block writes',
    },
  },
  globals: ['migrations', 'database-url', 'schema', 'config', 'json', 'log-level'],
  examples: [
    'dbmigrate lint --format sarif > lint.sarif      # upload with github/codeql-action/upload-sarif',
    'dbmigrate lint --format github                  # annotations on the pull request',
  ],
});
