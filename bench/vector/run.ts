// The 3072-d vector index comparison (docs/benchmarks.md, section "vector";
// docs/pgvector-dimensions.md draws the conclusion). pgvector indexes `vector` up to 2,000
// dimensions only, so for text-embedding-3-large's 3,072 the candidates are measured side by
// side on the same data, the same query vectors and the same exact ground truth:
//
//   npm run build && node dist/bench/vector/run.js [--rows 100000] [--queries 50] [--reduced 512]
//
// - halfvec: HNSW on the expression embedding::halfvec(3072) (halfvec indexes up to 4,000 dims);
// - bq: binary quantisation, a stored bit(3072) column (binary_quantize) with an HNSW Hamming index;
// - reduced: the embedding truncated to its first D dimensions and renormalised
//   (text-embedding-3-large is trained so that a prefix is itself an embedding), stored as
//   halfvec(D) and indexed with HNSW.
// Every candidate list, ANN or exact, is re-ranked by exact cosine distance on the full
// vector(3072). Filtered classes run twice per option: the HNSW index with pgvector 0.8's
// iterative scan, and (for the stored columns) an exact scan of the filter's rows in the
// compact column. The plan of each is forced and checked with EXPLAIN.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { datasetDatabase } from '../docserver/dataset.js';
import { generateDocuments } from '../docserver/documents.js';
import { EmbeddingModel, vectorLiteral } from '../docserver/embeddings.js';
import { percentiles, triple, type Percentiles } from '../docserver/stats.js';
import { table, writeSection } from '../shared/markdown.js';
import { serverFacts } from '../shared/server.js';
import { countFlag } from '../shared/flags.js';

