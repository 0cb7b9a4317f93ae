// What time partitioning costs and buys the doc-server's read paths (docs/partitioning.md;
// docs/benchmarks.md, section "partitions"): the same documents, the same queries, the table
// unpartitioned and range-partitioned on created_at into N equal slices of its two years.
//
//   npm run build && node dist/bench/partitions/run.js [--rows 100000] [--queries 50] [--layouts 1,4,12,24]
//
// Each layout is its own database cloned from the cached dataset (bench/docserver/dataset.ts)
// with migrations up to 0008 applied (keyset btrees, quantised column and its HNSW index); for
// N > 1 the rows are copied into a partitioned `documents` with the same indexes, built per
// partition. Top-k over N partitions is N index scans merged (Merge Append), so similarity is
// measured with the read path's default plan choice and with HNSW forced, with recall@10
// against exact search on the unpartitioned table.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { connectorFromUrl } from '../../src/db/connection.js';
import {
  getDocument,
  listDocuments,
  similarDocuments,
  type DocumentFilter,
  type SimilarityOptions,
} from '../../src/db/read-paths.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { datasetDatabase } from '../docserver/dataset.js';
import { generateDocuments } from '../docserver/documents.js';
import { EmbeddingModel } from '../docserver/embeddings.js';
import { percentiles, triple, type Percentiles } from '../docserver/stats.js';
import { table, writeSection } from '../shared/markdown.js';
import { countFlag } from '../shared/flags.js';

const K = 10;

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '50' },
    layouts: { type: 'string', default: '1,4,12,24' },
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
    'usage: node dist/bench/partitions/run.js [--rows N] [--queries Q] [--layouts 1,4,12,24] [--no-write]\n',
  );
  process.exit(0);
}
const rows = countFlag('rows', flags.rows);
const queries = countFlag('queries', flags.queries);
const layouts = flags.layouts.split(',').map((s) => countFlag('layouts', s.trim()));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const started = new Date();
const progress = (m: string): void => {
  process.stderr.write(`bench:partitions: ${new Date().toISOString().slice(11, 19)} ${m}\n`);
};

const INDEXES = [
  'create index on documents (source_name, created_at desc, id desc) include (embedding_bq)',
  'create index on documents (doc_type, created_at desc, id desc) include (embedding_bq)',
  'create index on documents (doc_type, source_name, created_at desc, id desc) include (embedding_bq)',
  'create index on documents (created_at desc, id desc) include (embedding_bq)',
  'create index documents_embedding_bq_hnsw on documents using hnsw (embedding_bq bit_hamming_ops)',
];

interface Layout {
  readonly partitions: number;
  readonly url: string;
  readonly name: string;
  readonly buildMs: number;
}

const admin = new pg.Client({ connectionString: flags['admin-url'], application_name: 'bench' });
await admin.connect();
const made: string[] = [];

