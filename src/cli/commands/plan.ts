import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { planSpec } from '../specs/plan.js';
import { ExitCode } from '../exit-codes.js';
import { migratorFrom } from '../migrator-factory.js';
import { planTable, printIssues } from '../render.js';

export async function planCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(planSpec, args);
  const plan = await (
    await migratorFrom(values, io, 'plan')
  ).plan({
    ...(values.target !== undefined && { target: values.target }),
    allowOutOfOrder: values['out-of-order'] ?? false,
    resume: values.resume ?? false,
  });
  if (values.json) io.stdout(JSON.stringify(plan, null, 2));
  else {
    io.stdout(planTable(plan));
    printIssues(io, plan.issues);
  }
  return plan.issues.length > 0 ? ExitCode.validation : ExitCode.ok;
}
