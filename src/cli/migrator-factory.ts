import type { ExecutionObserver } from '../engine/executor.js';
import type { DbmigrateConfig } from '../api/config.js';
import { configSettings } from '../api/config-file.js';
import { resolveSettings, type ResolvedSettings } from '../api/settings.js';
import { checkDatabaseUrl } from '../db/database-url.js';
import { MAX_DURATION_MS, parseDurationMs } from '../engine/duration.js';
import { createMigrator } from '../engine/create-migrator.js';
import { isMigrationId } from '../engine/migration.js';
import type { Migrator } from '../engine/migrator.js';
import { DirectoryMigrationSource } from '../engine/source.js';
import { createLogger } from '../observability/logger.js';
import type { CommandIo } from './context.js';
import { projectConfig } from './project-config.js';
import { UsageError } from './usage-error.js';

export interface CommonValues {
  readonly 'database-url'?: string | undefined;
  readonly migrations?: string | undefined;
  readonly schema?: string | undefined;
  readonly 'lock-wait'?: string | undefined;
  readonly 'lock-timeout'?: string | undefined;
  readonly 'statement-timeout'?: string | undefined;
  readonly 'log-level'?: string | undefined;
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === null)
    throw new UsageError(`--${flag}: "${value}" is not a duration (e.g. 500ms, 5s, 5m, 1h30m)`);
  if (ms > MAX_DURATION_MS)
    throw new UsageError(`--${flag}: "${value}" is longer than PostgreSQL allows (about 24 days)`);
  // PostgreSQL reads 0 as "no timeout": a value that only rounds to it must not turn it off.
  if (ms === 0 && /[1-9]/.test(value))
    throw new UsageError(
      `--${flag}: "${value}" rounds to 0 ms, which means no timeout at all; write 0 for none, or at least 1ms`,
    );
  return ms;
}

/** A flag that names a migration (`--target`, `--to`, `--version`): digits, checked before connecting. */
export function migrationIdFlag(flag: string, value: string): string {
  if (!isMigrationId(value)) {
    throw new UsageError(
      `--${flag}: "${value}" is not a migration ID (the digits a file name starts with, e.g. 0007)`,
    );
  }
  return value;
}

export function databaseUrl(values: CommonValues, io: CommandIo): string {
  const flag = values['database-url'];
  const url = flag ?? io.env['DATABASE_URL'];
  if (!url) {
    throw new UsageError(
      'no database: set DATABASE_URL or pass --database-url postgres://user@host:5432/db',
    );
  }
  // Checked before anything connects: a broken URL is a usage error, its password masked.
  return checkDatabaseUrl(url, flag !== undefined ? '--database-url' : 'DATABASE_URL');
}

/** The engine's timing flags, parsed once for every command that runs migrations. */
export function engineSettingsFrom(values: CommonValues): {
  readonly lockWaitMs?: number;
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
} {
  const lockWaitMs = duration('lock-wait', values['lock-wait']);
  const lockTimeoutMs = duration('lock-timeout', values['lock-timeout']);
  const statementTimeoutMs = duration('statement-timeout', values['statement-timeout']);
  return {
    ...(lockWaitMs !== undefined && { lockWaitMs }),
    ...(lockTimeoutMs !== undefined && { lockTimeoutMs }),
    ...(statementTimeoutMs !== undefined && { statementTimeoutMs }),
  };
}

/**
 * The CLI's entry point resolves settings once: flags over the environment over dbmigrate.json
 * over the shared defaults.
 */
export function settingsFrom(
  values: CommonValues & {
    readonly target?: string | undefined;
    readonly 'out-of-order'?: boolean | undefined;
  },
  io: CommandIo,
  config?: DbmigrateConfig,
): ResolvedSettings {
  const fromConfig = config === undefined ? {} : configSettings(config);
  const engine = engineSettingsFrom(values);
  return resolveSettings({
    ...fromConfig,
    historySchema: values.schema ?? io.env['DBMIGRATE_SCHEMA'] ?? fromConfig.historySchema,
    lockWaitMs: engine.lockWaitMs,
    lockTimeoutMs: engine.lockTimeoutMs,
    statementTimeoutMs: engine.statementTimeoutMs,
    target: values.target === undefined ? undefined : migrationIdFlag('target', values.target),
    allowOutOfOrder: values['out-of-order'],
  });
}

/**
 * Builds the engine from command-line flags, the environment and dbmigrate.json, so every
 * command agrees on the history schema and the migrations directory.
 */
export async function migratorFrom(
  values: CommonValues & { readonly config?: string | undefined },
  io: CommandIo,
  command: string,
  observer?: ExecutionObserver,
): Promise<Migrator> {
  const url = databaseUrl(values, io);
  const config = await projectConfig(values, io);
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  return createMigrator({
    database: url,
    source: new DirectoryMigrationSource(
      values.migrations ?? io.env['DBMIGRATE_MIGRATIONS'] ?? config.migrations,
    ),
    settings: settingsFrom(values, io, config),
    logger: createLogger({ component: `cli.${command}`, ...(level !== undefined && { level }) }),
    ...(observer !== undefined && { observer }),
  });
}
