// The online-changes benchmark (docs/benchmarks.md, section "online"): while a rate-limited
// writer and a reader run against a loaded `documents` table, apply each change the naive way
// and the online way, through the real Migrator, and measure what the writes felt; then compare
// each naive stall with what the staging dry-run predicted for it.
//
//   npm run build && node dist/bench/online/run.js [--rows 1000000] [--rate 200]
//
// Quick run: --rows 100000. Every measured run gets a fresh copy of the loaded database; every
// database it creates is named dbm_bench_online_<pid>_* and dropped at the end.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { runBackfill } from '../../src/safety/backfill/backfill.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { OnlineDatabases } from './databases.js';
import type { ControlMessage, LoadConfig, LoadMessage, WaitSamples } from './load.js';
import { ms, ratio, table, writeSection } from './markdown.js';
import { SCENARIOS, type PathPlan, type Scenario } from './scenarios.js';
import { summarise, type LatencySummary, type Samples } from './stats.js';
import { countFlag } from '../shared/flags.js';

const TARGET_ISSUE_P99_MS = 100;
const TARGET_BRIEF_P99_MS = 20;
const TARGET_PREDICTION_FACTOR = 2;

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
    scenarios: { type: 'string', default: SCENARIOS.map((s) => s.key).join(',') },
    'batch-size': { type: 'string', default: '1000' },
    'throttle-ms': { type: 'string', default: '50' },
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
      '  --repeat N               naive/online pairs per scenario, order alternating (default 2)',
      '  --scenarios a,b          subset of index,fk,default,type',
      '  --batch-size N           runBackfill batch size (default 1000, its own default)',
      '  --throttle-ms N          runBackfill pause between batches (default 50, its own default)',
      '  --naive-lock-timeout-ms  lock_timeout of the naive migrations (default 10000)',
      '  --max-minutes N          skip the runs that would start after this (default 40)',
      '  --admin-url URL          where to CREATE/DROP the dbm_bench_online_* databases',
      '  --json PATH              also write the figures as JSON',
      '  --samples-dir DIR        also write every operation of every run as CSV (diagnosis)',
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
const repeat = countFlag('repeat', flags.repeat, 1);
const batchSize = countFlag('batch-size', flags['batch-size'], 1);
const throttleMs = countFlag('throttle-ms', flags['throttle-ms'], 0);
const naiveLockTimeoutMs = countFlag('naive-lock-timeout-ms', flags['naive-lock-timeout-ms'], 1);
const deadline = Date.now() + 60_000 * countFlag('max-minutes', flags['max-minutes'], 1);
const wanted = flags.scenarios.split(',').filter(Boolean);
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.key));
if (scenarios.length !== wanted.length) {
  throw new Error(`--scenarios: known are ${SCENARIOS.map((s) => s.key).join(', ')}`);
}

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

type PathName = 'naive' | 'online';

