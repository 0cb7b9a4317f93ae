import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { baselineSpec } from '../specs/baseline.js';
import { migrationIdFlag, migratorFrom } from '../migrator-factory.js';
import { UsageError } from '../usage-error.js';
import { reportRun } from './apply.js';

export async function baselineCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(baselineSpec, args);
  const migrator = await migratorFrom(values, io, 'baseline');
  const json = values.json ?? false;
  if (values.from !== undefined) {
    if (values.version !== undefined)
      throw new UsageError('dbmigrate baseline: use --version or --from, not both');
    if (values.from !== 'sqlx' && values.from !== 'flyway') {
      throw new UsageError(
        `dbmigrate baseline: --from must be sqlx or flyway, not "${values.from}"`,
      );
    }
    const run = await migrator.importHistory({
      from: values.from,
      ...(values['from-schema'] !== undefined && { schema: values['from-schema'] }),
    });
    return reportRun(
      'baseline',
      io,
      run,
      json,
      (r) =>
        `imported ${r.applied} migration(s) from ${values.from ?? ''}${run.notImported.length ? `; not imported: ${run.notImported.join(', ')}` : ''}`,
      { notImported: run.notImported },
    );
  }
  if (values.version === undefined) {
    throw new UsageError('dbmigrate baseline: pass --version ID (or --from sqlx|flyway)');
  }
  const run = await migrator.baseline({ version: migrationIdFlag('version', values.version) });
  return reportRun(
    'baseline',
    io,
    run,
    json,
    (r) => `baselined ${r.applied} migration(s) up to ${values.version ?? ''}`,
  );
}
