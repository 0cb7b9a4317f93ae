// The engine and CLI benchmark (docs/benchmarks.md, section "engine"): dbmigrate next to
// node-pg-migrate and raw psql on the same generated migrations, each run on a fresh database.
//
//   npm run build && node dist/bench/engine/run.js [--repeat 3] [--runs 10]
//
// Measures, in one run: apply of --count (200) migrations (median and min of --repeat runs),
// start-up (`--help`, median of --runs), and with --status-count (1,000) applied: the apply
// itself, `status` / `status --json` (median of --runs); then an in-process breakdown of where
// apply and status spend their time (probe.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchDatabases } from './databases.js';
import { writeMigrationSet, type MigrationSet } from './fixtures.js';
import { ms, perMigration, table, writeSection } from './markdown.js';
import { median, summarize, timeRun, type Invocation, type Summary } from './measure.js';
import type { Probe } from './probe.js';
import { countFlag } from '../shared/flags.js';

const TARGET_START_MS = 120;
const TARGET_STATUS_MS = 100;
const TARGET_OVERHEAD_MS = 1;

const { values: flags } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    runs: { type: 'string', default: '10' },
    'probe-runs': { type: 'string', default: '5' },
    count: { type: 'string', default: '200' },
    'status-count': { type: 'string', default: '1000' },
    'admin-url': {
      type: 'string',
      default: process.env['BENCH_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    'no-write': { type: 'boolean', default: false },
    'keep-files': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'usage: node dist/bench/engine/run.js [flags]',
      '  --repeat N          apply runs per runner on a fresh database (default 3)',
      '  --warmup N          untimed rounds first (default 1)',
      '  --runs N            runs of each start-up and status command (default 10)',
      '  --probe-runs N      runs of the in-process apply and status breakdowns (default 5)',
      '  --count N           migrations in the apply comparison (default 200)',
      '  --status-count N    migrations applied before timing status (default 1000)',
      '  --admin-url URL     where to CREATE/DROP the dbm_bench_engine_* databases',
      '                      (default $BENCH_ADMIN_URL or postgres://postgres@127.0.0.1:5432/postgres)',
      '  --no-write          print the section only; leave docs/benchmarks.md alone',
      '  --keep-files        keep the generated migrations in the temp directory',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const repeat = Math.max(1, countFlag('repeat', flags.repeat, 0));
const warmup = countFlag('warmup', flags.warmup, 0);
const runs = Math.max(1, countFlag('runs', flags.runs, 0));
const probeRuns = Math.max(1, countFlag('probe-runs', flags['probe-runs'], 0));
const count = Math.max(1, countFlag('count', flags.count, 0));
const statusCount = Math.max(count + 1, countFlag('status-count', flags['status-count'], 0));

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = process.execPath;
const cliMain = join(root, 'dist/src/cli/main.js');
const cliBundle = join(root, 'dist/cli/dbmigrate.js');
const npmBin = join(root, 'node_modules/node-pg-migrate/bin/node-pg-migrate.js');
const probeScript = join(root, 'dist/bench/engine/probe.js');
for (const required of [cliMain, cliBundle, npmBin, probeScript]) {
  if (!existsSync(required)) throw new Error(`${required} is missing: run npm ci && npm run build`);
}

function progress(message: string): void {
  process.stderr.write(`bench:engine: ${message}\n`);
}

function withUrl(url: string): NodeJS.ProcessEnv {
  // DBMIGRATE_* from the caller's shell must not change what is measured.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DBMIGRATE_')) env[k] = v;
  env['DATABASE_URL'] = url;
  return env;
}

/** A way to apply a migration set to an empty database; returns wall milliseconds. */
interface Runner {
  readonly key: string;
  readonly label: string;
  apply(set: MigrationSet, url: string): number;
}

function single(invocation: (set: MigrationSet, url: string) => Invocation) {
  return (set: MigrationSet, url: string) => timeRun(invocation(set, url)).ms;
}

const dbmigrateApply = (cli: string) =>
  single((set, url) => ({
    command: node,
    args: [cli, 'apply', '--log-level', 'warn', '--migrations', set.dbmigrateDir],
    cwd: root,
    env: withUrl(url),
  }));

const nodePgMigrateUp = (perMigrationTransaction: boolean) =>
  single((set, url) => ({
    command: node,
    args: [
      npmBin,
      'up',
      '--migrations-dir',
      set.nodePgMigrateDir,
      '--no-verbose',
      ...(perMigrationTransaction ? ['--no-single-transaction'] : []),
    ],
    cwd: root,
    env: withUrl(url),
  }));

const psql = (url: string, ...args: string[]): Invocation => ({
  command: 'psql',
  args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args],
  cwd: root,
});

const RUNNERS: readonly Runner[] = [
  {
    key: 'dbmigrate',
    label: '`dbmigrate apply` (dist/src/cli/main.js)',
    apply: dbmigrateApply(cliMain),
  },
  {
    key: 'dbmigrate-bundle',
    label: '`dbmigrate apply` (bundled bin, dist/cli/dbmigrate.js)',
    apply: dbmigrateApply(cliBundle),
  },
  {
    key: 'npm-each',
    label: 'node-pg-migrate `up --no-single-transaction`',
    apply: nodePgMigrateUp(true),
  },
  {
    key: 'npm-single',
    label: 'node-pg-migrate `up` (default: all in one transaction)',
    apply: nodePgMigrateUp(false),
  },
  {
    key: 'psql-session',
    label: 'raw psql, one session, `begin; \\i file; commit;` each',
    apply: single((set, url) => psql(url, '-f', set.psqlDriver)),
  },
  {
    key: 'psql-per-file',
    label: 'raw psql, `psql -1 -f file` per file',
    apply: (set, url) => {
      let total = 0;
      for (const file of set.files) total += timeRun(psql(url, '-1', '-f', file)).ms;
      return total;
    },
  },
];

function runner(key: string): Runner {
  const found = RUNNERS.find((r) => r.key === key);
  if (!found) throw new Error(`no runner ${key}`);
  return found;
}

/** Runs each command once per round, interleaved so that machine noise hits all alike. */
function interleaved(
  commands: Readonly<Record<string, Invocation>>,
  rounds: number,
  warm: number,
): Record<string, Summary> {
  const samples: Record<string, number[]> = {};
  for (let round = 0; round < warm + rounds; round++) {
    for (const [key, invocation] of Object.entries(commands)) {
      const { ms: took } = timeRun(invocation);
      if (round >= warm) (samples[key] ??= []).push(took);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
}

function get<T>(record: Readonly<Record<string, T>>, key: string): T {
  const value = record[key];
  if (value === undefined) throw new Error(`missing measurement ${key}`);
  return value;
}

function commandLine(): string {
  const args = process.argv.slice(2);
  const command = ['node dist/bench/engine/run.js', ...args].join(' ');
  return args.length === 0 ? `\`${command}\` (what \`make bench-engine\` runs)` : `\`${command}\``;
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function versionOf(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, [...args], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

type ProbeSample = Probe & { readonly wallMs: number };

/** Phase medians side by side, one column per probed command. */
function probeTable(columns: readonly (readonly [string, readonly ProbeSample[]])[]): string {
  const phase = (label: string, value: (p: ProbeSample) => number): string[] => [
    label,
    ...columns.map(([, samples]) => ms(median(samples.map(value)))),
  ];
  return table(
    ['phase', ...columns.map(([name]) => `${name}, ms`)],
    [
      phase('Node bootstrap until the first line of the script', (p) => p.bootMs),
      phase('import the command (pg, pino, zod, the engine)', (p) => p.importMs),
      phase('read, parse and checksum the files', (p) => p.loadFilesMs),
      phase('connect to PostgreSQL', (p) => p.connectMs),
      [
        'queries (count)',
        ...columns.map(
          ([, samples]) =>
            `${ms(median(samples.map((p) => p.queryMs)))} (${String(samples[0]?.queries ?? 0)})`,
        ),
      ],
      phase('engine: graph, comparison, validation, bookkeeping', (p) => p.engineMs),
      phase('close the session', (p) => p.releaseMs),
      phase('render the table', (p) => p.renderMs),
      phase('render `--json`', (p) => p.renderJsonMs),
      phase('total inside the process', (p) => p.totalMs),
      phase('wall clock from spawn to exit', (p) => p.wallMs),
    ],
  );
}

const databases = await BenchDatabases.connect(flags['admin-url']);
const workDir = mkdtempSync(join(tmpdir(), 'dbm-bench-engine-'));
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
});

/** A fresh database for `work`, dropped afterwards whatever happens. */
async function onFreshDatabase<T>(
  work: (url: string, name: string) => Promise<T> | T,
  keep = false,
): Promise<T> {
  if (interrupted) throw new Error('interrupted');
  const db = await databases.create();
  try {
    return await work(db.url, db.name);
  } finally {
    if (!keep) await databases.drop(db.name);
  }
}

async function verifiedApply(r: Runner, set: MigrationSet, url: string): Promise<number> {
  const took = r.apply(set, url);
  const tables = await databases.countBenchTables(url);
  if (tables !== set.count) {
    throw new Error(`${r.key} left ${String(tables)} tables t_NNNN, expected ${String(set.count)}`);
  }
  return took;
}

try {
  const facts = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    server: await databases.serverVersion(),
    psql: /\d+\.\d+/.exec(versionOf('psql', ['--version']))?.[0] ?? 'unknown',
    nproc: versionOf('nproc', []),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    kernel: release(),
    loadBefore: load(),
    npmVersion: (
      JSON.parse(readFileSync(join(root, 'node_modules/node-pg-migrate/package.json'), 'utf8')) as {
        version: string;
      }
    ).version,
  };

  progress(`generating ${String(count)} and ${String(statusCount)} migrations in ${workDir}`);
  const small = writeMigrationSet(workDir, 'small', count);
  const large = writeMigrationSet(workDir, 'large', statusCount);

  // 1. Apply `count` migrations, each runner on its own fresh database, interleaved.
  const applySamples: Record<string, number[]> = {};
  for (let round = 0; round < warmup + repeat; round++) {
    const timed = round >= warmup;
    progress(`apply ${String(count)}: ${timed ? `run ${String(round - warmup + 1)}` : 'warm-up'}`);
    for (const r of RUNNERS) {
      const took = await onFreshDatabase((url) => verifiedApply(r, small, url));
      if (timed) (applySamples[r.key] ??= []).push(took);
    }
  }
  const apply = Object.fromEntries(Object.entries(applySamples).map(([k, v]) => [k, summarize(v)]));

  // 2. Start-up: `--help` loads the entry point only.
  progress(`start-up: ${String(runs)} runs each`);
  const startup = interleaved(
    {
      node: { command: node, args: ['-e', '0'], cwd: root },
      dbmigrate: { command: node, args: [cliMain, '--help'], cwd: root },
      'dbmigrate-bundle': { command: node, args: [cliBundle, '--help'], cwd: root },
      npm: { command: node, args: [npmBin, '--help'], cwd: root },
    },
    runs,
    1,
  );

  // 3. `statusCount` applied: the apply once per runner, then status on the dbmigrate database.
  progress(`apply ${String(statusCount)} once per runner`);
  const psqlLargeMs = await onFreshDatabase((url) =>
    verifiedApply(runner('psql-session'), large, url),
  );
  // These two databases stay for the status and no-op runs below.
  const npmLarge = await databases.create();
  const npmLargeMs = await verifiedApply(runner('npm-each'), large, npmLarge.url);
  const dbmLarge = await databases.create();
  const dbmLargeMs = await verifiedApply(runner('dbmigrate'), large, dbmLarge.url);
  const large1 = { dbmigrate: dbmLargeMs, npm: npmLargeMs, psql: psqlLargeMs };

  const statusArgs = ['status', '--log-level', 'warn', '--migrations', large.dbmigrateDir];
  const check = timeRun({
    command: node,
    args: [cliMain, ...statusArgs],
    cwd: root,
    env: withUrl(dbmLarge.url),
  });
  if (!check.stdout.includes(`${String(statusCount)} applied, 0 pending`)) {
    throw new Error(`status does not report ${String(statusCount)} applied:\n${check.stdout}`);
  }

  progress(`status with ${String(statusCount)} applied: ${String(runs)} runs each`);
  const dbmEnv = withUrl(dbmLarge.url);
  const status = interleaved(
    {
      status: { command: node, args: [cliMain, ...statusArgs], cwd: root, env: dbmEnv },
      json: { command: node, args: [cliMain, ...statusArgs, '--json'], cwd: root, env: dbmEnv },
      bundle: { command: node, args: [cliBundle, ...statusArgs], cwd: root, env: dbmEnv },
      'dbmigrate-noop': {
        command: node,
        args: [cliMain, 'apply', '--log-level', 'warn', '--migrations', large.dbmigrateDir],
        cwd: root,
        env: dbmEnv,
      },
      'npm-noop': {
        command: node,
        args: [npmBin, 'up', '--migrations-dir', large.nodePgMigrateDir, '--no-verbose'],
        cwd: root,
        env: withUrl(npmLarge.url),
      },
    },
    runs,
    1,
  );

  progress(`apply and status breakdowns: ${String(probeRuns)} in-process probes each`);
  const probe = (command: 'apply' | 'status', dir: string, url: string): ProbeSample => {
    const out = timeRun({
      command: node,
      args: [probeScript, command, dir],
      cwd: root,
      env: withUrl(url),
    });
    return { ...(JSON.parse(out.stdout) as Probe), wallMs: out.ms };
  };
  const applyProbes: ProbeSample[] = [];
  const statusProbes: ProbeSample[] = [];
  for (let i = 0; i < probeRuns + 1; i++) {
    const sample = await onFreshDatabase((url) => probe('apply', small.dbmigrateDir, url));
    if (sample.applied !== count) throw new Error(`apply probe applied ${String(sample.applied)}`);
    if (i > 0) applyProbes.push(sample);
  }
  for (let i = 0; i < probeRuns + 1; i++) {
    const sample = probe('status', large.dbmigrateDir, dbmLarge.url);
    if (sample.applied !== statusCount)
      throw new Error(`status probe saw ${String(sample.applied)}`);
    if (i > 0) statusProbes.push(sample);
  }
  await databases.drop(npmLarge.name);
  await databases.drop(dbmLarge.name);

  // The report.
  const psqlFloor = get(apply, 'psql-session');
  const dbm = get(apply, 'dbmigrate');
  const npmEach = get(apply, 'npm-each');
  const overhead = (dbm.median - psqlFloor.median) / count;
  const overheadMin = (dbm.min - psqlFloor.min) / count;
  // Same-round differences: runners of one round run back to back, so drift cancels out.
  const overheadPaired =
    median(dbm.samples.map((d, i) => d - (psqlFloor.samples[i] ?? Number.NaN))) / count;
  const busy = Number(loadavg()[0]) > Number(facts.nproc);
  const span = statusCount - count;
  const slopeDbm = (large1.dbmigrate - dbm.median) / span;
  const slopePsql = (large1.psql - psqlFloor.median) / span;
  const slopeNpm = (large1.npm - npmEach.median) / span;
  const startDbm = get(startup, 'dbmigrate');
  const startNode = get(startup, 'node');
  const statusText = get(status, 'status');
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  const applyRows = RUNNERS.map((r) => {
    const s = get(apply, r.key);
    return [
      r.label,
      ms(s.median),
      ms(s.min),
      perMigration(s.median / count),
      perMigration((s.median - psqlFloor.median) / count),
    ];
  });

  const section = [
    '## Engine and CLI',
    '',
    `Command: ${commandLine()}, after \`npm run build\`.`,
    `Run ${facts.date} on ${facts.nproc} CPUs (\`nproc\`; ${facts.cpu}), Linux ${facts.kernel};`,
    `Node ${facts.node}; PostgreSQL ${facts.server} on 127.0.0.1 over TCP, psql ${facts.psql};`,
    `node-pg-migrate ${facts.npmVersion}. Load average (1, 5, 15 min) ${facts.loadBefore} at the start,`,
    `${load()} at the end. Every apply runs on a fresh empty database and is checked afterwards`,
    `(all tables \`t_NNNN\` exist). Times are wall clock from spawn to exit.`,
    ...(busy || Number(facts.loadBefore.split(' ')[0]) > Number(facts.nproc)
      ? [
          '',
          `**The machine was busy** (load average above the ${facts.nproc} CPUs; other work shared`,
          'it and the PostgreSQL server): absolute figures are rough. Runners are interleaved',
          'round by round, so the side-by-side comparisons are fairer than the absolute numbers.',
        ]
      : []),
    '',
    '### Targets',
    '',
    table(
      ['target (BRIEF.md)', 'measured', 'verdict'],
      [
        [
          `\`dbmigrate\` starts in ≤ ${String(TARGET_START_MS)} ms`,
          `\`dbmigrate --help\` ${ms(startDbm.median)} ms median (bare \`node -e 0\` ${ms(startNode.median)} ms)`,
          verdict(startDbm.median <= TARGET_START_MS),
        ],
        [
          `\`status\` with ${statusCount.toLocaleString('en')} applied ≤ ${String(TARGET_STATUS_MS)} ms`,
          `${ms(statusText.median)} ms median, ${ms(statusText.min)} ms min`,
          verdict(statusText.median <= TARGET_STATUS_MS),
        ],
        [
          `apply adds ≤ ${String(TARGET_OVERHEAD_MS)} ms a migration over raw psql`,
          `${perMigration(overhead)} ms (medians), ${perMigration(overheadMin)} ms (mins), ` +
            `${perMigration(overheadPaired)} ms (same-round pairs)`,
          verdict(overhead <= TARGET_OVERHEAD_MS),
        ],
      ],
    ),
    '',
    `### Apply ${String(count)} migrations (median and min of ${String(repeat)} runs, after ${String(warmup)} warm-up)`,
    '',
    `Each migration is one \`create table t_NNNN (id bigint primary key, v text);\`.`,
    '',
    table(
      ['runner', 'median ms', 'min ms', 'ms / migration', 'over psql floor, ms / migration'],
      applyRows,
    ),
    '',
    `dbmigrate / node-pg-migrate (both one transaction per migration): ` +
      `${(dbm.median / npmEach.median).toFixed(2)}× (medians). ` +
      `dbmigrate over the raw psql floor (one psql session): ` +
      `${perMigration(overhead)} ms a migration from the medians, ` +
      `${perMigration(overheadPaired)} ms from same-round pairs, start-up included.`,
    '',
    `### Start-up (median and min of ${String(runs)} runs, after 1 warm-up)`,
    '',
    table(
      ['command', 'median ms', 'min ms'],
      [
        ['`node -e 0`', ms(startNode.median), ms(startNode.min)],
        ['`node dist/src/cli/main.js --help`', ms(startDbm.median), ms(startDbm.min)],
        [
          '`node dist/cli/dbmigrate.js --help` (bundled bin)',
          ms(get(startup, 'dbmigrate-bundle').median),
          ms(get(startup, 'dbmigrate-bundle').min),
        ],
        [
          '`node node_modules/node-pg-migrate/bin/node-pg-migrate.js --help`',
          ms(get(startup, 'npm').median),
          ms(get(startup, 'npm').min),
        ],
      ],
    ),
    '',
    `### ${statusCount.toLocaleString('en')} migrations applied`,
    '',
    table(
      ['command', 'median ms', 'min ms', 'ms / migration'],
      [
        [
          `\`dbmigrate apply\`, ${String(statusCount)} on a fresh database (once)`,
          ms(large1.dbmigrate),
          '',
          perMigration(large1.dbmigrate / statusCount),
        ],
        [
          `node-pg-migrate \`up --no-single-transaction\`, ${String(statusCount)} (once)`,
          ms(large1.npm),
          '',
          perMigration(large1.npm / statusCount),
        ],
        [
          `raw psql, one session, ${String(statusCount)} (once)`,
          ms(large1.psql),
          '',
          perMigration(large1.psql / statusCount),
        ],
        ['`dbmigrate status --log-level warn`', ms(statusText.median), ms(statusText.min), ''],
        [
          '`dbmigrate status --json --log-level warn`',
          ms(get(status, 'json').median),
          ms(get(status, 'json').min),
          '',
        ],
        [
          '`dbmigrate status` (bundled bin)',
          ms(get(status, 'bundle').median),
          ms(get(status, 'bundle').min),
          '',
        ],
        [
          '`dbmigrate apply` with nothing pending',
          ms(get(status, 'dbmigrate-noop').median),
          ms(get(status, 'dbmigrate-noop').min),
          '',
        ],
        [
          'node-pg-migrate `up` with nothing pending (it has no status command)',
          ms(get(status, 'npm-noop').median),
          ms(get(status, 'npm-noop').min),
          '',
        ],
      ],
    ),
    '',
    `Marginal cost of one more migration, from the ${String(count)}-migration medians to the ` +
      `single ${String(statusCount)}-migration runs (so noisier than the rest): dbmigrate ${perMigration(slopeDbm)} ms, ` +
      `node-pg-migrate ${perMigration(slopeNpm)} ms, raw psql ${perMigration(slopePsql)} ms.`,
    '',
    `### Where the time goes (median of ${String(probeRuns)} in-process probes each)`,
    '',
    '`dist/bench/engine/probe.js` does what the CLI command does, with the same modules and',
    'the same compile cache, plus a timer around each step and a counter on `client.query`.',
    '',
    probeTable([
      [`\`apply\`, ${String(count)} on a fresh database`, applyProbes],
      [`\`status\`, ${String(statusCount)} applied`, statusProbes],
    ]),
    '',
    'Reference figures from the brief, not measured here: dbmate (Go) starts in about 10 ms',
    'and lists 1,000 applied migrations in about 18 ms.',
  ].join('\n');

  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) {
    const doc = join(root, 'docs/benchmarks.md');
    writeSection(doc, 'engine', section);
    progress(`wrote ${doc}`);
  }
} finally {
  await databases.close();
  if (!flags['keep-files']) rmSync(workDir, { recursive: true, force: true });
}
