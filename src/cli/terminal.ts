import { Writable } from 'node:stream';
import ora, { type Ora } from 'ora';
import pinoPretty from 'pino-pretty';
import { setDefaultLogDestination } from '../observability/logger.js';
import { setProgressRenderer, type Progress } from './progress.js';
import { UsageError } from './usage-error.js';

/**
 * What a person at a terminal sees: log lines as text (pino-pretty) instead of JSON, colour
 * unless NO_COLOR is set, and a progress line for long work. Loaded only when stderr is a
 * terminal (or DBMIGRATE_LOG_FORMAT=pretty), so scripts and pods pay nothing for it and get
 * JSON lines. DBMIGRATE_LOG_FORMAT=json keeps JSON on a terminal.
 */
export function configureTerminal(
  env: Readonly<Record<string, string | undefined>>,
  json: boolean,
): void {
  const format = env['DBMIGRATE_LOG_FORMAT'];
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new UsageError(`DBMIGRATE_LOG_FORMAT must be json or pretty, not "${format}"`);
  }
  const color = env['NO_COLOR'] === undefined && process.stderr.hasColors();
  let active: Ora | null = null;
  if (format !== 'json') {
    const pretty = pinoPretty({
      colorize: color,
      sync: true,
      destination: 2,
      ignore: 'pid,hostname,component',
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
    });
    // A log line while a progress line is drawn: clear it, write the line, draw it again below.
    const around = new Writable({
      write(chunk: Buffer, _encoding, done) {
        active?.clear();
        pretty.write(chunk);
        active?.render();
        done();
      },
    });
    setDefaultLogDestination(() => around);
  }
  const drawn = drawsProgress({
    json,
    stdoutIsTerminal: process.stdout.isTTY,
    stderrIsTerminal: process.stderr.isTTY,
    columns: process.stderr.isTTY ? process.stderr.columns : undefined,
    env,
  });
  if (!drawn) return;
  setProgressRenderer((text): Progress => {
    const spinner = ora({
      text,
      stream: process.stderr,
      color: color ? 'cyan' : false,
      discardStdin: false,
      // Decided above, once, for every progress line; ora's own guess would differ from ours.
      isEnabled: true,
    });
    if (!color) spinner.spinner = 'line';
    active = spinner.start();
    const end = (how: 'succeed' | 'fail', final?: string): void => {
      spinner[how](final);
      if (active === spinner) active = null;
    };
    return {
      update: (t) => {
        spinner.text = t;
      },
      succeed: (t) => {
        end('succeed', t);
      },
      fail: (t) => {
        end('fail', t);
      },
    };
  });
}

export interface TerminalFacts {
  json: boolean;
  stdoutIsTerminal: boolean;
  stderrIsTerminal: boolean;
  /** Width of stderr; undefined when it reports none. */
  columns: number | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Whether a redrawn progress line suits this output. Not for --json or when either stream is
 * piped; not under CI (CI=..., as ora and most CLIs honour), whose logs keep every redraw; not
 * for TERM=dumb, which cannot move the cursor; not on a terminal narrower than 20 columns or one
 * that reports no width (a pty nobody sized), where every redraw would count as wrapping without
 * end and erase far more than it drew.
 */
export function drawsProgress(facts: TerminalFacts): boolean {
  if (facts.json || !facts.stdoutIsTerminal || !facts.stderrIsTerminal) return false;
  if (facts.env['CI'] !== undefined || facts.env['TERM'] === 'dumb') return false;
  return facts.columns !== undefined && facts.columns >= 20;
}
