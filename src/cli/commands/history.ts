import { parseCommandArgs, type CommandIo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { migratorFrom } from '../migrator-factory.js';
import { historyTable } from '../render.js';
import { UsageError } from '../usage-error.js';

export async function historyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('history', args, { limit: { type: 'string' } });
  const limit = Number(values.limit ?? '1000');
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
