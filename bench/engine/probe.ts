// Where `dbmigrate status` or `dbmigrate apply` spends its time, measured inside one process
// that does what the CLI does: load the command's modules, read and parse the files, open a
// session, query, compare, render. Prints one JSON object of phase durations (ms) on stdout.
//
//   DATABASE_URL=... node dist/bench/engine/probe.js status|apply MIGRATIONS_DIR
import { enableCompileCache } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { DatabaseConnector } from '../../src/db/connection.js';
import type { MigrationSource } from '../../src/engine/source.js';

export interface Probe {
  /** Process start until this module runs: Node bootstrap plus loading this file. */
  readonly bootMs: number;
  /** Importing the command and everything it pulls in (pg, pino, zod, the engine). */
  readonly importMs: number;
  /** Reading, parsing and checksumming the migration files. */
  readonly loadFilesMs: number;
  /** Opening the PostgreSQL session (TCP, startup, auth); for status, only the wait left once the files are read. */
  readonly connectMs: number;
  /** Time inside `client.query` (round trips, server work, pg's result parsing). */
  readonly queryMs: number;
  readonly queries: number;
  /** Closing the session. */
  readonly releaseMs: number;
  /** The rest of the engine call: graph, comparison with history, validation, bookkeeping. */
  readonly engineMs: number;
  /** The human output (`statusTable` / `runTable`). */
  readonly renderMs: number;
  /** `JSON.stringify` of the report (`--json`). */
  readonly renderJsonMs: number;
  /** Process start until the report is ready (exit follows). */
  readonly totalMs: number;
  /** Migrations applied (status) or applied by this run (apply). */
  readonly applied: number;
}

type QueryFn = (...args: unknown[]) => Promise<unknown>;

const bootMs = performance.now();
// As dist/src/cli/main.js does before it loads a command.
enableCompileCache();

const [command, dir] = process.argv.slice(2);
const url = process.env['DATABASE_URL'];
if ((command !== 'status' && command !== 'apply') || dir === undefined || url === undefined) {
  process.stderr.write('usage: DATABASE_URL=... node probe.js status|apply MIGRATIONS_DIR\n');
  process.exit(2);
}

let t = performance.now();
if (command === 'status') await import('../../src/cli/commands/status.js');
else await import('../../src/cli/commands/apply.js');
const { connectorFromUrl } = await import('../../src/db/connection.js');
const { Migrator } = await import('../../src/engine/migrator.js');
const { DirectoryMigrationSource } = await import('../../src/engine/source.js');
const { createLogger } = await import('../../src/observability/logger.js');
const { statusTable, runTable } = await import('../../src/cli/render.js');
const importMs = performance.now() - t;

let loadFilesMs = 0;
let connectMs = 0;
let queryMs = 0;
let queries = 0;
let releaseMs = 0;
/** status and plan open the session while the files load: only the wait after counts. */
let loadEndedAt = 0;

const files = new DirectoryMigrationSource(dir);
const source: MigrationSource = {
  description: files.description,
  async load() {
    const start = performance.now();
    try {
      return await files.load();
    } finally {
      loadFilesMs += performance.now() - start;
      loadEndedAt = performance.now();
    }
  },
};

const direct = connectorFromUrl(url);
const database: DatabaseConnector = {
  description: direct.description,
  async connect(applicationName) {
    const start = performance.now();
    const session = await direct.connect(applicationName);
    connectMs += Math.max(0, performance.now() - Math.max(start, loadEndedAt));
    const client = session.client as unknown as { query: QueryFn };
    const query = client.query.bind(client);
    client.query = async (...args: unknown[]) => {
      const q = performance.now();
      try {
        return await query(...args);
      } finally {
        queryMs += performance.now() - q;
        queries++;
      }
    };
    return {
      client: session.client,
      async release() {
        const r = performance.now();
        await session.release();
        releaseMs += performance.now() - r;
      },
    };
  },
};

const migrator = new Migrator({
  database,
  source,
  logger: createLogger({ component: `bench.probe.${command}`, level: 'warn' }),
});

let engineTotalMs: number;
let renderMs: number;
let renderJsonMs: number;
let applied: number;
if (command === 'status') {
  t = performance.now();
  const report = await migrator.status();
  engineTotalMs = performance.now() - t;
  t = performance.now();
  statusTable(report.entries);
  renderMs = performance.now() - t;
  t = performance.now();
  JSON.stringify(report, null, 2);
  renderJsonMs = performance.now() - t;
  applied = report.applied;
} else {
  t = performance.now();
  const run = await migrator.apply();
  engineTotalMs = performance.now() - t;
  if (run.error) {
    process.stderr.write(`apply failed: ${run.error.message}\n`);
    process.exit(5);
  }
  t = performance.now();
  runTable(run);
  renderMs = performance.now() - t;
  t = performance.now();
  JSON.stringify(run, null, 2);
  renderJsonMs = performance.now() - t;
  applied = run.applied;
}

const probe: Probe = {
  bootMs,
  importMs,
  loadFilesMs,
  connectMs,
  queryMs,
  queries,
  releaseMs,
  engineMs: engineTotalMs - loadFilesMs - connectMs - queryMs - releaseMs,
  renderMs,
  renderJsonMs,
  totalMs: performance.now(),
  applied,
};
process.stdout.write(`${JSON.stringify(probe)}\n`);
