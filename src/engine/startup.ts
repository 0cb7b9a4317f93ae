import type pg from 'pg';
import type { Registry } from 'prom-client';
import { engineMetrics } from '../observability/metrics.js';
import type { Logger } from 'pino';
import { connectorFromPool } from '../db/connection.js';
import type { MigrationErrorCode } from './errors.js';
import { resolveSettings } from '../api/settings.js';
import { createMigrator } from './create-migrator.js';
import type { MigrationResult } from './migrator.js';
import { DirectoryMigrationSource, type MigrationSource } from './source.js';

export interface MigrateOnStartupOptions {
  /** A directory of NNNN_name.sql files, or any MigrationSource. */
  readonly migrations: string | MigrationSource;
  readonly historySchema?: string;
  readonly logger?: Logger;
  /** Replicas starting together wait for the one that migrates (default 60 s). */
  readonly lockWaitMs?: number;
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  readonly target?: string;
  readonly resume?: boolean;
  /**
   * The server's Prometheus registry: the engine's counters (`dbmigrate_migrations_applied_total`
   * and the rest, docs/metrics.md) are registered in it and count this start-up's run.
   */
  readonly registry?: Registry;
}

/** What start-up migration did; `ok` false means the server should not start serving. */
export interface StartupMigrationSummary {
  readonly ok: boolean;
  readonly runId: string;
  readonly applied: readonly MigrationResult[];
  /** Migrations already applied before this start. */
  readonly alreadyApplied: number;
  readonly durationMs: number;
  readonly error: {
    readonly code: MigrationErrorCode | 'CONNECTION_ERROR';
    readonly message: string;
  } | null;
}

/**
 * The doc-server's start-up hook: validate → pending set → apply → history, on a session
 * borrowed from the server's own pool. Never throws.
 *
 * @example
 *   const summary = await migrateOnStartup(pool, { migrations: 'migrations', logger });
 *   if (!summary.ok) process.exit(1);
 */
export async function migrateOnStartup(
  pool: pg.Pool,
  options: MigrateOnStartupOptions,
): Promise<StartupMigrationSummary> {
  const source =
    typeof options.migrations === 'string'
      ? new DirectoryMigrationSource(options.migrations)
      : options.migrations;
  const migrator = createMigrator({
    database: connectorFromPool(pool),
    source,
    settings: resolveSettings(options),
    ...(options.logger !== undefined && { logger: options.logger }),
    ...(options.registry !== undefined && { metrics: engineMetrics(options.registry) }),
  });
  const run = await migrator.apply({
    ...(options.target !== undefined && { target: options.target }),
    ...(options.resume !== undefined && { resume: options.resume }),
  });
  return {
    ok: run.error === null,
    runId: run.runId,
    applied: run.results.filter((r) => r.status === 'applied'),
    alreadyApplied: run.skipped,
    durationMs: run.durationMs,
    error: run.error ? { code: run.error.code, message: run.error.message } : null,
  };
}
