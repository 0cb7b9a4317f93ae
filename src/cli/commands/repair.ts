import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { repairSpec } from '../specs/repair.js';
import { migratorFrom } from '../migrator-factory.js';
import { UsageError } from '../usage-error.js';
import { isMigrationId } from '../../engine/migration.js';
import { reportRun } from './apply.js';

export async function repairCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(repairSpec, args);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('dbmigrate repair: pass the migration ID to repair');
  if (!isMigrationId(id)) throw new UsageError(`dbmigrate repair: "${id}" is not a migration ID`);
  const run = await (await migratorFrom(values, io, 'repair')).repair(id);
  return reportRun('repair', io, run, values.json ?? false, () => run.action, {
    action: run.action,
  });
}
