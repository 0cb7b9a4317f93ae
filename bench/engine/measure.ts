// Timing child processes from the outside: wall time from spawn to exit, as a user sees it, and
// on request peak resident memory (GNU time's %M, the kernel's maxrss of the child).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface Invocation {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run under /usr/bin/time for the peak resident memory (adds its own fork to the wall time). */
  readonly rss?: boolean;
}

export interface Timed {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident memory in KiB, when asked for. */
  readonly maxRssKb?: number;
}

const RSS_MARK = 'dbm-bench-maxrss=';

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs one process to completion and times it; a non-zero exit is an error, not a figure. */
export function timeRun(run: Invocation): Timed {
  const [command, args] = run.rss
    ? ['/usr/bin/time', ['-f', `${RSS_MARK}%M`, run.command, ...run.args]]
    : [run.command, run.args];
  const start = performance.now();
  const result = spawnSync(command, [...args], {
    cwd: run.cwd,
    env: run.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - start;
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${run.command} ${run.args.join(' ')} exited with ${String(result.status ?? result.signal)}\n` +
        `stdout:\n${tail(result.stdout)}\nstderr:\n${tail(result.stderr)}`,
    );
  }
  if (!run.rss) return { ms, stdout: result.stdout, stderr: result.stderr };
  const at = result.stderr.lastIndexOf(RSS_MARK);
  const maxRssKb = at < 0 ? Number.NaN : Number.parseInt(result.stderr.slice(at + RSS_MARK.length));
  if (!Number.isFinite(maxRssKb))
    throw new Error(`no peak memory from /usr/bin/time: ${tail(result.stderr)}`);
  return { ms, stdout: result.stdout, stderr: result.stderr.slice(0, at), maxRssKb };
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  const lo = sorted[mid - 1] ?? hi;
  return sorted.length % 2 === 1 ? hi : (lo + hi) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
  };
}

/** `warmup` untimed runs, then `runs` timed ones. */
export function timeRepeated(run: Invocation, runs: number, warmup = 1): Summary {
  for (let i = 0; i < warmup; i++) timeRun(run);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(timeRun(run).ms);
  return summarize(samples);
}
