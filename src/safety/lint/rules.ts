import type { LintRuleSetting, LintRuleSettings } from '../../api/settings.js';
import type { LintSeverity } from './finding.js';

/** One lint rule. `id` is stable: ignore comments, CI scripts and docs/lint.md name it. */
export interface LintRule {
  readonly id: string;
  readonly severity: LintSeverity;
  /** One line: what the rule catches. */
  readonly title: string;
  /** The safe alternative, shown under every finding. */
  readonly help: string;
  /** The lock the flagged statement takes (for the docs table). */
  readonly lock: string;
  /** Off unless asked for (`dbmigrate lint --include <id>`): a convention, not a hazard. */
  readonly optIn?: boolean;
}

const CONCURRENT_HEADER = 'put it in its own migration with `-- dbmigrate:transaction=false`';

/**
 * set-not-null-without-check's advice, by what the version linted for offers: PostgreSQL 18
 * adds NOT NULL constraints NOT VALID; from 12 a validated CHECK lets SET NOT NULL skip its
 * scan; before 12 nothing does.
 */
export const SET_NOT_NULL_HELP = {
  notValid:
    'On PostgreSQL 18+: ALTER TABLE … ADD CONSTRAINT c NOT NULL col NOT VALID (brief lock, new rows checked), then VALIDATE CONSTRAINT c in a later migration (or later in this one when it is transaction=false): validation scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes, and leaves the column NOT NULL. The CHECK (col IS NOT NULL) route below works too.',
  check:
    'First ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT c (in a later migration, or earlier in this one when it is transaction=false); SET NOT NULL then skips the scan (PostgreSQL 12+), and the CHECK can be dropped afterwards.',
  before12:
    'Before PostgreSQL 12, SET NOT NULL scans the whole table under ACCESS EXCLUSIVE even when a validated CHECK (col IS NOT NULL) proves it: keep the validated CHECK instead of NOT NULL until the server is upgraded, or run SET NOT NULL in a maintenance window (`-- dbmigrate:window=required`) and ignore this finding with the reason.',
} as const;

