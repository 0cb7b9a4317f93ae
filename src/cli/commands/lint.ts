import { PgVersionError, pgMajorSetting, resolvePgVersion } from '../../api/pg-version.js';
import { parseDurationMs } from '../../engine/duration.js';
import { DirectoryMigrationSource, parseMigrationTexts } from '../../engine/source.js';
import { summariseFindings } from '../../safety/lint/finding.js';
import { lintMigrations } from '../../safety/lint/linter.js';
import { checkDatabaseUrl } from '../../db/database-url.js';
import { KNOWN_LINT_RULE_IDS, resolveLintRuleId } from '../../safety/lint/rules.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { lintSpec } from '../specs/lint.js';
import { ExitCode } from '../exit-codes.js';
import { formatLintRun, isLintFormat, LINT_FORMATS, type LintFormat } from '../lint-output.js';
import { suggestName } from '../../api/nearest.js';
import { packageVersion } from '../package-version.js';
import { projectConfig } from '../project-config.js';
import { UsageError } from '../usage-error.js';

/**
 * `dbmigrate lint`: checks the up sections of the migration files for statements that lock or
 * rewrite live tables, lose data or break running code. Reads files only, unless given a
 * database (--database-url, DATABASE_URL), whose catalog facts then clear harmless findings.
 */
export async function lintCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(lintSpec, args);
  const format = formatFlag(values.format, values.json);
  const config = await projectConfig(values, io);
  const directory = values.migrations ?? io.env['DBMIGRATE_MIGRATIONS'] ?? config.migrations;
  const defaultLockTimeoutMs = durationFlag('lock-timeout', values['lock-timeout']);
  const defaultStatementTimeoutMs = durationFlag('statement-timeout', values['statement-timeout']);
  const include = ruleList('include', values.include);
  const explicit = { flag: pgVersionFlag(values['pg-version']), config: config.lint.pgVersion };
  // A database is optional: given one, its version and catalog facts join the rules.
  const flag = values['database-url'];
  const given = flag ?? io.env['DATABASE_URL'];
  const live =
    given === undefined || given === ''
      ? undefined
      : await liveFacts(
          // A broken URL is a usage error, its password masked, before anything connects.
          checkDatabaseUrl(given, flag !== undefined ? '--database-url' : 'DATABASE_URL'),
          {
            explicit,
            smallTable: config.lint.smallTable,
            historySchema: values.schema ?? io.env['DBMIGRATE_SCHEMA'] ?? config.historySchema,
          },
        );
  const pgVersion = live?.pgVersion ?? resolvePgVersion(explicit);

  // Each file read once: its text is parsed into a migration and quoted by the findings.
  const texts = new DirectoryMigrationSource(directory).readTexts();
  const migrations = await parseMigrationTexts(texts);
  const fileTexts = new Map(texts.map((t) => [t.file, t.content]));
  const findings = await lintMigrations(migrations, {
    defaultLockTimeoutMs,
    defaultStatementTimeoutMs,
    fileTexts,
    include,
    rules: config.lint.rules,
    pgVersion: pgVersion.major,
    smallTable: config.lint.smallTable,
    ...(live !== undefined && { live: { catalog: live.catalog, applied: live.applied } }),
  });
  const warningsAsErrors = values['warnings-as-errors'] ?? false;
  const summary = summariseFindings(findings, warningsAsErrors);

  const output = formatLintRun(format, {
    findings,
    migrations: migrations.length,
    summary,
    warningsAsErrors,
    fileTexts,
    baseDir: process.cwd(),
    version: packageVersion(),
    pgVersion,
  });
  if (output !== '') io.stdout(output);
  return summary.ok ? ExitCode.ok : ExitCode.validation;
}

/** The database's version and catalog; loaded only with a database, so files alone do not pay for pg. */
async function liveFacts(
  ...args: Parameters<typeof import('../../safety/lint/live-facts.js').liveLintContextAt>
): ReturnType<typeof import('../../safety/lint/live-facts.js').liveLintContextAt> {
  const { liveLintContextAt } = await import('../../safety/lint/live-facts.js');
  return liveLintContextAt(...args);
}

/** `--format`, with `--json` as its short form for `--format json`. */
function formatFlag(value: string | undefined, json: boolean | undefined): LintFormat {
  if (value === undefined) return json === true ? 'json' : 'human';
  if (!isLintFormat(value)) {
    throw new UsageError(
      `--format: "${value}" is not an output format; use ${LINT_FORMATS.join(', ')}`,
    );
  }
  if (json === true && value !== 'json')
    throw new UsageError(`--json asks for --format json, not --format ${value}: give one of them`);
  return value;
}

/** `--pg-version 15` or `15.4`: a usage error naming the flag and the range otherwise. */
function pgVersionFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return pgMajorSetting(value, '--pg-version');
  } catch (err) {
    if (err instanceof PgVersionError) throw new UsageError(err.message);
    throw err;
  }
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
