import type { MigrationSpec } from './fixtures.js';
import { migration } from './fixtures.js';
import type { LintFinding } from '../../src/safety/lint/finding.js';
import { lintMigration, lintMigrations } from '../../src/safety/lint/linter.js';
import { loadSqlParser } from '../../src/safety/lint/parser.js';

export const NON_TX = '-- dbmigrate:transaction=false';

/** Lints one migration `0002_x.sql` whose up section is `up` (or the spec). */
export async function lintOne(
  spec: string | MigrationSpec,
  context: { defaultLockTimeoutMs?: number; fileText?: string } = {},
): Promise<LintFinding[]> {
  const parser = await loadSqlParser();
  const m = migration('0002', 'x', typeof spec === 'string' ? { up: spec } : spec);
  return lintMigration(m, { parser, ...context });
}

/** Lints migrations 0001, 0002, … built from the specs, as one set. */
export async function lintSet(specs: readonly (string | MigrationSpec)[]): Promise<LintFinding[]> {
  const migrations = specs.map((s, i) =>
    migration(String(i + 1).padStart(4, '0'), `m${i + 1}`, typeof s === 'string' ? { up: s } : s),
  );
  return lintMigrations(migrations);
}

export function ruleIds(findings: readonly LintFinding[]): string[] {
  return findings.map((f) => f.ruleId);
}
