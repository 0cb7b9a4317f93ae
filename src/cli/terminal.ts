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
  // A terminal that reports no width (a pty nobody sized) cannot hold a redrawn line: ora would
  // count every line as wrapping without end and erase far more than it drew.
  const width = process.stderr.isTTY ? process.stderr.columns : 0;
  if (json || !process.stdout.isTTY || !process.stderr.isTTY || !(width >= 20)) return;
  setProgressRenderer((text): Progress => {
    const spinner = ora({
      text,
      stream: process.stderr,
      color: color ? 'cyan' : false,
      discardStdin: false,
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
