import { NEWEST_PG_MAJOR } from '../../api/pg-version.js';
import { DEFAULTS, type LintRuleSettings, type LintSmallTable } from '../../api/settings.js';
import { compareMigrationIds, type Migration } from '../../engine/migration.js';
import { rethrowIfParserNotLoaded, withSqlParser } from '../../engine/sql-parser.js';
import { notNullColumnsOf } from './ast.js';
import { MigrationChecker } from './checks.js';
import type { LintFinding } from './finding.js';
import { IgnoreIndex, type FileLine } from './ignores.js';
import {
  parseSection,
  SectionText,
  type ParsedStatement,
  type SqlParser,
  type SyntaxProblem,
} from './parser.js';
import { isLintRuleId, lintRule, LintRuleSelection, type LintRuleId } from './rules.js';
import { liveTablesOf, SchemaFacts, type CatalogTable } from './schema-facts.js';

/** The engine's lock_timeout when neither a directive nor a flag sets one. */
export const DEFAULT_LOCK_TIMEOUT_MS = DEFAULTS.lockTimeoutMs;

/** The engine's statement_timeout when neither a directive nor a flag sets one: none. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = DEFAULTS.statementTimeoutMs;

export interface LintContext {
  readonly parser: SqlParser;
  /** lock_timeout (ms) the engine uses for a migration without a lock_timeout directive. */
  readonly defaultLockTimeoutMs?: number | undefined;
  /** statement_timeout (ms, 0 for none) the engine uses for a migration without a directive. */
  readonly defaultStatementTimeoutMs?: number | undefined;
  /**
   * The whole file as written. Only the up section is kept in a Migration, so ignore-file
   * comments in the header are seen only when this is given.
   */
  readonly fileText?: string | undefined;
  /** What earlier migrations of the same set declared; lintMigrations passes it along. */
  readonly facts?: SchemaFacts | undefined;
  /** Opt-in rules to run as well (`--include`), by ID. */
  readonly include?: readonly string[] | undefined;
  /**
   * Rules switched off or run at another severity (dbmigrate.json `lint.rules`); warning or
   * error turns an opt-in rule on. An unknown rule ID throws.
   */
  readonly rules?: LintRuleSettings | undefined;
  /**
   * The PostgreSQL major to judge for (src/api/pg-version.ts resolves it); the newest the
   * parser knows when absent.
   */
  readonly pgVersion?: number | undefined;
  /** Tables below both figures count as small where live facts give sizes. */
  readonly smallTable?: LintSmallTable | undefined;
}

/**
 * The live database the migrations are for (live-facts.ts reads it): its catalog is what the
 * schema is after the migrations it has applied, so its facts are added before the first
 * migration of the set it has not.
 */
export interface LiveLintFacts {
  readonly catalog: readonly CatalogTable[];
  /** Migration IDs in effect there (applied or baselined). */
  readonly applied: ReadonlySet<string>;
}

export interface LintOptions {
  readonly defaultLockTimeoutMs?: number | undefined;
  readonly defaultStatementTimeoutMs?: number | undefined;
  /** The text of each file by `migration.file`, for header ignore-file comments. */
  readonly fileTexts?: ReadonlyMap<string, string> | undefined;
  /** Opt-in rules to run as well (`--include`), by ID. */
  readonly include?: readonly string[] | undefined;
  /** Per-rule settings (dbmigrate.json `lint.rules`), as in LintContext. */
  readonly rules?: LintRuleSettings | undefined;
  /** The PostgreSQL major to judge for, as in LintContext. */
  readonly pgVersion?: number | undefined;
  /**
   * Facts from the live database: findings they prove harmless are kept with `cleared` set
   * (a small table, a column already NOT NULL, a type change the current type makes
   * catalog-only); unknown tables and real hazards stay findings.
   */
  readonly live?: LiveLintFacts | undefined;
  /** The small-table limit for the live facts (dbmigrate.json `lint.smallTable`). */
  readonly smallTable?: LintSmallTable | undefined;
}

