// bench/pool: the doc-server's read paths through pg pools of different shapes, under 1, 8,
// 32 and 64 concurrent clients, in one run. `node dist/bench/pool/run.js [--seconds 5] [--no-write]`.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import pg from 'pg';
import { connectorFromUrl } from '../../src/db/connection.js';
import { createPool, type DocServerPool } from '../../src/db/pool.js';
import { getDocument, listDocuments } from '../../src/db/read-paths.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { table, writeSection } from '../shared/markdown.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const seconds = Number(flag('seconds', '5'));
const write = !args.includes('--no-write');
const admin = flag('admin-url', 'postgres://postgres@127.0.0.1:5432/postgres');
const CLIENTS = [1, 8, 32, 64];

interface Shape {
  readonly name: string;
  readonly config: Record<string, unknown>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function drive(p: DocServerPool, clients: number, maxId: number, sources: readonly string[]) {
  const latencies: number[] = [];
  let maxWaiting = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const sampler = setInterval(() => {
    maxWaiting = Math.max(maxWaiting, p.gauges().waiting);
  }, 10);
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = c;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          // The doc-server's mix: a point read, then a newest-first page of one source.
          if (i % 2 === 0) await getDocument(p.pool, String(1 + ((i * 7919) % maxId)));
          else
            await listDocuments(p.pool, { sourceName: sources[i % sources.length] ?? 'wiki' }, 20);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
        i += clients;
      }
    }),
  );
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  return {
    throughput: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    maxWaiting,
    errors,
  };
}

async function main(): Promise<void> {
  const dbName = `dbm_bench_pool_${String(process.pid)}`;
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  await adminClient.query(`create database ${dbName}`);
  const url = admin.replace(/\/[^/]*$/, `/${dbName}`);
  try {
    const run = await new Migrator({
      database: connectorFromUrl(url),
      source: new DirectoryMigrationSource('migrations'),
    }).apply();
    if (run.error) throw run.error;
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(
      `insert into document_sources (source_name) select 'source-' || g from generate_series(0, 199) g`,
    );
    await setup.query(`insert into documents (doc_type, source_name, title, content, created_at)
      select (array['article','note','email','ticket'])[1 + g % 4], 'source-' || (g % 200), 'doc ' || g,
             repeat('lorem ipsum ', 40), now() - (g || ' minutes')::interval
        from generate_series(1, 200000) g`);
    // The listing index the read path needs (the migrations will ship the measured one).
    await setup.query('create index on documents (source_name, created_at desc, id desc)');
    await setup.query('vacuum analyze documents');
    await setup.end();
    const sources = Array.from({ length: 200 }, (_, i) => `source-${String(i)}`);
    const shapes: Shape[] = [
      {
        name: 'pg.Pool defaults (max 10, no timeouts)',
        config: {
          connectionString: url,
          max: 10,
          statementTimeoutMs: 0,
          idleInTransactionSessionTimeoutMs: 0,
          idleTimeoutMs: 10_000,
          maxLifetimeSeconds: 0,
        },
      },
      {
        name: `tuned: max ${String(cpus().length * 2)} (2 × cores), min warm, timeouts`,
        config: { connectionString: url, max: cpus().length * 2, min: cpus().length * 2 },
      },
      { name: 'oversized: max 64', config: { connectionString: url, max: 64 } },
    ];
    const rows: string[][] = [];
    for (const shape of shapes) {
      for (const clients of CLIENTS) {
        const p = createPool(shape.config);
        await p.warm();
        const r = await drive(p, clients, 200_000, sources);
        rows.push([
          shape.name,
          String(clients),
          r.throughput.toFixed(0),
          r.p50.toFixed(2),
          r.p95.toFixed(2),
          r.p99.toFixed(2),
          String(r.maxWaiting),
          String(r.errors),
        ]);
        process.stdout.write(`${rows.at(-1)?.join(' | ') ?? ''}\n`);
        await p.end();
      }
    }
    const version = execFileSync('psql', ['-X', '-tA', admin, '-c', 'show server_version'], {
      encoding: 'utf8',
    }).trim();
    const body = [
      '## Pool shapes under concurrency (`bench/pool`)',
      '',
      `Command: \`node dist/bench/pool/run.js --seconds ${String(seconds)}\` (after \`npm run build\`), ${new Date().toISOString()}, ${String(cpus().length)} cores, PostgreSQL ${version}. 200,000 documents (no embeddings: these read paths never read them); each client alternates get-by-id and a newest-first page of 20 of one source, back to back, for ${String(seconds)} s per cell. Latency is per request, including the wait for a pooled connection; "max waiting" is the highest pool.waitingCount seen (sampled every 10 ms).`,
      '',
      table(
        ['pool', 'clients', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max waiting', 'errors'],
        rows,
      ),
    ].join('\n');
    process.stdout.write(`\n${body}\n`);
    if (write) writeSection('docs/benchmarks.md', 'pool', body);
  } finally {
    await adminClient.query(`drop database if exists ${dbName} with (force)`);
    await adminClient.end();
  }
}

await main();
