import type { MigrationSpec } from './fixtures.js';
import { migration } from './fixtures.js';
import type { LintFinding } from '../../src/safety/lint/finding.js';
import { lintMigration, lintMigrations, type LintOptions } from '../../src/safety/lint/linter.js';
import { loadSqlParser } from '../../src/safety/lint/parser.js';

export const NON_TX = '-- dbmigrate:transaction=false';

/**
 * The statement_timeout the helpers lint with, as for a runner started with
 * `--statement-timeout 1min`: under the engine's default (none) every statement that blocks
 * writes is also a require-statement-timeout finding, which tests of other rules leave out.
 * Tests of that rule pass `defaultStatementTimeoutMs` (undefined for the engine's default).
 */
export const TEST_STATEMENT_TIMEOUT = { defaultStatementTimeoutMs: 60_000 } as const;

/** Lints one migration `0002_x.sql` whose up section is `up` (or the spec). */
export async function lintOne(
  spec: string | MigrationSpec,
  context: {
    defaultLockTimeoutMs?: number;
    defaultStatementTimeoutMs?: number | undefined;
    fileText?: string;
    include?: readonly string[];
    pgVersion?: number | undefined;
  } = {},
): Promise<LintFinding[]> {
  const parser = await loadSqlParser();
  const m = migration('0002', 'x', typeof spec === 'string' ? { up: spec } : spec);
  return lintMigration(m, { parser, ...TEST_STATEMENT_TIMEOUT, ...context });
}

/** Lints migrations 0001, 0002, … built from the specs, as one set. */
export async function lintSet(
  specs: readonly (string | MigrationSpec)[],
  options: LintOptions = {},
): Promise<LintFinding[]> {
  const migrations = specs.map((s, i) =>
    migration(String(i + 1).padStart(4, '0'), `m${i + 1}`, typeof s === 'string' ? { up: s } : s),
  );
  return lintMigrations(migrations, { ...TEST_STATEMENT_TIMEOUT, ...options });
}

export function ruleIds(findings: readonly LintFinding[]): string[] {
  return findings.map((f) => f.ruleId);
}
