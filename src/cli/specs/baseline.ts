import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

export const baselineSpec = defineCommand({
  name: 'baseline',
  summary: 'adopt an existing database (--version ID, or --from sqlx|flyway)',
  usage: ['baseline --version ID', 'baseline --from sqlx|flyway [--from-schema NAME]'],
  details: [
    'Records migrations up to ID as already applied without running them, for a database whose schema was built before dbmigrate. apply refuses to run onto a schema that holds tables but no history until this ran.',
  ],
  flags: {
    version: {
      type: 'string',
      value: 'ID',
      description: 'mark every migration up to and including ID as applied',
    },
    from: {
      type: 'string',
      value: 'TOOL',
      description: "import another tool's history instead: sqlx or flyway",
    },
    'from-schema': {
      type: 'string',
      value: 'NAME',
      description: "schema of the other tool's history table",
      defaultText: 'public',
    },
  },
  globals: ENGINE_GLOBALS,
});
