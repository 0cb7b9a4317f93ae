// Linting the project's ten migrations, as a user starts it, beside Squawk (the linter
// PostgreSQL teams use: its native binary from npm's @squawk-cli/linux-x64, via
// hack/squawk.sh): whole-process wall time, CPU time and peak memory, median of interleaved
// runs; each way of starting dbmigrate once without stored parse results (a first lint, or
// DBMIGRATE_NO_CACHE) and once with them (files unchanged since the last lint), and Node's own
// start for scale. Writes its section of docs/benchmarks.md.
//
//   node dist/bench/lint/run.js [--runs 10]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countFlag } from '../shared/flags.js';
import { table, writeSection } from '../shared/markdown.js';

interface Way {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = countFlag('runs', values.runs);
const files = readdirSync('migrations')
  .filter((f) => f.endsWith('.sql'))
  .map((f) => join('migrations', f));

const squawk =
  process.env['DBM_SQUAWK'] ??
  execFileSync('bash', ['hack/squawk.sh'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();

const LINT = ['dbmigrate.js', 'lint', '--migrations', 'migrations'] as const;
const bin = ['dist/cli/dbmigrate.js', ...LINT.slice(1)];
const viaNode = [process.execPath, 'dist/cli/dbmigrate.js', ...LINT.slice(1)];
const cold = { DBMIGRATE_NO_CACHE: '1' };
// A private store, primed by the warm-up runs below: what a second lint of unchanged files sees.
const warm = { DBMIGRATE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'dbm-bench-lint-')) };

const ways: readonly Way[] = [
  { name: 'dbmigrate lint (the bin), first run', argv: bin, env: cold },
  { name: 'dbmigrate lint (the bin), files unchanged', argv: bin, env: warm },
  { name: 'node dist/cli/dbmigrate.js lint, first run', argv: viaNode, env: cold },
  { name: 'node dist/cli/dbmigrate.js lint, files unchanged', argv: viaNode, env: warm },
  { name: "node -e '' (Node's own start, for scale)", argv: [process.execPath, '-e', ''] },
  {
    name: 'Node loading libpg-query and parsing the files, nothing else (bench/lint/parser-floor.ts)',
    argv: [process.execPath, 'dist/bench/lint/parser-floor.js'],
  },
  { name: 'squawk 2.66.0 (native binary, hack/squawk.sh)', argv: [squawk, ...files] },
];

interface Sample {
  readonly seconds: number;
  readonly cpu: number;
  readonly kib: number;
}

/** Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one run, from GNU time. */
function once(way: Way): Sample {
  // Only the way's own cache settings count, not the caller's.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DBMIGRATE_')),
  );
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...way.argv], {
    encoding: 'utf8',
    env: {
      ...inherited,
      ...way.env,
      PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env['PATH'] ?? ''}`,
    },
  });
  const last = res.stderr.trim().split('\n').at(-1) ?? '';
  const [seconds, user, system, kib] = last.split(' ').map(Number);
  if (
    seconds === undefined ||
    user === undefined ||
    system === undefined ||
    kib === undefined ||
    Number.isNaN(seconds)
  )
    throw new Error(`${way.name}: could not read /usr/bin/time's output: ${res.stderr}`);
  return { seconds, cpu: user + system, kib };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

for (const way of ways) once(way); // warm the page cache, V8's compile cache and the store
const samples = new Map<string, Sample[]>(ways.map((w) => [w.name, []]));
for (let i = 0; i < runs; i++) for (const way of ways) samples.get(way.name)?.push(once(way));
const ms = (seconds: number): string => {
  // GNU time reports wall time in hundredths of a second.
  const n = Math.round(seconds * 1000);
  return n < 10 ? '< 10 ms' : `${String(n)} ms`;
};
const rows = ways.map((w) => {
  const s = samples.get(w.name) ?? [];
  return [
    w.name,
    ms(median(s.map((x) => x.seconds))),
    ms(median(s.map((x) => x.cpu))),
    `${String(Math.round(median(s.map((x) => x.kib)) / 1024))} MB`,
  ];
});
// Issue 14's target: a first lint of the ten migrations within 150 ms and 100 MB, however the
// CLI is started (the bin or `node dist/cli/dbmigrate.js`).
const firstRuns = ways.filter((w) => w.name.endsWith('first run'));
const worst = (pick: (x: Sample) => number): number =>
  Math.max(...firstRuns.map((w) => median((samples.get(w.name) ?? []).map(pick))));
const worstWallMs = Math.round(worst((x) => x.seconds) * 1000);
const worstMb = Math.round(worst((x) => x.kib) / 1024);
const target = `Target (issue 14): a first run of the ${String(files.length)} migrations within 150 ms wall and 100 MB, however the CLI is started: **${worstWallMs <= 150 && worstMb <= 100 ? 'met' : 'not met'}** (the slower way: ${String(worstWallMs)} ms, ${String(worstMb)} MB; Node's own start in the same rounds: ${ms(median((samples.get("node -e '' (Node's own start, for scale)") ?? []).map((x) => x.seconds)))}).`;
const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
const machine = `${String(cpus().length)} cores, ${cpuModel.trim()}, load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')} at the end, ${new Date().toISOString().slice(0, 16)}Z`;
const body = `## Lint: the project's ${String(files.length)} migrations

\`node dist/bench/lint/run.js --runs ${String(runs)}\` (\`make bench-lint\`): whole process, median of ${String(runs)} interleaved runs,
wall time, CPU time (user + system) and peak resident memory from GNU time (${machine}).
"First run": no stored parse results (a first lint, or \`DBMIGRATE_NO_CACHE=1\`): Node compiles
and warms libpg-query's WASM parser, with V8's baseline compiler only (the CLI turns TurboFan
off for it in-process, however it is started: before, 0.9 s and 620 MB through
\`node dist/cli/dbmigrate.js\`). "Files unchanged": the parse results of the last lint are read
from the CLI's store (README, The CLI) and the parser is not loaded. The parser-floor row is
what a first run cannot go below while it parses with libpg-query in Node.

${table(['how', 'wall (median)', 'CPU (median)', 'peak memory (median)'], rows)}

${target}
`;
writeSection('docs/benchmarks.md', 'lint', body);
process.stdout.write(`${body}\n`);
