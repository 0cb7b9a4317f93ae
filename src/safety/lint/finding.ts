export type { LintFinding, LintSeverity } from './finding-schema.js';
import type { LintFinding } from './finding-schema.js';

export interface LintSummary {
  /** Errors and warnings that count: not cleared by live facts. */
  readonly errors: number;
  readonly warnings: number;
  /** Findings the live database's facts cleared (reported, failing nothing). */
  readonly cleared: number;
  /** True when nothing should stop a CI job: no errors (and no warnings with warningsAsErrors). */
  readonly ok: boolean;
}

export function summariseFindings(
  findings: readonly LintFinding[],
  warningsAsErrors = false,
): LintSummary {
  const standing = findings.filter((f) => f.cleared === undefined);
  const errors = standing.filter((f) => f.severity === 'error').length;
  const warnings = standing.length - errors;
  return {
    errors,
    warnings,
    cleared: findings.length - standing.length,
    ok: errors === 0 && (!warningsAsErrors || warnings === 0),
  };
}
