import { checkDatabaseUrl } from '../../db/database-url.js';
import { parseDurationMs } from '../../engine/duration.js';
import { DirectoryMigrationSource } from '../../engine/source.js';
import { createLogger } from '../../observability/logger.js';
import {
  runSafeApply,
  type SafeApplyReport,
  type SafeSnapshotMethod,
} from '../../safety/pipeline/safe-apply.js';
import { databaseName } from '../../safety/snapshot/pg-tools.js';
import { snapshotStorage } from '../snapshot-storage.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { applySpec } from '../specs/apply.js';
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { databaseUrl, settingsFrom } from '../migrator-factory.js';
import { checkScratchChoice, scratchServer, type ScratchServer } from '../scratch.js';
import {
  backupType,
  pgbackrestTarget,
  refusePgBackRestOnlyFlags,
  restoreDirectory,
} from '../pgbackrest-target.js';
import { projectConfig } from '../project-config.js';
import { formatMs, renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { dryRunTable } from './dry-run.js';
import { safeApplyProgress } from '../safe-apply-progress.js';

function reportText(r: SafeApplyReport): string {
  const parts = [
    renderTable(
      ['STEP', 'RESULT', 'DURATION', 'DETAIL'],
      r.steps.map((s) => [s.step, s.status, formatMs(s.durationMs), s.detail]),
    ),
  ];
  if (r.dryRun) parts.push('', 'predicted impact (staging dry-run):', dryRunTable(r.dryRun));
  parts.push(
    '',
    r.ok
      ? 'safe apply finished: every step passed'
      : `safe apply STOPPED at ${r.stoppedAt ?? '?'}; production ${r.productionTouched ? 'WAS changed (see apply results)' : 'was not changed'}`,
  );
  return parts.join('\n');
}

/** `dbmigrate apply --safe`: the whole pipeline, touching production only after every earlier step passed. */
export async function safeApplyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(applySpec, args);
  const url = databaseUrl(values, io);
  if (values.now === true && values.confirm !== databaseName(url)) {
    throw new UsageError(
      `--now runs migrations that block writes outside a maintenance window; confirm by adding --confirm ${databaseName(url)} (the database name)`,
    );
  }
  const maxWait =
    values['max-window-wait'] === undefined
      ? undefined
      : parseDurationMs(values['max-window-wait']);
  if (maxWait === null)
    throw new UsageError('--max-window-wait must be a duration such as 30min or 12h');
  const config = await projectConfig(values, io);
  const pgbackrest = pgbackrestTarget(values, io);
  const type = backupType(values, pgbackrest);
  if (pgbackrest === null) refusePgBackRestOnlyFlags(values, 'pass --pgbackrest-stanza too');
  // Refused here, before any step: verifying a dump needs a server for its copy.
  if (pgbackrest === null) checkScratchChoice(values, io, 'verifying the pre-apply snapshot');

  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const logger = createLogger({
    component: 'cli.apply-safe',
    ...(level !== undefined && { level }),
  });
  const storage = await snapshotStorage(values.storage, io, config.snapshots.storage);
  let scratch: ScratchServer | null = null;
  try {
    if (pgbackrest === null)
      scratch = await scratchServer(values, io, 'verifying the pre-apply snapshot', logger);
  } catch (err) {
    storage.close();
    throw err;
  }
  const directory = restoreDirectory(values, io);
  const snapshotMethod: SafeSnapshotMethod =
    pgbackrest !== null
      ? {
          kind: 'pgbackrest',
          target: pgbackrest,
          type,
          ...(directory !== undefined && { directory }),
        }
      : { kind: 'pg_dump', scratchServerUrl: scratch?.url ?? '' };
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };
  process.once('SIGINT', stop);
  try {
    const display = values.json === true ? null : safeApplyProgress();
    const report = await runSafeApply({
      ...(display !== null && display),
      databaseUrl: url,
      source: new DirectoryMigrationSource(
        values.migrations ?? io.env['DBMIGRATE_MIGRATIONS'] ?? config.migrations,
      ),
      config,
      settings: settingsFrom(values, io, config),
      storage,
      snapshotMethod,
      confirmedNow: values.now === true,
      signal: controller.signal,
      logger,
      ...(values['staging-url'] !== undefined && {
        stagingUrl: checkDatabaseUrl(values['staging-url'], '--staging-url'),
      }),
      ...(maxWait !== undefined && { maxWindowWaitMs: maxWait }),
      ...(values.resume !== undefined && { resume: values.resume }),
    });
    io.stdout(values.json ? JSON.stringify(report, null, 2) : reportText(report));
    if (report.ok) return ExitCode.ok;
    if (report.stoppedAt === 'apply' && report.apply?.error)
      return exitCodeFor(report.apply.error.code);
    if (report.stoppedAt === 'dry-run') return ExitCode.sql;
    return ExitCode.validation;
  } finally {
    process.off('SIGINT', stop);
    storage.close();
    await scratch?.release();
  }
}
