import { readFile } from 'node:fs/promises';
import { parseDurationMs } from '../../engine/duration.js';
import { DirectoryMigrationSource } from '../../engine/source.js';
import { summariseFindings, type LintFinding } from '../../safety/lint/finding.js';
import { lintMigrations } from '../../safety/lint/linter.js';
import { KNOWN_LINT_RULE_IDS, resolveLintRuleId } from '../../safety/lint/rules.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { lintSpec } from '../specs/lint.js';
import { ExitCode } from '../exit-codes.js';
import { suggestName } from '../nearest.js';
import { projectConfig } from '../project-config.js';
import { UsageError } from '../usage-error.js';

/**
 * `dbmigrate lint`: checks the up sections of the migration files for statements that lock or
 * rewrite live tables, lose data or break running code. Reads files only; needs no database.
 */
export async function lintCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(lintSpec, args);
  const config = await projectConfig(values, io);
  const directory = values.migrations ?? io.env['DBMIGRATE_MIGRATIONS'] ?? config.migrations;
  const defaultLockTimeoutMs = durationFlag('lock-timeout', values['lock-timeout']);
  const defaultStatementTimeoutMs = durationFlag('statement-timeout', values['statement-timeout']);
  const include = ruleList('include', values.include);

  const migrations = await new DirectoryMigrationSource(directory).load();
  const fileTexts = new Map<string, string>();
  for (const m of migrations) fileTexts.set(m.file, await readFile(m.file, 'utf8'));
  const findings = await lintMigrations(migrations, {
    defaultLockTimeoutMs,
    defaultStatementTimeoutMs,
    fileTexts,
    include,
    rules: config.lint.rules,
  });
  const warningsAsErrors = values['warnings-as-errors'] ?? false;
  const summary = summariseFindings(findings, warningsAsErrors);

  if (values.json) {
    io.stdout(
      JSON.stringify(
        {
          ok: summary.ok,
          migrations: migrations.length,
          errors: summary.errors,
          warnings: summary.warnings,
          findings,
        },
        null,
        2,
      ),
    );
  } else {
    for (const f of findings) io.stdout(formatFinding(f));
    io.stdout(summaryLine(migrations.length, summary.errors, summary.warnings, warningsAsErrors));
  }
  return summary.ok ? ExitCode.ok : ExitCode.validation;
}

function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === null)
    throw new UsageError(`--${flag}: "${value}" is not a duration (e.g. 500ms, 5s, 5m, 1h30m)`);
  return ms;
}

function ruleList(flag: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const ids = value
    .split(',')
    .map((id) => id.trim().toLowerCase())
    .filter((id) => id !== '');
  const unknown = ids.filter((id) => resolveLintRuleId(id) === undefined);
  if (unknown.length > 0) {
    const guesses = unknown.flatMap((u) => {
      const near = suggestName(u, KNOWN_LINT_RULE_IDS);
      return near === null ? [] : [`"${resolveLintRuleId(near) ?? near}"`];
    });
    throw new UsageError(
      `--${flag}: unknown lint rule ${unknown.map((u) => `"${u}"`).join(', ')}${
        guesses.length > 0 ? `; did you mean ${guesses.join(', ')}?` : ''
      }; the rule IDs are listed in docs/lint.md`,
    );
  }
  return ids;
}

/** `file:line: severity rule-id: message`, then the safe alternative indented. */
export function formatFinding(f: LintFinding): string {
  return `${f.file}:${f.line}: ${f.severity} ${f.ruleId}: ${f.message}\n    help: ${f.help}`;
}

function summaryLine(
  migrations: number,
  errors: number,
  warnings: number,
  warningsAsErrors: boolean,
): string {
  const files = `${migrations} migration${migrations === 1 ? '' : 's'}`;
  if (errors === 0 && warnings === 0) return `ok: ${files} linted, no findings`;
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  const failing = errors > 0 || (warningsAsErrors && warnings > 0);
  return `\n${failing ? 'failed' : 'ok'}: ${files} linted, ${counts}${
    warnings > 0 && !warningsAsErrors && errors === 0
      ? ' (warnings do not fail; --warnings-as-errors makes them)'
      : ''
  }\nsilence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md)`;
}