export const LINT_RULES = [
  {
    id: 'syntax-error',
    severity: 'error',
    title: 'SQL that PostgreSQL cannot parse',
    help: 'Fix the statement; nothing else about it was checked.',
    lock: '-',
  },
  {
    id: 'invalid-ignore-comment',
    severity: 'error',
    title:
      'a dbmigrate-lint comment that is malformed, names an unknown rule or stands where it ignores nothing',
    help: 'Write `-- dbmigrate-lint: ignore <rule-id>[,<rule-id>] [reason]` on the line(s) directly above the statement (no blank line between), or `-- dbmigrate-lint: ignore-file <rule-id>` in the header; rule IDs are listed in docs/lint.md.',
    lock: '-',
  },
  {
    id: 'transaction-control-in-migration',
    severity: 'error',
    title: 'BEGIN, COMMIT, ROLLBACK or PREPARE TRANSACTION inside a migration',
    help: 'Remove it: the engine runs each migration in one transaction, or statement by statement with `-- dbmigrate:transaction=false`, and records progress around it.',
    lock: '-',
  },
  {
    id: 'concurrently-in-transaction',
    severity: 'error',
    title:
      'CREATE/DROP/REINDEX … CONCURRENTLY or DETACH PARTITION … CONCURRENTLY in a transactional migration',
    help: `PostgreSQL refuses CONCURRENTLY inside a transaction block: ${CONCURRENT_HEADER} (the engine then runs it statement by statement and resumes after a failure).`,
    lock: '-',
  },
  {
    id: 'missing-lock-timeout',
    severity: 'error',
    title: 'a statement that blocks writes on an existing table while lock_timeout is 0',
    help: 'Keep a lock_timeout (the engine sets 5s unless told otherwise): remove `lock_timeout=0` / `SET lock_timeout = 0`, or use `-- dbmigrate:lock_timeout=2s`. Without one, a lock that waits behind a long transaction queues every query on the table behind it.',
    lock: 'waits without limit for SHARE or stronger',
  },
  {
    id: 'require-concurrent-index-creation',
    severity: 'error',
    title: 'CREATE INDEX without CONCURRENTLY on an existing table',
    help: `Use CREATE INDEX CONCURRENTLY and ${CONCURRENT_HEADER}. For a partitioned table: CREATE INDEX … ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX … ATTACH PARTITION.`,
    lock: 'SHARE (blocks writes) for the whole build',
  },
  {
    id: 'require-concurrent-index-deletion',
    severity: 'error',
    title: 'DROP INDEX without CONCURRENTLY',
    help: `Use DROP INDEX CONCURRENTLY and ${CONCURRENT_HEADER}.`,
    lock: 'ACCESS EXCLUSIVE on the table (blocks reads and writes)',
  },
  {
    id: 'reindex-without-concurrently',
    severity: 'error',
    title: 'REINDEX without CONCURRENTLY',
    help: `Use REINDEX … CONCURRENTLY (PostgreSQL 12+) and ${CONCURRENT_HEADER}.`,
    lock: 'SHARE on the table (blocks writes), ACCESS EXCLUSIVE on each index (blocks reads that use it)',
  },
  {
    id: 'ban-reindex-system',
    severity: 'error',
    title: 'REINDEX SYSTEM (it has no CONCURRENTLY form)',
    help: 'Rebuild catalog indexes outside migrations, in a maintenance window when nothing else runs: REINDEX SYSTEM cannot run concurrently, and while it runs it blocks every session that touches the catalogs.',
    lock: 'ACCESS EXCLUSIVE on each system catalog index in turn (blocks every session that reads it)',
  },
  {
    id: 'constraint-missing-not-valid',
    severity: 'error',
    title:
      'FOREIGN KEY or CHECK added to an existing table without NOT VALID, or validated in the same transaction that added it',
    help: 'Add it with NOT VALID (only new and updated rows are checked, the lock is brief), then run ALTER TABLE … VALIDATE CONSTRAINT in a later migration: validation scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes.',
    lock: 'CHECK: ACCESS EXCLUSIVE; FOREIGN KEY: SHARE ROW EXCLUSIVE on both tables; held for the whole validating scan',
  },
  {
    id: 'set-not-null-without-check',
    severity: 'error',
    title:
      'ALTER COLUMN … SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL)',
    // The catalogue's text covers every version; a finding carries the advice for its own.
    help: `${SET_NOT_NULL_HELP.check} On PostgreSQL 18+, ADD CONSTRAINT c NOT NULL col NOT VALID, then VALIDATE CONSTRAINT c, needs no CHECK. Before 12 no CHECK helps: SET NOT NULL always scans.`,
    lock: 'ACCESS EXCLUSIVE for a full table scan',
  },
  {
    id: 'adding-field-with-volatile-default',
    severity: 'error',
    title:
      'ADD COLUMN with a volatile default, a serial/identity column or a stored generated column on an existing table (before PostgreSQL 11: any default)',
    help: 'Add the column without the default (or with a constant one; non-volatile defaults need no rewrite since PostgreSQL 11), ALTER COLUMN … SET DEFAULT for new rows, then backfill existing rows in batches.',
    lock: 'ACCESS EXCLUSIVE for a full table rewrite',
  },
  {
    id: 'adding-required-field',
    severity: 'error',
    title: 'ADD COLUMN … NOT NULL (or PRIMARY KEY) without a default on an existing table',
    help: 'Fails on any table with rows, and old application code cannot insert. Add it nullable (or NOT NULL with a constant DEFAULT), backfill, then add NOT NULL through a validated CHECK.',
    lock: 'ACCESS EXCLUSIVE',
  },
  {
    id: 'changing-column-type',
    severity: 'error',
    title: 'ALTER COLUMN … TYPE on an existing table',
    help: 'Expand and contract: add a new column, keep both written (trigger or application), backfill in batches, switch readers, then drop the old column. Only binary-compatible changes (varchar(n) to text or a longer varchar, numeric(p,s) to a larger precision) skip the rewrite; ignore the finding for those when the old type is not declared in this migration set.',
    lock: 'ACCESS EXCLUSIVE for a rewrite of the table and its indexes',
  },
  {
    id: 'renaming-column',
    severity: 'error',
    title: 'RENAME COLUMN on an existing table',
    help: 'Running application code still uses the old name. Add the new column, write both, backfill, move readers, then drop the old one (or expose the new name through a view first).',
    lock: 'ACCESS EXCLUSIVE (brief)',
  },
  {
    id: 'renaming-table',
    severity: 'error',
    title: 'RENAME of an existing table',
    help: 'Running application code still uses the old name. Create the new table (or an updatable view under the new name), move readers and writers, then drop the old name.',
    lock: 'ACCESS EXCLUSIVE (brief)',
  },
  {
    id: 'ban-drop-column',
    severity: 'error',
    title: 'DROP COLUMN on an existing table',
    help: 'Loses data, and running code that reads the column fails. Stop reading and writing it in a release first, take a snapshot, then drop it in its own migration (and ignore this finding with the reason).',
    lock: 'ACCESS EXCLUSIVE (brief)',
  },
  {
    id: 'ban-drop-table',
    severity: 'error',
    title: 'DROP TABLE of an existing table',
    help: 'Loses data, and running code that uses the table fails. Stop using it in a release first, take a snapshot (or rename it away and keep it for a while), then drop it in its own migration with an ignore comment giving the reason.',
    lock: 'ACCESS EXCLUSIVE',
  },
  {
    id: 'ban-drop-database',
    severity: 'error',
    title: 'DROP DATABASE',
    help: 'A migration never drops a database; do it by hand, after a verified snapshot.',
    lock: 'exclusive use of the database',
  },
  {
    id: 'ban-truncate',
    severity: 'error',
    title: 'TRUNCATE of an existing table',
    help: 'Deletes every row at once. Delete in batches (keyset DELETE … LIMIT) if the rows must go, after a snapshot.',
    lock: 'ACCESS EXCLUSIVE',
  },
  {
    id: 'adding-primary-key-without-index',
    severity: 'error',
    title: 'ADD PRIMARY KEY on an existing table without USING INDEX',
    help: `CREATE UNIQUE INDEX CONCURRENTLY first (${CONCURRENT_HEADER}), then ALTER TABLE … ADD CONSTRAINT … PRIMARY KEY USING INDEX …; the key columns must already be NOT NULL (see set-not-null-without-check) or that step scans the table.`,
    lock: 'ACCESS EXCLUSIVE for the whole index build',
  },
  {
    id: 'disallowed-unique-constraint',
    severity: 'error',
    title: 'ADD UNIQUE on an existing table without USING INDEX',
    help: `CREATE UNIQUE INDEX CONCURRENTLY first (${CONCURRENT_HEADER}), then ALTER TABLE … ADD CONSTRAINT … UNIQUE USING INDEX ….`,
    lock: 'ACCESS EXCLUSIVE for the whole index build',
  },
  {
    id: 'add-exclusion-constraint',
    severity: 'error',
    title: 'ADD CONSTRAINT … EXCLUDE on an existing table',
    help: 'An exclusion constraint cannot be added NOT VALID or USING INDEX, so its index is built under the table lock. Run it in a maintenance window (`-- dbmigrate:window=required`) and ignore this finding with the reason, or enforce the rule another way.',
    lock: 'ACCESS EXCLUSIVE for the whole index build',
  },
  {
    id: 'ban-alter-domain-with-add-constraint',
    severity: 'error',
    title: 'ALTER DOMAIN … ADD CONSTRAINT (without NOT VALID) or SET NOT NULL',
    help: 'Every column of the domain, in every table, is checked while those tables are locked. Add a CHECK with NOT VALID and VALIDATE CONSTRAINT it at a quiet time, or put NOT VALID CHECK constraints on the tables instead.',
    lock: 'SHARE on every table using the domain (blocks writes) for the scan',
  },
  {
    id: 'require-concurrent-partition-detach',
    severity: 'error',
    title: 'DETACH PARTITION without CONCURRENTLY',
    help: `Use ALTER TABLE … DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+) and ${CONCURRENT_HEADER}.`,
    lock: 'ACCESS EXCLUSIVE on the parent and the partition',
  },
  {
    id: 'ban-vacuum-full',
    severity: 'error',
    title: 'VACUUM FULL',
    help: 'Rewrites the table under its strongest lock. Use plain VACUUM, or pg_repack / pg_squeeze outside migrations.',
    lock: 'ACCESS EXCLUSIVE for a full rewrite',
  },
  {
    id: 'ban-cluster',
    severity: 'error',
    title: 'CLUSTER',
    help: 'Rewrites the table under its strongest lock. Use pg_repack outside migrations, or accept the current physical order.',
    lock: 'ACCESS EXCLUSIVE for a full rewrite',
  },
  {
    id: 'table-rewrite',
    severity: 'error',
    title:
      'ALTER TABLE … SET LOGGED / SET UNLOGGED / SET TABLESPACE / SET ACCESS METHOD on an existing table',
    help: 'These rewrite the whole table. Build a new table and switch over (expand/contract), or run it in a maintenance window with an ignore comment giving the reason.',
    lock: 'ACCESS EXCLUSIVE for a full rewrite',
  },
  {
    id: 'ban-duplicate-column-assignments',
    severity: 'error',
    title:
      'a column defined, listed or assigned twice in one statement (CREATE TABLE, a view or CREATE TABLE AS, INSERT, UPDATE, ON CONFLICT, MERGE)',
    help: 'Name each column once: PostgreSQL refuses the statement when it runs ("column … specified more than once", "multiple assignments to same column"), and in a transaction=false migration the statements before it stay applied. Assigning different elements or fields of one column (`set a[1] = …, a[2] = …`) is fine.',
    lock: '-',
  },
  {
    id: 'requires-newer-postgres',
    severity: 'error',
    title:
      'a statement or option the PostgreSQL version linted for does not have, so the server rejects it (REINDEX CONCURRENTLY before 12, DETACH PARTITION … CONCURRENTLY before 14, NOT NULL … NOT VALID before 18 …)',
    help: 'Use the older form the finding names, or lint for the version production runs (`--pg-version`, dbmigrate.json lint.pgVersion; with a database connection, the server says): the statement fails there, and in a transaction=false migration the statements before it stay applied.',
    lock: '-',
  },
  {
    id: 'require-concurrent-refresh',
    severity: 'warning',
    title: 'REFRESH MATERIALIZED VIEW without CONCURRENTLY',
    help: 'Use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view) so readers keep reading during the refresh.',
    lock: 'ACCESS EXCLUSIVE on the view (blocks reads)',
  },
  {
    id: 'require-statement-timeout',
    severity: 'warning',
    title:
      'a statement that blocks writes on an existing table while statement_timeout is 0 (the default)',
    help: 'Give the migration a statement_timeout: `-- dbmigrate:statement_timeout=5min` in its header, or `--statement-timeout` (statementTimeoutMs in the operator) for every migration, and lint with the same `--statement-timeout`. lock_timeout bounds the wait for a lock; statement_timeout bounds how long a statement then holds it, so a scan or rewrite that turns out slower than expected is cancelled (a transactional migration rolls back; a transaction=false one stops for `apply --resume`) instead of blocking writers until it ends. The engine sets the value itself, so a role or database statement_timeout does not apply to migrations.',
    lock: 'holds SHARE or stronger without a time limit',
  },
  {
    id: 'prefer-bigint',
    severity: 'warning',
    title:
      'smallint/integer/smallserial/serial columns (arrays of them too) in CREATE TABLE, ADD COLUMN and ALTER COLUMN … TYPE',
    help: 'Use bigint (for an ID: `bigint generated always as identity`): it takes 8 bytes instead of 4 (integer) or 2 (smallint), while running out forces a column type change that rewrites the table under ACCESS EXCLUSIVE, by then a large one. Keep a smaller type only where the values are bounded by nature (a percentage, a day of the month) and ignore the finding with the reason. Formerly `prefer-bigint-primary-key` (primary keys only); that ID still works in ignore comments.',
    lock: '-',
  },
  {
    id: 'prefer-identity',
    severity: 'warning',
    title: 'serial / bigserial / smallserial columns',
    help: 'Use `bigint generated always as identity`: the sequence belongs to the column, so permissions, dumps and copies of the table behave.',
    lock: '-',
  },
  {
    id: 'prefer-text-field',
    severity: 'warning',
    title: 'varchar(n) columns',
    help: 'Use text, with a CHECK (char_length(col) <= n) if the limit matters: changing a varchar limit needs ALTER COLUMN TYPE under ACCESS EXCLUSIVE (and a rewrite when it shrinks), while a CHECK can be replaced NOT VALID and validated online.',
    lock: '-',
  },
  {
    id: 'ban-char-field',
    severity: 'warning',
    title: 'char(n) / character columns',
    help: 'Use text (or varchar): char(n) pads with blanks, compares surprisingly and is no faster in PostgreSQL.',
    lock: '-',
  },
  {
    id: 'prefer-timestamptz',
    severity: 'warning',
    title: 'timestamp without time zone columns',
    help: 'Use timestamptz: it stores an absolute instant, so session time zones and DST changes cannot shift the values.',
    lock: '-',
  },
  {
    id: 'ban-drop-not-null',
    severity: 'warning',
    title: 'ALTER COLUMN … DROP NOT NULL on an existing table',
    help: 'Backwards-incompatible for readers: code that is still running assumes the column is never NULL, and breaks on the first NULL that newer code writes. Release readers that handle NULL first (or keep writing a marker value instead of NULL), then drop NOT NULL and ignore this finding with the reason. The statement itself is a catalog change (ACCESS EXCLUSIVE for milliseconds, no scan).',
    lock: 'ACCESS EXCLUSIVE (brief, no scan)',
  },
  {
    id: 'ban-create-domain-with-constraint',
    severity: 'warning',
    title: 'CREATE DOMAIN with a CHECK or NOT NULL constraint',
    help: 'Put the constraint on the columns instead (a CHECK, or NOT NULL, per table), and use a domain without constraints if you want the name. A domain constraint is hard to change online: ALTER DOMAIN … ADD CONSTRAINT checks every column of the domain in every table while blocking their writes, changing a column to a domain with constraints rewrites its table, and PostgreSQL advises against NOT NULL on domains (outer joins still produce NULLs of the type).',
    lock: '-',
  },
  {
    id: 'prefer-robust-stmts',
    severity: 'warning',
    title:
      'a statement of a transaction=false migration that fails or duplicates its object when it runs a second time',
    help: 'In a transaction=false migration each statement commits on its own and the engine records progress after it, so a runner lost in between (crash, lost connection, killed pod) leaves a statement that ran but is not recorded, and `apply --resume` runs it again. Make each one repeatable: IF NOT EXISTS on CREATE TABLE/INDEX/SEQUENCE/SCHEMA/EXTENSION, ADD COLUMN and ADD VALUE; IF EXISTS on DROP …, DROP COLUMN and DROP CONSTRAINT; OR REPLACE on views, functions and triggers; ALTER TABLE … DROP CONSTRAINT IF EXISTS c, ADD CONSTRAINT c … for constraints. Give CREATE INDEX CONCURRENTLY a name: the engine then counts an index already built as done and drops an INVALID one before building again. Transactional migrations are exempt: they roll back as a whole.',
    lock: '-',
  },
  {
    id: 'require-table-schema',
    severity: 'warning',
    title:
      'CREATE TABLE, CREATE TABLE AS, ALTER TABLE or DROP TABLE of a table not qualified with its schema (opt-in)',
    help: 'Qualify the name (`public.documents`): PostgreSQL looks an unqualified name up through search_path, which the role, the database or a SET can change, so the same migration can create, alter or drop a table in another schema than intended. Opt-in, with `dbmigrate lint --include require-table-schema`: most projects rely on search_path on purpose.',
    lock: '-',
    optIn: true,
  },
  {
    id: 'identifier-too-long',
    severity: 'warning',
    title: 'an identifier longer than 63 bytes (NAMEDATALEN - 1), which PostgreSQL truncates',
    help: 'Shorten it to 63 bytes at most (characters outside ASCII take 2 to 4 bytes each). PostgreSQL cuts longer identifiers with only a NOTICE, so the object gets a name other than the one written, and two names that agree in their first 63 bytes are one name: the second CREATE fails, or with IF NOT EXISTS silently creates nothing.',
    lock: '-',
  },
  {
    id: 'require-enum-value-ordering',
    severity: 'warning',
    title: 'ALTER TYPE … ADD VALUE without BEFORE or AFTER',
    help: "Say where the value goes: ALTER TYPE … ADD VALUE 'new' BEFORE 'existing' (or AFTER). Enum values sort in declaration order, so `<`, `>`, ORDER BY, min()/max() and range conditions on the column see an appended value as the greatest. If last is right, ignore this finding with the reason.",
    lock: '-',
  },
  {
    id: 'unused-ignore',
    severity: 'warning',
    title:
      'a dbmigrate-lint ignore comment (or one rule of it) that suppresses no finding of the statement below, or with ignore-file of the file',
    help: "Remove the rule from the comment, or the whole comment: an ignore that suppresses nothing usually outlived a change to the statement or to the rule, and would silence a later finding of that rule nobody reviewed. It can also depend on how you lint: lint with the runner's --lock-timeout and --statement-timeout. To keep such comments in a file, add `-- dbmigrate-lint: ignore-file unused-ignore <reason>`.",
    lock: '-',
  },
] as const satisfies readonly LintRule[];