/**
 * Lints one migration's up section. Tables created earlier in the same migration count as new
 * (nobody else uses them yet); anything else is assumed to exist and be in use.
 */
export function lintMigration(migration: Migration, context: LintContext): LintFinding[] {
  return lintWithFacts(migration, context, new LintRuleSelection(context.include, context.rules))
    .findings;
}

/**
 * Lints a set of migrations in ID order, loading the parser first. A CHECK (col IS NOT NULL)
 * validated in an earlier migration lets a later SET NOT NULL pass, and column types declared
 * earlier let a later binary-compatible type change pass; a table created in an earlier
 * migration is an existing table for the later ones.
 */
export async function lintMigrations(
  migrations: readonly Migration[],
  options: LintOptions = {},
): Promise<LintFinding[]> {
  // Pure: withSqlParser may run it twice (stored parse results first, then the parser).
  return withSqlParser((parser) => {
    const selection = new LintRuleSelection(options.include, options.rules);
    let facts = new SchemaFacts();
    const findings: LintFinding[] = [];
    const ordered = [...migrations].sort((a, b) => compareMigrationIds(a.id, b.id));
    let seeded = options.live === undefined;
    for (const m of ordered) {
      if (!seeded && options.live?.applied.has(m.id) !== true) {
        facts.seedLive(liveTablesOf(options.live?.catalog ?? [], checkColumns(parser)));
        seeded = true;
      }
      const result = lintWithFacts(
        m,
        {
          parser,
          defaultLockTimeoutMs: options.defaultLockTimeoutMs,
          defaultStatementTimeoutMs: options.defaultStatementTimeoutMs,
          fileText: options.fileTexts?.get(m.file),
          facts,
          pgVersion: options.pgVersion,
          smallTable: options.smallTable,
        },
        selection,
      );
      findings.push(...result.findings);
      facts = result.facts;
    }
    return findings;
  });
}

type Event =
  | { readonly kind: 'statement'; readonly start: number; readonly stmt: ParsedStatement }
  | { readonly kind: 'syntax'; readonly start: number; readonly problem: SyntaxProblem };

