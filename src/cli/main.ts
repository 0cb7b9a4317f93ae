// The `dbmigrate` command line (started by launcher.ts after its Node version check). Only node: built-ins load here; each command's modules (pg, pino,
// zod, later the SQL parser and the Kubernetes client) load when that command runs, so start-up
// stays fast.
import { readFileSync, realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
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
    'usage: dbmigrate <command> [flags]     dbmigrate --version',
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

/** The package's version, from the package.json this file ships in (bundled or not). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'db-migration-operator' && pkg.version) return pkg.version;
    } catch {
      // Not here: one level up.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`dbmigrate ${packageVersion()} (Node.js ${process.versions.node})`);
    return ExitCode.ok;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const near = nearestCommand(name);
    process.stderr.write(
      `dbmigrate: unknown command "${name}"${near === null ? '' : `; did you mean "${near}"?`}\n\n${usage()}\n`,
    );
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
    const known = typeof code === 'string' && exitCodeFor(code) !== ExitCode.internal;
    const exit = known ? exitCodeFor(code) : ExitCode.internal;
    // Scripts that asked for JSON get the error as JSON on stdout too.
    if (args.includes('--json')) {
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
  const distance = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) {
        row[j] = Math.min(
          (prev[j] ?? 0) + 1,
          (row[j - 1] ?? 0) + 1,
          (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
      prev = row;
    }
    return prev[b.length] ?? Infinity;
  };
  let best: { name: string; d: number } | null = null;
  for (const name of Object.keys(COMMANDS)) {
    const d = distance(typed.toLowerCase(), name);
    if (d <= 2 && (best === null || d < best.d)) best = { name, d };
  }
  return best?.name ?? null;
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
  const io: CommandIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    env: process.env,
  };
  process.exitCode = await main(process.argv.slice(2), io);
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
