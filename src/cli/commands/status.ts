import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { statusSpec } from '../specs/status.js';
import { ExitCode } from '../exit-codes.js';
import { migratorFrom } from '../migrator-factory.js';
import { printIssues, statusTable } from '../render.js';

export async function statusCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(statusSpec, args);
  const report = await (
    await migratorFrom(values, io, 'status')
  ).status({
    allowOutOfOrder: values['out-of-order'] ?? false,
  });
  if (values.json) {
    io.stdout(JSON.stringify(report, null, 2));
    return ExitCode.ok;
  }
  io.stdout(statusTable(report.entries));
  io.stdout(`\n${report.applied} applied, ${report.pending} pending`);
  printIssues(io, report.issues);
  return ExitCode.ok;
}
