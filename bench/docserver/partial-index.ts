// Large filters at scale: the filtered HNSW walk beside a partial HNSW index per large value
// (pgvector's advice for a filter column with few distinct values), on a database after the
// doc-server's migrations, e.g. the one `run.js --keep-db` leaves.
//
//   node dist/bench/docserver/partial-index.js --database-url URL [--queries 30]
//
// For the doc_type nearest 10 % of the rows and the most popular source (the classes that miss
// at 1M): the exact top-10 (ground truth); `similarDocuments` as it is (p50/p95/p99, recall@10,
// the plan); a partial bit(3072) HNSW index on every partition `where <column> = '<value>'`,
// built CONCURRENTLY and attached to one on the parent (bench/docserver/large-values.ts; time
// and size); `similarDocuments` again, with the HNSW index each partition's scan walked. The partial indexes are dropped at the end (--keep-indexes to keep them).
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { similarDocuments, type DocumentFilter } from '../../src/db/read-paths.js';
import { createPartialIndex } from './large-values.js';
import { countFlag } from '../shared/flags.js';
import { table, writeSection } from '../shared/markdown.js';
import { serverFacts } from '../shared/server.js';
import {
  explainRecorded,
  percentiles,
  recordingClient,
  triple,
  type RecordedQuery,
} from './stats.js';

const K = 10;

const { values: flags } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    queries: { type: 'string', default: '30' },
    'keep-indexes': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help || flags['database-url'] === undefined) {
  process.stdout.write(
    [
      'usage: node dist/bench/docserver/partial-index.js --database-url URL [flags]',
      '  --database-url URL  a doc-server database after every migration (run.js --keep-db leaves one)',
      '  --queries Q         timed queries per filter and variant (default 30)',
      '  --keep-indexes      leave the partial indexes in place',
      '  --no-write          print the section only; leave docs/benchmarks.md alone',
      '',
    ].join('\n'),
  );
  process.exit(flags.help ? 0 : 2);
}

const url = flags['database-url'];
const queries = countFlag('queries', flags.queries);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const started = new Date();

function progress(message: string): void {
  process.stderr.write(
    `bench:docserver-partial: ${new Date().toISOString().slice(11, 19)} ${message}\n`,
  );
}

interface Filter {
  readonly label: string;
  readonly column: 'doc_type' | 'source_name';
  readonly value: string;
  readonly rows: number;
  readonly filter: DocumentFilter;
}

interface Measured {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly recall: number;
  readonly plans: string;
  readonly indexes: string;
}

const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'bench-partial' });
const created: string[] = [];

