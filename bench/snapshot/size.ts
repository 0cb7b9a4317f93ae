// Snapshot methods on a large doc-server database (docs/benchmarks.md, section "snapshot"):
// time and bytes of a logical dump and restore (pg_dump -Fc / pg_restore; pg_dump -Fd -j 2 /
// pg_restore -j 2) next to pgBackRest's physical backups (full; incremental after a realistic
// change; restore of the full set into an empty directory and recovery until promoted; delta
// restore of the incremental set over that copy), through the product's own pgBackRest code
// (src/safety/snapshot/pgbackrest.ts, src/safety/scratch/local-server.ts).
//
//   npx tsc -p tsconfig.build.json && node dist/bench/snapshot/size.js [--rows 600000]
//
// Everything runs on a private cluster (tools/archiving-cluster.ts: initdb, its own port,
// WAL archived by pgBackRest, durable settings) in --dir; the machine's shared server is not
// used. Disk: about 4× the database size at the peak (the cluster and its WAL, the full and
// incremental sets in the repository, the restored copy).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRestoredServer, type LocalServer } from '../../src/safety/scratch/local-server.js';
import { formatBytes } from '../../src/safety/snapshot/format-bytes.js';
import { libpqEnvironment, spawnTool, withDatabase } from '../../src/safety/snapshot/pg-tools.js';
import { restoreBackup, takeBackup } from '../../src/safety/snapshot/pgbackrest.js';
import type { BackupSet } from '../../src/safety/snapshot/pgbackrest-output.js';
import { restoreArchive } from '../../src/safety/snapshot/restore-archive.js';
import { startArchivingCluster, type ArchivingCluster } from '../../tools/archiving-cluster.js';
import { countFlag } from '../shared/flags.js';
import { table, writeSection } from '../shared/markdown.js';
import { LASTING_S, sampleActivity, type HeldOpen } from './activity.js';
import {
  changeCorpus,
  databaseSize,
  documentCount,
  loadCorpus,
  type CorpusChange,
  type DatabaseSize,
  type LoadedCorpus,
} from './corpus.js';

/** About 16.6 kB a document with every migration applied: 600k rows ≈ 10 GB. */
const DEFAULT_ROWS = 600_000;
const DATABASE = 'docs';
/** The private cluster's settings: a durable server sized for this machine (2 cores, 24 GiB). */
const BENCH_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'on',
  shared_buffers: '2GB',
  max_wal_size: '4GB',
  min_wal_size: '1GB',
  checkpoint_timeout: '15min',
  checkpoint_completion_target: '0.9',
  maintenance_work_mem: '1GB',
};
const SHOWN_SETTINGS = [
  'fsync',
  'full_page_writes',
  'synchronous_commit',
  'wal_level',
  'wal_compression',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'checkpoint_completion_target',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
];

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: String(DEFAULT_ROWS) },
    'update-pct': { type: 'string', default: '1' },
    'insert-pct': { type: 'string', default: '0.5' },
    dir: { type: 'string', default: tmpdir() },
    set: { type: 'string', multiple: true, default: [] },
    'no-write': { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'usage: node dist/bench/snapshot/size.js [flags]',
      `  --rows N          synthetic documents (default ${String(DEFAULT_ROWS)}: a database of about 10 GB)`,
      '  --update-pct P    share of the documents re-embedded between the full and the',
      '                    incremental backup, in % (default 1)',
      '  --insert-pct P    documents inserted then, in % of --rows (default 0.5)',
      '  --dir DIR         where the private cluster, dumps and restored copies go (default',
      '                    the temporary directory); needs about 4× the database size free',
      '  --set NAME=VALUE  a server setting over the benchmark’s (repeatable)',
      '  --no-write        print the section only; leave docs/benchmarks.md alone',
      '  --json FILE       also write the results as JSON to FILE',
      '  --keep            keep the cluster (stopped), its repository and the restored copy',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function shareFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`--${name}: "${value}" is not a %`);
  return n / 100;
}

