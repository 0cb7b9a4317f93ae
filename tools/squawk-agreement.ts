// Our linter beside Squawk 2.66 (the native binary hack/squawk.sh fetches): both run over the
// rule corpus of test/unit/lint-cases.ts and over migrations/, and per rule we count where they
// agree. docs/lint.md carries the result (npm run gen:lint-agreement); its test keeps it true.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { z } from 'zod';
import type { LintRuleId } from '../src/safety/lint/rules.js';
import { LINT_RULES } from '../src/safety/lint/rules.js';
import { lintMigrations } from '../src/safety/lint/linter.js';
import { DirectoryMigrationSource } from '../src/engine/source.js';
import { cachedTool } from './cached-tool.js';
import {
  LINT_CASES,
  caseLabel,
  caseMigrations,
  lintCase,
  type Case,
} from '../test/unit/lint-cases.js';

export const SQUAWK_VERSION = '2.66.0';

/**
 * Every rule Squawk 2.66 reports (from the binary), each with the rules of ours that cover it.
 * `syntax-error` is a report, not a rule: `--exclude` does not take it.
 */
export const SQUAWK_RULES: Readonly<Record<string, readonly LintRuleId[]>> = {
  'syntax-error': ['syntax-error'],
  'adding-field-with-default': ['adding-field-with-volatile-default'],
  'adding-foreign-key-constraint': ['constraint-missing-not-valid'],
  'adding-not-nullable-field': ['set-not-null-without-check'],
  'adding-required-field': ['adding-required-field'],
  'adding-serial-primary-key-field': ['adding-primary-key-without-index'],
  'ban-alter-domain-with-add-constraint': ['ban-alter-domain-with-add-constraint'],
  'ban-char-field': ['ban-char-field'],
  'ban-concurrent-index-creation-in-transaction': ['concurrently-in-transaction'],
  'ban-create-domain-with-constraint': ['ban-create-domain-with-constraint'],
  'ban-drop-column': ['ban-drop-column'],
  'ban-drop-database': ['ban-drop-database'],
  'ban-drop-not-null': ['ban-drop-not-null'],
  'ban-drop-table': ['ban-drop-table'],
  'ban-duplicate-column-assignments': ['ban-duplicate-column-assignments'],
  'ban-truncate-cascade': ['ban-truncate'],
  'ban-uncommitted-transaction': ['transaction-control-in-migration'],
  'changing-column-type': ['changing-column-type'],
  'constraint-missing-not-valid': ['constraint-missing-not-valid'],
  'disallowed-unique-constraint': ['disallowed-unique-constraint'],
  'identifier-too-long': ['identifier-too-long'],
  'prefer-bigint-over-int': ['prefer-bigint'],
  'prefer-bigint-over-smallint': ['prefer-bigint'],
  'prefer-identity': ['prefer-identity'],
  'prefer-repack': ['ban-vacuum-full', 'ban-cluster'],
  'prefer-robust-stmts': ['prefer-robust-stmts'],
  'prefer-text-field': ['prefer-text-field'],
  'prefer-timestamp-tz': ['prefer-timestamptz'],
  'renaming-column': ['renaming-column'],
  'renaming-table': ['renaming-table'],
  'require-concurrent-index-creation': ['require-concurrent-index-creation'],
  'require-concurrent-index-deletion': ['require-concurrent-index-deletion'],
  'require-concurrent-partition-detach': ['require-concurrent-partition-detach'],
  'require-concurrent-reindex': ['reindex-without-concurrently'],
  'require-enum-value-ordering': ['require-enum-value-ordering'],
  'require-lock-timeout': ['missing-lock-timeout'],
  'require-statement-timeout': ['require-statement-timeout'],
  'require-table-schema': ['require-table-schema'],
  'require-timeout-settings': ['missing-lock-timeout'],
  'transaction-nesting': ['transaction-control-in-migration'],
};

/** Our rule → the Squawk rules that catch the same hazard. */
export function squawkNamesOf(id: LintRuleId): string[] {
  return Object.entries(SQUAWK_RULES)
    .filter(([, ours]) => ours.includes(id))
    .map(([name]) => name)
    .sort();
}