export type LintRuleId = (typeof LINT_RULES)[number]['id'];

/**
 * Former IDs of rules that were renamed or widened. An ignore comment naming one ignores the
 * rule it resolves to; findings carry the current ID.
 */
export const LINT_RULE_ALIASES: Readonly<Record<string, LintRuleId>> = {
  'prefer-bigint-primary-key': 'prefer-bigint',
};

const BY_ID = new Map<string, LintRule>(LINT_RULES.map((r) => [r.id, r]));

export function isLintRuleId(id: string): id is LintRuleId {
  return BY_ID.has(id);
}

/** The rule an ID names, current or former (see LINT_RULE_ALIASES); undefined when unknown. */
export function resolveLintRuleId(id: string): LintRuleId | undefined {
  if (isLintRuleId(id)) return id;
  return Object.hasOwn(LINT_RULE_ALIASES, id) ? LINT_RULE_ALIASES[id] : undefined;
}

export function lintRule(id: LintRuleId): LintRule {
  const rule = BY_ID.get(id);
  if (!rule) throw new Error(`unknown lint rule ${id}`);
  return rule;
}

/** Rules an ignore comment may not switch off: they report problems with the file itself. */
export const UNIGNORABLE_RULES: ReadonlySet<string> = new Set<LintRuleId>([
  'syntax-error',
  'invalid-ignore-comment',
]);

