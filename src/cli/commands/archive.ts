import { archiveDocuments } from '../../db/archive.js';
import { openClient } from '../../db/connection.js';
import { parseDurationMs } from '../../engine/duration.js';
import { createLogger } from '../../observability/logger.js';
import { parseCommandArgs, type CommandIo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { formatMs } from '../table.js';
import { UsageError } from '../usage-error.js';

/** `dbmigrate archive --older-than INTERVAL [--dry-run] [--batch-size N] [--throttle 20ms]` */
export async function archiveCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('archive', args, {
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'batch-size': { type: 'string' },
    throttle: { type: 'string' },
  });
  const olderThan = values['older-than'];
  if (olderThan === undefined)
    throw new UsageError('dbmigrate archive: --older-than is required (e.g. "2 years")');
  const batchSize = Number(values['batch-size'] ?? '1000');
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new UsageError('--batch-size must be a positive whole number');
  const throttleMs = parseDurationMs(values.throttle ?? '20ms');
  if (throttleMs === null) throw new UsageError('--throttle must be a duration such as 20ms');
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const controller = new AbortController();
  // Ctrl-C stops after the step in flight; the next run carries on from there.
  const stop = (): void => {
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const client = await openClient(databaseUrl(values, io), 'dbmigrate:archive');
  try {
    const res = await archiveDocuments(client, {
      olderThan,
      dryRun: values['dry-run'] === true,
      batchSize,
      throttleMs,
      signal: controller.signal,
      logger: createLogger({ component: 'cli.archive', ...(level !== undefined && { level }) }),
    });
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
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await client.end();
  }
}