interface StepOutcome {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly lockRetries: number;
  readonly detail: string;
  readonly error: string | null;
  readonly writes: LatencySummary | null;
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

async function runSteps(
  url: string,
  plan: PathPlan,
  lockTimeoutMs: number,
): Promise<{ steps: Omit<StepOutcome, 'writes'>[]; error: string | null }> {
  const migrator = new Migrator({
    database: connectorFromUrl(url),
    source: new InlineMigrationSource(plan.files),
    lockTimeoutMs,
    // Bounds only: nothing here should come near them.
    statementTimeoutMs: 600_000,
    lockWaitMs: 10_000,
  });
  const steps: Omit<StepOutcome, 'writes'>[] = [];
  for (const step of plan.steps) {
    const start = now();
    if (step.kind === 'migrate') {
      const res = await migrator.apply({ target: step.target });
      const end = now();
      const retries = res.results.reduce((n, r) => n + r.lockRetries, 0);
      const error = res.error ? `${res.error.code}: ${res.error.message}` : null;
      const detail = res.results.map((r) => `${r.id} ${r.status}`).join(', ');
      steps.push({ label: step.label, start, end, lockRetries: retries, detail, error });
      if (error !== null) return { steps, error };
    } else {
      let detail = '';
      let error: string | null = null;
      try {
        const res = await runBackfill({
          databaseUrl: url,
          name: step.name,
          table: step.table,
          set: step.set,
          where: step.where,
          batchSize,
          throttleMs,
          signal: AbortSignal.timeout(Math.max(60_000, deadline - Date.now())),
        });
        detail = `${String(res.rowsUpdated)} rows in ${String(res.batches)} batches`;
        if (!res.finished) error = `backfill stopped unfinished (time budget): ${detail}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      steps.push({ label: step.label, start, end: now(), lockRetries: 0, detail, error });
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

async function measure(
  dbs: OnlineDatabases,
  scenario: Scenario,
  path: PathName,
  rep: number,
): Promise<RunOutcome> {
  const copy = await dbs.copyOfSeed('run');
  try {
    await warmCache(copy.url);
    const load = await startLoad(copy.url);
    let ran: Awaited<ReturnType<typeof runSteps>>;
    let ddlStart: number;
    let ddlEnd: number;
    let result: LoadResult;
    try {
      await sleep(warmupMs + baselineMs);
      ddlStart = now();
      ran = await runSteps(
        copy.url,
        path === 'naive' ? scenario.naive : scenario.online,
        naiveLockTimeoutMs,
      );
      ddlEnd = now();
      await sleep(cooldownMs);
    } finally {
      result = await load.stop();
    }
    const ok = await query<{ ok: boolean | null }>(copy.url, scenario.verify).catch(() => []);
    if (flags['samples-dir'] !== undefined) {
      dumpSamples(
        `${flags['samples-dir']}/${scenario.key}-${path}-${String(rep)}.csv`,
        result.samples,
        ddlStart,
        ran.steps,
      );
    }
    const writes = ['insert', 'update'] as const;
    const s = result.samples;
    return {
      scenario: scenario.key,
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
    };
  } finally {
    await dbs.drop(copy.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Staging dry-run of the naive path

interface Prediction {
  readonly scenario: string;
  /** Longest hold of a lock that blocks writes; null when none was seen. */
  readonly blockMs: number | null;
  readonly lock: string;
  readonly rewrites: readonly string[];
  readonly needsWindow: boolean;
  readonly migrationMs: number | null;
  readonly error: string | null;
}

async function predict(dbs: OnlineDatabases, scenario: Scenario): Promise<Prediction> {
  const staging = await dbs.copyOfSeed('staging');
  try {
    await warmCache(staging.url);
    const report = await runDryRun({
      source: new InlineMigrationSource(scenario.naive.files),
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
      scenario: scenario.key,
      blockMs: block?.heldMs ?? null,
      lock: block?.lock ?? 'none that blocks writes',
      rewrites: report.migrations.flatMap((m) => m.rewrites),
      needsWindow: report.needsWindow,
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
  lines.push(
    `\`${command}\` — ${facts.date}; ${String(facts.nproc)} cores (${facts.cpu}), ${facts.memGiB} GiB RAM, PostgreSQL ${facts.server} (${facts.settings}); shared with other engineers' test runs, so figures are noisy.`,
  );
  lines.push('');
  lines.push(
    `\`documents\`: ${rows.toLocaleString('en-US')} rows (${facts.tableMB} MB with its primary key), ${String(sources)} \`document_sources\`. Load, in a worker thread: a writer at ${String(writeRate)} writes/s (alternately an INSERT and an UPDATE of a random row) over its own ${String(writerConnections)} connections, like an application's pool, and a reader at ${String(readRate)} primary-key lookups/s over ${String(readerConnections)} more. Open loop: an operation's latency counts from when it was due, so writes waiting for a connection held by a blocked write count their wait too.`,
  );
  lines.push('');
  lines.push(
    `Each run starts from a fresh copy of the loaded database (\`CREATE DATABASE … TEMPLATE\`): ${String(warmupMs / 1000)} s of load, a ${String(baselineMs / 1000)} s baseline, the change, ${String(cooldownMs / 1000)} s more. Every DDL is an inline migration applied by \`Migrator.apply()\` (naive: lock_timeout ${String(naiveLockTimeoutMs / 1000)} s; online files say \`lock_timeout=2s\` like docs/examples); the online backfills are \`runBackfill\` (batch ${String(batchSize)}, throttle ${String(throttleMs)} ms). "During DDL" = writes due from the first step's start to the last step's end (online: migrations and backfill). Added p99 = p99 during DDL − baseline p50; longest stall = max write latency during DDL. Dry-run = \`runDryRun\` of the naive migration on another fresh copy with no load; predicted block = the longest \`heldMs\` of a lock with \`blocksWrites\`; ratio = measured stall / predicted block.`,
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
  const share = (w: WaitSummary): string => {
    const total = w.events.reduce((n, e) => n + e.count, 0);
    if (total === 0) return 'none';
    return w.events
      .slice(0, 3)
      .map((e) => `${e.label} ${((100 * e.count) / total).toFixed(0)}%`)
      .join(', ');
  };
  const active = (w: WaitSummary): string =>
    Number.isFinite(w.activeWriters) ? w.activeWriters.toFixed(2) : 'n/a';
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

// ---------------------------------------------------------------------------------------------

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
      const p = await predict(dbs, scenario);
      predictions.push(p);
      progress(
        `${scenario.key}: predicted block ${p.blockMs != null ? ms(p.blockMs) : 'none'} (${p.lock})${p.error !== null ? ` error: ${p.error}` : ''}`,
      );
      for (let rep = 1; rep <= repeat; rep++) {
        // Alternate the order so that drift on the machine hits both paths alike.
        const order: PathName[] = rep % 2 === 1 ? ['naive', 'online'] : ['online', 'naive'];
        for (const path of order) {
          if (Date.now() > deadline) {
            skipped.push(`${scenario.key}/${path} #${String(rep)}`);
            continue;
          }
          progress(`${scenario.key}: ${path} #${String(rep)} under load`);
          const r = await measure(dbs, scenario, path, rep);
          outcomes.push(r);
          progress(
            `${scenario.key}: ${path} #${String(rep)} took ${ms(r.durationMs)}; writes ${String(r.windowWrites.count)}, p50/p99/max ${ms(r.windowWrites.p50)}/${ms(r.windowWrites.p99)}/${ms(r.windowWrites.max)} (service p99 ${ms(r.windowWrites.serviceP99)}; baseline p50/p99 ${ms(r.baselineWrites.p50)}/${ms(r.baselineWrites.p99)})${r.error !== null ? `; ERROR ${r.error}` : ''}${r.verified ? '' : '; NOT VERIFIED'}`,
          );
        }
      }
    }
    const section = render(facts, outcomes, predictions, skipped);
    process.stdout.write(`${section}\n`);
    if (flags.json !== undefined) {
      writeFileSync(flags.json, JSON.stringify({ command, facts, outcomes, predictions }, null, 2));
    }
    if (!flags['no-write']) {
      writeSection(`${root}docs/benchmarks.md`, 'online', section);
      progress('wrote docs/benchmarks.md (section online)');
    }
  } finally {
    if (!state.interrupted) await dbs.close();
  }
}

await main();