/** Current and former IDs: what a typo in `lint.rules` or `--include` is compared with. */
export const KNOWN_LINT_RULE_IDS: readonly string[] = [
  ...LINT_RULES.map((r) => r.id),
  ...Object.keys(LINT_RULE_ALIASES),
];

export interface LintRuleSettingProblem {
  /** The key as written in `lint.rules`. */
  readonly key: string;
  readonly message: string;
}

/**
 * What is wrong with a `lint.rules` setting: an unknown ID (with `suggest`'s guess at the one
 * meant), a rule named twice (once by a former ID), or a rule that reports a broken file set
 * to anything but error. Empty when every entry can be applied.
 */
export function lintRuleSettingProblems(
  settings: LintRuleSettings,
  suggest: (id: string, known: readonly string[]) => string | null = () => null,
): LintRuleSettingProblem[] {
  const problems: LintRuleSettingProblem[] = [];
  const seen = new Map<LintRuleId, string>();
  for (const [key, setting] of Object.entries(settings)) {
    const id = resolveLintRuleId(key);
    if (id === undefined) {
      const near = suggest(key, KNOWN_LINT_RULE_IDS);
      const meant = near === null ? undefined : (resolveLintRuleId(near) ?? near);
      problems.push({
        key,
        message: `unknown lint rule "${key}"${meant === undefined ? '' : `; did you mean "${meant}"?`} (the rule IDs are listed in docs/lint.md)`,
      });
      continue;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      problems.push({
        key,
        message: `"${earlier}" and "${key}" both name ${id} (one is its former ID): set it once`,
      });
      continue;
    }
    seen.set(id, key);
    if (UNIGNORABLE_RULES.has(id) && setting !== 'error') {
      problems.push({
        key,
        message: `${id} reports a migration file the linter cannot check as written and is always an error`,
      });
    }
  }
  return problems;
}

