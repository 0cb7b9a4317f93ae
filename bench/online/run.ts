// The online-changes benchmark (docs/benchmarks.md, sections "online" and "online-catalog"):
// while a rate-limited writer and a reader run against a loaded `documents` table, apply each
// change the naive way and the online way, through the real Migrator, and measure what the
// writes felt; then compare each naive stall with what the staging dry-run predicted for it.
// Catalog-only changes (no rewrite, no scan) run as written, and the dry-run's "no window"
// verdict for them is checked against the stall the writer felt.
//
//   npm run build && node dist/bench/online/run.js [--rows 1000000] [--rate 200] [--scenarios a,b]
//
// Quick run: --rows 100000. Every measured run gets a fresh copy of the loaded database; every
// database it creates is named dbm_bench_online_<pid>_* and dropped at the end. Each section of
// docs/benchmarks.md is rewritten only when all of its scenarios ran, so a run of some
// scenarios never erases the others' figures.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { DEFAULTS } from '../../src/api/settings.js';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { runBackfill, type BackfillPace } from '../../src/safety/backfill/backfill.js';
import { THROTTLE_DEFAULTS } from '../../src/safety/throttle/adaptive-throttle.js';
import {
  ONLINE_INDEX_BUILD_WORKERS,
  ONLINE_WAL_COMPRESSION,
  WAL_COMPRESSIONS,
} from '../../src/engine/migration.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { OnlineDatabases, SCHEMA_MIGRATION } from './databases.js';
import type { ControlMessage, LoadConfig, LoadMessage, WaitSamples } from './load.js';
import { ms, ratio, table, writeSection } from './markdown.js';
import { CATALOG_SCENARIOS, catalogPlan, SCENARIOS, type PathPlan } from './scenarios.js';
import { percentile, summarise, windowMaxima, type LatencySummary, type Samples } from './stats.js';
import { countFlag } from '../shared/flags.js';

const TARGET_ISSUE_P99_MS = 100;
const TARGET_BRIEF_P99_MS = 20;
const TARGET_PREDICTION_FACTOR = 2;

const ALL_KEYS = [...SCENARIOS, ...CATALOG_SCENARIOS].map((s) => s.key);

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '200' },
    'read-rate': { type: 'string', default: '200' },
    'writer-conns': { type: 'string', default: '4' },
    'reader-conns': { type: 'string', default: '2' },
    sources: { type: 'string', default: '500' },
    'warmup-s': { type: 'string', default: '3' },
    'baseline-s': { type: 'string', default: '10' },
    'cooldown-s': { type: 'string', default: '3' },
    repeat: { type: 'string', default: '2' },
    'catalog-repeat': { type: 'string', default: '5' },
    paths: { type: 'string', default: 'naive,online' },
    scenarios: { type: 'string', default: ALL_KEYS.join(',') },
    'batch-size': { type: 'string', default: String(THROTTLE_DEFAULTS.maxBatchSize) },
    'throttle-ms': { type: 'string', default: String(THROTTLE_DEFAULTS.minPauseMs) },
    'max-writer-latency-ms': {
      type: 'string',
      default: String(THROTTLE_DEFAULTS.maxAddedLatencyMs),
    },
    'index-workers': { type: 'string' },
    'wal-compression': { type: 'string' },
    'naive-lock-timeout-ms': { type: 'string', default: '10000' },
    'max-minutes': { type: 'string', default: '40' },
    'admin-url': {
      type: 'string',
      default: process.env['BENCH_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    json: { type: 'string' },
    'samples-dir': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'usage: node dist/bench/online/run.js [flags]',
      '  --rows N                 documents rows (default 1000000; 100000 for a quick run)',
      '  --rate N                 writes/s, alternately INSERT and UPDATE (default 200)',
      '  --read-rate N            primary-key lookups/s (default 200)',
      '  --writer-conns N         connections the writes are spread over (default 4)',
      '  --reader-conns N         connections of the reader (default 2)',
      '  --sources N              document_sources rows (default 500)',
      '  --warmup-s / --baseline-s / --cooldown-s   load before the baseline, baseline, after',
      '                           the change (default 3 / 10 / 3)',
      '  --repeat N               naive/online pairs per scenario, order alternating (default 2;',
      '                           0: only the staging dry-runs of the naive migrations)',
      '  --paths naive,online     which paths of the naive/online scenarios to run (default both;',
      '                           naive alone re-checks the dry-run against the stalls)',
      '  --catalog-repeat N       runs per catalog-only change (default 5: each lasts tens of ms,',
      '                           so only a handful of writes fall inside one; 0: dry-runs only)',
      `  --scenarios a,b          subset of ${SCENARIOS.map((s) => s.key).join(',')} (naive vs online)`,
      `                           and ${CATALOG_SCENARIOS.map((s) => s.key).join(',')}`,
      '                           (catalog-only); default all. docs/benchmarks.md gets a section',
      '                           only when all of its scenarios ran',
      `  --batch-size N           runBackfill batch size, the most its throttle grows to (default ${String(THROTTLE_DEFAULTS.maxBatchSize)})`,
      `  --throttle-ms N          runBackfill's shortest pause between batches (default ${String(THROTTLE_DEFAULTS.minPauseMs)})`,
      `  --max-writer-latency-ms N  runBackfill's adaptive throttle target (default ${String(THROTTLE_DEFAULTS.maxAddedLatencyMs)},`,
      '                           its own); 0: fixed batches and pauses, no probe (the old way)',
      '  --index-workers N        online index file says max_parallel_maintenance_workers=N',
      "                           (default: none, the engine's own default for transaction=false)",
      '  --wal-compression V      online transaction=false files say wal_compression=V (off, lz4, …;',
      `                           default: none, the engine's ${ONLINE_WAL_COMPRESSION} where it may set it)`,
      '  --naive-lock-timeout-ms  lock_timeout of the naive migrations (default 10000)',
      '  --max-minutes N          skip the runs that would start after this (default 40)',
      '  --admin-url URL          where to CREATE/DROP the dbm_bench_online_* databases',
      '  --json PATH              also write the figures as JSON',
      "  --samples-dir DIR        also write every operation of every run as CSV, and the server's",
      '                           WAL position and index build phase every 20 ms (diagnosis)',
      '  --no-write               print the section only; leave docs/benchmarks.md alone',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const rows = countFlag('rows', flags.rows, 1000);
const writeRate = countFlag('rate', flags.rate, 1);
const readRate = countFlag('read-rate', flags['read-rate'], 0);
const sources = countFlag('sources', flags.sources, 1);
const writerConnections = countFlag('writer-conns', flags['writer-conns'], 1);
const readerConnections = countFlag('reader-conns', flags['reader-conns'], 1);
const warmupMs = 1000 * countFlag('warmup-s', flags['warmup-s'], 0);
const baselineMs = 1000 * countFlag('baseline-s', flags['baseline-s'], 1);
const cooldownMs = 1000 * countFlag('cooldown-s', flags['cooldown-s'], 0);
const repeat = countFlag('repeat', flags.repeat, 0);
const catalogRepeat = countFlag('catalog-repeat', flags['catalog-repeat'], 0);
const batchSize = countFlag('batch-size', flags['batch-size'], 1);
const throttleMs = countFlag('throttle-ms', flags['throttle-ms'], 0);
const maxWriterLatencyMs = countFlag('max-writer-latency-ms', flags['max-writer-latency-ms'], 0);
const indexWorkers =
  flags['index-workers'] === undefined
    ? null
    : countFlag('index-workers', flags['index-workers'], 0);
const walCompression = flags['wal-compression'] ?? null;
if (walCompression !== null && !(WAL_COMPRESSIONS as readonly string[]).includes(walCompression)) {
  throw new Error(
    `--wal-compression: "${walCompression}" is not one of ${WAL_COMPRESSIONS.join(', ')}`,
  );
}
const naiveLockTimeoutMs = countFlag('naive-lock-timeout-ms', flags['naive-lock-timeout-ms'], 1);
const deadline = Date.now() + 60_000 * countFlag('max-minutes', flags['max-minutes'], 1);
const wanted = flags.scenarios.split(',').filter(Boolean);
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.key));
const catalogScenarios = CATALOG_SCENARIOS.filter((s) => wanted.includes(s.key));
if (scenarios.length + catalogScenarios.length !== wanted.length) {
  throw new Error(`--scenarios: known are ${ALL_KEYS.join(', ')}`);
}
const paths = flags.paths.split(',').filter(Boolean);
if (paths.length === 0 || paths.some((p) => p !== 'naive' && p !== 'online')) {
  throw new Error(`--paths: "${flags.paths}" is not naive, online or naive,online`);
}
/** The dry-run's own default: a longer write-blocking lock needs a maintenance window. */
const WINDOW_THRESHOLD_MS = DEFAULTS.windowThresholdMs;

