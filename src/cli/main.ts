#!/usr/bin/env -S node --liftoff-only
// --liftoff-only: V8 otherwise re-compiles libpg-query's WASM parser with TurboFan on every
// `lint` (about 1 s and 600 MB); the baseline compiler parses migrations just as well.
// Entry point of `dbmigrate`. Only node: built-ins load here; each command's modules (pg, pino,
// zod, later the SQL parser and the Kubernetes client) load when that command runs, so start-up
// stays fast.
import { realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CommandIo } from './context.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

type Command = (args: readonly string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  status: {
    summary: 'show every migration and whether it is applied, pending or drifted',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  history: {
    summary: 'list every apply, failure, rollback, baseline and import',
    load: async () => (await import('./commands/history.js')).historyCommand,
  },
  plan: {
    summary: 'show what apply would run and what would stop it',
    load: async () => (await import('./commands/plan.js')).planCommand,
  },
  validate: {
    summary: 'check the files against the database',
    load: async () => (await import('./commands/validate.js')).validateCommand,
  },
  lint: {
    summary: 'check migration SQL for locks, rewrites and breaking changes (no database needed)',
    load: async () => (await import('./commands/lint.js')).lintCommand,
  },
  apply: {
    summary: 'apply pending migrations',
    load: async () => (await import('./commands/apply.js')).applyCommand,
  },
  rollback: {
    summary: 'emergency rollback to --to ID through down sections',
    load: async () => (await import('./commands/rollback.js')).rollbackCommand,
  },
  baseline: {
    summary: 'adopt an existing database (--version ID, or --from sqlx|flyway)',
    load: async () => (await import('./commands/baseline.js')).baselineCommand,
  },
  snapshot: {
    summary:
      'pg_dump snapshots with a manifest: create [--verify] | verify ID | restore ID | list | prune',
    load: async () => (await import('./commands/snapshot.js')).snapshotCommand,
  },
  'dry-run': {
    summary: 'apply pending migrations to a staging copy and report locks, rewrites and timing',
    load: async () => (await import('./commands/dry-run.js')).dryRunCommand,
  },
  verify: {
    summary:
      'post-verify: constraints, invalid indexes, amcheck, row counts vs a snapshot, smoke queries',
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  backfill: {
    summary: 'keyset-batched UPDATE with throttle and a resumable checkpoint',
    load: async () => (await import('./commands/backfill.js')).backfillCommand,
  },
  partitions: {
    summary:
      'list the partitions of documents | ensure [--ahead "3 months"] creates the months ahead',
    load: async () => (await import('./commands/partitions.js')).partitionsCommand,
  },
  archive: {
    summary: 'move documents older than --older-than INTERVAL to documents_archive [--dry-run]',
    load: async () => (await import('./commands/archive.js')).archiveCommand,
  },
  operator: {
    summary: 'run the Kubernetes operator (DatabaseMigration, BackupSnapshot) against --kubeconfig',
    load: async () => (await import('./commands/operator.js')).operatorCommand,
  },
  repair: {
    summary: 'after a manual fix: accept a checksum or forget a failed attempt',
    load: async () => (await import('./commands/repair.js')).repairCommand,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: dbmigrate <command> [flags]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'flags for every command:',
    '  --database-url URL        default: $DATABASE_URL',
    '  --migrations DIR          default: $DBMIGRATE_MIGRATIONS or ./migrations',
    '  --schema NAME             history schema, default dbmigrate',
    '  --json                    machine-readable output',
    '  --lock-wait DURATION      wait for another runner (default 60s; 0 fails at once)',
    '  --lock-timeout DURATION   lock_timeout per migration (default 5s)',
    '  --statement-timeout DUR   statement_timeout per migration (default none)',
    '',
    'exit codes: 0 ok, 1 internal error, 2 usage, 3 validation failed, 4 lock busy, lock timeout or stopped (Ctrl-C),',
    '            5 SQL error in a migration, 6 database unreachable, 7 pg_dump/pg_restore failed',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`dbmigrate: unknown command "${name}"\n\n${usage()}\n`);
    return ExitCode.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`dbmigrate ${name}: ${entry.summary}\n\n${usage()}`);
    return ExitCode.ok;
  }
  try {
    return await (
      await entry.load()
    )(args, io);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    const { redactSecrets } = await import('../observability/redact.js');
    if (typeof code === 'string' && exitCodeFor(code) !== ExitCode.internal) {
      process.stderr.write(`dbmigrate ${name}: error [${code}]: ${redactSecrets(message)}\n`);
      return exitCodeFor(code);
    }
    process.stderr.write(
      `dbmigrate ${name}: internal error: ${redactSecrets(err instanceof Error ? (err.stack ?? message) : message)}\n`,
    );
    return ExitCode.internal;
  }
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

if (isEntryPoint()) {
  // V8 code cache for the command modules loaded below: roughly halves their compile time.
  enableCompileCache();
  const io: CommandIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    env: process.env,
  };
  process.exitCode = await main(process.argv.slice(2), io);
}
