import { describePgVersion } from '../../api/pg-version.js';
import { parseDurationMs } from '../../engine/duration.js';
import { DirectoryMigrationSource } from '../../engine/source.js';
import { createLogger } from '../../observability/logger.js';
import { runDryRun, type DryRunReport, type StagingSource } from '../../safety/dryrun/dry-run.js';
import {
  pgbackrestTarget,
  refusePgBackRestOnlyFlags,
  restoreDirectory,
} from '../pgbackrest-target.js';
import { snapshotStorage } from '../snapshot-storage.js';
import { parseCommandArgs } from '../command-spec.js';
import { startProgress, statementText } from '../progress.js';
import type { CommandIo } from '../context.js';
import { dryRunSpec } from '../specs/dry-run.js';
import { ExitCode } from '../exit-codes.js';
import { checkDatabaseUrl } from '../../db/database-url.js';
import { untilInterrupted } from '../batch-flags.js';
import { settingsFrom } from '../migrator-factory.js';
import { projectConfig } from '../project-config.js';
import { scratchServer, type ScratchValues } from '../scratch.js';
import { formatMs, renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';

/**
 * The predicted impact: per migration, one row per relation it locked (the strongest lock on
 * it, the longest hold, whether the relation was rewritten), then why a window is needed, the
 * lint findings the dry-run kept, and failures.
 */
export function dryRunTable(report: DryRunReport): string {
  if (report.migrations.length === 0) return 'nothing pending: the dry-run had nothing to apply';
  const rows = report.migrations.flatMap((m) => {
    const head = [m.id, m.name, m.status, formatMs(m.durationMs)];
    const tail = [String(m.rowsTouched), m.needsWindow ? 'REQUIRED' : '-'];
    const rewrote = (relation: string): string =>
      m.rewrites.includes(`table ${relation}`) ? 'yes' : 'no';
    if (m.locks.length === 0) {
      const rewrites = m.rewrites.length ? m.rewrites.join(', ') : '-';
      return [[...head, '-', '-', '-', rewrites, ...tail]];
    }
    return m.locks.map((lock, i) => [
      ...(i === 0 ? head : ['', '', '', '']),
      lock.relation,
      lock.mode,
      formatMs(lock.heldMs),
      rewrote(lock.relation),
      ...(i === 0 ? tail : ['', '']),
    ]);
  });
  const table = renderTable(
    ['ID', 'NAME', 'RESULT', 'DURATION', 'RELATION', 'LOCK', 'HELD', 'REWRITE', 'ROWS', 'WINDOW'],
    rows,
  );
  const notes = report.migrations.flatMap((m) => [
    ...m.reasons.map((r) => `  ${m.id} needs a maintenance window: ${r}`),
    ...m.lint
      .filter((f) => f.severity === 'warning')
      .map((f) => `  ${m.id} lint warning ${f.ruleId} at line ${String(f.line)}: ${f.message}`),
    ...m.lintCleared.map(
      (f) =>
        `  ${m.id} lint ${f.ruleId} at line ${String(f.line)} cleared by live facts: ${f.reason}`,
    ),
    ...(m.error ? [`  ${m.id} failed on staging: ${m.error}`] : []),
  ]);
  return [
    table,
    ...(notes.length ? ['', ...notes] : []),
    '',
    `holds timed per statement to the end of its transaction; a lock blocking writes longer than ${formatMs(report.windowThresholdMs)} needs a window`,
    ...(report.lintPgVersion === null
      ? []
      : [`lint judged for ${describePgVersion(report.lintPgVersion)}`]),
    `staging ${report.staging.database}${report.staging.snapshotId ? ` (from snapshot ${report.staging.snapshotId})` : ''}; ${String(report.samples)} lock samples every ${String(report.sampleIntervalMs)} ms; ${formatMs(report.durationMs)} in all`,
  ].join('\n');
}

/** Builds the staging choice from flags: an explicit URL, or a verified snapshot restored into a temporary database. */
export async function stagingFrom(
  values: ScratchValues & {
    'staging-url'?: string | undefined;
    storage?: string | undefined;
    snapshot?: string | undefined;
    keep?: boolean | undefined;
    'pgbackrest-stanza'?: string | undefined;
    'pgbackrest-config'?: string | undefined;
    'restore-dir'?: string | undefined;
  },
  io: CommandIo,
  storageDefault: string,
): Promise<{ staging: StagingSource; release: () => Promise<void> }> {
  const given = values['staging-url'] ?? io.env['DBMIGRATE_STAGING_URL'];
  if (given !== undefined) {
    const source = values['staging-url'] !== undefined ? '--staging-url' : 'DBMIGRATE_STAGING_URL';
    // Nothing is restored for a staging database used as it is: these would be ignored.
    if (values['pgbackrest-stanza'] !== undefined)
      throw new UsageError(
        `--pgbackrest-stanza restores a snapshot for the dry-run, ${source} names a staging database used as it is: pass one of them`,
      );
    refusePgBackRestOnlyFlags(values, `${source} names a staging database; nothing is restored`);
    const url = checkDatabaseUrl(given, source);
    return { staging: { kind: 'url', url }, release: () => Promise.resolve() };
  }
  const target = pgbackrestTarget(values, io);
  if (target !== null && values.keep === true) {
    throw new UsageError(
      '--keep keeps a staging database restored from a pg_dump snapshot; a pgBackRest copy is kept by --restore-dir DIR (the next dry-run updates it by a delta restore)',
    );
  }
  if (target === null) refusePgBackRestOnlyFlags(values, 'pass --pgbackrest-stanza too');
  const storage = await snapshotStorage(values.storage, io, storageDefault);
  if (target !== null) {
    const directory = restoreDirectory(values, io);
    return {
      staging: {
        kind: 'pgbackrest',
        storage,
        target,
        ...(values.snapshot !== undefined && { snapshotId: values.snapshot }),
        ...(directory !== undefined && { directory }),
      },
      release: () => {
        storage.close();
        return Promise.resolve();
      },
    };
  }
  let server;
  try {
    server = await scratchServer(values, io, 'restoring the snapshot for the staging dry-run');
  } catch (err) {
    storage.close();
    throw err;
  }
  const scratch = server;
  return {
    staging: {
      kind: 'snapshot',
      storage,
      serverUrl: scratch.url,
      ...(values.snapshot !== undefined && { snapshotId: values.snapshot }),
      ...(values.keep !== undefined && { keep: values.keep }),
    },
    release: async () => {
      storage.close();
      await scratch.release();
    },
  };
}

export function thresholdMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === null)
    throw new UsageError(`--threshold: "${value}" is not a duration (e.g. 500ms, 2s, 5m)`);
  return ms;
}