const rows = countFlag('rows', flags.rows);
const updateShare = shareFlag('update-pct', flags['update-pct']);
const insertShare = shareFlag('insert-pct', flags['insert-pct']);
const overrides = Object.fromEntries(
  flags.set.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set: "${s}" is not NAME=VALUE`);
    return [s.slice(0, eq), s.slice(eq + 1)];
  }),
);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const started = new Date();
const loadAtStart = loadavg();

function progress(message: string): void {
  process.stderr.write(`bench:snapshot: ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

function commandLine(): string {
  return ['node dist/bench/snapshot/size.js', ...process.argv.slice(2)].join(' ');
}

/** Bytes of the files under `path` (sizes as stat reports them; links not followed). */
async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${String(Math.floor(s / 60))} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

function rate(bytes: number | null, ms: number): string {
  return bytes !== null && ms > 0 ? `${formatBytes((bytes * 1000) / ms)}/s` : '–';
}

async function runTool(tool: string, args: readonly string[], url: string): Promise<void> {
  const { env } = libpqEnvironment(url);
  const { child, done } = spawnTool(tool, args, env);
  child.stdin.end();
  child.stdout.resume();
  await done;
}

async function commandVersion(bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', () => {
      resolve('?');
    });
    child.on('close', () => {
      resolve(out.trim() || '?');
    });
  });
}

/** One row of the table: a method's step. */
interface StepResult {
  readonly method: string;
  readonly step: string;
  readonly ms: number;
  /** What the step wrote: a dump, a restored database, a repository's share, a data directory. */
  readonly bytes: number | null;
  readonly bytesText: string;
  /** Bytes of the source database per second of the step (comparable across rows). */
  readonly perSecondOf: number | null;
  readonly held?: HeldOpen;
  readonly note?: string;
}

interface Results {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: Record<string, string | number>;
  readonly settings: Record<string, string>;
  load?: LoadedCorpus;
  size?: DatabaseSize;
  change?: CorpusChange;
  readonly steps: StepResult[];
  readonly failures: string[];
  repository?: { backup: number; archive: number };
  fullSet?: BackupSet;
  incrSet?: BackupSet;
  loadAverage?: { start: number[]; end: number[] };
}

const results: Results = {
  command: commandLine(),
  startedAt: started.toISOString(),
  machine: {},
  settings: {},
  steps: [],
  failures: [],
};

let cluster: ArchivingCluster | null = null;
let restored: LocalServer | null = null;
let work: string | null = null;

