// Linting the project's ten migrations, as a user starts it, beside Squawk (the linter
// PostgreSQL teams use: its native binary from npm's @squawk-cli/linux-x64, via
// hack/squawk.sh): whole-process wall time and peak memory, median of interleaved runs.
// Writes its section of docs/benchmarks.md.
//
//   node dist/bench/lint/run.js [--runs 10]
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countFlag } from '../shared/flags.js';
import { table, writeSection } from '../shared/markdown.js';

interface Way {
  readonly name: string;
  readonly argv: readonly string[];
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

const ways: readonly Way[] = [
  {
    name: 'dbmigrate lint (the installed bin: dist/cli/dbmigrate.js)',
    argv: ['dist/cli/dbmigrate.js', 'lint', '--migrations', 'migrations'],
  },
  {
    name: 'node dist/cli/dbmigrate.js lint',
    argv: [process.execPath, 'dist/cli/dbmigrate.js', 'lint', '--migrations', 'migrations'],
  },
  { name: 'squawk 2.66.0 (native binary, hack/squawk.sh)', argv: [squawk, ...files] },
];

/** Wall seconds and peak RSS (KiB) of one run, from GNU time. */
function once(way: Way): { seconds: number; kib: number } {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %M', ...way.argv], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env['PATH'] ?? ''}`,
    },
  });
  const last = res.stderr.trim().split('\n').at(-1) ?? '';
  const [seconds, kib] = last.split(' ').map(Number);
  if (seconds === undefined || kib === undefined || Number.isNaN(seconds))
    throw new Error(`${way.name}: could not read /usr/bin/time's output: ${res.stderr}`);
  return { seconds, kib };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

for (const way of ways) once(way); // warm the page cache and V8's compile cache
const samples = new Map<string, { seconds: number[]; kib: number[] }>(
  ways.map((w) => [w.name, { seconds: [], kib: [] }]),
);
for (let i = 0; i < runs; i++) {
  for (const way of ways) {
    const r = once(way);
    const s = samples.get(way.name);
    s?.seconds.push(r.seconds);
    s?.kib.push(r.kib);
  }
}
const rows = ways.map((w) => {
  const s = samples.get(w.name) ?? { seconds: [], kib: [] };
  const wall = Math.round(median(s.seconds) * 1000);
  // GNU time reports wall time in hundredths of a second.
  return [
    w.name,
    wall < 10 ? '< 10 ms' : `${String(wall)} ms`,
    `${String(Math.round(median(s.kib) / 1024))} MB`,
  ];
});
const body = `## Lint: the project's ${String(files.length)} migrations

\`node dist/bench/lint/run.js --runs ${String(runs)}\` (\`make bench-lint\`): whole process, median of ${String(runs)} interleaved runs,
wall time and peak resident memory from GNU time, on this machine (2 cores).
The CLI sets V8's \`--no-wasm-tier-up --no-wasm-dynamic-tiering\` in-process before the parser
loads, so however it is started V8 does not re-compile libpg-query's WASM parser with TurboFan
(before: about 0.9 s and 620 MB through \`node dist/cli/dbmigrate.js\`).

${table(['how', 'wall (median)', 'peak memory (median)'], rows)}
`;
writeSection('docs/benchmarks.md', 'lint', body);
process.stdout.write(`${body}\n`);
