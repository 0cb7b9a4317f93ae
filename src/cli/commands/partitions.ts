import { openClient } from '../../db/connection.js';
import { ensurePartitions, listPartitions } from '../../db/partitions.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { DEFAULT_PARTITIONS_AHEAD, partitionsSpec } from '../specs/partitions.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl } from '../migrator-factory.js';
import { renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';

/** `dbmigrate partitions list` | `dbmigrate partitions ensure [--ahead INTERVAL]` */
export async function partitionsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(partitionsSpec, args);
  const action = positionals[0] ?? 'list';
  if (action !== 'list' && action !== 'ensure')
    throw new UsageError(`dbmigrate partitions: unknown action "${action}" (list or ensure)`);
  const client = await openClient(databaseUrl(values, io), 'dbmigrate:partitions');
  try {
    const created =
      action === 'ensure'
        ? await ensurePartitions(client, values.ahead ?? DEFAULT_PARTITIONS_AHEAD)
        : null;
    const parts = await listPartitions(client, 'documents');
    if (values.json) {
      io.stdout(JSON.stringify({ created, partitions: parts }, null, 2));
      return ExitCode.ok;
    }
    if (created !== null)
      io.stdout(
        created.length === 0
          ? 'every partition up to the horizon exists'
          : `created ${created.join(', ')}`,
      );
    io.stdout(
      renderTable(
        ['PARTITION', 'FROM', 'TO', 'ROWS (EST.)', 'NOTE'],
        parts.map((p) => [
          p.name,
          p.from ?? 'MINVALUE',
          p.to ?? 'MAXVALUE',
          String(p.estimatedRows),
          p.detachPending ? 'detach pending (dbmigrate archive finishes it)' : '',
        ]),
      ),
    );
    return ExitCode.ok;
  } finally {
    await client.end();
  }
}