/** The table partitioned into `n` equal created_at slices (n = 1: left as migrated). */
async function layout(n: number): Promise<Layout> {
  const name = `dbm_bench_parts_${String(n)}_${String(process.pid)}`;
  const ds = await datasetDatabase(admin, flags['admin-url'], name, rows, root, progress);
  made.push(name);
  const run = await new Migrator({
    database: connectorFromUrl(ds.url),
    source: new DirectoryMigrationSource(join(root, 'migrations')),
  }).apply({ target: '0008' });
  if (run.error) throw new Error(`migrations failed: ${run.error.message}`);
  const c = new pg.Client({ connectionString: ds.url });
  await c.connect();
  try {
    let buildMs = run.results.reduce((s, r) => s + (r.durationMs ?? 0), 0);
    if (n > 1) {
      progress(`${name}: copying into ${String(n)} partitions`);
      const span = (
        await c.query<{ lo: Date; hi: Date }>(
          "select min(created_at) lo, max(created_at) + interval '1 second' hi from documents",
        )
      ).rows[0];
      if (!span) throw new Error('empty dataset');
      await c.query('alter table documents rename to documents_flat');
      await c.query(
        `create table documents (like documents_flat including defaults) partition by range (created_at)`,
      );
      await c.query('alter table documents add primary key (id, created_at)');
      const lo = span.lo.getTime();
      const step = (span.hi.getTime() - lo) / n;
      for (let i = 0; i < n; i++) {
        const from = i === 0 ? 'minvalue' : `'${new Date(lo + i * step).toISOString()}'`;
        const to = i === n - 1 ? 'maxvalue' : `'${new Date(lo + (i + 1) * step).toISOString()}'`;
        await c.query(
          `create table documents_s${String(i)} partition of documents for values from (${from}) to (${to})`,
        );
      }
      await c.query('insert into documents select * from documents_flat');
      await c.query('drop table documents_flat');
      await c.query("set maintenance_work_mem = '1GB'");
      const t0 = performance.now();
      for (const sql of INDEXES) await c.query(sql);
      buildMs = performance.now() - t0;
    }
    await c.query('vacuum analyze documents');
    return { partitions: n, url: ds.url, name, buildMs };
  } finally {
    await c.end();
  }
}

interface Row {
  layout: number;
  path: string;
  latency: Percentiles;
  recall: number | null;
  plan: string;
}

