// One operator serving many DatabaseMigrations across databases: a real kube-apiserver + etcd
// (hack/control-plane.sh), `dbmigrate operator` as its own process, N databases with M
// migrations each, every run through the whole safe path (snapshot to a directory, verified;
// staging dry-run on the production server's scratch copy; apply; post-verify).
//
//   node dist/bench/operator/many-databases.js [--databases 50] [--migrations 5] [--workers 2]
//
// Reports the time from the first resource applied to the last Succeeded, each run's time,
// and the operator process's peak resident memory (VmHWM) and CPU time, into
// docs/benchmarks.md (section operator-many) unless --no-write.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withDatabase } from '../../src/safety/snapshot/pg-tools.js';
import { freePort, operatorReady, startControlPlane } from '../../tools/control-plane.js';
import { countFlag } from '../shared/flags.js';
import { table, writeSection } from '../shared/markdown.js';
import { serverFacts } from '../shared/server.js';

const { values: flags } = parseArgs({
  options: {
    databases: { type: 'string', default: '50' },
    migrations: { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
    'admin-url': {
      type: 'string',
      default: process.env['BENCH_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(
    [
      'usage: node dist/bench/operator/many-databases.js [flags]',
      '  --databases N   databases, each with its own DatabaseMigration (default 50)',
      '  --migrations M  migrations per database (default 5)',
      '  --workers W     the operator’s --workers (default 2)',
      '  --admin-url URL where to CREATE/DROP the dbm_bench_many_* databases',
      '  --no-write      print the section only; leave docs/benchmarks.md alone',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const databases = countFlag('databases', flags.databases);
const migrations = countFlag('migrations', flags.migrations);
const workers = countFlag('workers', flags.workers);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const started = new Date();
const NS = 'bench-many';

function progress(message: string): void {
  process.stderr.write(
    `bench:operator-many: ${new Date().toISOString().slice(11, 19)} ${message}\n`,
  );
}

function migrationFiles(): { name: string; sql: string }[] {
  const files = [
    {
      name: '0001_items.sql',
      sql: '-- migrate:up\ncreate table items (id bigint primary key, name text not null);\ninsert into items select g, md5(g::text) from generate_series(1, 2000) g;\n',
    },
  ];
  for (let m = 2; m <= migrations; m++) {
    const id = String(m).padStart(4, '0');
    files.push(
      m % 2 === 0
        ? {
            name: `${id}_items_idx_${String(m)}.sql`,
            sql: `-- dbmigrate:transaction=false\n-- migrate:up\ncreate index concurrently if not exists items_name_${String(m)}_idx on items (name, id);\n`,
          }
        : {
            name: `${id}_items_col_${String(m)}.sql`,
            sql: `-- migrate:up\nalter table items add column c${String(m)} text;\n`,
          },
    );
  }
  return files;
}

const admin = new pg.Client({ connectionString: flags['admin-url'], application_name: 'bench' });
await admin.connect();
const names = Array.from(
  { length: databases },
  (_, i) => `dbm_bench_many_${String(i).padStart(3, '0')}`,
);
const cp = await startControlPlane();
const snapshots = await mkdtemp(join(tmpdir(), 'dbm-bench-many-'));
let operator: ReturnType<typeof spawn> | null = null;
try {
  const { version, settings } = await serverFacts(admin);
  for (const n of names) {
    await admin.query(`drop database if exists ${n} with (force)`);
    await admin.query(`create database ${n}`);
  }
  cp.installCrds();
  cp.kubectl(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  for (const n of names)
    cp.kubectl([
      '-n',
      NS,
      'create',
      'secret',
      'generic',
      `${n.replaceAll('_', '-')}-db`,
      `--from-literal=DATABASE_URL=${withDatabase(flags['admin-url'], n)}`,
    ]);

  const port = await freePort();
  progress(`operator with --workers ${String(workers)}`);
  operator = spawn(
    process.execPath,
    [
      join(root, 'dist/src/cli/main.js'),
      'operator',
      '--kubeconfig',
      cp.kubeconfig,
      '--lease-namespace',
      NS,
      '--workers',
      String(workers),
      '--http-addr',
      `127.0.0.1:${String(port)}`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  operator.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
  const pid = operator.pid ?? 0;
  for (let i = 0; i < 300 && !(await operatorReady(port)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!(await operatorReady(port))) throw new Error(`operator not ready: ${stderr.join('')}`);

  const procStatus = async (): Promise<{ rssKb: number; hwmKb: number }> => {
    const text = await readFile(`/proc/${String(pid)}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  };
  const cpuSeconds = async (): Promise<number> => {
    const fields =
      (await readFile(`/proc/${String(pid)}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const idle = await procStatus();

  progress(`applying ${String(databases)} DatabaseMigrations of ${String(migrations)} migrations`);
  const t0 = performance.now();
  const manifests = names.map((n) =>
    JSON.stringify({
      apiVersion: 'dbops.docserver.io/v1alpha1',
      kind: 'DatabaseMigration',
      metadata: { name: n.replaceAll('_', '-'), namespace: NS },
      spec: {
        database: { secretRef: { name: `${n.replaceAll('_', '-')}-db`, key: 'DATABASE_URL' } },
        migrations: { inline: migrationFiles() },
        snapshot: { storage: { path: snapshots } },
        staging: { scratch: { allowProductionServer: true } },
        maintenanceWindow: { thresholdMs: 60_000 },
      },
    }),
  );
  cp.kubectl(
    ['apply', '-f', '-'],
    `{"apiVersion":"v1","kind":"List","items":[${manifests.join(',')}]}`,
  );

  const finishedAt = new Map<string, number>();
  let peakRssKb = 0;
  const deadline = Date.now() + 60 * 60_000;
  for (;;) {
    peakRssKb = Math.max(peakRssKb, (await procStatus()).rssKb);
    const list = JSON.parse(cp.kubectl(['-n', NS, 'get', 'dbm', '-o', 'json'])) as {
      items: { metadata: { name: string }; status?: { phase?: string; lastError?: string } }[];
    };
    for (const item of list.items) {
      const phase = item.status?.phase;
      if (phase === 'Failed')
        throw new Error(`${item.metadata.name} failed: ${item.status?.lastError ?? ''}`);
      if (phase === 'Succeeded' && !finishedAt.has(item.metadata.name))
        finishedAt.set(item.metadata.name, performance.now() - t0);
    }
    if (finishedAt.size === databases) break;
    if (Date.now() > deadline)
      throw new Error(
        `only ${String(finishedAt.size)} of ${String(databases)} Succeeded within an hour`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
  const totalMs = Math.max(...finishedAt.values());
  const end = await procStatus();
  const cpu = await cpuSeconds();
  // Every database got all its migrations.
  for (const n of names) {
    const c = new pg.Client({ connectionString: withDatabase(flags['admin-url'], n) });
    await c.connect();
    const res = await c
      .query<{ n: string }>(
        `select count(*)::text n from dbmigrate.migration_history where status = 'applied'`,
      )
      .catch(() => ({ rows: [{ n: '?' }] }));
    await c.end();
    if (res.rows[0]?.n !== String(migrations))
      throw new Error(
        `${n}: ${res.rows[0]?.n ?? '?'} migrations applied, not ${String(migrations)}`,
      );
  }
  const sorted = [...finishedAt.values()].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
  const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
  const section = [
    '## One operator, many databases (`bench/operator`)',
    '',
    `Command: \`${['node dist/bench/operator/many-databases.js', ...process.argv.slice(2)].join(' ')}\`, after \`npm run build\`.`,
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} on ${String(cpus().length)} CPUs, PostgreSQL ${version} (${settings}) on 127.0.0.1,`,
    `kube-apiserver and etcd from hack/control-plane.sh on the same machine; load average at the end ${l1} ${l5} ${l15}.`,
    '',
    `${String(databases)} databases, one DatabaseMigration each with ${String(migrations)} inline migrations (a table of 2,000 rows, then`,
    'alternately a concurrent index and a new column), all applied at once with `kubectl apply`. `dbmigrate operator',
    `--workers ${String(workers)}\` as its own process (admin kubeconfig): each run takes the whole safe path: a BackupSnapshot`,
    'to a directory, verified by a restore; the staging dry-run on a scratch copy; apply; post-verify. Long steps run at most',
    `${String(workers)} at once, one at a time per database, a run's later steps before other runs' earlier ones`,
    '(src/operator/tasks.ts). Every database was checked afterwards',
    `for its ${String(migrations)} applied migrations.`,
    '',
    table(
      ['measure', 'value'],
      [
        ['time from `kubectl apply` to the last Succeeded', `${(totalMs / 1000).toFixed(1)} s`],
        ['per database (wall time / databases)', `${(totalMs / databases / 1000).toFixed(2)} s`],
        [
          'Succeeded after (first / median / 90th percentile / last)',
          `${(at(1 / databases) / 1000).toFixed(1)} / ${(at(0.5) / 1000).toFixed(1)} / ${(at(0.9) / 1000).toFixed(1)} / ${(totalMs / 1000).toFixed(1)} s`,
        ],
        [
          'operator resident memory: idle before / peak during / at the end',
          `${mb(idle.rssKb)} / ${mb(Math.max(peakRssKb, end.hwmKb))} / ${mb(end.rssKb)}`,
        ],
        ['operator CPU time (user + system)', `${cpu.toFixed(1)} s`],
      ],
    ),
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) writeSection(join(root, 'docs/benchmarks.md'), 'operator-many', section);
} catch (err) {
  process.stderr.write(
    `bench:operator-many: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  operator?.kill('SIGTERM');
  await cp.stop();
  for (const n of names)
    await admin.query(`drop database if exists ${n} with (force)`).catch(() => 0);
  await admin.end();
  await rm(snapshots, { recursive: true, force: true });
}
