import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { rollbackSpec } from '../specs/rollback.js';
import { untilInterrupted } from '../batch-flags.js';
import { migrationIdFlag, migratorFrom } from '../migrator-factory.js';
import { UsageError } from '../usage-error.js';
import { reportRun } from './apply.js';

export async function rollbackCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(rollbackSpec, args);
  if (values.to === undefined) {
    throw new UsageError('dbmigrate rollback: --to ID is required (the last migration to keep)');
  }
  const to = migrationIdFlag('to', values.to);
  const migrator = await migratorFrom(values, io, 'rollback');
  const run = await untilInterrupted((signal) => migrator.rollback({ to, signal }));
  return reportRun('rollback', io, run, values.json ?? false, (r) =>
    r.applied === 0 && !r.error
      ? `nothing to roll back: no applied migration above ${values.to ?? ''}`
      : `rolled back ${r.applied}, failed ${r.failed}, in ${r.durationMs} ms (run ${r.runId})`,
  );
}