try {
  const model = new EmbeddingModel();
  const vectors = [...generateDocuments(queries, { seed: 20_261_128, model })].map(
    (d) => d.embedding,
  );
  const built: Layout[] = [];
  for (const n of layouts) built.push(await layout(n));
  const flat = built.find((l) => l.partitions === 1) ?? built[0];
  if (!flat) throw new Error('no layout');

  // Filter classes and the exact ground truth, on the first layout.
  const probe = new pg.Pool({ connectionString: flat.url, max: 1 });
  const newest = (await probe.query<{ t: Date }>('select max(created_at) t from documents')).rows[0]
    ?.t;
  const recent = new Date((newest ?? new Date()).getTime() - 30 * 86_400_000);
  const source = (
    await probe.query<{ s: string }>(
      `select source_name s from documents group by 1
        order by abs(count(*) - (select count(*) * 0.02 from documents)) limit 1`,
    )
  ).rows[0]?.s;
  const classes: [string, DocumentFilter][] = [
    ['unfiltered', {}],
    ['created_at ≥ newest − 30 days', { createdAfter: recent }],
    ['doc_type `ticket` (≈10 %)', { docType: 'ticket' }],
    [`source_name \`${source ?? ''}\` (≈2 %)`, { sourceName: source ?? '' }],
  ];
  const truth = new Map<string, string[][]>();
  for (const [label, filter] of classes) {
    progress(`exact ground truth: ${label}`);
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.createdAfter)
      where.push(`created_at >= $${String(params.push(filter.createdAfter))}`);
    if (filter.docType) where.push(`doc_type = $${String(params.push(filter.docType))}`);
    if (filter.sourceName) where.push(`source_name = $${String(params.push(filter.sourceName))}`);
    const ids: string[][] = [];
    for (const v of vectors) {
      const exact = await probe.query<{ id: string }>(
        `select id::text id from documents ${where.length ? `where ${where.join(' and ')}` : ''}
          order by embedding <=> $${String(params.length + 1)}::vector, id limit ${String(K)}`,
        [...params, `[${Array.from(v, (x) => x.toPrecision(7)).join(',')}]`],
      );
      ids.push(exact.rows.map((r) => r.id));
    }
    truth.set(label, ids);
  }
  await probe.end();

  const results: Row[] = [];
  for (const l of built) {
    const pool = new pg.Pool({ connectionString: l.url, max: 1 });
    pool.on('error', () => undefined);
    const time = async (fn: (i: number) => Promise<void>): Promise<Percentiles> => {
      await fn(0);
      const samples: number[] = [];
      for (let i = 0; i < vectors.length; i++) {
        const t0 = performance.now();
        await fn(i);
        samples.push(performance.now() - t0);
      }
      return percentiles(samples);
    };
    for (const [label, filter] of classes) {
      for (const [mode, options] of [
        ['default plan', {}],
        ['HNSW forced', { exactThreshold: 0 }],
      ] as [string, SimilarityOptions][]) {
        progress(`${String(l.partitions)} partition(s): ${label}, ${mode}`);
        let hits = 0;
        let total = 0;
        const plans = new Map<string, number>();
        const latency = await time(async (i) => {
          const res = await similarDocuments(
            pool,
            { embedding: vectors[i] ?? new Float32Array(), k: K, ...filter },
            options,
          );
          plans.set(res.plan, (plans.get(res.plan) ?? 0) + 1);
          const want = new Set(truth.get(label)?.[i]);
          hits += res.rows.filter((r) => want.has(r.id)).length;
          total += want.size;
        });
        results.push({
          layout: l.partitions,
          path: `similarity top-10, ${label}, ${mode}`,
          latency,
          recall: total ? hits / total : null,
          plan: [...plans.keys()].join(', '),
        });
      }
    }
    progress(`${String(l.partitions)} partition(s): listing and get by id`);
    const first = await listDocuments(pool, { sourceName: source ?? '' }, 20);
    results.push({
      layout: l.partitions,
      path: 'list by source newest first, page 2 of 20',
      latency: await time(async () => {
        await listDocuments(pool, { sourceName: source ?? '' }, 20, first.next ?? undefined);
      }),
      recall: null,
      plan: '',
    });
    const ids = (
      await pool.query<{ id: string }>(
        `select id::text id from documents order by id limit ${String(vectors.length)}`,
      )
    ).rows.map((r) => r.id);
    results.push({
      layout: l.partitions,
      path: 'get by id (no partition key)',
      latency: await time(async (i) => {
        await getDocument(pool, ids[i % ids.length] ?? '0');
      }),
      recall: null,
      plan: '',
    });
    await pool.end();
  }

  const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
  const paths = [...new Set(results.map((r) => r.path))];
  const cell = (n: number, path: string): string => {
    const r = results.find((x) => x.layout === n && x.path === path);
    if (!r) return '–';
    return `${triple(r.latency)}${r.recall === null ? '' : ` (recall ${r.recall.toFixed(3)}${r.plan ? `, ${r.plan}` : ''})`}`;
  };
  const cmd = `node dist/bench/partitions/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const section = [
    '## Time partitioning and the read paths',
    '',
    `Command: \`${cmd}\`, after \`npm run build\`.`,
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} on ${String(cpus().length)} CPUs, default PostgreSQL configuration.`,
    `${rows.toLocaleString('en')} synthetic documents (bench/docserver) over two years; migrations up to 0008 (keyset btrees,`,
    'bit(3072) column and its HNSW index). "1" is the table as migrated; N > 1 the same rows in a',
    '`documents` range-partitioned on created_at into N equal slices, every index built per partition.',
    `${String(queries)} query vectors (new documents from the same model), sequential, one connection; p50 / p95 / p99`,
    'ms through src/db/read-paths.ts; recall@10 against exact search on the full vector(3072).',
    '"default plan" is similarDocuments\' own choice; "HNSW forced" sets exactThreshold 0.',
    `Load average at the end ${l1} ${l5} ${l15}.`,
    '',
    table(
      [
        'read path',
        ...built.map((l) => `${String(l.partitions)} partition${l.partitions > 1 ? 's' : ''}`),
      ],
      paths.map((p) => [p, ...built.map((l) => cell(l.partitions, p))]),
    ),
    '',
    table(
      [
        'layout',
        'build s (1: migrations 0005–0008 through the engine; N: every index, per partition)',
      ],
      built.map((l) => [String(l.partitions), (l.buildMs / 1000).toFixed(1)]),
    ),
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) writeSection(join(root, 'docs/benchmarks.md'), 'partitions', section);
} catch (err) {
  process.stderr.write(
    `bench:partitions: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  for (const name of made) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
