import type { Logger } from 'pino';
import type { ResolvedSettings } from '../api/settings.js';
import type { EngineMetrics } from '../observability/metrics.js';
import { connectorFromUrl, type DatabaseConnector } from '../db/connection.js';
import type { ExecutionObserver } from './executor.js';
import { Migrator } from './migrator.js';
import type { MigrationSource } from './source.js';

export interface CreateMigratorInput {
  /** A URL, or a connector (the doc-server's pool). */
  readonly database: string | DatabaseConnector;
  readonly source: MigrationSource;
  readonly settings: ResolvedSettings;
  readonly logger?: Logger;
  /** Who history says applied it (the operator names the resource). */
  readonly appliedBy?: string;
  readonly observer?: ExecutionObserver;
  /** Where runs are counted (the operator's registry, or the doc-server's own). */
  readonly metrics?: EngineMetrics;
}

/** The one way callers outside the engine build a Migrator: from resolved settings. */
export function createMigrator(input: CreateMigratorInput): Migrator {
  const s = input.settings;
  return new Migrator({
    database:
      typeof input.database === 'string' ? connectorFromUrl(input.database) : input.database,
    source: input.source,
    historySchema: s.historySchema,
    lockWaitMs: s.lockWaitMs,
    lockTimeoutMs: s.lockTimeoutMs,
    statementTimeoutMs: s.statementTimeoutMs,
    lockRetries: s.lockRetries,
    ...(input.logger !== undefined && { logger: input.logger }),
    ...(input.appliedBy !== undefined && { appliedBy: input.appliedBy }),
    ...(input.observer !== undefined && { observer: input.observer }),
    ...(input.metrics !== undefined && { metrics: input.metrics }),
  });
}