try {
  const factsClient = await pool.connect();
  const { version, settings } = await serverFacts(factsClient).finally(() => {
    factsClient.release();
  });
  const parts = (
    await pool.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'documents'::regclass order by 1`,
    )
  ).rows.map((r) => r.name);
  if (parts.length === 0)
    throw new Error('documents is not partitioned: run every migration first (run.js --keep-db)');
  const total = Number(
    (await pool.query<{ n: string }>('select count(*)::text n from documents')).rows[0]?.n ?? 0,
  );
  const top = async (column: 'doc_type' | 'source_name', target: number) =>
    (
      await pool.query<{ v: string; n: string }>(
        `select ${column} v, count(*)::text n from documents group by 1
          order by abs(ln(count(*)::float8 / $1 / $2)), 1 limit 1`,
        [total, target],
      )
    ).rows[0];
  const type10 = await top('doc_type', 0.1);
  const popular = (
    await pool.query<{ v: string; n: string }>(
      'select source_name v, count(*)::text n from documents group by 1 order by count(*) desc, 1 limit 1',
    )
  ).rows[0];
  if (!type10 || !popular) throw new Error('documents is empty');
  const pctOf = (n: number): string => `${((100 * n) / total).toFixed(0)} %`;
  const filters: Filter[] = [
    {
      label: `doc_type ≈10 % (\`${type10.v}\`, ${pctOf(Number(type10.n))})`,
      column: 'doc_type',
      value: type10.v,
      rows: Number(type10.n),
      filter: { docType: type10.v },
    },
    {
      label: `most popular source (\`${popular.v}\`, ${pctOf(Number(popular.n))})`,
      column: 'source_name',
      value: popular.v,
      rows: Number(popular.n),
      filter: { sourceName: popular.v },
    },
  ];

  // Query vectors: embeddings of random rows, as run.js picks them.
  const sample = await pool.query<{ e: string }>(
    `select embedding::text e from documents tablesample system (1) repeatable (42)
      order by id limit $1`,
    [queries],
  );
  const vectors = sample.rows.map((r) => JSON.parse(r.e) as number[]);
  if (vectors.length < queries) throw new Error(`only ${String(vectors.length)} query vectors`);

  const truth = new Map<Filter, string[][]>();
  for (const f of filters) {
    progress(`exact top-${String(K)} for ${f.label}`);
    const results: string[][] = [];
    for (const v of vectors) {
      const res = await pool.query<{ id: string }>(
        `select id::text id from documents where ${f.column} = $1
          order by embedding <=> $2::vector, id limit ${String(K)}`,
        [f.value, `[${v.join(',')}]`],
      );
      results.push(res.rows.map((r) => r.id));
    }
    truth.set(f, results);
  }

  // The HNSW indexes by name, to tell a walk from the btree probes of the re-rank.
  const hnswIndexes = async (): Promise<Set<string>> =>
    new Set(
      (
        await pool.query<{ name: string }>(
          `select c.relname as name from pg_class c join pg_am a on a.oid = c.relam
            where a.amname = 'hnsw'`,
        )
      ).rows.map((r) => r.name),
    );

  // Each measurement on a pool of its own: the read path caches the table's facts (which
  // partial indexes exist) per pool for READ_PATH_FACTS_TTL_MS.
  const measure = async (f: Filter): Promise<Measured> => {
    const own = new pg.Pool({ connectionString: url, max: 2, application_name: 'bench-partial' });
    try {
      return await measureOn(own, f);
    } finally {
      await own.end();
    }
  };
  const measureOn = async (on: pg.Pool, f: Filter): Promise<Measured> => {
    const q = (i: number) => ({ embedding: vectors[i] ?? [], k: K, ...f.filter });
    for (let i = 0; i < queries; i++) await similarDocuments(on, q(i)); // warm pass
    const samples: number[] = [];
    const plans = new Map<string, number>();
    let hits = 0;
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now();
      const res = await similarDocuments(on, q(i));
      samples.push(performance.now() - t0);
      plans.set(res.plan, (plans.get(res.plan) ?? 0) + 1);
      const want = new Set(truth.get(f)?.[i] ?? []);
      hits += res.rows.filter((r) => want.has(r.id)).length;
    }
    // Which HNSW index each partition's scan walked, from one replayed EXPLAIN.
    const hnsw = await hnswIndexes();
    const client = await on.connect();
    let indexes: string;
    try {
      const log: RecordedQuery[] = [];
      await similarDocuments(recordingClient(client, log), q(0));
      const plan = await explainRecorded(client, log);
      const walked = [...plan.text.matchAll(/Index Scan using (\S+)/g)]
        .map((m) => m[1] ?? '')
        .filter((x) => hnsw.has(x));
      indexes = [...new Set(walked)].join(', ') || 'none (scanned)';
    } finally {
      client.release();
    }
    const p = percentiles(samples);
    return {
      p50: p.p50,
      p95: p.p95,
      p99: p.p99,
      recall: hits / (K * queries),
      plans: [...plans].map(([k, n]) => `${k} ${String(n)}`).join(', '),
      indexes,
    };
  };

  const rows: string[][] = [];
  for (const f of filters) {
    progress(`similarDocuments, filtered walk: ${f.label}`);
    const before = await measure(f);
    progress(`partial indexes for ${f.label} on ${String(parts.length)} partitions`);
    const built = await createPartialIndex(pool, { column: f.column, value: f.value });
    created.push(built.name);
    const buildMs = built.buildMs;
    const size = `${(built.bytes / 1024 / 1024).toFixed(0)} MB`;
    progress(`similarDocuments with the partial indexes: ${f.label}`);
    const after = await measure(f);
    const cell = (m: Measured): string =>
      `${triple({ p50: m.p50, p95: m.p95, p99: m.p99, n: queries })} (${m.recall.toFixed(3)})`;
    rows.push(
      [f.label, 'without a partial index', cell(before), before.plans, before.indexes],
      [
        f.label,
        `partial index on every partition (built in ${(buildMs / 1000).toFixed(0)} s, ${size})`,
        cell(after),
        after.plans,
        after.indexes,
      ],
    );
    if (!flags['keep-indexes']) {
      for (const name of created.splice(0)) await pool.query(`drop index ${name}`);
    }
  }

  const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
  const section = [
    '## Large filters: the filtered walk beside a partial HNSW index per value',
    '',
    `Command: \`node dist/bench/docserver/partial-index.js ${process.argv.slice(2).join(' ')}\`, after \`npm run build\`,`,
    `on the database \`run.js --keep-db\` left. Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} on ${String(cpus().length)} CPUs, PostgreSQL ${version}, ${settings};`,
    `${total.toLocaleString('en')} documents in ${String(parts.length)} partitions; load average at the end ${l1} ${l5} ${l15}.`,
    '',
    `p50 / p95 / p99 ms (recall@10) of ${String(queries)} \`similarDocuments\` calls per row after an untimed pass,`,
    'query vectors from random rows; the exact filtered top-10 is the truth. "plan" is what',
    '`similarDocuments` chose; "indexes" the HNSW indexes one replayed EXPLAIN ANALYZE walked.',
    '',
    table(['filter', 'index', 'p50 / p95 / p99 ms (recall@10)', 'plan', 'indexes'], rows),
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write'])
    writeSection(join(root, 'docs/benchmarks.md'), 'docserver-partial', section);
} catch (err) {
  process.stderr.write(
    `bench:docserver-partial: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  if (!flags['keep-indexes'])
    for (const name of created) await pool.query(`drop index if exists ${name}`).catch(() => 0);
  await pool.end();
}
