// The shape of a finding as `dbmigrate lint --json` prints it and the library returns it. Kept
// apart from finding.ts so that the linter, which only needs the type, does not load zod.
import { z } from 'zod';

export const LintSeveritySchema = z.enum(['error', 'warning']);
export type LintSeverity = z.infer<typeof LintSeveritySchema>;

/** One problem the linter found in one statement of one migration file. */
export const LintFindingSchema = z.object({
  /** Stable kebab-case rule ID (docs/lint.md); what ignore comments name. */
  ruleId: z.string(),
  severity: LintSeveritySchema,
  /** The migration file as the source named it (a path, a ConfigMap key). */
  file: z.string(),
  /** 1-based file line. */
  line: z.number().int().positive(),
  /** 1-based column (characters, not bytes) on that line. */
  column: z.number().int().positive().optional(),
  /** The statement, whitespace collapsed, first 120 characters. */
  statement: z.string(),
  /** What is wrong, naming the table, column or index. */
  message: z.string(),
  /** The safe alternative. */
  help: z.string(),
  /**
   * Why facts from the live database make it harmless (a 100-row table, a column already NOT
   * NULL …). A cleared finding stays in the report but fails nothing, whatever its severity.
   */
  cleared: z.string().optional(),
});
export type LintFinding = z.infer<typeof LintFindingSchema>;
