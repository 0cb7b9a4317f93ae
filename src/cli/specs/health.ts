import { defineCommand } from '../command-spec.js';

export const DEFAULT_WATCH_INTERVAL = '10s';

export const healthSpec = defineCommand({
  name: 'health',
  summary:
    'database health: connections, long transactions, lock chains, bloat, vacuum, wraparound, replication, pgvector',
  usage: ['health [--json]', 'health --watch [INTERVAL]', 'health --serve [HOST:]PORT'],
  details: [
    'Reads catalog and statistics views only (each query under its own statement_timeout, health.queryTimeoutMs) and judges the values against the thresholds in the "health" section of dbmigrate.json. Prints the findings worst first, then every section. Works as a role granted pg_monitor; a section the role cannot read is reported unavailable with the reason.',
    'Exits 0 when healthy, 10 on a warning, 11 on a critical finding, 12 when nothing was found but a section could not be read, 6 when the database is unreachable (docs/health.md).',
    '--watch repeats the check every INTERVAL until Ctrl-C (with --json: one JSON document a line). --serve runs a Prometheus exporter instead: /metrics (dbmigrate_health_* gauges, refreshed on each scrape) and /healthz (200 unless critical, unknown or unreachable).',
  ],
  positionals: 1,
  flags: {
    watch: {
      type: 'boolean',
      value: '[INTERVAL]',
      description: 'repeat the check every INTERVAL until Ctrl-C (clears the screen on a terminal)',
      defaultText: DEFAULT_WATCH_INTERVAL,
    },
    serve: {
      type: 'string',
      value: '[HOST:]PORT',
      description: 'serve /metrics and /healthz on this address instead of printing',
      defaultText: 'host 0.0.0.0',
    },
  },
  globals: ['database-url', 'config', 'json', 'log-level'],
  examples: [
    'dbmigrate health',
    'dbmigrate health --json | jq .findings',
    'dbmigrate health --watch 5s',
    'dbmigrate health --serve :9187',
  ],
});
