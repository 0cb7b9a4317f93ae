import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { DEFAULT_HISTORY_LIMIT, historySpec } from '../specs/history.js';
import { ExitCode } from '../exit-codes.js';
import { migratorFrom } from '../migrator-factory.js';
import { historyTable } from '../render.js';
import { UsageError } from '../usage-error.js';

export async function historyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(historySpec, args);
  const limit = Number(values.limit ?? String(DEFAULT_HISTORY_LIMIT));
  if (!Number.isInteger(limit) || limit <= 0)
    throw new UsageError('--limit must be a positive whole number');
  const events = await (await migratorFrom(values, io, 'history')).history(limit);
  io.stdout(
    values.json
      ? JSON.stringify(events, null, 2)
      : events.length
        ? historyTable(events)
        : 'no history yet',
  );
  return ExitCode.ok;
}