function lintWithFacts(
  migration: Migration,
  context: LintContext,
  selection: LintRuleSelection,
): { findings: LintFinding[]; facts: SchemaFacts } {
  const facts = context.facts?.clone() ?? new SchemaFacts();
  const section = new SectionText(migration.up.sql, migration.up.startLine);
  const sectionLines = migration.up.sql.split('\n');
  const ignores = new IgnoreIndex(
    [...headerLines(context.fileText, migration.up.startLine), ...linesOf(sectionLines, section)],
    migration.up.startLine,
  );
  const directive = migration.directives.lockTimeoutMs;
  const statementDirective = migration.directives.statementTimeoutMs;
  const checker = new MigrationChecker({
    transactional: migration.directives.transaction,
    lockTimeoutMs: directive ?? context.defaultLockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    lockTimeoutSource:
      directive !== undefined
        ? 'the header directive lock_timeout=0'
        : 'the default lock_timeout is set to 0',
    statementTimeoutMs:
      statementDirective ?? context.defaultStatementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    statementTimeoutSource:
      statementDirective !== undefined
        ? 'the header directive statement_timeout=0'
        : 'no statement_timeout directive, and the default statement_timeout is 0 (none)',
    facts,
    pgVersion: context.pgVersion ?? NEWEST_PG_MAJOR,
    smallTable: context.smallTable ?? DEFAULTS.lintSmallTable,
    lineOf: (offset) => section.position(offset).line,
    scan: (sql) => context.parser.scan(sql),
  });

  const findings: LintFinding[] = [];
  const add = (
    ruleId: LintRuleId,
    message: string,
    at: number,
    statement: string,
    help?: string,
    cleared?: string,
  ): void => {
    const rule = lintRule(ruleId);
    const { line, column } = section.position(at);
    findings.push({
      ruleId,
      severity: selection.severity(ruleId),
      file: migration.file,
      line,
      column,
      statement: abbreviate(statement),
      message,
      help: help ?? rule.help,
      ...(cleared !== undefined && { cleared }),
    });
  };

  const parsed = parseSection(context.parser, section);
  const events: Event[] = [
    ...parsed.statements.map((stmt) => ({ kind: 'statement' as const, start: stmt.start, stmt })),
    ...parsed.syntaxErrors.map((problem) => ({
      kind: 'syntax' as const,
      start: problem.statementStart,
      problem,
    })),
  ].sort((a, b) => a.start - b.start);

  for (const event of events) {
    const ignored = ignores.forStatementAt(
      section.position(event.start).line,
      event.kind === 'statement',
    );
    if (event.kind === 'syntax') {
      const p = event.problem;
      const text = p.text !== '' ? p.text : lineText(sectionLines, section, p.at);
      add('syntax-error', `PostgreSQL cannot parse this: ${p.message}`, p.at, text);
      continue;
    }
    for (const f of checker.check(event.stmt)) {
      if (!selection.enabled(f.ruleId)) continue;
      if (ignores.suppresses(f.ruleId, ignored)) continue;
      add(f.ruleId, f.message, f.at ?? event.stmt.start, event.stmt.text, f.help, f.cleared);
    }
  }

  const unused =
    !selection.enabled('unused-ignore') || ignores.ignoresFileWide('unused-ignore')
      ? []
      : ignores.unused((id) => isLintRuleId(id) && selection.enabled(id));
  const commentFindings = [
    ...[...ignores.problems, ...ignores.misplaced()].map((p) => ({
      ...p,
      ruleId: 'invalid-ignore-comment' as const,
    })),
    ...unused.map((p) => ({ ...p, ruleId: 'unused-ignore' as const })),
  ];
  for (const { ruleId, ...p } of commentFindings) {
    findings.push({
      ruleId,
      severity: selection.severity(ruleId),
      file: migration.file,
      line: p.line,
      statement: abbreviate(textOfLine(context.fileText, sectionLines, migration, p.line)),
      message: p.message,
      help: lintRule(ruleId).help,
    });
  }
  findings.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  return { findings, facts };
}

function linesOf(lines: readonly string[], section: SectionText): FileLine[] {
  return lines.map((text, i) => ({ line: section.startLine + i, text }));
}

/** Lines above `-- migrate:up` (the marker is on startLine - 1). */
function headerLines(fileText: string | undefined, startLine: number): FileLine[] {
  if (fileText === undefined) return [];
  return fileText
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .slice(0, Math.max(0, startLine - 2))
    .map((text, i) => ({ line: i + 1, text }));
}

function lineText(lines: readonly string[], section: SectionText, at: number): string {
  return lines[section.position(at).line - section.startLine] ?? '';
}

function textOfLine(
  fileText: string | undefined,
  sectionLines: readonly string[],
  migration: Migration,
  line: number,
): string {
  if (line >= migration.up.startLine) return sectionLines[line - migration.up.startLine] ?? '';
  return fileText?.replace(/\r\n?/g, '\n').split('\n')[line - 1] ?? '';
}

function abbreviate(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= 120 ? flat : chars.slice(0, 120).join('');
}

/** The columns a CHECK as pg_get_constraintdef prints it proves NOT NULL (none if unparsable). */
function checkColumns(parser: SqlParser): (definition: string) => readonly string[] {
  return (definition) => {
    try {
      const stmt = parser.parse(`alter table t add ${definition}`).stmts?.[0]?.stmt;
      const cmd =
        stmt !== undefined && 'AlterTableStmt' in stmt ? stmt.AlterTableStmt.cmds?.[0] : undefined;
      const def = cmd !== undefined && 'AlterTableCmd' in cmd ? cmd.AlterTableCmd.def : undefined;
      return def !== undefined && 'Constraint' in def
        ? notNullColumnsOf(def.Constraint.raw_expr)
        : [];
    } catch (err) {
      rethrowIfParserNotLoaded(err);
      return [];
    }
  };
}