export async function dryRunCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(dryRunSpec, args);
  const production = values['database-url'] ?? io.env['DATABASE_URL'];
  const threshold = thresholdMs(values.threshold);
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const config = await projectConfig(values, io);
  const settings = settingsFrom(values, io, config);
  const { staging, release } = await stagingFrom(values, io, config.snapshots.storage);
  // Ctrl-C stops before the next statement, and the staging copy is dropped on the way out.
  let report;
  const display = values.json === true ? null : startProgress('dry-run: preparing staging');
  try {
    report = await untilInterrupted((signal) =>
      runDryRun({
        signal,
        ...(display !== null && {
          onRestoring: () => {
            display.update('dry-run: restoring the snapshot into staging');
          },
          statementStarted: (event) => {
            display.update(`dry-run: ${statementText(event)}`);
          },
        }),
        migrator: settings,
        source: new DirectoryMigrationSource(
          values.migrations ?? io.env['DBMIGRATE_MIGRATIONS'] ?? config.migrations,
        ),
        staging,
        logger: createLogger({ component: 'cli.dry-run', ...(level !== undefined && { level }) }),
        ...(production !== undefined && {
          productionUrl: checkDatabaseUrl(
            production,
            values['database-url'] !== undefined ? '--database-url' : 'DATABASE_URL',
          ),
        }),
        historySchema: settings.historySchema,
        windowThresholdMs: threshold ?? settings.windowThresholdMs,
        lint: settings.lint !== 'off',
        ...(settings.target !== undefined && { target: settings.target }),
      }),
    );
  } catch (err) {
    display?.fail('dry-run: stopped');
    throw err;
  } finally {
    await release();
  }
  if (report.ok)
    display?.succeed(`dry-run: ${String(report.migrations.length)} migration(s) on staging`);
  else display?.fail('dry-run: failed on staging');
  io.stdout(values.json ? JSON.stringify(report, null, 2) : dryRunTable(report));
  return report.ok ? ExitCode.ok : ExitCode.sql;
}
