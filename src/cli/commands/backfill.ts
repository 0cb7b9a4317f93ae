import { parseDurationMs } from '../../engine/duration.js';
import { createLogger } from '../../observability/logger.js';
import { runBackfill } from '../../safety/backfill/backfill.js';
import { parseCommandArgs, type CommandIo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { UsageError } from '../usage-error.js';

export async function backfillCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('backfill', args, {
    name: { type: 'string' },
    table: { type: 'string' },
    key: { type: 'string' },
    set: { type: 'string' },
    where: { type: 'string' },
    'batch-size': { type: 'string' },
    throttle: { type: 'string' },
  });
  const { name, table, set } = values;
  if (name === undefined || table === undefined || set === undefined) {
    throw new UsageError('dbmigrate backfill: --name, --table and --set are required');
  }
  const batchSize = Number(values['batch-size'] ?? '1000');
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new UsageError('--batch-size must be a positive whole number');
  const throttleMs = parseDurationMs(values.throttle ?? '50ms');
  if (throttleMs === null) throw new UsageError('--throttle must be a duration such as 50ms');
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const controller = new AbortController();
  // Ctrl-C stops after the batch in flight; the checkpoint makes the next run continue.
  const stop = (): void => {
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await runBackfill({
      databaseUrl: databaseUrl(values, io),
      name,
      table,
      set,
      batchSize,
      throttleMs,
      signal: controller.signal,
      logger: createLogger({ component: 'cli.backfill', ...(level !== undefined && { level }) }),
      ...(values.key !== undefined && { keyColumn: values.key }),
      ...(values.where !== undefined && { where: values.where }),
      ...(values.schema !== undefined && { historySchema: values.schema }),
    });
    io.stdout(
      values.json
        ? JSON.stringify(res, null, 2)
        : `${res.finished ? 'finished' : 'stopped (re-run to resume)'}: ${res.rowsUpdated} rows in ${res.batches} batches, last key ${res.lastKey ?? '-'}`,
    );
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