async function cleanup(): Promise<void> {
  await restored?.stop().catch(() => undefined);
  restored = null;
  await cluster?.stop({ keepFiles: flags.keep }).catch(() => undefined);
  cluster = null;
  if (work !== null && !flags.keep) await rm(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the private servers`);
    // Connections still open (the COPY, a sampler) fail as their server stops: expected now,
    // and the files must still be removed.
    process.on('uncaughtException', () => undefined);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/** A logical method: dump `source` with `dumpArgs`, restore into a new database with `restore`. */
async function logicalMethod(
  c: ArchivingCluster,
  method: string,
  path: string,
  dumpStep: string,
  dumpArgs: readonly string[],
  restore: (target: string) => Promise<void>,
  restoreStep: string,
  sourceBytes: number,
): Promise<void> {
  const source = c.url(DATABASE);
  progress(`${method}: dump`);
  const sampler = await sampleActivity(c.url(), 'pg_dump');
  const t0 = performance.now();
  await runTool('pg_dump', [...dumpArgs, `--file=${path}`, `--dbname=${source}`], source);
  const dumpMs = performance.now() - t0;
  const held = await sampler.stop();
  const dumpBytes = (await stat(path)).isDirectory()
    ? await directoryBytes(path)
    : (await stat(path)).size;
  results.steps.push({
    method,
    step: dumpStep,
    ms: dumpMs,
    bytes: dumpBytes,
    bytesText: `${formatBytes(dumpBytes)} on disk`,
    perSecondOf: sourceBytes,
    held,
  });
  const name = `restored_${method.replace(/\W+/g, '_').toLowerCase()}`;
  await c.query(`drop database if exists ${name}`);
  await c.query(`create database ${name}`);
  const target = c.url(name);
  try {
    progress(`${method}: ${restoreStep} into a new empty database`);
    const t1 = performance.now();
    await restore(target);
    const restoreMs = performance.now() - t1;
    const count = await documentCount(target);
    const { database } = await databaseSize(target);
    results.steps.push({
      method,
      step: restoreStep,
      ms: restoreMs,
      bytes: database,
      bytesText: `${formatBytes(database)} database`,
      perSecondOf: sourceBytes,
      note: `${count.toLocaleString('en')} documents restored`,
    });
    if (count !== rows)
      throw new Error(`${method}: restored ${String(count)} documents, not ${String(rows)}`);
  } finally {
    // Neither the copy nor the dump may reach the pgBackRest backups taken next.
    await c.query(`drop database if exists ${name} with (force)`);
    await rm(path, { recursive: true, force: true });
  }
}

/** A restored copy started, counted and stopped (its files kept for the next delta restore). */
async function restoreAndRecover(
  c: ArchivingCluster,
  set: BackupSet,
  directory: string,
  step: string,
  expected: number,
  sourceBytes: number,
): Promise<void> {
  progress(`pgBackRest: ${step}`);
  // Recovery replays the WAL from the backup's start to its stop (--type=immediate).
  const replayBytes = await walBetween(c, set.lsnStart, set.lsnStop);
  const t0 = performance.now();
  const { delta } = await restoreBackup(c.target, {
    label: set.label,
    directory,
    database: DATABASE,
  });
  const restoreMs = performance.now() - t0;
  // What the restore wrote, before the server adds WAL segments of its own.
  const dataBytes = await directoryBytes(join(directory, 'data'));
  const t1 = performance.now();
  restored = await startRestoredServer({ major: majorOf(set), directory, keep: true });
  const recoveryMs = performance.now() - t1;
  const count = await documentCount(withDatabase(restored.url, DATABASE));
  await restored.stop();
  restored = null;
  results.steps.push({
    method: 'pgBackRest',
    step: `${step}${delta ? ' (delta)' : ''}: files`,
    ms: restoreMs,
    bytes: dataBytes,
    bytesText: `${formatBytes(dataBytes)} data directory`,
    perSecondOf: sourceBytes,
  });
  results.steps.push({
    method: 'pgBackRest',
    step: `${step}: recovery until promoted`,
    ms: recoveryMs,
    bytes: replayBytes,
    bytesText: `${formatBytes(replayBytes)} of WAL to replay`,
    perSecondOf: null,
    note: `${count.toLocaleString('en')} documents in the copy`,
  });
  if (count !== expected)
    throw new Error(`${step}: the copy holds ${String(count)} documents, not ${String(expected)}`);
}

function majorOf(set: BackupSet): number {
  return Math.floor(Number(set.pgVersion));
}

async function walBetween(c: ArchivingCluster, from: string, to: string): Promise<number> {
  const res = await c.query<{ b: string }>(`select pg_wal_lsn_diff('${to}', '${from}')::text b`);
  return Number(res.rows[0]?.b ?? 0);
}

async function physicalMethod(c: ArchivingCluster, sourceBytes: number): Promise<void> {
  await c.setArchiving(true);
  const backup = async (type: 'full' | 'incr'): Promise<BackupSet> => {
    progress(`pgBackRest: ${type} backup`);
    const sampler = await sampleActivity(c.url(), 'pgBackRest');
    const t0 = performance.now();
    const set = await takeBackup(c.target, type);
    const ms = performance.now() - t0;
    const held = await sampler.stop();
    const wal = await walBetween(c, set.lsnStart, set.lsnStop);
    results.steps.push({
      method: 'pgBackRest',
      step: `${set.type} backup`,
      ms,
      bytes: set.repositoryDeltaBytes,
      bytesText: `${formatBytes(set.deltaBytes)} copied / ${formatBytes(set.repositoryDeltaBytes)} in the repository`,
      perSecondOf: sourceBytes,
      held,
      note: `WAL from backup start to stop ${formatBytes(wal)}`,
    });
    return set;
  };
  const full = await backup('full');
  results.fullSet = full;
  progress(
    `changing ${String(updateShare * 100)} % of the documents and inserting ${String(insertShare * 100)} %`,
  );
  const change = await changeCorpus(c.url(DATABASE), rows, updateShare, insertShare);
  results.change = change;
  const incr = await backup('incr');
  results.incrSet = incr;
  if (incr.type !== 'incr') throw new Error(`the second backup was ${incr.type}, not incr`);
  results.repository = {
    backup: await directoryBytes(join(c.repository, 'backup')),
    archive: await directoryBytes(join(c.repository, 'archive')),
  };
  const directory = join(work ?? tmpdir(), 'restore');
  await restoreAndRecover(c, full, directory, 'restore of the full set', rows, sourceBytes);
  await restoreAndRecover(
    c,
    incr,
    directory,
    'restore of the incremental set',
    rows + change.inserted,
    sourceBytes,
  );
}

function machine(): Record<string, string | number> {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ??
    cpus()[0]?.model ??
    '?';
  return {
    nproc: cpus().length,
    cpu: model.trim(),
    ramGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
  };
}

function heldText(h: HeldOpen | undefined, method: string): string {
  if (h === undefined) return '';
  const xact =
    h.longestTransactionS >= LASTING_S
      ? `longest transaction ${h.longestTransactionS.toFixed(1)} s${h.heldXmin ? ' (holding the xmin horizon)' : ''}`
      : `no transaction open for ${String(LASTING_S)} s or longer`;
  return `${method}: ${String(h.sessions)} session(s), ${xact}, ${String(h.archivedSegments)} WAL segment(s) archived meanwhile`;
}

function report(): string {
  const size = results.size;
  const sourceBytes = size?.database ?? 0;
  const m = results.machine;
  const end = results.loadAverage?.end ?? loadavg();
  const la = (xs: readonly number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  const settings = Object.entries(results.settings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const rowsText = results.steps.map((s) => [
    s.method,
    s.step,
    seconds(s.ms),
    s.bytesText,
    rate(s.perSecondOf, s.ms),
  ]);
  const load = results.load;
  const change = results.change;
  const holds = results.steps
    .filter((s) => s.held !== undefined)
    .map(
      (s) =>
        `- ${heldText(s.held, s.method === 'pgBackRest' ? `pgBackRest ${s.step}` : s.step)}${s.note === undefined ? '' : `; ${s.note}`}.`,
    );
  const checks = results.steps
    .filter((s) => s.held === undefined && s.note !== undefined)
    .map(
      (s) => `${s.method}, ${s.step.replace(/: recovery until promoted$/, '')}: ${s.note ?? ''}`,
    );
  const full = results.fullSet;
  const incr = results.incrSet;
  const incrShare = full && incr && full.deltaBytes > 0 ? incr.deltaBytes / full.deltaBytes : null;
  return [
    `## Snapshot methods at ${formatBytes(sourceBytes)} (\`bench/snapshot\`)`,
    '',
    `Command: \`${results.command}\`${process.argv.length <= 2 ? ' (what `make bench-snapshot` runs)' : ''}, after \`npm run build\`.`,
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} on ${String(m['nproc'])} CPUs (\`nproc\`; ${String(m['cpu'])}), ${String(m['ramGiB'])} GiB RAM, Linux ${String(m['kernel'])};`,
    `${String(m['postgres'])}; ${String(m['pgbackrest'])} (Debian's package, hack/pgbackrest.sh); ${String(m['pgDump'])}.`,
    `Load average (1, 5, 15 min) ${la(results.loadAverage?.start ?? loadAtStart)} at the start, ${la(end)} at the end.`,
    '',
    'A private cluster (tools/archiving-cluster.ts: initdb with data checksums, its own port on',
    '127.0.0.1, WAL archived into a pgBackRest repository on the same disk), with',
    `${settings}.`,
    'Dumps, restores and the repository are on the same disk as the cluster, and the clients run on',
    'the same two cores as the server. pg_dump and pgBackRest both compress with gzip at level 6,',
    'their defaults; pgBackRest runs with process-max 2. The pgBackRest steps go through the',
    "product's own code (`takeBackup`, `restoreBackup`, `startRestoredServer`), so they are what",
    '`dbmigrate snapshot create --pgbackrest-stanza` and the staging dry-run run. While the dumps are',
    'restored into this cluster its WAL is not archived (a restore target is not production).',
    '',
    `The database: ${rows.toLocaleString('en')} synthetic documents (bench/docserver, shape \`manifold\`, 3072-d embeddings),`,
    'every migration of migrations/ applied by the engine (covering btrees, the bit(3072) HNSW index, time partitioning);',
    load === undefined
      ? 'not loaded.'
      : `loaded by binary COPY in ${seconds(load.copyMs)}, the forward migrations ${seconds(load.migrationsMs)}, VACUUM ANALYZE ${seconds(load.vacuumMs)}.`,
    size === undefined
      ? ''
      : `\`pg_database_size\` ${formatBytes(size.database)}: tables ${formatBytes(size.heap)}, TOAST ${formatBytes(size.toast)}, indexes ${formatBytes(size.indexes)} (of which HNSW ${formatBytes(size.hnsw)}).`,
    change === undefined
      ? ''
      : `Between the full and the incremental backup ${change.updated.toLocaleString('en')} documents (${String(updateShare * 100)} %) were re-embedded (new content and vector) and ${change.inserted.toLocaleString('en')} inserted, in ${seconds(change.ms)}, writing ${formatBytes(change.walBytes)} of WAL.`,
    '',
    `Throughput is the source database's size (${formatBytes(sourceBytes)}) per second of the step, on every row but recovery.`,
    "pg_restore runs with the options of the product's restore of a dump (`--exit-on-error --no-owner",
    '--no-privileges`, src/safety/snapshot/restore-archive.ts; the -Fc row calls it) and rebuilds every',
    'index, the HNSW one included; `-j 2` dumps and restores two tables at a time.',
    'A restore of the full set goes into an empty directory; the incremental set is then restored',
    'over that copy with `--delta` (pgBackRest checksums every file and copies only those that differ).',
    'Recovery: the restored server replays the WAL up to the end of the backup and is promoted.',
    '',
    table(
      ['method', 'step', 'duration', 'bytes (on disk / in the repository)', 'throughput'],
      rowsText,
    ),
    '',
    ...(results.repository === undefined
      ? []
      : [
          `The repository afterwards: backups ${formatBytes(results.repository.backup)}, WAL archive ${formatBytes(results.repository.archive)}.`,
          '',
        ]),
    ...(incrShare === null
      ? []
      : [
          `The incremental set copied ${(incrShare * 100).toFixed(0)} % of the bytes the full one did. pgBackRest ${String(m['pgbackrest']).replace(/^pgBackRest /, '')} copies a changed`,
          'file whole (block incremental, `repo-bundle` and `repo-block`, is a beta here and out of it from',
          '2.46 on), and the re-embedded documents touch pages all over the TOAST table and every',
          'index, in each of their 1 GB segment files.',
          '',
        ]),
    ...(checks.length === 0 ? [] : [`Checked: ${checks.join('; ')}.`, '']),
    'What each method holds open on the server while it runs (sampled from `pg_stat_activity` every 250 ms):',
    '',
    ...holds,
    '',
    'pg_dump reads the whole database in one repeatable-read transaction: for its whole duration',
    'VACUUM cannot remove rows that died after it started, and a DDL waits behind its ACCESS SHARE',
    'locks on every table. pgBackRest opens no long transaction: it copies the files while the',
    'server goes on, and the WAL written meanwhile is archived and replayed by the restore.',
    ...(results.failures.length === 0
      ? []
      : ['', '**Failed steps**:', ...results.failures.map((f) => `- ${f}`)]),
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
}

try {
  work = await mkdtemp(join(flags.dir, 'dbm-bench-snapshot-'));
  // The postgres system user (cluster, pgBackRest, restored copy) must reach inside.
  await chmod(work, 0o755);
  progress(`starting a private archiving cluster in ${work}`);
  cluster = await startArchivingCluster('bench', {
    settings: { ...BENCH_SETTINGS, ...overrides },
    parent: work,
  });
  const c = cluster;
  const settingsRes = await c.query<{ name: string; value: string }>(
    `select name, current_setting(name) as value from unnest(array[${SHOWN_SETTINGS.map((s) => `'${s}'`).join(',')}]) name`,
  );
  for (const r of settingsRes.rows) results.settings[r.name] = r.value;
  const version = await c.query<{ v: string }>('select version() v');
  results.machine['postgres'] = (version.rows[0]?.v ?? '?').replace(/ on .*$/, '');
  Object.assign(results.machine, machine());
  results.machine['pgbackrest'] = await commandVersion(c.target.bin ?? 'pgbackrest', ['version']);
  results.machine['pgDump'] = await commandVersion('pg_dump', ['--version']);

  // Nothing a backup needs: the load's WAL is not archived.
  await c.setArchiving(false);
  await c.query(`create database ${DATABASE}`);
  progress(`loading ${rows.toLocaleString('en')} documents`);
  results.load = await loadCorpus(c.url(DATABASE), rows, root, progress);
  await c.query('checkpoint');
  const size = await databaseSize(c.url(DATABASE));
  results.size = size;
  progress(
    `database ${formatBytes(size.database)} (tables ${formatBytes(size.heap)}, TOAST ${formatBytes(size.toast)}, indexes ${formatBytes(size.indexes)})`,
  );

  const guarded = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      progress(`${what} failed: ${message}`);
      results.failures.push(`${what}: ${message}`);
    }
  };
  await guarded('pg_dump -Fc', () =>
    logicalMethod(
      c,
      'pg_dump -Fc',
      join(work ?? '', 'docs.dump'),
      'pg_dump -Fc to a file',
      ['--format=c'],
      // The product's restore of a dump snapshot (dbmigrate snapshot verify/restore).
      async (target) => {
        await restoreArchive(join(work ?? '', 'docs.dump'), target);
      },
      'pg_restore',
      size.database,
    ),
  );
  await guarded('pg_dump -Fd -j 2', () =>
    logicalMethod(
      c,
      'pg_dump -Fd -j 2',
      join(work ?? '', 'docs.dir'),
      'pg_dump -Fd -j 2 to a directory',
      ['--format=d', '--jobs=2'],
      (target) =>
        runTool(
          'pg_restore',
          [
            '--jobs=2',
            // The options of the product's restore (restore-archive.ts).
            '--exit-on-error',
            '--no-owner',
            '--no-privileges',
            `--dbname=${target}`,
            join(work ?? '', 'docs.dir'),
          ],
          target,
        ),
      'pg_restore -j 2',
      size.database,
    ),
  );
  await c.query('checkpoint');
  await guarded('pgBackRest', () => physicalMethod(c, size.database));
} catch (err) {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  results.failures.push(message.split('\n')[0] ?? message);
  process.stderr.write(`bench:snapshot: failed: ${message}\n`);
} finally {
  results.loadAverage = { start: loadAtStart, end: loadavg() };
  const section = report();
  process.stdout.write(`\n${section}\n`);
  if (flags.json !== undefined) {
    writeFileSync(flags.json, `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${flags.json}`);
  }
  if (results.failures.length > 0) process.exitCode = 1;
  else if (!flags['no-write']) {
    writeSection(join(root, 'docs/benchmarks.md'), 'snapshot', section);
    progress('wrote docs/benchmarks.md');
  }
  if (flags.keep && cluster !== null)
    progress(`kept ${work ?? ''}: the cluster (stopped) in ${cluster.dir}, the restored copy`);
  await cleanup();
}
