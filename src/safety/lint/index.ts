export {
  lintMigration,
  lintMigrations,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type LintContext,
  type LintOptions,
} from './linter.js';
export { LintFindingSchema, LintSeveritySchema } from './finding-schema.js';
export {
  summariseFindings,
  type LintFinding,
  type LintSeverity,
  type LintSummary,
} from './finding.js';
export { LINT_RULES, isLintRuleId, lintRule, type LintRule, type LintRuleId } from './rules.js';
export { loadSqlParser, type SqlParser } from './parser.js';
export { locksTaken, type StatementLock } from './locks.js';
export { SchemaFacts } from './schema-facts.js';