const root = fileURLToPath(new URL('../../../', import.meta.url));
const command = ['node dist/bench/online/run.js', ...process.argv.slice(2)].join(' ');
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));
const started = Date.now();

function progress(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`bench:online [${t}s] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Load worker

interface LoadResult {
  readonly samples: Samples;
  readonly dropped: number;
  readonly abandoned: number;
  readonly waits: WaitSamples;
}

function nextMessage(worker: Worker, timeoutMs: number): Promise<LoadMessage> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: LoadMessage) => {
      cleanup();
      if (m.type === 'error') reject(new Error(`load worker: ${m.message}`));
      else resolve(m);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`load worker exited with ${String(code)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`load worker did not answer within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

async function startLoad(url: string): Promise<{ stop: () => Promise<LoadResult> }> {
  const drainMs = 30_000;
  const config: LoadConfig = {
    url,
    writeRate,
    readRate,
    writerConnections,
    readerConnections,
    maxId: rows,
    sources,
    drainMs,
  };
  const worker = new Worker(new URL('./load.js', import.meta.url), { workerData: config });
  try {
    const ready = await nextMessage(worker, 30_000);
    if (ready.type !== 'ready') throw new Error(`load worker sent ${ready.type} before ready`);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    stop: async () => {
      try {
        const done = nextMessage(worker, drainMs + 30_000);
        worker.postMessage({ type: 'stop' } satisfies ControlMessage);
        const m = await done;
        if (m.type !== 'done') throw new Error(`load worker sent ${m.type} instead of its samples`);
        return {
          samples: m.samples,
          dropped: m.dropped,
          abandoned: m.abandoned,
          waits: m.waits,
        };
      } finally {
        await worker.terminate();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One path of one scenario, under load

/** `plain`: a catalog-only change, run as written (it has no naive/online pair). */
type PathName = 'naive' | 'online' | 'plain';

interface StepOutcome {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly lockRetries: number;
  readonly detail: string;
  readonly error: string | null;
  readonly writes: LatencySummary | null;
  /**
   * Each migration transaction of the step, from its first statement sent to its COMMIT
   * returned (absolute ms): its locks, with the wait for them, lie inside.
   */
  readonly transactions: readonly { readonly start: number; readonly end: number }[];
}

interface RunOutcome {
  readonly scenario: string;
  readonly path: PathName;
  readonly rep: number;
  readonly durationMs: number;
  readonly steps: readonly StepOutcome[];
  readonly error: string | null;
  readonly verified: boolean;
  readonly baselineWrites: LatencySummary;
  readonly windowWrites: LatencySummary;
  readonly baselineReads: LatencySummary;
  readonly windowReads: LatencySummary;
  readonly dropped: number;
  readonly abandoned: number;
  /** Sightings of an active writer backend in the window, by wait event, most first. */
  readonly writerWaits: WaitSummary;
  readonly baselineWriterWaits: WaitSummary;
  /**
   * The baseline cut into windows as long as the DDL: median and p90 of their longest write
   * latency, i.e. the stall such a window shows with no DDL at all (the machine's noise).
   */
  readonly baselineWindowMax: { readonly p50: number; readonly p90: number };
}

interface WaitSummary {
  /** Mean number of writer backends seen active per sample. */
  readonly activeWriters: number;
  /** Sightings by wait event, most first. */
  readonly events: readonly { readonly label: string; readonly count: number }[];
}

/** Active writer backends sampled in [from, to), by wait event, most first. */
function waitsIn(w: WaitSamples, from: number, to: number): WaitSummary {
  let ticks = 0;
  for (const t of w.ticks) if (t >= from && t < to) ticks++;
  let sightings = 0;
  const counts = new Map<string, number>();
  for (let i = 0; i < w.at.length; i++) {
    const at = w.at[i] ?? 0;
    if (at < from || at >= to) continue;
    const label = w.labels[w.label[i] ?? 0] ?? '?';
    counts.set(label, (counts.get(label) ?? 0) + 1);
    sightings++;
  }
  return {
    activeWriters: ticks > 0 ? sightings / ticks : Number.NaN,
    events: [...counts.entries()]
      .map(([label, count]) => ({ label, count }))
      .sort((a, b) => b.count - a.count || a.label.localeCompare(b.label)),
  };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-online' });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Reads the table once so that the first measured writes do not pay for a cold OS cache. */
async function warmCache(url: string): Promise<void> {
  await query(url, 'select count(*) from documents where payload is not null');
}

/** The online plan with --index-workers and --wal-compression in its transaction=false headers. */
function withIndexWorkers(plan: PathPlan): PathPlan {
  const directive = [
    ...(indexWorkers === null ? [] : [`max_parallel_maintenance_workers=${String(indexWorkers)}`]),
    ...(walCompression === null ? [] : [`wal_compression=${walCompression}`]),
  ].join(' ');
  if (directive === '') return plan;
  return {
    ...plan,
    files: plan.files.map((f) => ({
      ...f,
      content: f.content.replace('-- dbmigrate:transaction=false', `$& ${directive}`),
    })),
  };
}

function backfillPaceText(): string {
  return maxWriterLatencyMs === 0
    ? `fixed: batch ${String(batchSize)}, pause ${String(throttleMs)} ms`
    : `adaptive: probe writes during each batch; target +${String(maxWriterLatencyMs)} ms over the probe's idle latency; batch ≤ ${String(batchSize)}, pause ≥ ${String(throttleMs)} ms`;
}

function indexWorkersText(): string {
  const workers =
    indexWorkers === null
      ? `max_parallel_maintenance_workers=${String(ONLINE_INDEX_BUILD_WORKERS)}, the engine's default for such a session`
      : `its header says max_parallel_maintenance_workers=${String(indexWorkers)}`;
  const wal =
    walCompression === null
      ? `wal_compression=${ONLINE_WAL_COMPRESSION}, the engine's default where it may set it`
      : `its header says wal_compression=${walCompression}`;
  return `${workers}; ${wal}`;
}

/** A scenario's migration set: the schema migration every copy already has, then its own. */
function sourceOf(files: PathPlan['files']): InlineMigrationSource {
  return new InlineMigrationSource([SCHEMA_MIGRATION, ...files]);
}

async function runSteps(
  url: string,
  plan: PathPlan,
  lockTimeoutMs: number,
): Promise<{ steps: Omit<StepOutcome, 'writes'>[]; error: string | null }> {
  // performance.now() of the executor's events → absolute ms, as the load's samples.
  const at = (t: number): number => performance.timeOrigin + t;
  const opened = new Map<string, number>();
  let transactions: { start: number; end: number }[] = [];
  const migrator = new Migrator({
    database: connectorFromUrl(url),
    source: sourceOf(plan.files),
    lockTimeoutMs,
    // Bounds only: nothing here should come near them.
    statementTimeoutMs: 600_000,
    lockWaitMs: 10_000,
    observer: {
      statementFinished: (event) => {
        const id = event.migration.id;
        if (event.inTransaction && !opened.has(id)) opened.set(id, at(event.startedAt));
        return Promise.resolve();
      },
      transactionEnded: (event) => {
        const start = opened.get(event.migration.id);
        opened.delete(event.migration.id);
        if (start !== undefined) transactions.push({ start, end: at(event.endedAt) });
      },
    },
  });
  const steps: Omit<StepOutcome, 'writes'>[] = [];
  for (const step of plan.steps) {
    const start = now();
    if (step.kind === 'migrate') {
      transactions = [];
      const res = await migrator.apply({ target: step.target });
      const end = now();
      const retries = res.results.reduce((n, r) => n + r.lockRetries, 0);
      const error = res.error ? `${res.error.code}: ${res.error.message}` : null;
      const detail = res.results.map((r) => `${r.id} ${r.status}`).join(', ');
      steps.push({
        label: step.label,
        start,
        end,
        lockRetries: retries,
        detail,
        error,
        transactions,
      });
      if (error !== null) return { steps, error };
    } else {
      let detail = '';
      let error: string | null = null;
      try {
        const paces: BackfillPace[] = [];
        const res = await runBackfill({
          onProgress: (p) => {
            if (p.pace) paces.push(p.pace);
          },
          databaseUrl: url,
          name: step.name,
          table: step.table,
          set: step.set,
          where: step.where,
          batchSize,
          throttleMs,
          adaptive: maxWriterLatencyMs === 0 ? false : { maxAddedLatencyMs: maxWriterLatencyMs },
          signal: AbortSignal.timeout(Math.max(60_000, deadline - Date.now())),
        });
        detail = `${String(res.rowsUpdated)} rows in ${String(res.batches)} batches`;
        if (paces.length > 0) {
          const range = (xs: number[]) =>
            Math.min(...xs) === Math.max(...xs)
              ? String(Math.min(...xs))
              : `${String(Math.min(...xs))}–${String(Math.max(...xs))}`;
          detail += `; slowed ${String(res.backoffs)}×, batch ${range(paces.map((p) => p.batchSize))}, pause ${range(paces.map((p) => p.pauseMs))} ms, probe +${String(res.maxAddedLatencyMs ?? '?')} ms max`;
        }
        if (!res.finished) error = `backfill stopped unfinished (time budget): ${detail}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      steps.push({
        label: step.label,
        start,
        end: now(),
        lockRetries: 0,
        detail,
        error,
        transactions: [],
      });
      if (error !== null) return { steps, error };
    }
  }
  return { steps, error: null };
}

/** One line per operation, times relative to the change's start; steps as comment lines. */
function dumpSamples(
  path: string,
  s: Samples,
  origin: number,
  steps: readonly Omit<StepOutcome, 'writes'>[],
): void {
  const out: string[] = [];
  for (const st of steps) {
    out.push(
      `# step ${(st.start - origin).toFixed(1)} ${(st.end - origin).toFixed(1)} ${st.label}`,
    );
    for (const tx of st.transactions) {
      out.push(`# transaction ${(tx.start - origin).toFixed(1)} ${(tx.end - origin).toFixed(1)}`);
    }
  }
  out.push('due_ms,kind,latency_ms,service_ms,failed');
  for (let i = 0; i < s.due.length; i++) {
    out.push(
      [
        ((s.due[i] ?? 0) - origin).toFixed(1),
        ['insert', 'update', 'read'][s.kind[i] ?? 0] ?? '?',
        (s.latency[i] ?? 0).toFixed(2),
        (s.service[i] ?? 0).toFixed(2),
        String(s.failed[i] ?? 0),
      ].join(','),
    );
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${out.join('\n')}\n`);
}

/**
 * The server beside the load, for --samples-dir: every 20 ms the WAL position and what a
 * CREATE INDEX reports of its phase, so a stall in the writes can be named (the build's
 * write-out, its WAL, a wait phase). Stopped with the change; lines relative to `origin`.
 */
function sampleServer(url: string): { stop(origin: number): Promise<string[]> } {
  const client = new pg.Client({ connectionString: url, application_name: 'bench:online:sampler' });
  const lines: { at: number; text: string }[] = [];
  const state = { running: true };
  const loop = (async () => {
    await client.connect();
    try {
      while (state.running) {
        const at = now();
        const res = await client.query<{
          lsn: string;
          phase: string | null;
          blocks: string | null;
        }>(
          `select (pg_current_wal_lsn() - '0/0')::text as lsn,
                  (select phase from pg_stat_progress_create_index limit 1) as phase,
                  (select blocks_done || '/' || blocks_total || ' ' || tuples_done || '/' || tuples_total
                     from pg_stat_progress_create_index limit 1) as blocks`,
        );
        const r = res.rows[0];
        if (r) lines.push({ at, text: `${r.lsn},${r.phase ?? ''},${r.blocks ?? ''}` });
        await sleep(20);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop(origin) {
      state.running = false;
      await loop;
      return [
        'at_ms,wal_bytes,index_phase,index_progress',
        ...lines.map((l) => `${(l.at - origin).toFixed(1)},${l.text}`),
      ];
    },
  };
}

/** What a run starts from and checks, whichever kind of scenario it belongs to. */
interface RunTarget {
  readonly key: string;
  readonly verify: string;
  /** Applied on the fresh copy before anything is measured, with no load. */
  readonly prepare: PathPlan | null;
}

/** Applies a scenario's earlier migrations on a fresh copy: the state its change starts from. */
async function prepare(url: string, plan: PathPlan | null): Promise<void> {
  if (plan === null) return;
  const ran = await runSteps(url, plan, naiveLockTimeoutMs);
  if (ran.error !== null) throw new Error(`preparing the copy: ${ran.error}`);
}

async function measure(
  dbs: OnlineDatabases,
  target: RunTarget,
  plan: PathPlan,
  path: PathName,
  rep: number,
): Promise<RunOutcome> {
  const copy = await dbs.copyOfSeed('run');
  try {
    await prepare(copy.url, target.prepare);
    await warmCache(copy.url);
    const load = await startLoad(copy.url);
    const server = flags['samples-dir'] !== undefined ? sampleServer(copy.url) : null;
    let ran: Awaited<ReturnType<typeof runSteps>>;
    let ddlStart: number | undefined;
    let ddlEnd: number;
    let result: LoadResult;
    let serverLines: string[] | undefined;
    try {
      await sleep(warmupMs + baselineMs);
      ddlStart = now();
      ran = await runSteps(copy.url, plan, naiveLockTimeoutMs);
      ddlEnd = now();
      await sleep(cooldownMs);
    } finally {
      result = await load.stop();
      serverLines = await server?.stop(ddlStart ?? now());
    }
    const ok = await query<{ ok: boolean | null }>(copy.url, target.verify).catch(() => []);
    if (flags['samples-dir'] !== undefined) {
      const base = `${flags['samples-dir']}/${target.key}-${path}-${String(rep)}`;
      dumpSamples(`${base}.csv`, result.samples, ddlStart, ran.steps);
      writeFileSync(`${base}-server.csv`, `${(serverLines ?? []).join('\n')}\n`);
    }
    const writes = ['insert', 'update'] as const;
    const s = result.samples;
    return {
      scenario: target.key,
      path,
      rep,
      durationMs: ddlEnd - ddlStart,
      steps: ran.steps.map((st) => ({ ...st, writes: summarise(s, writes, st.start, st.end) })),
      error: ran.error,
      verified: ok[0]?.ok === true,
      baselineWrites: summarise(s, writes, ddlStart - baselineMs, ddlStart),
      windowWrites: summarise(s, writes, ddlStart, ddlEnd),
      baselineReads: summarise(s, ['read'], ddlStart - baselineMs, ddlStart),
      windowReads: summarise(s, ['read'], ddlStart, ddlEnd),
      dropped: result.dropped,
      abandoned: result.abandoned,
      writerWaits: waitsIn(result.waits, ddlStart, ddlEnd),
      baselineWriterWaits: waitsIn(result.waits, ddlStart - baselineMs, ddlStart),
      baselineWindowMax: (() => {
        const maxima = Float64Array.from(
          windowMaxima(s, writes, ddlStart - baselineMs, ddlStart, ddlEnd - ddlStart),
        ).sort();
        return { p50: percentile(maxima, 0.5), p90: percentile(maxima, 0.9) };
      })(),
    };
  } finally {
    await dbs.drop(copy.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Staging dry-run of the naive path (of the change, for a catalog-only one)

interface Prediction {
  readonly scenario: string;
  /** Longest hold of a lock that blocks writes; null when none was seen. */
  readonly blockMs: number | null;
  readonly lock: string;
  readonly rewrites: readonly string[];
  readonly needsWindow: boolean;
  /** Why it needs a window (locks over the threshold, lint errors, a window=required header). */
  readonly reasons: readonly string[];
  readonly thresholdMs: number;
  readonly migrationMs: number | null;
  readonly error: string | null;
}

/** The dry-run, at its default threshold, of the pending `files` after `prep` on a fresh copy. */
async function predict(
  dbs: OnlineDatabases,
  key: string,
  files: PathPlan['files'],
  prep: PathPlan | null,
): Promise<Prediction> {
  const staging = await dbs.copyOfSeed('staging');
  try {
    await prepare(staging.url, prep);
    await warmCache(staging.url);
    const report = await runDryRun({
      source: sourceOf(files),
      staging: { kind: 'url', url: staging.url },
      migrator: { lockTimeoutMs: naiveLockTimeoutMs, statementTimeoutMs: 600_000 },
    });
    let block: { heldMs: number; lock: string } | null = null;
    for (const m of report.migrations) {
      for (const l of m.locks) {
        if (l.blocksWrites && (block === null || l.heldMs > block.heldMs)) {
          block = { heldMs: l.heldMs, lock: `${l.mode} on ${l.relation}` };
        }
      }
    }
    const error = report.migrations.find((m) => m.error !== null)?.error ?? null;
    return {
      scenario: key,
      blockMs: block?.heldMs ?? null,
      lock: block?.lock ?? 'none that blocks writes',
      rewrites: report.migrations.flatMap((m) => m.rewrites),
      needsWindow: report.needsWindow,
      reasons: report.migrations.flatMap((m) => m.reasons),
      thresholdMs: report.windowThresholdMs,
      migrationMs: report.migrations.reduce<number | null>(
        (n, m) => (m.durationMs === null ? n : (n ?? 0) + m.durationMs),
        null,
      ),
      error,
    };
  } finally {
    await dbs.drop(staging.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Facts {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly memGiB: string;
  readonly server: string;
  readonly settings: string;
  readonly tableMB: string;
}

function addedP99(r: RunOutcome): number {
  return r.windowWrites.p99 - r.baselineWrites.p50;
}

function stallRatio(r: RunOutcome, p: Prediction | undefined): number {
  return p?.blockMs != null && p.blockMs > 0 ? r.windowWrites.max / p.blockMs : Number.NaN;
}

/** The command, date and machine a section's figures come from. */
function machineLine(facts: Facts): string {
  return `\`${command}\` — ${facts.date}; ${String(facts.nproc)} cores (${facts.cpu}), ${facts.memGiB} GiB RAM, PostgreSQL ${facts.server} (${facts.settings}); shared with other engineers' test runs, so figures are noisy.`;
}

/** Sightings of each wait event, the three most frequent, as shares of all. */
function share(w: WaitSummary): string {
  const total = w.events.reduce((n, e) => n + e.count, 0);
  if (total === 0) return 'none';
  return w.events
    .slice(0, 3)
    .map((e) => `${e.label} ${((100 * e.count) / total).toFixed(0)}%`)
    .join(', ');
}

function active(w: WaitSummary): string {
  return Number.isFinite(w.activeWriters) ? w.activeWriters.toFixed(2) : 'n/a';
}

function render(
  facts: Facts,
  outcomes: readonly RunOutcome[],
  predictions: readonly Prediction[],
  skipped: readonly string[],
): string {
  const predictionOf = (key: string) => predictions.find((p) => p.scenario === key);
  const titleOf = (key: string) => SCENARIOS.find((s) => s.key === key)?.title ?? key;
  const label = (r: RunOutcome) => (repeat > 1 ? `${r.path} #${String(r.rep)}` : r.path);
  const lines: string[] = [];
  lines.push('## Online changes under load (`bench/online`)');
  lines.push('');
  lines.push(machineLine(facts));
  lines.push('');
  lines.push(
    `\`documents\`: ${rows.toLocaleString('en-US')} rows (${facts.tableMB} MB with its primary key), ${String(sources)} \`document_sources\`. Load, in a worker thread: a writer at ${String(writeRate)} writes/s (alternately an INSERT and an UPDATE of a random row) over its own ${String(writerConnections)} connections, like an application's pool, and a reader at ${String(readRate)} primary-key lookups/s over ${String(readerConnections)} more. Open loop: an operation's latency counts from when it was due, so writes waiting for a connection held by a blocked write count their wait too.`,
  );
  lines.push('');
  lines.push(
    `Each run starts from a fresh copy of the loaded database (\`CREATE DATABASE … TEMPLATE\`): ${String(warmupMs / 1000)} s of load, a ${String(baselineMs / 1000)} s baseline, the change, ${String(cooldownMs / 1000)} s more. Every DDL is an inline migration applied by \`Migrator.apply()\` (naive: lock_timeout ${String(naiveLockTimeoutMs / 1000)} s; online files say \`lock_timeout=2s\` like docs/examples); the online backfills are \`runBackfill\` (${backfillPaceText()}); the online index build is a \`transaction=false\` migration (${indexWorkersText()}). "During DDL" = writes due from the first step's start to the last step's end (online: migrations and backfill). Added p99 = p99 during DDL − baseline p50; longest stall = max write latency during DDL. Dry-run = \`runDryRun\` of the naive migration on another fresh copy with no load; predicted block = the longest \`heldMs\` of a lock with \`blocksWrites\`; ratio = measured stall / predicted block.`,
  );
  lines.push('');
  const header = [
    'scenario',
    'path',
    'DDL duration',
    'writes during DDL',
    'baseline p50 / p99',
    'p50 / p99 / max write latency',
    'added p99',
    'longest stall',
    'read max',
    'dry-run predicted block',
    'ratio',
  ];
  const body = outcomes.map((r) => {
    const p = predictionOf(r.scenario);
    const naive = r.path === 'naive';
    const w = r.windowWrites;
    const failures = w.failed + r.dropped + r.abandoned;
    return [
      r.scenario,
      `${label(r)}${r.error !== null ? ' (FAILED)' : r.verified ? '' : ' (unverified)'}`,
      ms(r.durationMs),
      `${String(w.count)}${failures > 0 ? ` (${String(failures)} failed)` : ''}`,
      `${ms(r.baselineWrites.p50)} / ${ms(r.baselineWrites.p99)}`,
      `${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.max)}`,
      ms(addedP99(r)),
      ms(w.max),
      ms(r.windowReads.max),
      naive ? (p?.blockMs != null ? ms(p.blockMs) : p ? 'none' : 'n/a') : '',
      naive ? ratio(stallRatio(r, p)) : '',
    ];
  });
  lines.push(table(header, body));
  lines.push('');

  // Verdicts.
  const online = outcomes.filter((r) => r.path === 'online');
  const naive = outcomes.filter((r) => r.path === 'naive');
  const worst = online.reduce<RunOutcome | null>(
    (w, r) => (w === null || addedP99(r) > addedP99(w) ? r : w),
    null,
  );
  const failedRuns = outcomes.filter((r) => r.error !== null || !r.verified);
  lines.push('Targets:');
  lines.push('');
  if (worst) {
    const v = addedP99(worst);
    const per = online.map((r) => `${r.scenario} ${ms(addedP99(r))}`).join(', ');
    lines.push(
      `- Online path adds ≤ ${String(TARGET_ISSUE_P99_MS)} ms p99 (issue): **${v <= TARGET_ISSUE_P99_MS ? 'met' : 'not met'}**; ≤ ${String(TARGET_BRIEF_P99_MS)} ms p99 (brief): **${v <= TARGET_BRIEF_P99_MS ? 'met' : 'not met'}** — worst ${ms(v)} (${worst.scenario}); per run: ${per}.`,
    );
  }
  const judged = naive.map((r) => ({ r, x: stallRatio(r, predictionOf(r.scenario)) }));
  const within = judged.filter(
    ({ x }) => x >= 1 / TARGET_PREDICTION_FACTOR && x <= TARGET_PREDICTION_FACTOR,
  );
  if (judged.length > 0) {
    lines.push(
      `- Dry-run predicts each naive stall within ${String(TARGET_PREDICTION_FACTOR)}×: **${within.length === judged.length ? 'met' : 'not met'}** (${String(within.length)} of ${String(judged.length)}: ${judged.map(({ r, x }) => `${r.scenario} ${ratio(x)}`).join(', ')}).`,
    );
  }
  if (failedRuns.length > 0) {
    lines.push(
      `- Runs that failed or did not reach the intended schema: ${failedRuns.map((r) => `${r.scenario}/${label(r)}${r.error !== null ? `: ${r.error}` : ''}`).join('; ')}.`,
    );
  }
  if (skipped.length > 0) lines.push(`- Skipped for the time budget: ${skipped.join(', ')}.`);
  lines.push('');

  lines.push('### Online steps');
  lines.push('');
  lines.push(
    table(
      ['scenario', 'run', 'step', 'duration', 'writes', 'p99 / max write latency', 'detail'],
      online.flatMap((r) =>
        r.steps.map((st) => [
          r.scenario,
          label(r),
          st.label,
          ms(st.end - st.start),
          String(st.writes?.count ?? 0),
          st.writes ? `${ms(st.writes.p99)} / ${ms(st.writes.max)}` : 'n/a',
          [
            st.detail,
            st.lockRetries > 0 ? `${String(st.lockRetries)} lock retries` : '',
            st.error ?? '',
          ]
            .filter(Boolean)
            .join('; '),
        ]),
      ),
    ),
  );
  lines.push('');

  lines.push('### What the writer backends waited on');
  lines.push('');
  lines.push(
    `pg_stat_activity of the ${String(writerConnections)} writer connections, sampled every 10 ms by the load worker: average active writers (≈ busy connections; ${String(writerConnections)} means all stuck) and the share of each wait event among the active sightings (\`CPU\` = active with no wait event).`,
  );
  lines.push('');
  lines.push(
    table(
      [
        'scenario',
        'run',
        'active writers: baseline → DDL',
        'waits during DDL',
        'waits in baseline',
      ],
      outcomes.map((r) => [
        r.scenario,
        label(r),
        `${active(r.baselineWriterWaits)} → ${active(r.writerWaits)}`,
        share(r.writerWaits),
        share(r.baselineWriterWaits),
      ]),
    ),
  );
  lines.push('');

  lines.push('### Staging dry-run of the naive migrations (no load)');
  lines.push('');
  lines.push(
    table(
      [
        'change',
        'write-blocking lock',
        'predicted block',
        'migration',
        'rewrites',
        'needs window',
        'measured stall',
        'ratio',
      ],
      predictions.map((p) => {
        const measured = naive.filter((r) => r.scenario === p.scenario);
        return [
          titleOf(p.scenario),
          p.lock,
          p.blockMs != null ? ms(p.blockMs) : 'none',
          `${p.migrationMs != null ? ms(p.migrationMs) : 'n/a'}${p.error !== null ? ` (error: ${p.error})` : ''}`,
          p.rewrites.length > 0 ? p.rewrites.join(', ') : 'none',
          p.needsWindow ? 'yes' : 'no',
          measured.map((r) => ms(r.windowWrites.max)).join(', '),
          measured.map((r) => ratio(stallRatio(r, p))).join(', '),
        ];
      }),
    ),
  );
  return lines.join('\n');
}

/** The longest migration transaction of a run (its lock's wait and hold lie inside), or NaN. */
function transactionMs(r: RunOutcome): number {
  const spans = r.steps.flatMap((st) => st.transactions.map((t) => t.end - t.start));
  return spans.length > 0 ? Math.max(...spans) : Number.NaN;
}

function renderCatalog(
  facts: Facts,
  outcomes: readonly RunOutcome[],
  predictions: readonly Prediction[],
  skipped: readonly string[],
): string {
  const predictionOf = (key: string) => predictions.find((p) => p.scenario === key);
  const scenarioOf = (key: string) => CATALOG_SCENARIOS.find((s) => s.key === key);
  const runsOf = (key: string) => outcomes.filter((r) => r.scenario === key);
  const label = (r: RunOutcome) =>
    `#${String(r.rep)}${r.error !== null ? ' (FAILED)' : r.verified ? '' : ' (unverified)'}`;
  const threshold = predictions[0]?.thresholdMs ?? WINDOW_THRESHOLD_MS;
  const perRun = (key: string, f: (r: RunOutcome) => number) =>
    runsOf(key)
      .map((r) => ms(f(r)))
      .join(', ');
  const lines: string[] = [];
  lines.push('### Catalog-only changes (dry-run says: no window)');
  lines.push('');
  lines.push(machineLine(facts));
  lines.push('');
  lines.push(
    `Changes PostgreSQL makes in the catalog alone (no rewrite, no scan), each one plain migration: its ACCESS EXCLUSIVE lock lasts as long as its transaction, not as long as the table. Same database (${rows.toLocaleString('en-US')} rows, ${facts.tableMB} MB; \`lang varchar(5)\`, declared by the schema migration \`0000_schema\`, filled in every row), load and method as above: a fresh copy per run, the scenario's earlier migrations applied there first with no load and not measured (column "prepared"), ${String(warmupMs / 1000)} s of load, a ${String(baselineMs / 1000)} s baseline, the change through \`Migrator.apply()\` (lock_timeout ${String(naiveLockTimeoutMs / 1000)} s), ${String(cooldownMs / 1000)} s more; ${String(catalogRepeat)} runs per change, since one lasts tens of ms and only a handful of the ${String(writeRate)} writes/s fall inside it (their p99 is then their maximum).`,
  );
  lines.push('');
  lines.push(
    `Predicted: \`runDryRun\` at its default threshold (${String(threshold)} ms), linter included, on another fresh copy prepared the same way, no load; predicted hold = the longest \`heldMs\` of a lock with \`blocksWrites\`, timed from the statement that took it to the end of its transaction. Measured per run: transaction = the migration's transaction under load, from its first statement sent to its COMMIT returned (the DDL's wait for the writes ahead of it, and its hold, lie inside); longest stall = max latency of the writes due from \`apply()\`'s start to its end (connecting, reading the history and parsing included, as for the changes above); longest service = the same writes timed from the moment a connection took them (the time inside the database, lock waits included, without the writer's own scheduling delays or its wait for a free connection); added p99 = their p99 − baseline p50. For scale, "baseline windows" cuts each run's baseline into windows as long as its \`apply()\` and gives the median and p90 of their longest write: what such a window shows with no DDL at all.`,
  );
  lines.push('');
  lines.push(
    table(
      [
        'change',
        'prepared',
        'write-blocking lock',
        'predicted hold',
        `needs window (${String(threshold)} ms)`,
        'rewrites',
        'transaction under load (per run)',
        'longest stall (per run)',
        'longest service (per run)',
        'added p99 (per run)',
      ],
      predictions.map((p) => {
        const s = scenarioOf(p.scenario);
        return [
          s?.title ?? p.scenario,
          s?.prepared ?? '',
          p.lock,
          `${p.blockMs != null ? ms(p.blockMs) : 'none'}${p.error !== null ? ` (error: ${p.error})` : ''}`,
          p.needsWindow ? `yes: ${p.reasons.join('; ')}` : 'no',
          p.rewrites.length > 0 ? p.rewrites.join(', ') : 'none',
          perRun(p.scenario, transactionMs),
          perRun(p.scenario, (r) => r.windowWrites.max),
          perRun(p.scenario, (r) => r.windowWrites.serviceMax),
          perRun(p.scenario, addedP99),
        ];
      }),
    ),
  );
  lines.push('');

  const judged = outcomes.filter((r) => predictionOf(r.scenario)?.needsWindow === false);
  const worst = judged.reduce<RunOutcome | null>(
    (w, r) => (w === null || addedP99(r) > addedP99(w) ? r : w),
    null,
  );
  const windowed = predictions.filter((p) => p.needsWindow);
  const failedRuns = outcomes.filter((r) => r.error !== null || !r.verified);
  const range = (values: readonly number[]) =>
    values.length > 0 ? `${ms(Math.min(...values))}–${ms(Math.max(...values))}` : 'n/a';
  lines.push('Target:');
  lines.push('');
  if (worst) {
    const over = judged.filter((r) => addedP99(r) >= threshold);
    // A run over the threshold whose baseline, cut into windows as long, shows as long a stall
    // in a tenth of them with no DDL at all, is within the machine's noise.
    const noisy = over.filter((r) => r.baselineWindowMax.p90 >= r.windowWrites.max);
    const beyond = over.filter((r) => !noisy.includes(r));
    const runName = (r: RunOutcome) => `${r.scenario} #${String(r.rep)}`;
    lines.push(
      `- Dry-run's no-window verdict holds under a real writer: the measured added p99 stays under the ${String(threshold)} ms threshold: **${over.length === 0 ? 'met' : 'not met'}** — worst ${ms(addedP99(worst))} (${runName(worst)})${over.length > 0 ? `; ${String(over.length)} of ${String(judged.length)} runs at or over it: ${over.map((r) => `${runName(r)} ${ms(addedP99(r))} (${ms(addedP99(r) - threshold)} over)`).join(', ')}` : ` in ${String(judged.length)} runs`}.`,
    );
    if (over.length > 0) {
      lines.push(
        `- Of the runs over it, ${noisy.length > 0 ? `${noisy.map(runName).join(', ')} had a baseline where a tenth of the windows as long (no DDL) held a write at least as long as the DDL's longest (baseline windows p90 ≥ longest stall): the machine's noise, as large as the lock's effect` : 'none had a baseline as noisy as its DDL window'}${beyond.length > 0 ? `; ${beyond.map((r) => `${runName(r)} (longest stall ${ms(r.windowWrites.max)} against baseline windows p90 ${ms(r.baselineWindowMax.p90)}, transaction ${ms(transactionMs(r))})`).join(', ')} stood out of its baseline` : ''}.`,
      );
    }
    lines.push(
      `- For scale: the transactions under load took ${range(judged.map(transactionMs))}; baseline windows as long (no DDL) had a longest write of ${range(judged.map((r) => r.baselineWindowMax.p50))} (median) and ${range(judged.map((r) => r.baselineWindowMax.p90))} (p90), against ${range(judged.map((r) => r.windowWrites.max))} with the DDL; the longest service time of a write during the DDL was ${range(judged.map((r) => r.windowWrites.serviceMax))}.`,
    );
  }
  if (windowed.length > 0) {
    lines.push(
      `- The dry-run asked for a window for: ${windowed.map((p) => `${p.scenario} (${p.reasons.join('; ')})`).join('; ')}.`,
    );
  }
  if (failedRuns.length > 0) {
    lines.push(
      `- Runs that failed or did not reach the intended schema: ${failedRuns.map((r) => `${r.scenario} ${label(r)}${r.error !== null ? `: ${r.error}` : ''}`).join('; ')}.`,
    );
  }
  if (skipped.length > 0) lines.push(`- Skipped for the time budget: ${skipped.join(', ')}.`);
  lines.push('');

  lines.push('#### Each catalog-only run');
  lines.push('');
  lines.push(
    'Writer waits as in "What the writer backends waited on" (sampled every 10 ms, so a hold of a few ms falls mostly between samples).',
  );
  lines.push('');
  lines.push(
    table(
      [
        'change',
        'run',
        'apply()',
        'transaction',
        'writes during DDL',
        'baseline p50 / p99',
        'p50 / p99 / max write latency',
        'service p99 / max',
        'added p99',
        'baseline windows: median / p90 longest write',
        'read max',
        'active writers: baseline → DDL',
        'waits during DDL',
      ],
      outcomes.map((r) => {
        const w = r.windowWrites;
        const failures = w.failed + r.dropped + r.abandoned;
        return [
          r.scenario,
          label(r),
          ms(r.durationMs),
          ms(transactionMs(r)),
          `${String(w.count)}${failures > 0 ? ` (${String(failures)} failed)` : ''}`,
          `${ms(r.baselineWrites.p50)} / ${ms(r.baselineWrites.p99)}`,
          `${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.max)}`,
          `${ms(w.serviceP99)} / ${ms(w.serviceMax)}`,
          ms(addedP99(r)),
          `${ms(r.baselineWindowMax.p50)} / ${ms(r.baselineWindowMax.p90)}`,
          ms(r.windowReads.max),
          `${active(r.baselineWriterWaits)} → ${active(r.writerWaits)}`,
          share(r.writerWaits),
        ];
      }),
    ),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

function runLine(r: RunOutcome): string {
  return `${r.scenario}: ${r.path} #${String(r.rep)} took ${ms(r.durationMs)} (longest transaction ${ms(transactionMs(r))}); writes ${String(r.windowWrites.count)}, p50/p99/max ${ms(r.windowWrites.p50)}/${ms(r.windowWrites.p99)}/${ms(r.windowWrites.max)} (service p99 ${ms(r.windowWrites.serviceP99)}; baseline p50/p99 ${ms(r.baselineWrites.p50)}/${ms(r.baselineWrites.p99)})${r.error !== null ? `; ERROR ${r.error}` : ''}${r.verified ? '' : '; NOT VERIFIED'}`;
}

function predictionLine(p: Prediction): string {
  return `${p.scenario}: predicted block ${p.blockMs != null ? ms(p.blockMs) : 'none'} (${p.lock}); needs window: ${p.needsWindow ? `yes (${p.reasons.join('; ')})` : 'no'}${p.error !== null ? `; error: ${p.error}` : ''}`;
}

/**
 * Writes one section of docs/benchmarks.md, or says why not: a section shows a whole group of
 * scenarios, so a run of only some of them (or of the dry-runs alone) leaves it as it is.
 */
function writeIfComplete(name: string, section: string, complete: boolean, why: string): void {
  if (flags['no-write']) return;
  if (!complete) {
    progress(`left docs/benchmarks.md (section ${name}) as it is: ${why}`);
    return;
  }
  writeSection(`${root}docs/benchmarks.md`, name, section);
  progress(`wrote docs/benchmarks.md (section ${name})`);
}

async function main(): Promise<void> {
  const dbs = await OnlineDatabases.connect(flags['admin-url']);
  const state = { interrupted: false };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.interrupted) return;
    state.interrupted = true;
    progress(`${signal}: dropping the benchmark databases`);
    void dbs.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const settingNames = [
      'shared_buffers',
      'synchronous_commit',
      'max_wal_size',
      'autovacuum',
      'max_parallel_maintenance_workers',
    ];
    const settings: string[] = [];
    for (const name of settingNames) settings.push(`${name}=${await dbs.setting(name)}`);
    progress(`seeding ${rows.toLocaleString('en-US')} rows`);
    const seed = await dbs.createSeed({ rows, sources });
    progress(`seed ready: ${(seed.sizeBytes / 2 ** 20).toFixed(0)} MB`);
    const facts: Facts = {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      nproc: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      memGiB: (totalmem() / 2 ** 30).toFixed(0),
      server: await dbs.setting('server_version'),
      settings: settings.join(', '),
      tableMB: (seed.sizeBytes / 2 ** 20).toFixed(0),
    };

    const outcomes: RunOutcome[] = [];
    const predictions: Prediction[] = [];
    const skipped: string[] = [];
    for (const scenario of scenarios) {
      if (Date.now() > deadline) {
        skipped.push(scenario.key);
        continue;
      }
      progress(`${scenario.key}: staging dry-run of the naive migration`);
      const p = await predict(dbs, scenario.key, scenario.naive.files, null);
      predictions.push(p);
      progress(predictionLine(p));
      const target: RunTarget = { key: scenario.key, verify: scenario.verify, prepare: null };
      for (let rep = 1; rep <= repeat; rep++) {
        // Alternate the order so that drift on the machine hits both paths alike.
        const order: PathName[] = rep % 2 === 1 ? ['naive', 'online'] : ['online', 'naive'];
        for (const path of order.filter((p) => paths.includes(p))) {
          if (Date.now() > deadline) {
            skipped.push(`${scenario.key}/${path} #${String(rep)}`);
            continue;
          }
          progress(`${scenario.key}: ${path} #${String(rep)} under load`);
          const plan = path === 'naive' ? scenario.naive : withIndexWorkers(scenario.online);
          const r = await measure(dbs, target, plan, path, rep);
          outcomes.push(r);
          progress(runLine(r));
        }
      }
    }

    const catalogOutcomes: RunOutcome[] = [];
    const catalogPredictions: Prediction[] = [];
    const catalogSkipped: string[] = [];
    for (const scenario of catalogScenarios) {
      if (Date.now() > deadline) {
        catalogSkipped.push(scenario.key);
        continue;
      }
      const plan = catalogPlan(scenario);
      progress(`${scenario.key}: staging dry-run of the change`);
      const p = await predict(dbs, scenario.key, plan.change.files, plan.prepare);
      catalogPredictions.push(p);
      progress(predictionLine(p));
      const target: RunTarget = {
        key: scenario.key,
        verify: scenario.verify,
        prepare: plan.prepare,
      };
      for (let rep = 1; rep <= catalogRepeat; rep++) {
        if (Date.now() > deadline) {
          catalogSkipped.push(`${scenario.key} #${String(rep)}`);
          continue;
        }
        progress(`${scenario.key}: #${String(rep)} under load`);
        const r = await measure(dbs, target, plan.change, 'plain', rep);
        catalogOutcomes.push(r);
        progress(runLine(r));
      }
    }

    if (scenarios.length > 0) {
      const section = render(facts, outcomes, predictions, skipped);
      process.stdout.write(`${section}\n\n`);
      writeIfComplete(
        'online',
        section,
        scenarios.length === SCENARIOS.length && repeat > 0 && paths.length === 2,
        repeat === 0
          ? '--repeat 0 ran the dry-runs alone'
          : paths.length < 2
            ? `--paths ${flags.paths} ran one path only`
            : 'only some of its scenarios ran',
      );
    }
    if (catalogScenarios.length > 0) {
      const section = renderCatalog(facts, catalogOutcomes, catalogPredictions, catalogSkipped);
      process.stdout.write(`${section}\n`);
      writeIfComplete(
        'online-catalog',
        section,
        catalogScenarios.length === CATALOG_SCENARIOS.length && catalogRepeat > 0,
        catalogRepeat > 0
          ? 'only some of its scenarios ran'
          : '--catalog-repeat 0 ran the dry-runs alone',
      );
    }
    if (flags.json !== undefined) {
      writeFileSync(
        flags.json,
        JSON.stringify(
          { command, facts, outcomes, predictions, catalogOutcomes, catalogPredictions },
          null,
          2,
        ),
      );
    }
  } finally {
    if (!state.interrupted) await dbs.close();
  }
}

await main();