const K = 10;

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '50' },
    reduced: { type: 'string', default: '512' },
    'admin-url': {
      type: 'string',
      default: process.env['BENCH_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    'maintenance-work-mem': { type: 'string', default: '4GB' },
    'no-write': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'usage: node dist/bench/vector/run.js [flags]',
      '  --rows N                 synthetic documents (default 100000; the loaded data is cached',
      '                           as a template database dbm_bench_tpl_docs_N_g* for later runs)',
      '  --queries Q              query vectors per class (default 50)',
      '  --reduced D[,D]          reduced dimensions to measure (default 512)',
      '  --maintenance-work-mem M for the index builds (default 4GB)',
      '  --admin-url URL          where to create/drop databases (default $BENCH_ADMIN_URL or local postgres)',
      '  --no-write               print the section only; leave docs/benchmarks.md alone',
      '  --keep-db                keep the benchmark database',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const rows = countFlag('rows', flags.rows);
const queries = countFlag('queries', flags.queries);
const reducedDims = flags.reduced.split(',').map((d) => {
  const n = countFlag('reduced', d.trim());
  if (n > 4000) throw new Error(`--reduced: ${String(n)} is above halfvec's 4,000-dim index limit`);
  return n;
});
if (!/^\d+(kB|MB|GB)$/.test(flags['maintenance-work-mem']))
  throw new Error(`--maintenance-work-mem: "${flags['maintenance-work-mem']}" is not like 4GB`);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const started = new Date();

function progress(message: string): void {
  process.stderr.write(`bench:vector: ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

const pct = (x: number): string =>
  x >= 0.1 ? `${(x * 100).toFixed(0)} %` : `${(x * 100).toFixed(x >= 0.01 ? 1 : 2)} %`;

interface Filter {
  readonly docType?: string;
  readonly sourceName?: string;
  readonly createdAfter?: Date;
}

interface FilterClass {
  readonly label: string;
  readonly filter: Filter;
  readonly selectivity: number;
}

/**
 * WHERE clause with $1.. parameters; the query vector is always the last parameter.
 * `opaque` wraps each predicate in `(…) is true`, which no btree can serve, so the only plan
 * left that yields rows in distance order is the ANN index scan (enable_sort = off would do
 * the same but slows pgvector's scan path down by tens of milliseconds).
 */
function where(f: Filter, opaque = false): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const parts: string[] = [];
  const add = (sql: string, v: unknown): void => {
    values.push(v);
    const p = `${sql} $${String(values.length)}`;
    parts.push(opaque ? `(${p}) is true` : p);
  };
  if (f.docType !== undefined) add('doc_type =', f.docType);
  if (f.sourceName !== undefined) add('source_name =', f.sourceName);
  if (f.createdAfter !== undefined) add('created_at >=', f.createdAfter);
  return { sql: parts.length ? `where ${parts.join(' and ')}` : '', values };
}

/** One way to produce candidates, re-ranked by exact distance on the full vector. */
interface Representation {
  readonly key: string;
  readonly label: string;
  /** Statements that create it (timed: backfill, then the index). */
  readonly column?: { readonly name: string; readonly type: string; readonly set: string };
  readonly index: { readonly name: string; readonly sql: string };
  /** ORDER BY expression for the candidates, given the query vector parameter. */
  readonly order: (v: string) => string;
  /** Whether an exact scan of the filter's rows in this representation is cheap (inline). */
  readonly exactCandidates: boolean;
  readonly unfilteredSettings: readonly { ef: number; n: number }[];
  readonly filtered: { ef: number; n: number };
}

const representations: Representation[] = [
  {
    key: 'halfvec',
    label: 'halfvec(3072) expression',
    index: {
      name: 'bench_embedding_halfvec_hnsw',
      sql: 'create index concurrently bench_embedding_halfvec_hnsw on documents using hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops)',
    },
    order: (v) => `embedding::halfvec(3072) <=> ${v}::vector::halfvec(3072)`,
    exactCandidates: false,
    unfilteredSettings: [
      { ef: 40, n: 10 },
      { ef: 40, n: 40 },
      { ef: 100, n: 40 },
      { ef: 200, n: 100 },
    ],
    filtered: { ef: 100, n: 40 },
  },
  {
    key: 'bq',
    label: 'binary quantisation, bit(3072) column',
    column: {
      name: 'bench_bq',
      type: 'bit(3072)',
      set: 'binary_quantize(embedding)::bit(3072)',
    },
    index: {
      name: 'bench_bq_hnsw',
      sql: 'create index concurrently bench_bq_hnsw on documents using hnsw (bench_bq bit_hamming_ops)',
    },
    order: (v) => `bench_bq <~> binary_quantize(${v}::vector)::bit(3072)`,
    exactCandidates: true,
    unfilteredSettings: [
      { ef: 100, n: 100 },
      { ef: 200, n: 200 },
      { ef: 400, n: 400 },
    ],
    filtered: { ef: 200, n: 200 },
  },
  ...reducedDims.map((d): Representation => ({
    key: `reduced${String(d)}`,
    label: `first ${String(d)} dims renormalised, halfvec(${String(d)}) column`,
    column: {
      name: `bench_r${String(d)}`,
      type: `halfvec(${String(d)})`,
      set: `l2_normalize(subvector(embedding, 1, ${String(d)}))::halfvec(${String(d)})`,
    },
    index: {
      name: `bench_r${String(d)}_hnsw`,
      sql: `create index concurrently bench_r${String(d)}_hnsw on documents using hnsw (bench_r${String(d)} halfvec_cosine_ops)`,
    },
    order: (v) =>
      `bench_r${String(d)} <=> l2_normalize(subvector(${v}::vector, 1, ${String(d)}))::halfvec(${String(d)})`,
    exactCandidates: true,
    unfilteredSettings: [
      { ef: 40, n: 40 },
      { ef: 100, n: 100 },
      { ef: 200, n: 200 },
    ],
    filtered: { ef: 100, n: 100 },
  })),
];

type Mode = 'hnsw' | 'exact-candidates';

/** Settings that force the plan: ANN must be the index scan; exact must not touch an ANN index. */
function planSettings(mode: Mode, ef: number): [string, string][] {
  return mode === 'hnsw'
    ? [
        ['hnsw.ef_search', String(ef)],
        ['hnsw.iterative_scan', 'relaxed_order'],
        ['hnsw.max_scan_tuples', '50000'],
        ['enable_seqscan', 'off'],
      ]
    : [['enable_indexscan', 'off']];
}

function candidateQuery(
  r: Representation,
  f: Filter,
  n: number,
  mode: Mode,
): { text: (v: string) => string; values: unknown[] } {
  const w = where(f, mode === 'hnsw');
  return {
    values: w.values,
    text: (v) => `select id::text as id from (
        select id, embedding from documents ${w.sql} order by ${r.order(v)} limit ${String(n)}
      ) c order by embedding <=> ${v}::vector, id limit ${String(K)}`,
  };
}

interface Measurement {
  readonly latency: Percentiles;
  readonly recall: number;
  readonly plan: string;
}

const admin = new pg.Client({ connectionString: flags['admin-url'], application_name: 'bench' });
await admin.connect();
const dbName = `dbm_bench_vec_${String(process.pid)}`;
let client: pg.Client | null = null;

try {
  const { version: server, settings } = await serverFacts(admin);
  const ds = await datasetDatabase(admin, flags['admin-url'], dbName, rows, root, progress);
  const c = new pg.Client({ connectionString: ds.url, application_name: 'bench-vector' });
  client = c;
  await c.connect();
  const pgvector = (
    await c.query<{ v: string }>("select extversion v from pg_extension where extname = 'vector'")
  ).rows[0]?.v;
  const total = Number(
    (await c.query<{ n: string }>('select count(*)::text n from documents')).rows[0]?.n,
  );
  progress(`database ${dbName}: ${String(total)} documents`);

  // Filter classes from the real distributions.
  const dist = async (sql: string): Promise<{ v: string; s?: string; sel: number }[]> =>
    (await c.query<{ v: string; s?: string; n: string }>(sql)).rows.map((r) => ({
      v: r.v,
      ...(r.s === undefined ? {} : { s: r.s }),
      sel: Number(r.n) / total,
    }));
  const closest = <T extends { sel: number }>(xs: readonly T[], target: number): T | undefined =>
    [...xs].sort(
      (a, b) => Math.abs(Math.log(a.sel / target)) - Math.abs(Math.log(b.sel / target)),
    )[0];
  const byType = await dist(
    'select doc_type v, count(*)::text n from documents group by 1 order by 2 desc, 1',
  );
  const bySource = await dist(
    'select source_name v, count(*)::text n from documents group by 1 order by count(*) desc, 1',
  );
  const byPair = await dist(
    'select doc_type v, source_name s, count(*)::text n from documents group by 1, 2 order by count(*) desc, 1, 2',
  );
  const classes: FilterClass[] = [{ label: 'unfiltered', filter: {}, selectivity: 1 }];
  const t10 = closest(byType, 0.1);
  if (t10)
    classes.push({
      label: `doc_type \`${t10.v}\``,
      filter: { docType: t10.v },
      selectivity: t10.sel,
    });
  const t1 = closest(byType, 0.01);
  if (t1)
    classes.push({ label: `doc_type \`${t1.v}\``, filter: { docType: t1.v }, selectivity: t1.sel });
  const s2 = closest(bySource, 0.02);
  if (s2)
    classes.push({
      label: `source_name \`${s2.v}\``,
      filter: { sourceName: s2.v },
      selectivity: s2.sel,
    });
  const p01 = closest(byPair, 0.001);
  if (p01?.s !== undefined)
    classes.push({
      label: `doc_type \`${p01.v}\` + source_name \`${p01.s}\``,
      filter: { docType: p01.v, sourceName: p01.s },
      selectivity: p01.sel,
    });
  const newest = (await c.query<{ t: Date }>('select max(created_at) t from documents')).rows[0]?.t;
  const after = new Date((newest ?? new Date()).getTime() - 30 * 86_400_000);
  const inRange = Number(
    (
      await c.query<{ n: string }>(
        'select count(*)::text n from documents where created_at >= $1',
        [after],
      )
    ).rows[0]?.n,
  );
  classes.push({
    label: 'created_at ≥ newest − 30 days',
    filter: { createdAfter: after },
    selectivity: inRange / total,
  });

  // Query vectors: new documents from the same model (a query is not a stored row).
  const queryVectors = [
    ...generateDocuments(queries, { seed: 20_261_128, model: new EmbeddingModel() }),
  ].map((d) => vectorLiteral(d.embedding));

  async function inTransaction<T>(settings: [string, string][], fn: () => Promise<T>): Promise<T> {
    await c.query('begin');
    try {
      for (const [k, v] of settings) await c.query('select set_config($1, $2, true)', [k, v]);
      const out = await fn();
      await c.query('commit');
      return out;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  async function planOf(settings: [string, string][], text: string, values: unknown[]) {
    return inTransaction(settings, async () => {
      const res = await c.query<{ 'QUERY PLAN': string }>(`explain ${text}`, values);
      const lines = res.rows.map((r) => r['QUERY PLAN']);
      const scans = lines
        .filter((l) => /Scan/.test(l) && !/Subquery Scan/.test(l))
        .map((l) =>
          l
            .replace(/^\s*(->\s*)?/, '')
            .replace(/\s*\(cost=.*$/, '')
            .replace(/ on documents$/, ''),
        );
      return scans.join(' → ');
    });
  }

  /** Times every query vector once (after one untimed warm-up) and scores recall. */
  async function run(
    settings: [string, string][],
    q: { text: (v: string) => string; values: unknown[] },
    truth: readonly (readonly string[])[] | null,
  ): Promise<Measurement & { ids: string[][] }> {
    const exec = async (i: number): Promise<string[]> => {
      const values = [...q.values, queryVectors[i]];
      const text = q.text(`$${String(values.length)}`);
      const res = await inTransaction(settings, () => c.query<{ id: string }>(text, values));
      return res.rows.map((r) => r.id);
    };
    await exec(0);
    const samples: number[] = [];
    const ids: string[][] = [];
    let hits = 0;
    let expected = 0;
    for (let i = 0; i < queryVectors.length; i++) {
      const t0 = performance.now();
      const got = await exec(i);
      samples.push(performance.now() - t0);
      ids.push(got);
      if (truth) {
        const want = new Set(truth[i]);
        hits += got.filter((id) => want.has(id)).length;
        expected += want.size;
      }
    }
    const values = [...q.values, queryVectors[0]];
    const plan = await planOf(settings, q.text(`$${String(values.length)}`), values);
    return {
      latency: percentiles(samples),
      recall: truth ? (expected ? hits / expected : 1) : 1,
      plan,
      ids,
    };
  }

  // Ground truth: exact search on the full vector, no ANN index present yet.
  const truth = new Map<FilterClass, { ids: string[][]; m: Measurement }>();
  for (const fc of classes) {
    progress(`exact ground truth: ${fc.label}`);
    const w = where(fc.filter);
    const res = await run(
      [],
      {
        values: w.values,
        text: (v) =>
          `select id::text as id from documents ${w.sql} order by embedding <=> ${v}::vector, id limit ${String(K)}`,
      },
      null,
    );
    truth.set(fc, { ids: res.ids, m: res });
  }

  interface Built {
    readonly r: Representation;
    readonly backfillMs: number | null;
    readonly buildMs: number;
    readonly indexSize: string;
    readonly indexBytes: number;
    readonly columnBytes: number | null;
  }
  const built: Built[] = [];
  const unfilteredRows: string[][] = [];
  const filteredRows: string[][] = [];
  const truthOf = (fc: FilterClass): string[][] => truth.get(fc)?.ids ?? [];

  for (const r of representations) {
    let backfillMs: number | null = null;
    if (r.column) {
      progress(`${r.key}: adding and backfilling the column`);
      await c.query(`alter table documents add column ${r.column.name} ${r.column.type}`);
      const b0 = performance.now();
      // Keyset batches, each its own transaction, as the product's backfill does.
      const bounds = (
        await c.query<{ lo: string; hi: string }>(
          'select min(id)::text lo, max(id)::text hi from documents',
        )
      ).rows[0];
      const lo = Number(bounds?.lo ?? 0);
      const hi = Number(bounds?.hi ?? 0);
      for (let from = lo; from <= hi; from += 5000)
        await c.query(
          `update documents set ${r.column.name} = ${r.column.set} where id >= $1 and id < $2`,
          [from, from + 5000],
        );
      backfillMs = performance.now() - b0;
      await c.query('vacuum analyze documents');
    }
    progress(`${r.key}: building ${r.index.name}`);
    await c.query(`set maintenance_work_mem = '${flags['maintenance-work-mem']}'`);
    const i0 = performance.now();
    await c.query(r.index.sql);
    const buildMs = performance.now() - i0;
    await c.query('reset maintenance_work_mem');
    await c.query('analyze documents');
    const sizes = (
      await c.query<{ pretty: string; bytes: string; col: string | null }>(
        `select pg_size_pretty(pg_relation_size($1::regclass)) pretty,
                pg_relation_size($1::regclass)::text bytes,
                ${r.column ? `(select avg(pg_column_size(${r.column.name}))::int::text from documents)` : 'null'} col`,
        [r.index.name],
      )
    ).rows[0];
    built.push({
      r,
      backfillMs,
      buildMs,
      indexSize: sizes?.pretty ?? '?',
      indexBytes: Number(sizes?.bytes ?? 0),
      columnBytes: sizes?.col == null ? null : Number(sizes.col),
    });
    progress(`${r.key}: built in ${(buildMs / 1000).toFixed(1)} s, ${sizes?.pretty ?? '?'}`);

    const unfiltered = classes[0];
    if (unfiltered) {
      for (const s of r.unfilteredSettings) {
        progress(`${r.key}: unfiltered ef_search ${String(s.ef)}, re-rank ${String(s.n)}`);
        const m = await run(
          planSettings('hnsw', s.ef),
          candidateQuery(r, {}, s.n, 'hnsw'),
          truthOf(unfiltered),
        );
        unfilteredRows.push([
          r.label,
          String(s.ef),
          String(s.n),
          triple(m.latency),
          m.recall.toFixed(3),
          m.plan,
        ]);
      }
    }
    for (const fc of classes.slice(1)) {
      const modes: Mode[] = r.exactCandidates ? ['hnsw', 'exact-candidates'] : ['hnsw'];
      for (const mode of modes) {
        progress(`${r.key}: ${fc.label} (${mode})`);
        const m = await run(
          planSettings(mode, r.filtered.ef),
          candidateQuery(r, fc.filter, r.filtered.n, mode),
          truthOf(fc),
        );
        filteredRows.push([
          fc.label,
          pct(fc.selectivity),
          r.label,
          mode === 'hnsw'
            ? `HNSW iterative, ef_search ${String(r.filtered.ef)}, re-rank ${String(r.filtered.n)}`
            : `exact over the filter's rows, re-rank ${String(r.filtered.n)}`,
          triple(m.latency),
          m.recall.toFixed(3),
          m.plan,
        ]);
      }
    }
    // Drop it so the next representation is measured without this one's index in memory.
    await c.query(`drop index ${r.index.name}`);
  }

  // Report.
  const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
  const truthRows = classes.map((fc) => {
    const m = truth.get(fc)?.m;
    return [
      fc.label,
      pct(fc.selectivity),
      m ? triple(m.latency) : '–',
      m?.plan ?? '–',
      m
        ? `${((m.latency.p50 * 1000) / Math.max(1, Math.round(fc.selectivity * total))).toFixed(1)} µs`
        : '–',
    ];
  });
  const cmd = `node dist/bench/vector/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const section = [
    '## 3072-d vector index options',
    '',
    `Command: \`${cmd}\`, after \`npm run build\`.`,
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} on ${String(cpus().length)} CPUs, PostgreSQL ${server} (${settings}),`,
    `pgvector ${pgvector ?? '?'}. ${total.toLocaleString('en')} synthetic documents (bench/docserver: 3072-d unit vectors`,
    `on a 16-d topic manifold, skewed doc_type, Zipf source_name, two years of created_at)${ds.loadMs === null ? ', cloned from the cached template' : `, loaded in ${(ds.loadMs / 1000).toFixed(0)} s`}.`,
    `${String(queryVectors.length)} query vectors per class, new documents from the same model (not stored rows);`,
    `latency p50 / p95 / p99 in ms over them, sequential, one connection, wall clock in the client,`,
    `including the transaction-local settings. Recall@10 against exact search on the full`,
    `vector(3072) with the same filter. Every candidate list is re-ranked by exact cosine distance on the`,
    `full vector(3072). HNSW: m = 16, ef_construction = 64, maintenance_work_mem ${flags['maintenance-work-mem']}, built`,
    `CONCURRENTLY, one index at a time (each dropped before the next is built).`,
    `Plans are forced (HNSW: filters as \`(…) is true\`, which no btree serves, and seqscan off; exact: indexscan off) and the scan`,
    `nodes of EXPLAIN are shown. Load average at the end ${l1} ${l5} ${l15}.`,
    '',
    '### Exact search on the full vector (the ground truth, and the baseline)',
    '',
    table(
      ['filter class', 'selectivity', 'p50 / p95 / p99 ms', 'plan', 'per row (p50)'],
      truthRows,
    ),
    '',
    '### Building each option',
    '',
    table(
      ['option', 'backfill s', 'index build s', 'index size', 'bytes per row in the heap'],
      built.map((b) => [
        b.r.label,
        b.backfillMs === null ? '– (expression)' : (b.backfillMs / 1000).toFixed(1),
        (b.buildMs / 1000).toFixed(1),
        b.indexSize,
        b.columnBytes === null ? '0' : String(b.columnBytes),
      ]),
    ),
    '',
    '### Unfiltered top-10',
    '',
    table(
      ['option', 'ef_search', 're-ranked', 'p50 / p95 / p99 ms', 'recall@10', 'plan'],
      unfilteredRows,
    ),
    '',
    '### Filtered top-10',
    '',
    table(
      ['filter class', 'selectivity', 'option', 'mode', 'p50 / p95 / p99 ms', 'recall@10', 'plan'],
      filteredRows,
    ),
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) {
    writeSection(join(root, 'docs/benchmarks.md'), 'vector', section);
    progress('wrote docs/benchmarks.md');
  }
  progress('done');
} catch (err) {
  process.stderr.write(
    `bench:vector: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  if (client) await client.end();
  if (flags['keep-db']) progress(`kept database ${dbName}`);
  else await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
