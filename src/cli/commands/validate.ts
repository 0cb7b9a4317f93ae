import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { validateSpec } from '../specs/validate.js';
import { ExitCode } from '../exit-codes.js';
import { migratorFrom } from '../migrator-factory.js';
import { printIssues } from '../render.js';

export async function validateCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(validateSpec, args);
  const issues = await (
    await migratorFrom(values, io, 'validate')
  ).validate({
    allowOutOfOrder: values['out-of-order'] ?? false,
    resume: values.resume ?? false,
  });
  if (values.json) io.stdout(JSON.stringify({ ok: issues.length === 0, issues }, null, 2));
  else if (issues.length === 0) io.stdout('ok: migrations and database agree');
  else printIssues(io, issues);
  return issues.length > 0 ? ExitCode.validation : ExitCode.ok;
}
