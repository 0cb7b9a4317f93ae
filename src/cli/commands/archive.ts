import { archiveDocuments } from '../../db/archive.js';
import { openClient } from '../../db/connection.js';
import { createLogger } from '../../observability/logger.js';
import { batchFlags, untilInterrupted } from '../batch-flags.js';
import { parseCommandArgs } from '../command-spec.js';
import { rateText, startProgress } from '../progress.js';
import type { CommandIo } from '../context.js';
import { ARCHIVE_DEFAULTS, archiveSpec } from '../specs/archive.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { formatMs } from '../table.js';
import { UsageError } from '../usage-error.js';

/** `dbmigrate archive --older-than INTERVAL [--dry-run] [--batch-size N] [--throttle 20ms]` */
export async function archiveCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(archiveSpec, args);
  const olderThan = values['older-than'];
  if (olderThan === undefined)
    throw new UsageError('dbmigrate archive: --older-than is required (e.g. "2 years")');
  const { batchSize, throttleMs } = batchFlags(values, ARCHIVE_DEFAULTS);
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const client = await openClient(databaseUrl(values, io), 'dbmigrate:archive');
  const progress = startProgress('archive: planning');
  const started = Date.now();
  try {
    const res = await untilInterrupted((signal) =>
      archiveDocuments(client, {
        onProgress: ({ moved, total }) => {
          progress.update(`archive: ${rateText(moved, total, 'rows', started, Date.now())}`);
        },
        olderThan,
        dryRun: values['dry-run'] === true,
        batchSize,
        throttleMs,
        signal,
        logger: createLogger({ component: 'cli.archive', ...(level !== undefined && { level }) }),
      }),
    );
    progress.succeed(
      res.dryRun ? 'archive: planned (dry run)' : `archive: ${String(res.movedRows)} rows moved`,
    );
    if (values.json) {
      io.stdout(JSON.stringify(res, null, 2));
      return ExitCode.ok;
    }
    const whole = res.partitions.map((p) => `${p.name} (${String(p.rows)} rows)`).join(', ');
    io.stdout(
      [
        `${res.dryRun ? 'would archive' : 'archived'} documents created before ${res.cutoff}:`,
        `  whole partitions (detach + attach, no copy): ${whole || 'none'}`,
        `  legacy rows (batches of ${String(batchSize)}): ${String(res.legacyRows)}`,
        `  kept (their month is only partly older): ${String(res.keptRows)}`,
        res.dryRun
          ? `  documents + archive: ${String(res.totalBefore)} rows (${String(res.archivedBefore)} archived)`
          : `  moved ${String(res.movedRows)} rows in ${formatMs(res.durationMs)}; documents + archive ${String(res.totalBefore)} before = ${String(res.totalAfter)} after`,
      ].join('\n'),
    );
    return ExitCode.ok;
  } catch (err) {
    progress.fail('archive: stopped');
    throw err;
  } finally {
    await client.end();
  }
}
