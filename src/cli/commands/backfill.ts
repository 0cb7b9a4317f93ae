import { createLogger } from '../../observability/logger.js';
import { runBackfill } from '../../safety/backfill/backfill.js';
import { parseDurationMs } from '../../engine/duration.js';
import { batchFlags, parseBytes, untilInterrupted } from '../batch-flags.js';
import { parseCommandArgs } from '../command-spec.js';
import { rateText, startProgress } from '../progress.js';
import type { CommandIo } from '../context.js';
import { BACKFILL_DEFAULTS, backfillSpec } from '../specs/backfill.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { UsageError } from '../usage-error.js';

export async function backfillCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(backfillSpec, args);
  const { name, table, set } = values;
  if (name === undefined || table === undefined || set === undefined) {
    throw new UsageError('dbmigrate backfill: --name, --table and --set are required');
  }
  const { batchSize, throttleMs } = batchFlags(values, BACKFILL_DEFAULTS);
  const latencyText = values['max-writer-latency'] ?? BACKFILL_DEFAULTS.maxWriterLatency;
  const maxAddedLatencyMs = latencyText === 'off' ? null : parseDurationMs(latencyText);
  if (maxAddedLatencyMs === 0 || (maxAddedLatencyMs === null && latencyText !== 'off'))
    throw new UsageError('--max-writer-latency must be a duration such as 10ms, or off');
  const walText = values['max-wal-rate'];
  const maxWalBytesPerSecond = walText === undefined ? null : parseBytes(walText);
  if (walText !== undefined && maxWalBytesPerSecond === null)
    throw new UsageError('--max-wal-rate must be a size per second such as 16MB');
  if (maxAddedLatencyMs === null && maxWalBytesPerSecond !== null)
    throw new UsageError(
      '--max-wal-rate needs the adaptive throttle; drop --max-writer-latency off',
    );
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  // Ctrl-C stops after the batch in flight; the checkpoint makes the next run continue.
  return untilInterrupted(async (signal) => {
    const progress = startProgress(`backfill ${name}: starting`);
    const started = Date.now();
    const res = await runBackfill({
      onProgress: (p) => {
        progress.update(
          `backfill ${name}: ${rateText(p.rowsUpdated, null, 'rows', started, Date.now())}, ${String(p.batches)} batches${p.pace ? `, batch ${String(p.pace.batchSize)}, pause ${String(p.pace.pauseMs)} ms` : ''}`,
        );
      },
      databaseUrl: databaseUrl(values, io),
      name,
      table,
      set,
      batchSize,
      throttleMs,
      adaptive: maxAddedLatencyMs === null ? false : { maxAddedLatencyMs, maxWalBytesPerSecond },
      signal,
      logger: createLogger({ component: 'cli.backfill', ...(level !== undefined && { level }) }),
      ...(values.key !== undefined && { keyColumn: values.key }),
      ...(values.where !== undefined && { where: values.where }),
      ...(values.schema !== undefined && { historySchema: values.schema }),
    });
    if (res.finished) progress.succeed(`backfill ${name}: ${String(res.rowsUpdated)} rows`);
    else progress.fail(`backfill ${name}: stopped at key ${res.lastKey ?? '-'}`);
    io.stdout(
      values.json
        ? JSON.stringify(res, null, 2)
        : `${res.finished ? 'finished' : 'stopped (re-run to resume)'}: ${res.rowsUpdated} rows in ${res.batches} batches, last key ${res.lastKey ?? '-'}, slowed down ${String(res.backoffs)} times`,
    );
    return ExitCode.ok;
  });
}