const SquawkFinding = z.object({ file: z.string(), rule_name: z.string(), line: z.number() });
type SquawkFinding = z.infer<typeof SquawkFinding>;

export function squawkBinary(): string {
  return cachedTool('DBM_SQUAWK', 'hack/squawk.sh', `Squawk ${SQUAWK_VERSION}`);
}

/**
 * Squawk over files: those of transactional migrations with --assume-in-transaction (the
 * engine wraps them), the others without; its opt-in rules included, as ours are here.
 */
export function runSquawk(
  files: readonly { path: string; transactional: boolean }[],
): SquawkFinding[] {
  const out: SquawkFinding[] = [];
  for (const transactional of [true, false]) {
    const paths = files.filter((f) => f.transactional === transactional).map((f) => f.path);
    if (paths.length === 0) continue;
    const args = [
      '--reporter',
      'json',
      '--include=require-table-schema',
      ...(transactional ? ['--assume-in-transaction'] : []),
      ...paths,
    ];
    let text: string;
    try {
      text = execFileSync(squawkBinary(), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      // Exit status 1 means findings; the report is on stdout all the same.
      const e = err as { status?: number; stdout?: string };
      if (e.status !== 1 || e.stdout === undefined) throw err;
      text = e.stdout;
    }
    out.push(...z.array(SquawkFinding).parse(JSON.parse(text || '[]')));
  }
  return out;
}

export interface CaseResult {
  readonly rule: LintRuleId;
  readonly expected: 'flag' | 'pass';
  readonly label: string;
  readonly ours: boolean;
  /** null: Squawk has no rule for this hazard. */
  readonly squawk: boolean | null;
}

export interface RuleAgreement {
  readonly rule: LintRuleId;
  readonly squawkNames: readonly string[];
  readonly cases: number;
  /** Cases where both flag or both pass (null when Squawk has no such rule). */
  readonly agree: number | null;
  readonly differing: readonly CaseResult[];
}

/** Both linters over every case of the corpus; also every Squawk rule name it reported. */
export async function compareCorpus(): Promise<{ results: CaseResult[]; reported: Set<string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dbm-squawk-corpus-'));
  try {
    const entries: { rule: LintRuleId; expected: 'flag' | 'pass'; c: Case; files: string[] }[] = [];
    const files: { path: string; transactional: boolean }[] = [];
    let n = 0;
    for (const [rule, cases] of Object.entries(LINT_CASES) as [
      LintRuleId,
      (typeof LINT_CASES)[LintRuleId],
    ][]) {
      for (const [expected, list] of [
        ['flag', cases.flagged],
        ['pass', cases.safe],
      ] as const) {
        for (const c of list) {
          const paths: string[] = [];
          for (const m of caseMigrations(c)) {
            const path = join(dir, `${String(++n).padStart(5, '0')}.sql`);
            writeFileSync(path, m.text);
            paths.push(path);
            files.push({ path, transactional: m.transactional });
          }
          entries.push({ rule, expected, c, files: paths });
        }
      }
    }
    const squawk = runSquawk(files);
    const byFile = new Map<string, Set<string>>();
    for (const f of squawk) {
      const set = byFile.get(f.file) ?? new Set<string>();
      set.add(f.rule_name);
      byFile.set(f.file, set);
    }
    const results: CaseResult[] = [];
    for (const e of entries) {
      const ours = (await lintCase(e.c, e.rule)).some((f) => f.ruleId === e.rule);
      const names = squawkNamesOf(e.rule);
      const theirs =
        names.length === 0
          ? null
          : e.files.some((p) => names.some((name) => byFile.get(p)?.has(name) === true));
      results.push({
        rule: e.rule,
        expected: e.expected,
        label: caseLabel(e.c),
        ours,
        squawk: theirs,
      });
    }
    return { results, reported: new Set(squawk.map((f) => f.rule_name)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function agreementByRule(results: readonly CaseResult[]): RuleAgreement[] {
  return LINT_RULES.map((r) => {
    const id = r.id;
    const mine = results.filter((x) => x.rule === id);
    const names = squawkNamesOf(id);
    const differing = mine.filter((x) => x.squawk !== null && x.squawk !== x.ours);
    return {
      rule: id,
      squawkNames: names,
      cases: mine.length,
      agree: names.length === 0 ? null : mine.length - differing.length,
      differing,
    };
  });
}

/** Per rule, findings of each linter over the project's own migrations. */
export async function compareProjectMigrations(
  directory: string,
): Promise<{ ours: Map<string, number>; squawk: Map<string, number>; files: number }> {
  const migrations = await new DirectoryMigrationSource(directory).load();
  const ours = new Map<string, number>();
  for (const f of await lintMigrations(migrations, { include: ['require-table-schema'] }))
    ours.set(f.ruleId, (ours.get(f.ruleId) ?? 0) + 1);
  const squawk = new Map<string, number>();
  // The engine's own reading of each file: its path and its transaction directive.
  const files = migrations.map((m) => ({ path: m.file, transactional: m.directives.transaction }));
  for (const f of runSquawk(files)) squawk.set(f.rule_name, (squawk.get(f.rule_name) ?? 0) + 1);
  return { ours, squawk, files: files.length };
}

/**
 * Why the two differ where they do, per rule of ours. Every rule with a differing case, and
 * every rule Squawk has no equivalent for, needs one; a rule where they fully agree must not
 * have one (the test checks both).
 */
export const SQUAWK_NOTES: Partial<Record<LintRuleId, string>> = {
  'invalid-ignore-comment':
    'Ours alone: a malformed ignore comment, or one naming a rule that does not exist, is an error instead of a silent no-op.',
  'ban-reindex-system':
    'Ours alone: REINDEX SYSTEM blocks every session that touches the catalogs and has no CONCURRENTLY form; Squawk does not flag it.',
  'requires-newer-postgres':
    'Ours alone (its cases are linted for PostgreSQL 11): a statement the server of the version linted for rejects, such as REINDEX CONCURRENTLY before 12 or NOT NULL … NOT VALID before 18. Squawk has no such rule.',
  'add-exclusion-constraint':
    'Ours alone: an exclusion constraint has no NOT VALID or USING INDEX form, so its index is built under ACCESS EXCLUSIVE.',
  'table-rewrite':
    'Ours alone: SET LOGGED/UNLOGGED, SET TABLESPACE and SET ACCESS METHOD rewrite the table under ACCESS EXCLUSIVE.',
  'require-concurrent-refresh':
    'Ours alone: REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks the view’s readers.',
  'unused-ignore':
    'Squawk 2.66 has the name in its source but never reports it, and its CLI refuses `--exclude=unused-ignore`: ours alone.',
  'transaction-control-in-migration':
    'PREPARE TRANSACTION (a prepared transaction keeps its locks until someone commits it) is ours alone.',
  'concurrently-in-transaction':
    'Squawk flags CONCURRENTLY only inside an explicit BEGIN; in a migration the runner wraps in a transaction (`--assume-in-transaction`) it does not, and PostgreSQL refuses the statement at apply time.',
  'missing-lock-timeout':
    'Ours knows the lock_timeout the runner sets (5 s, or the header’s `lock_timeout=`), so a migration needs no SET of its own, and it flags `SET lock_timeout = 0`, which turns the runner’s off; Squawk wants a SET in every file and counts 0 as set. A lock that blocks no writes (VALIDATE CONSTRAINT) or a table created in the same migration needs none in ours.',
  'require-statement-timeout':
    'As with lock_timeout: ours follows the runner’s statement_timeout (the header’s `statement_timeout=`, `lint --statement-timeout`) and flags `SET statement_timeout = 0`; statements that block no writes (VALIDATE, CONCURRENTLY) or touch a table created in the same migration need none. Squawk wants a SET in every file.',
  'require-concurrent-index-creation':
    '`CREATE INDEX … ON ONLY` a partitioned parent builds nothing and cannot be CONCURRENTLY; Squawk flags it.',
  'require-concurrent-index-deletion':
    'A table created earlier in the same migration is nobody else’s yet: ours passes the operation on it, Squawk flags it (the same for the rules below that say so).',
  'reindex-without-concurrently': 'A table created earlier in the same migration (see above).',
  'constraint-missing-not-valid':
    'Ours also flags `ADD COLUMN … CHECK` on an existing table (PostgreSQL checks every row under ACCESS EXCLUSIVE) and a NOT VALID key validated in the same transaction as it was added (the scan runs while the ADD’s lock is held); Squawk passes both.',
  'set-not-null-without-check':
    'Ours remembers a CHECK (col IS NOT NULL) validated by an earlier migration of the set, so the later SET NOT NULL scans nothing; Squawk reads each file alone and flags it. A table created in the same migration (see above).',
  'adding-field-with-volatile-default':
    "A `bigserial` column’s default is nextval() (volatile: the table is rewritten); Squawk misses it. `lower('X')` is immutable and evaluated once, no rewrite; Squawk flags any function not on its list. A VIRTUAL generated column (PostgreSQL 18) is computed when read, so nothing is written to the rows; Squawk flags it like a stored one.",
  'adding-required-field':
    '`ADD COLUMN … PRIMARY KEY` without a default makes the column NOT NULL and fails on a table with rows; Squawk looks only for NOT NULL.',
  'changing-column-type':
    'Ours knows the column’s type from earlier migrations: widening varchar(n), varchar to text, or raising numeric precision is catalog-only, and ours passes it; Squawk flags every type change. A table created in the same migration (see above).',
  'renaming-column': 'A table created earlier in the same migration (see above).',
  'renaming-table': 'A table created earlier in the same migration (see above).',
  'ban-drop-column':
    'Ours honours its own ignore comment (`-- dbmigrate-lint: ignore …`; Squawk reads only `squawk-ignore`). A table created in the same migration (see above).',
  'ban-drop-table': 'A table created earlier in the same migration (see above).',
  'ban-drop-database': 'Ours honours its own ignore comment (see ban-drop-column).',
  'ban-truncate':
    'Squawk flags only TRUNCATE … CASCADE; ours flags every TRUNCATE of an existing table (ACCESS EXCLUSIVE, and the rows are gone).',
  'adding-primary-key-without-index': 'A table created earlier in the same migration (see above).',
  'ban-alter-domain-with-add-constraint':
    'Ours also flags `ALTER DOMAIN … SET NOT NULL` (it checks every column of the domain) and passes `ADD CONSTRAINT … NOT VALID` (existing values are not checked); Squawk flags only ADD CONSTRAINT, NOT VALID or not.',
  'ban-vacuum-full':
    'Squawk’s prefer-repack fires only for PostgreSQL 19 and later (`--pg-version`), where REPACK (CONCURRENTLY) exists; ours flags VACUUM FULL on every version.',
  'ban-cluster': 'As ban-vacuum-full: Squawk’s prefer-repack fires only from PostgreSQL 19.',
  'ban-duplicate-column-assignments':
    '`CREATE TABLE … AS SELECT count(*), count(*)` names the column `count` twice, which PostgreSQL refuses; Squawk looks only at explicit column lists.',
  'prefer-bigint': 'Ours honours its own ignore comment (see ban-drop-column).',
  'ban-char-field':
    '`"char"` (quoted) is PostgreSQL’s one-byte internal type, not char(n); Squawk flags it.',
  'ban-drop-not-null': 'A table created earlier in the same migration (see above).',
  'ban-create-domain-with-constraint':
    'A bare NULL in CREATE DOMAIN constrains nothing; Squawk counts it as a constraint.',
  'prefer-robust-stmts':
    'Ours flags what fails or duplicates on a second run that Squawk lets through: CREATE TABLE AS, an unnamed CREATE INDEX CONCURRENTLY, DROP TRIGGER, CREATE SEQUENCE/VIEW/FUNCTION without IF NOT EXISTS or OR REPLACE, ADD VALUE without IF NOT EXISTS. It passes what reruns safely: a TEMPORARY table, a named CREATE INDEX CONCURRENTLY (apply --resume drops the invalid index a failed build left first), SET DEFAULT.',
};

export const AGREEMENT_START = '<!-- lint:squawk:start -->';
export const AGREEMENT_END = '<!-- lint:squawk:end -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The section of docs/lint.md between the markers. */
export function renderAgreement(
  rules: readonly RuleAgreement[],
  project: { ours: Map<string, number>; squawk: Map<string, number>; files: number },
): string {
  const compared = rules.filter((r) => r.agree !== null);
  const cases = compared.reduce((n, r) => n + r.cases, 0);
  const agreeing = compared.reduce((n, r) => n + (r.agree ?? 0), 0);
  const lines = [
    AGREEMENT_START,
    '',
    `## Beside Squawk ${SQUAWK_VERSION}`,
    '',
    `\`npm run gen:lint-agreement\` writes this section; \`test/squawk/squawk-agreement.test.ts\` fails when it is stale. Both linters run over the rule corpus (\`test/unit/lint-cases.ts\`: every rule's flagged and safe cases, the ones \`test/unit/lint-rules.test.ts\` checks) and over \`migrations/\`. Squawk is the native binary of npm's \`@squawk-cli/linux-x64\` ${SQUAWK_VERSION} (\`hack/squawk.sh\`), run as \`squawk --reporter json --include=require-table-schema\`, with \`--assume-in-transaction\` for transactional migrations (the engine wraps them in one). A case counts as agreement when Squawk's rules for the same hazard flag it exactly when ours does.`,
    '',
    `Every Squawk rule has an equivalent here. Over the ${String(cases)} cases of the ${String(compared.length)} rules both have, they agree on ${String(agreeing)}; ${String(rules.length - compared.length)} rules are ours alone.`,
    '',
    '| our rule | Squawk name | cases | agree | where they differ, and why |',
    '| -------- | ----------- | ----- | ----- | -------------------------- |',
    ...rules.map((r) => {
      const names = r.squawkNames.length
        ? r.squawkNames.map((n) => `\`${n}\``).join(', ')
        : '— (ours only)';
      const agree = r.agree === null ? '—' : `${String(r.agree)}/${String(r.cases)}`;
      return `| \`${r.rule}\` | ${names} | ${String(r.cases)} | ${agree} | ${cell(SQUAWK_NOTES[r.rule] ?? '')} |`;
    }),
    '',
    `### Over migrations/ (${String(project.files)} files)`,
    '',
    '| rule | our findings | Squawk rule(s) | Squawk findings |',
    '| ---- | ------------ | -------------- | --------------- |',
    ...LINT_RULES.map((r) => r.id)
      .map((id) => {
        const names = squawkNamesOf(id);
        const theirs = names.reduce((n, name) => n + (project.squawk.get(name) ?? 0), 0);
        return { id, names, ours: project.ours.get(id) ?? 0, theirs };
      })
      .filter((x) => x.ours > 0 || x.theirs > 0)
      .map(
        (x) =>
          `| \`${x.id}\` | ${String(x.ours)} | ${x.names.length ? x.names.map((n) => `\`${n}\``).join(', ') : '—'} | ${String(x.theirs)} |`,
      ),
    '',
    'Where the counts differ: Squawk lints the down sections too (its `ban-drop-table` and `ban-drop-column` findings here are rollbacks, which ours does not lint: down sections run in emergencies only), asks for `SET lock_timeout` and `SET statement_timeout` in every file where the runner sets them (ours flags a missing statement_timeout only before statements that block writes), and asks a `transaction=false` migration to run VALIDATE CONSTRAINT in a transaction, which ours does not: validating a valid constraint again is a no-op.',
    '',
    AGREEMENT_END,
  ];
  return lines.join('\n');
}

/** The section as prettier writes it, so the file passes `prettier --check` as generated. */
export async function formatted(section: string, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return (await prettier.format(section, { ...options, parser: 'markdown' })).trimEnd();
}

/** `text` with the section between the markers replaced (appended when absent). */
export function withAgreement(text: string, section: string): string {
  const start = text.indexOf(AGREEMENT_START);
  const end = text.indexOf(AGREEMENT_END);
  if (start < 0 || end < 0) return `${text.trimEnd()}\n\n${section}\n`;
  return text.slice(0, start) + section + text.slice(end + AGREEMENT_END.length);
}
