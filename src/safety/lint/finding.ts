export type { LintFinding, LintSeverity } from './finding-schema.js';
import type { LintFinding } from './finding-schema.js';

export interface LintSummary {
  readonly errors: number;
  readonly warnings: number;
  /** True when nothing should stop a CI job: no errors (and no warnings with warningsAsErrors). */
  readonly ok: boolean;
}

export function summariseFindings(
  findings: readonly LintFinding[],
  warningsAsErrors = false,
): LintSummary {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  return { errors, warnings, ok: errors === 0 && (!warningsAsErrors || warnings === 0) };
}
