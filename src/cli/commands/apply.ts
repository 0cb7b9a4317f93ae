import { redactSecrets } from '../../observability/redact.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { applySpec, SAFE_ONLY_FLAGS } from '../specs/apply.js';
import { UsageError } from '../usage-error.js';
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { untilInterrupted } from '../batch-flags.js';
import { databaseUrl, migratorFrom } from '../migrator-factory.js';
import { applyProgress } from '../apply-progress.js';
import { noticeLines, runJson, runTable } from '../render.js';
import type { RunResult } from '../../engine/migrator.js';

export async function applyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(applySpec, args);
  if (values.safe === true) return (await import('./safe-apply.js')).safeApplyCommand(args, io);
  const safeOnly = Object.keys(SAFE_ONLY_FLAGS).find((flag) => flag in values);
  if (safeOnly !== undefined) {
    throw new UsageError(`dbmigrate apply: --${safeOnly} only applies with --safe`);
  }
  const display = values.json === true ? null : applyProgress(databaseUrl(values, io));
  let run: RunResult;
  try {
    const migrator = await migratorFrom(values, io, 'apply', display?.observer);
    // Ctrl-C cancels the statement in progress and stops with RUN_STOPPED (exit 4).
    run = await untilInterrupted((signal) =>
      migrator.apply({
        signal,
        ...(values.target !== undefined && { target: values.target }),
        allowOutOfOrder: values['out-of-order'] ?? false,
        resume: values.resume ?? false,
      }),
    );
  } catch (err) {
    await display?.finish(false, 'apply: stopped');
    throw err;
  }
  await display?.finish(
    run.error === null,
    run.error === null
      ? `apply: ${String(run.applied)} applied`
      : `apply: stopped [${run.error.code}]`,
  );
  return reportRun('apply', io, run, values.json ?? false, (r) =>
    r.applied === 0 && !r.error
      ? `nothing to apply: ${r.skipped} migration(s) already applied`
      : `applied ${r.applied}, failed ${r.failed}, already applied ${r.skipped}, in ${r.durationMs} ms (run ${r.runId})`,
  );
}

/**
 * Shared ending of every command that changes the database: the results on stdout, a refusal
 * as one `dbmigrate <command>: error [CODE]: …` line on stderr like every other command's (no
 * "applied 0" summary before it when nothing ran), and the exit code its error maps to.
 */
export function reportRun(
  command: string,
  io: CommandIo,
  run: RunResult,
  json: boolean,
  line: (run: RunResult) => string,
  extra: Record<string, unknown> = {},
): number {
  const exit = run.error ? exitCodeFor(run.error.code) : ExitCode.ok;
  if (json) io.stdout(runJson(run, exit, extra));
  else {
    const table = runTable(run);
    if (table) io.stdout(table);
    const notices = noticeLines(run);
    if (notices.length) io.stdout(notices.join('\n'));
    if (!run.error || run.results.length > 0) io.stdout(line(run));
  }
  if (run.error) {
    process.stderr.write(
      `dbmigrate ${command}: error [${run.error.code}]: ${redactSecrets(run.error.message)}\n`,
    );
  }
  return exit;
}