/**
 * Which rules run and at what severity, from `--include` (opt-in rules to run) and the
 * project's `lint.rules`. A rule set to warning or error runs at that severity, opt-in or not;
 * one set to off does not run, unless `--include` names it (the command line wins, at the
 * catalogue's severity); any other rule runs at the catalogue's severity unless it is opt-in.
 */
export class LintRuleSelection {
  private readonly included: ReadonlySet<LintRuleId>;
  private readonly settings: ReadonlyMap<LintRuleId, LintRuleSetting>;

  /** Throws when `settings` names an unknown rule (see lintRuleSettingProblems). */
  constructor(include: readonly string[] = [], settings: LintRuleSettings = {}) {
    const problems = lintRuleSettingProblems(settings);
    if (problems.length > 0) {
      throw new Error(
        `lint rule settings: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
      );
    }
    this.included = new Set(
      include.flatMap((i) => {
        const id = resolveLintRuleId(i);
        return id === undefined ? [] : [id];
      }),
    );
    this.settings = new Map(
      Object.entries(settings).flatMap(([key, setting]) => {
        const id = resolveLintRuleId(key);
        return id === undefined ? [] : [[id, setting] as const];
      }),
    );
  }

  enabled(id: LintRuleId): boolean {
    if (this.included.has(id)) return true;
    const setting = this.settings.get(id);
    if (setting !== undefined) return setting !== 'off';
    return lintRule(id).optIn !== true;
  }

  severity(id: LintRuleId): LintSeverity {
    const setting = this.settings.get(id);
    return setting === 'warning' || setting === 'error' ? setting : lintRule(id).severity;
  }
}
