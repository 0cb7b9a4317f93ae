// The `dbmigrate` command line (started by launcher.ts after its Node version check). Only
// node: built-ins and the commands' specs (plain data) load here; each command's modules (pg,
// pino, zod, the SQL parser, the Kubernetes client) load when that command runs, so start-up
// and --help stay fast.
import { realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DiskParseCache, libpgQueryVersion } from '../engine/parse-cache.js';
import { configureSqlParser } from '../engine/sql-parser.js';
import { commandHelp, type CommandSpec } from './command-spec.js';
import type { CommandIo } from './context.js';
import { nearest } from '../api/nearest.js';
import { packageVersion } from './package-version.js';
import { COMMAND_SPECS } from './specs/index.js';
import { EXIT_CODE_LINES, ExitCode, exitCodeFor } from './exit-codes.js';

type Command = (args: readonly string[], io: CommandIo) => Promise<number>;

/** Each command's module, loaded only when that command runs. */
export const LOADERS: Record<string, () => Promise<Command>> = {
  status: async () => (await import('./commands/status.js')).statusCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  lint: async () => (await import('./commands/lint.js')).lintCommand,
  apply: async () => (await import('./commands/apply.js')).applyCommand,
  rollback: async () => (await import('./commands/rollback.js')).rollbackCommand,
  baseline: async () => (await import('./commands/baseline.js')).baselineCommand,
  snapshot: async () => (await import('./commands/snapshot.js')).snapshotCommand,
  'dry-run': async () => (await import('./commands/dry-run.js')).dryRunCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  health: async () => (await import('./commands/health.js')).healthCommand,
  backfill: async () => (await import('./commands/backfill.js')).backfillCommand,
  partitions: async () => (await import('./commands/partitions.js')).partitionsCommand,
  archive: async () => (await import('./commands/archive.js')).archiveCommand,
  operator: async () => (await import('./commands/operator.js')).operatorCommand,
  repair: async () => (await import('./commands/repair.js')).repairCommand,
};

function specOf(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find((s) => s.name === name);
}

export function usage(): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length));
  return [
    'usage: dbmigrate <command> [flags]     dbmigrate <command> --help     dbmigrate --version',
    '',
    'commands:',
    ...COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run dbmigrate <command> --help for its flags and their defaults (also in docs/cli.md).',
    'Durations are written 500ms, 5s, 5m or 1h30m.',
    '',
    'exit codes:',
    ...EXIT_CODE_LINES.map(([code, meaning]) => `  ${String(code).padStart(2)}  ${meaning}`),
  ].join('\n');
}

/** `--json`, or its long form `--format json` (lint). */
function asksForJson(args: readonly string[]): boolean {
  const format = args.indexOf('--format');
  return (
    args.includes('--json') ||
    args.includes('--format=json') ||
    (format >= 0 && args[format + 1] === 'json')
  );
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`dbmigrate ${packageVersion()} (Node.js ${process.versions.node})`);
    return ExitCode.ok;
  }
  if (name === undefined) {
    // Asked for nothing: the usage is an error message, so it goes where errors go.
    process.stderr.write(`${usage()}\n`);
    return ExitCode.usage;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    io.stdout(usage());
    return ExitCode.ok;
  }
  const spec = specOf(name);
  const load = LOADERS[name];
  if (!spec || !load) {
    const near = nearestCommand(name);
    const message = `unknown command "${name}"${near === null ? '' : `; did you mean "${near}"?`}`;
    if (args.includes('--json')) {
      io.stdout(JSON.stringify({ error: { code: 'USAGE', exitCode: ExitCode.usage, message } }));
    }
    process.stderr.write(`dbmigrate: ${message}\n\n${usage()}\n`);
    return ExitCode.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(commandHelp(spec));
    return ExitCode.ok;
  }
  try {
    // Human output only for a person: the terminal module (pino-pretty, ora) loads only then.
    if (process.stderr.isTTY || io.env['DBMIGRATE_LOG_FORMAT'] !== undefined) {
      (await import('./terminal.js')).configureTerminal(io.env, asksForJson(args));
    }
    return await (
      await load()
    )(args, io);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    const { redactSecrets } = await import('../observability/redact.js');
    const known = typeof code === 'string' && exitCodeFor(code) !== ExitCode.internal;
    const exit = known ? exitCodeFor(code) : ExitCode.internal;
    // Scripts that asked for JSON get the error as JSON on stdout too.
    if (asksForJson(args)) {
      io.stdout(
        JSON.stringify({
          error: {
            code: known ? code : 'INTERNAL',
            exitCode: exit,
            message: redactSecrets(message),
          },
        }),
      );
    }
    if (known) {
      process.stderr.write(`dbmigrate ${name}: error [${code}]: ${redactSecrets(message)}\n`);
      return exit;
    }
    process.stderr.write(
      `dbmigrate ${name}: internal error: ${redactSecrets(err instanceof Error ? (err.stack ?? message) : message)}\n`,
    );
    return ExitCode.internal;
  }
}

/** The command a typo most likely meant (edit distance at most 2), or null. */
export function nearestCommand(typed: string): string | null {
  return nearest(
    typed.toLowerCase(),
    COMMAND_SPECS.map((c) => c.name),
  );
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function runCli(): Promise<void> {
  // A reader that went away (`dbmigrate lint | head -1`) ends the output, not with a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
    throw err;
  });
  // V8 code cache for the command modules loaded below: roughly halves their compile time.
  enableCompileCache();
  configureSqlParser({
    // Stored parse results: a lint of files that did not change needs no WASM parser at all.
    cache: DiskParseCache.fromEnv(process.env, libpgQueryVersion()),
    beforeLoad: baselineWasmCompilerOnly,
  });
  const io: CommandIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    env: process.env,
  };
  process.exitCode = await main(process.argv.slice(2), io);
}

/**
 * Liftoff only, set in-process so it holds however the CLI is started (the bin link, `node
 * dist/cli/dbmigrate.js`, a container's entrypoint): V8 otherwise re-compiles libpg-query's
 * WASM parser with TurboFan on every `lint` (about 1 s and 600 MB); the baseline compiler
 * parses migrations just as well. Set when the parser is about to load, not at start-up, so a
 * run that needs no parser does not load node:v8. At run time --liftoff-only alone no longer
 * stops the tier-up (its implications were resolved at start-up): the two tiering flags are
 * turned off by name.
 */
function baselineWasmCompilerOnly(): void {
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering'])
    setFlagsFromString(flag);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// `node dist/src/cli/main.js` (the unbundled library build) runs the CLI too.
if (isEntryPoint()) await runCli();
