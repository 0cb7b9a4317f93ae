// The rules themselves: one pass over a migration's statements, in order, keeping what earlier
// statements established (tables created here, NOT VALID constraints, the lock_timeout in force).
import type {
  AlterDomainStmt,
  AlterEnumStmt,
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  Constraint,
  CreateDomainStmt,
  CreateStmt,
  CreateTableAsStmt,
  DropStmt,
  IndexStmt,
  Node,
  RangeVar,
  RefreshMatViewStmt,
  ReindexStmt,
  RenameStmt,
  ScanToken,
  TransactionStmt,
  VacuumStmt,
  VariableSetStmt,
} from 'libpg-query';
import { blocksWrites, lockModeLabel, lockStrength } from '../dryrun/lock-modes.js';
import {
  columnTypeOf,
  constraintsOf,
  displayName,
  integerOf,
  notNullColumnsOf,
  optionEnabled,
  relationFromList,
  relationOf,
  RelationSet,
  stringOf,
  stringsOf,
  typeLabel,
  type ColumnType,
  type RelationName,
} from './ast.js';
import { duplicateColumns } from './duplicate-columns.js';
import { longIdentifiers, mayHoldLongIdentifier, MAX_IDENTIFIER_BYTES } from './identifiers.js';
import { locksTaken } from './locks.js';
import { RepeatabilityCheck } from './robust-statements.js';
import type { ParsedStatement } from './parser.js';
import type { LintSmallTable } from '../../api/settings.js';
import { SET_NOT_NULL_HELP, type LintRuleId } from './rules.js';
import type { SchemaFacts } from './schema-facts.js';
import { defaultVolatility } from './volatility.js';

export interface RawFinding {
  readonly ruleId: LintRuleId;
  readonly message: string;
  /** Byte offset in the section the finding points at; the statement's start when absent. */
  readonly at: number | undefined;
  /** Advice for this finding when the catalogue's does not fit (it depends on the version). */
  readonly help?: string | undefined;
  /** Why the live database's facts make it harmless (it then fails nothing). */
  readonly cleared?: string | undefined;
}

export interface CheckerSettings {
  /** The migration runs in one transaction (no `transaction=false` header). */
  readonly transactional: boolean;
  /** lock_timeout the engine sets before the first statement. */
  readonly lockTimeoutMs: number;
  /** Where that value came from, for the message when it is 0. */
  readonly lockTimeoutSource: string;
  /** statement_timeout the engine sets before the first statement (0: none). */
  readonly statementTimeoutMs: number;
  /** Where that value came from, for the message when it is 0. */
  readonly statementTimeoutSource: string;
  /** Facts from earlier migrations of the set; the checker adds this migration's. */
  readonly facts: SchemaFacts;
  /** The PostgreSQL major judged for (pg-version.ts): what rewrites, scans or exists depends on it. */
  readonly pgVersion: number;
  /** Below both figures a table the live facts size is small (lint.smallTable). */
  readonly smallTable: LintSmallTable;
  /** File line of a byte offset in the section. */
  readonly lineOf: (byteOffset: number) => number;
  /** PostgreSQL's lexer, for what the parse tree no longer shows (identifiers as written). */
  readonly scan: (sql: string) => readonly ScanToken[];
}

type Report = (
  ruleId: LintRuleId,
  message: string,
  at?: number,
  help?: string,
  cleared?: string,
) => void;

interface StatementScope {
  readonly report: Report;
  /** Section byte offset of a node location (locations are relative to the parsed string). */
  readonly at: (location: number | undefined) => number | undefined;
  /** Inside a transaction block: a transactional migration, or after an explicit BEGIN. */
  readonly inTransaction: boolean;
  readonly line: number;
}

const SERIAL_TYPES = new Set(['serial', 'bigserial', 'smallserial']);
/** The largest value of the integer types smaller than bigint (serials are integer sequences). */
const SMALL_INTEGER_LIMITS: Partial<Record<string, string>> = {
  int2: '32,767',
  smallserial: '32,767',
  int4: '2,147,483,647',
  serial: '2,147,483,647',
};
const REWRITING_SUBTYPES: Partial<Record<string, string>> = {
  AT_SetLogged: 'SET LOGGED',
  AT_SetUnLogged: 'SET UNLOGGED',
  AT_SetTableSpace: 'SET TABLESPACE',
  AT_SetAccessMethod: 'SET ACCESS METHOD',
};

export class MigrationChecker {
  private readonly lockTimeout: SessionTimeout;
  private readonly statementTimeout: SessionTimeout;
  /** Line of an explicit BEGIN not yet committed. */
  private explicitBeginLine: number | null = null;
  private readonly newTables = new RelationSet();
  private readonly newIndexes = new Set<string>();
  /** `table\0constraint` added NOT VALID in this migration. */
  private readonly notValidHere = new Set<string>();
  private readonly repeatability = new RepeatabilityCheck();
  /** Enum types created in this migration: ADD VALUE to them was allowed in a transaction before 12. */
  private readonly newEnums = new Set<string>();

  constructor(private readonly settings: CheckerSettings) {
    this.lockTimeout = new SessionTimeout(
      'lock_timeout',
      settings.lockTimeoutMs,
      settings.lockTimeoutSource,
    );
    this.statementTimeout = new SessionTimeout(
      'statement_timeout',
      settings.statementTimeoutMs,
      settings.statementTimeoutSource,
    );
  }

  check(stmt: ParsedStatement): RawFinding[] {
    const findings: RawFinding[] = [];
    const scope: StatementScope = {
      report: (ruleId, message, at, help, cleared) =>
        findings.push({ ruleId, message, at, help, cleared }),
      at: (location) => (location === undefined || location < 0 ? undefined : stmt.base + location),
      inTransaction: this.settings.transactional || this.explicitBeginLine !== null,
      line: this.settings.lineOf(stmt.start),
    };
    const n = stmt.node;
    this.checkTimeouts(n, scope);
    if ('IndexStmt' in n) this.createIndex(n.IndexStmt, scope);
    else if ('DropStmt' in n) this.drop(n.DropStmt, scope);
    else if ('DropdbStmt' in n)
      scope.report(
        'ban-drop-database',
        `DROP DATABASE ${n.DropdbStmt.dbname ?? ''} in a migration destroys every table at once`,
      );
    else if ('TruncateStmt' in n) this.truncate(n.TruncateStmt.relations, scope);
    else if ('RenameStmt' in n) this.rename(n.RenameStmt, scope);
    else if ('AlterTableStmt' in n) this.alterTable(n.AlterTableStmt, scope);
    else if ('CreateStmt' in n) this.createTable(n.CreateStmt, scope);
    else if ('CreateTableAsStmt' in n) this.createTableAs(n.CreateTableAsStmt, scope);
    else if ('SelectStmt' in n) this.created(n.SelectStmt.intoClause?.rel);
    else if ('ReindexStmt' in n) this.reindex(n.ReindexStmt, scope);
    else if ('VacuumStmt' in n) this.vacuum(n.VacuumStmt, scope);
    else if ('ClusterStmt' in n) this.cluster(n.ClusterStmt.relation, scope);
    else if ('RefreshMatViewStmt' in n) this.refresh(n.RefreshMatViewStmt, scope);
    else if ('AlterDomainStmt' in n) this.alterDomain(n.AlterDomainStmt, scope);
    else if ('CreateDomainStmt' in n) this.createDomain(n.CreateDomainStmt, scope);
    else if ('AlterEnumStmt' in n) this.alterEnum(n.AlterEnumStmt, scope);
    else if ('CreateEnumStmt' in n)
      this.newEnums.add(stringsOf(n.CreateEnumStmt.typeName).join('.'));
    // Rows written by the migration: the size the live database gave no longer holds.
    else if ('InsertStmt' in n) this.grows(n.InsertStmt.relation);
    else if ('CopyStmt' in n && n.CopyStmt.is_from === true) this.grows(n.CopyStmt.relation);
    else if ('TransactionStmt' in n) this.transaction(n.TransactionStmt, scope);
    else if ('VariableSetStmt' in n) this.setVariable(n.VariableSetStmt, scope);
    // Checked in every migration (it remembers constraints dropped IF EXISTS), reported only
    // where statements commit one by one: a transactional migration rolls back as a whole.
    for (const r of this.repeatability.check(n))
      if (!scope.inTransaction)
        scope.report(
          'prefer-robust-stmts',
          `${r.what}: in this transaction=false migration it may run twice (apply --resume after a runner lost before recording it), and the second run fails or duplicates it`,
          scope.at(r.location),
        );
    for (const d of duplicateColumns(n))
      scope.report(
        'ban-duplicate-column-assignments',
        `column ${d.name} is ${d.verb} twice in ${d.where}: PostgreSQL refuses the statement when it runs`,
        scope.at(d.location),
      );
    const tokens = mayHoldLongIdentifier(stmt.text) ? this.settings.scan(stmt.text) : [];
    for (const id of longIdentifiers(tokens))
      scope.report(
        'identifier-too-long',
        `identifier ${id.name} is ${id.bytes} bytes; PostgreSQL keeps only the first ${MAX_IDENTIFIER_BYTES}: ${id.truncated}`,
        // The statement's text starts at its first token, so token offsets count from there.
        stmt.start + id.offset,
      );
    return findings;
  }

  /** The PostgreSQL version judged for is older than `major`. */
  private before(major: number): boolean {
    return this.settings.pgVersion < major;
  }

  /** `PostgreSQL 11`, the version judged for, for messages. */
  private get pg(): string {
    return `PostgreSQL ${String(this.settings.pgVersion)}`;
  }

  /** requires-newer-postgres: `what` exists from PostgreSQL `major`; the server rejects it. */
  private requiresNewer(
    what: string,
    major: number,
    scope: StatementScope,
    help: string,
    at?: number,
  ): void {
    scope.report(
      'requires-newer-postgres',
      `${what} needs PostgreSQL ${String(major)}; linted for ${this.pg}, which rejects the statement`,
      at,
      help,
    );
  }

  private grows(rv: RangeVar | undefined): void {
    const rel = relationOf(rv);
    if (rel !== undefined) this.settings.facts.forgetSize(rel.name);
  }

  /**
   * Why the live database's size of `rel` makes a lock brief, or undefined when the table is
   * not known to be small (no live facts, a partitioned table, or at or over either limit).
   */
  private small(rel: RelationName | undefined, holds: string): string | undefined {
    const size = rel === undefined ? undefined : this.settings.facts.tableSize(rel.name);
    const limit = this.settings.smallTable;
    if (rel === undefined || size === undefined) return undefined;
    if (size.rows >= limit.maxRows || size.bytes >= limit.maxBytes) return undefined;
    return `table ${displayName(rel)} has ~${size.rows.toLocaleString('en-US')} rows (${formatBytes(size.bytes)}), under the small-table limit (${limit.maxRows.toLocaleString('en-US')} rows, ${formatBytes(limit.maxBytes)}): ${holds}`;
  }

  private isNew(r: RelationName): boolean {
    return this.newTables.has(r);
  }

  private created(rv: RangeVar | undefined): void {
    const rel = relationOf(rv);
    if (rel === undefined) return;
    this.newTables.add(rel);
    this.settings.facts.dropTable(rel.name);
  }

  private createTableAs(s: CreateTableAsStmt, scope: StatementScope): void {
    const rv = s.into?.rel;
    if (s.objtype !== 'OBJECT_MATVIEW' && !s.is_select_into)
      this.requireSchema('CREATE TABLE … AS', rv, scope, 'is created in the first schema of');
    this.created(rv);
  }

  /** require-table-schema: a table named without its schema, resolved through search_path. */
  private requireSchema(
    what: string,
    rv: RangeVar | undefined,
    scope: StatementScope,
    how = 'is looked up through',
  ): void {
    const rel = relationOf(rv);
    // A temporary table lives in the session's own schema whatever search_path says.
    if (rel === undefined || rel.schema !== undefined || rv?.relpersistence === 't') return;
    scope.report(
      'require-table-schema',
      `${what} ${rel.name} names no schema: the table ${how} search_path, which the role, the database or a SET decides`,
      scope.at(rv?.location),
    );
  }

  private whyInTransaction(): string {
    return this.explicitBeginLine !== null && !this.settings.transactional
      ? `it follows the BEGIN at line ${this.explicitBeginLine}`
      : 'this migration runs in a transaction; put the statement in its own migration with `-- dbmigrate:transaction=false`';
  }

  // ---- lock_timeout and statement_timeout ---------------------------------------------------

  /** Each is reported once per migration, at the first statement that blocks writes without it. */
  private checkTimeouts(n: Node, scope: StatementScope): void {
    const lock = this.lockTimeout.unset();
    const statement = this.statementTimeout.unset();
    if (!lock && !statement) return;
    const blocking = locksTaken(n, (r) => !this.isNew(r)).filter((l) => blocksWrites(l.mode));
    if (blocking.length === 0) return;
    const strongest = blocking.reduce((a, b) =>
      lockStrength(b.mode) > lockStrength(a.mode) ? b : a,
    );
    const takes = `takes ${lockModeLabel(strongest.mode)} on ${strongest.relation}`;
    if (lock) {
      this.lockTimeout.reported = true;
      scope.report(
        'missing-lock-timeout',
        `${takes} with lock_timeout 0 (${this.lockTimeout.source}): it waits without limit behind any open transaction on the table, and every query on the table queues behind it`,
      );
    }
    if (statement) {
      this.statementTimeout.reported = true;
      scope.report(
        'require-statement-timeout',
        `${takes} with statement_timeout 0 (${this.statementTimeout.source}): nothing limits how long it runs once it holds the lock, and writers to ${strongest.relation} wait as long`,
      );
    }
  }

  private setVariable(s: VariableSetStmt, scope: StatementScope): void {
    this.lockTimeout.follow(s, scope.line);
    this.statementTimeout.follow(s, scope.line);
  }

  // ---- transactions ----------------------------------------------------------------------

  private transaction(s: TransactionStmt, scope: StatementScope): void {
    const why = this.settings.transactional
      ? "the engine already runs this migration in a transaction, so this ends or nests it behind the engine's back"
      : 'the engine runs this transaction=false migration statement by statement and records progress after each, which an explicit transaction block breaks';
    switch (s.kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        scope.report('transaction-control-in-migration', `BEGIN inside a migration: ${why}`);
        this.explicitBeginLine = scope.line;
        break;
      case 'TRANS_STMT_COMMIT':
      case 'TRANS_STMT_ROLLBACK':
        scope.report(
          'transaction-control-in-migration',
          `${s.kind === 'TRANS_STMT_COMMIT' ? 'COMMIT' : 'ROLLBACK'} inside a migration: ${why}`,
        );
        this.explicitBeginLine = null;
        break;
      case 'TRANS_STMT_PREPARE':
      case 'TRANS_STMT_COMMIT_PREPARED':
      case 'TRANS_STMT_ROLLBACK_PREPARED':
        scope.report(
          'transaction-control-in-migration',
          `two-phase commit statement inside a migration: ${why}`,
        );
        break;
      default:
        break;
    }
  }

  // ---- indexes ---------------------------------------------------------------------------

  private createIndex(s: IndexStmt, scope: StatementScope): void {
    const rel = relationOf(s.relation);
    const name = s.idxname === undefined ? '' : ` ${s.idxname}`;
    if (s.concurrent === true) {
      if (scope.inTransaction)
        scope.report(
          'concurrently-in-transaction',
          `CREATE INDEX CONCURRENTLY${name} cannot run inside a transaction block: ${this.whyInTransaction()}`,
        );
    } else if (rel !== undefined && !this.isNew(rel) && s.relation?.inh === true) {
      // `ON ONLY parent` (inh false) builds nothing: the partitions' indexes are attached later.
      scope.report(
        'require-concurrent-index-creation',
        `CREATE INDEX${name} on existing table ${displayName(rel)} without CONCURRENTLY blocks writes to it (SHARE lock) for the whole build`,
        undefined,
        undefined,
        this.small(rel, 'the build holds SHARE for milliseconds'),
      );
    }
    if (s.idxname !== undefined) this.newIndexes.add(s.idxname);
  }

  private drop(s: DropStmt, scope: StatementScope): void {
    const objects = (s.objects ?? [])
      .map(relationFromList)
      .filter((r): r is RelationName => r !== undefined);
    if (s.removeType === 'OBJECT_INDEX') {
      if (s.concurrent === true) {
        if (scope.inTransaction)
          scope.report(
            'concurrently-in-transaction',
            `DROP INDEX CONCURRENTLY cannot run inside a transaction block: ${this.whyInTransaction()}`,
          );
        return;
      }
      const existing = objects.filter((o) => !this.newIndexes.has(o.name));
      if (existing.length > 0)
        scope.report(
          'require-concurrent-index-deletion',
          `DROP INDEX ${existing.map(displayName).join(', ')} without CONCURRENTLY takes ACCESS EXCLUSIVE on the table, blocking reads and writes until every running query on it finishes`,
        );
    } else if (s.removeType === 'OBJECT_TABLE') {
      const unqualified = objects.filter((o) => o.schema === undefined);
      if (unqualified.length > 0)
        scope.report(
          'require-table-schema',
          `DROP TABLE ${unqualified.map(displayName).join(', ')} names no schema: the table is looked up through search_path, which the role, the database or a SET decides`,
        );
      const existing = objects.filter((o) => !this.isNew(o));
      if (existing.length > 0)
        scope.report(
          'ban-drop-table',
          `DROP TABLE ${existing.map(displayName).join(', ')} deletes the table and its data; running code that uses it fails`,
        );
      for (const o of objects) this.settings.facts.dropTable(o.name);
    }
  }

  private reindex(s: ReindexStmt, scope: StatementScope): void {
    if (s.kind === 'REINDEX_OBJECT_SYSTEM') {
      // Advising CONCURRENTLY here would be wrong: PostgreSQL has none for the catalogs.
      scope.report(
        'ban-reindex-system',
        `REINDEX SYSTEM ${s.name ?? ''} rebuilds every system catalog index, blocking each catalog in turn; it cannot run concurrently`,
      );
      return;
    }
    const target = relationOf(s.relation);
    const what = target === undefined ? (s.name ?? '') : displayName(target);
    if (optionEnabled(s.params, 'concurrently')) {
      if (this.before(12)) this.requiresNewer('REINDEX CONCURRENTLY', 12, scope, REINDEX_BEFORE_12);
      else if (scope.inTransaction)
        scope.report(
          'concurrently-in-transaction',
          `REINDEX CONCURRENTLY ${what} cannot run inside a transaction block: ${this.whyInTransaction()}`,
        );
      return;
    }
    if (target !== undefined) {
      if (s.kind === 'REINDEX_OBJECT_INDEX' && this.newIndexes.has(target.name)) return;
      if (s.kind === 'REINDEX_OBJECT_TABLE' && this.isNew(target)) return;
    }
    scope.report(
      'reindex-without-concurrently',
      `REINDEX ${what} without CONCURRENTLY blocks writes to the table and reads that use the index while it rebuilds${this.before(12) ? ` (${this.pg} has no REINDEX CONCURRENTLY)` : ''}`,
      undefined,
      this.before(12) ? REINDEX_BEFORE_12 : undefined,
      s.kind === 'REINDEX_OBJECT_TABLE'
        ? this.small(target, 'the rebuild holds SHARE for milliseconds')
        : undefined,
    );
  }

  // ---- destructive statements ------------------------------------------------------------

  private truncate(relations: readonly Node[] | undefined, scope: StatementScope): void {
    const existing: RelationName[] = [];
    for (const r of relations ?? []) {
      const rel = 'RangeVar' in r ? relationOf(r.RangeVar) : undefined;
      if (rel !== undefined && !this.isNew(rel)) existing.push(rel);
    }
    if (existing.length > 0)
      scope.report(
        'ban-truncate',
        `TRUNCATE ${existing.map(displayName).join(', ')} deletes every row under ACCESS EXCLUSIVE`,
      );
  }

  private rename(s: RenameStmt, scope: StatementScope): void {
    const rel = relationOf(s.relation);
    if (rel === undefined) return;
    const facts = this.settings.facts;
    if (s.renameType === 'OBJECT_COLUMN') {
      if (!this.isNew(rel))
        scope.report(
          'renaming-column',
          `RENAME COLUMN ${s.subname ?? ''} TO ${s.newname ?? ''} on existing table ${displayName(rel)} breaks running code that uses the old name`,
        );
      if (s.subname !== undefined && s.newname !== undefined)
        facts.renameColumn(rel.name, s.subname, s.newname);
    } else if (s.renameType === 'OBJECT_TABLE') {
      if (!this.isNew(rel))
        scope.report(
          'renaming-table',
          `RENAME of existing table ${displayName(rel)} to ${s.newname ?? ''} breaks running code that uses the old name`,
        );
      else if (s.newname !== undefined) this.newTables.add({ schema: rel.schema, name: s.newname });
      if (s.newname !== undefined) facts.renameTable(rel.name, s.newname);
    }
  }

  // ---- CREATE TABLE ----------------------------------------------------------------------

  private createTable(s: CreateStmt, scope: StatementScope): void {
    const rel = relationOf(s.relation);
    if (rel === undefined) return;
    this.requireSchema('CREATE TABLE', s.relation, scope, 'is created in the first schema of');
    const facts = this.settings.facts;
    facts.dropTable(rel.name);
    const elements = [...(s.tableElts ?? []), ...(s.constraints ?? [])];
    const tableConstraints = elements.flatMap((e) => ('Constraint' in e ? [e.Constraint] : []));
    const keyColumns = new Set(
      tableConstraints.flatMap((c) => (c.contype === 'CONSTR_PRIMARY' ? stringsOf(c.keys) : [])),
    );
    for (const e of elements) {
      if (!('ColumnDef' in e) || e.ColumnDef.colname === undefined) continue;
      const col = e.ColumnDef;
      const type = columnTypeOf(col.typeName);
      const constraints = constraintsOf(col);
      this.generatedColumnVersion(constraints, scope);
      if (type !== undefined) {
        facts.setColumnType(rel.name, col.colname ?? '', type);
        const primaryKey =
          keyColumns.has(col.colname ?? '') ||
          constraints.some((c) => c.contype === 'CONSTR_PRIMARY');
        this.columnStyle(rel, col, type, scope, primaryKey);
      }
      for (const c of constraints)
        if (c.contype === 'CONSTR_CHECK') this.recordNotNullCheck(rel.name, c, true);
    }
    for (const c of tableConstraints)
      if (c.contype === 'CONSTR_CHECK') this.recordNotNullCheck(rel.name, c, true);
    this.newTables.add(rel);
  }

  private columnStyle(
    rel: RelationName,
    col: ColumnDef,
    type: ColumnType,
    scope: StatementScope,
    primaryKey = false,
  ): void {
    const column = `${displayName(rel)}.${col.colname ?? ''}`;
    const at = scope.at(col.location);
    if (SERIAL_TYPES.has(type.name))
      scope.report('prefer-identity', `column ${column} is ${type.name}`, at);
    if (type.name === 'varchar' && type.mods.length > 0)
      scope.report('prefer-text-field', `column ${column} is ${typeLabel(type)}`, at);
    if (type.name === 'bpchar')
      scope.report('ban-char-field', `column ${column} is ${typeLabel(type)}`, at);
    if (type.name === 'timestamp')
      scope.report(
        'prefer-timestamptz',
        `column ${column} is timestamp without time zone`,
        scope.at(col.typeName?.location) ?? at,
      );
    const limit = SMALL_INTEGER_LIMITS[type.name];
    if (limit !== undefined)
      scope.report(
        'prefer-bigint',
        `${primaryKey ? 'primary key column' : 'column'} ${column} is ${typeLabel(type)}: ${type.array ? 'each element stops' : 'values stop'} at ${limit}`,
        at,
      );
  }

  /** Generated columns came in 12 (STORED only); VIRTUAL, the default when STORED is not written, in 18. */
  private generatedColumnVersion(constraints: readonly Constraint[], scope: StatementScope): void {
    const generated = constraints.find((c) => c.contype === 'CONSTR_GENERATED');
    if (generated === undefined) return;
    const at = scope.at(generated.location);
    if (this.before(12))
      this.requiresNewer(
        'a generated column (GENERATED ALWAYS AS …)',
        12,
        scope,
        'Before PostgreSQL 12, fill the column from the application or a trigger.',
        at,
      );
    else if (generated.generated_kind === 'v' && this.before(18))
      this.requiresNewer(
        'a VIRTUAL generated column (GENERATED ALWAYS AS (…) without STORED)',
        18,
        scope,
        'Write STORED: before PostgreSQL 18 generated columns are stored, and STORED must be written. Added to an existing table, a stored generated column rewrites it (adding-field-with-volatile-default).',
        at,
      );
  }

  /**
   * SET NOT NULL (or ADD CONSTRAINT … NOT NULL) on an existing table: a scan under ACCESS
   * EXCLUSIVE unless a validated CHECK (col IS NOT NULL) proves it, which PostgreSQL uses from
   * 12 on. The advice follows the version: 18 adds NOT NULL … NOT VALID.
   */
  private setNotNull(rel: RelationName, column: string, what: string, scope: StatementScope): void {
    const facts = this.settings.facts;
    const check = facts.validatedNotNullCheck(rel.name, column);
    const proven = check !== undefined;
    // A CHECK a migration of the set declared passes silently, as before live facts.
    if (check !== undefined && !check.live && !this.before(12)) return;
    const cleared = facts.isNotNull(rel.name, column)
      ? `column ${column} is already NOT NULL in the database: SET NOT NULL changes nothing`
      : check !== undefined && !this.before(12)
        ? `the database has the validated CHECK ${check.name} (${column} IS NOT NULL): ${this.pg} skips the scan`
        : this.small(rel, 'the scan holds ACCESS EXCLUSIVE for milliseconds');
    const why = proven
      ? `${this.pg} scans even with the validated CHECK (${column} IS NOT NULL); it uses one to skip the scan only from PostgreSQL 12`
      : `no validated CHECK (${column} IS NOT NULL) precedes it in this migration set`;
    scope.report(
      'set-not-null-without-check',
      `${what} on existing table ${displayName(rel)} scans the whole table under ACCESS EXCLUSIVE: ${why}`,
      undefined,
      this.before(12)
        ? SET_NOT_NULL_HELP.before12
        : this.before(18)
          ? SET_NOT_NULL_HELP.check
          : SET_NOT_NULL_HELP.notValid,
      cleared,
    );
  }

  private recordNotNullCheck(table: string, c: Constraint, validated: boolean): string {
    const columns = notNullColumnsOf(c.raw_expr);
    // PostgreSQL names an unnamed CHECK <table>_<first column>_check.
    const name = c.conname ?? `${table}_${columns[0] ?? ''}_check`;
    if (columns.length > 0) this.settings.facts.addNotNullCheck(table, name, columns, validated);
    return name;
  }

  // ---- ALTER TABLE -----------------------------------------------------------------------

  private alterTable(s: AlterTableStmt, scope: StatementScope): void {
    if (s.objtype !== undefined && s.objtype !== 'OBJECT_TABLE') return;
    const rel = relationOf(s.relation);
    if (rel === undefined) return;
    this.requireSchema('ALTER TABLE', s.relation, scope);
    for (const c of s.cmds ?? []) {
      if ('AlterTableCmd' in c) this.alterTableCmd(rel, c.AlterTableCmd, scope);
    }
  }

  private alterTableCmd(rel: RelationName, cmd: AlterTableCmd, scope: StatementScope): void {
    const existing = !this.isNew(rel);
    const table = displayName(rel);
    const facts = this.settings.facts;
    const def = cmd.def;
    const column = cmd.name ?? '';
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        if (def !== undefined && 'ColumnDef' in def) this.addColumn(rel, def.ColumnDef, scope);
        break;
      case 'AT_AlterColumnType':
        if (def !== undefined && 'ColumnDef' in def)
          this.alterColumnType(rel, column, def.ColumnDef, scope);
        break;
      case 'AT_SetNotNull':
        if (existing) this.setNotNull(rel, column, `ALTER COLUMN ${column} SET NOT NULL`, scope);
        break;
      case 'AT_DropNotNull':
        facts.dropNotNull(rel.name, column);
        if (existing)
          scope.report(
            'ban-drop-not-null',
            `ALTER COLUMN ${column} DROP NOT NULL on existing table ${table}: running code assumes ${column} is never NULL and breaks on the first NULL written`,
          );
        break;
      case 'AT_DropColumn':
        if (existing)
          scope.report(
            'ban-drop-column',
            `DROP COLUMN ${column} on existing table ${table} deletes its data; running code that reads or writes it fails`,
          );
        facts.dropColumn(rel.name, column);
        break;
      case 'AT_AddConstraint':
        if (def !== undefined && 'Constraint' in def)
          this.addConstraint(rel, def.Constraint, scope);
        break;
      case 'AT_ValidateConstraint':
        if (scope.inTransaction && this.notValidHere.has(`${rel.name}\u0000${column}`))
          scope.report(
            'constraint-missing-not-valid',
            `VALIDATE CONSTRAINT ${column} runs in the same transaction that added it NOT VALID, so the ADD's lock on ${table} is held for the whole validating scan; validate in a later migration`,
          );
        facts.validateConstraint(rel.name, column);
        break;
      case 'AT_DropConstraint':
        facts.dropConstraint(rel.name, column);
        break;
      case 'AT_DetachPartition': {
        const concurrent =
          def !== undefined && 'PartitionCmd' in def && def.PartitionCmd.concurrent === true;
        if (concurrent && this.before(14))
          this.requiresNewer('DETACH PARTITION … CONCURRENTLY', 14, scope, DETACH_BEFORE_14);
        else if (concurrent && scope.inTransaction)
          scope.report(
            'concurrently-in-transaction',
            `DETACH PARTITION … CONCURRENTLY cannot run inside a transaction block: ${this.whyInTransaction()}`,
          );
        else if (!concurrent && existing)
          scope.report(
            'require-concurrent-partition-detach',
            `DETACH PARTITION on ${table} without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent, blocking reads and writes${this.before(14) ? ` (${this.pg} has no DETACH PARTITION … CONCURRENTLY)` : ''}`,
            undefined,
            this.before(14) ? DETACH_BEFORE_14 : undefined,
          );
        break;
      }
      default: {
        const rewrite = cmd.subtype === undefined ? undefined : REWRITING_SUBTYPES[cmd.subtype];
        if (cmd.subtype === 'AT_SetAccessMethod' && this.before(15))
          this.requiresNewer(
            'ALTER TABLE … SET ACCESS METHOD',
            15,
            scope,
            'Before PostgreSQL 15 a table changes access method only by being copied: create the new table with USING <method>, copy the rows over and switch (expand/contract).',
          );
        else if (rewrite !== undefined && existing)
          scope.report(
            'table-rewrite',
            `ALTER TABLE ${table} ${rewrite} rewrites the whole table under ACCESS EXCLUSIVE`,
          );
      }
    }
  }

  private addColumn(rel: RelationName, col: ColumnDef, scope: StatementScope): void {
    const table = displayName(rel);
    const name = col.colname ?? '';
    const type = columnTypeOf(col.typeName);
    const constraints = constraintsOf(col);
    const has = (t: Constraint['contype']) => constraints.find((c) => c.contype === t);
    const pk = has('CONSTR_PRIMARY');
    if (type !== undefined) {
      this.settings.facts.setColumnType(rel.name, name, type);
      this.columnStyle(rel, col, type, scope, pk !== undefined);
    }
    this.generatedColumnVersion(constraints, scope);
    for (const c of constraints)
      if (c.contype === 'CONSTR_CHECK') this.recordNotNullCheck(rel.name, c, true);
    if (this.isNew(rel)) return;

    const at = scope.at(col.location);
    const dflt = has('CONSTR_DEFAULT');
    const generated = has('CONSTR_GENERATED');
    const identity = has('CONSTR_IDENTITY');
    const serial = type !== undefined && SERIAL_TYPES.has(type.name);
    const volatile = (why: string, help?: string): void => {
      scope.report(
        'adding-field-with-volatile-default',
        `ADD COLUMN ${name} on existing table ${table}: ${why}, so every row is rewritten under ACCESS EXCLUSIVE`,
        at,
        help,
      );
    };
    // A VIRTUAL one (PostgreSQL 18) is computed when read: nothing is written to the rows.
    if (generated) {
      if (generated.generated_kind !== 'v')
        volatile('a stored generated column is computed for every existing row');
    } else if (identity) volatile('an identity column fills every existing row from its sequence');
    else if (serial) volatile(`a ${type.name} column fills every existing row from nextval()`);
    else if (dflt) {
      const v = defaultVolatility(dflt.raw_expr);
      if (v.kind === 'volatile') volatile(`DEFAULT calls ${v.fn}(), which is volatile`);
      else if (v.kind === 'unknown')
        volatile(
          `DEFAULT calls ${v.fn}(), which is not a known non-volatile built-in (if it is IMMUTABLE or STABLE there is no rewrite: ignore this finding)`,
        );
      // PostgreSQL 11 stores a non-volatile default once in the catalog; before, every row got it.
      else if (this.before(11) && !isNullConstant(dflt.raw_expr))
        volatile(
          `before PostgreSQL 11 a DEFAULT, even a constant one, is written into every existing row (linted for ${this.pg})`,
          DEFAULT_BEFORE_11,
        );
    }
    const notNull = has('CONSTR_NOTNULL') !== undefined || pk !== undefined;
    const hasValue = dflt ?? generated ?? identity;
    if (notNull && hasValue === undefined && !serial)
      scope.report(
        'adding-required-field',
        `ADD COLUMN ${name} ${pk ? 'PRIMARY KEY' : 'NOT NULL'} without a DEFAULT on existing table ${table} fails if the table has rows, and running code that inserts without it fails`,
        at,
      );
    if (pk)
      scope.report(
        'adding-primary-key-without-index',
        `ADD COLUMN ${name} … PRIMARY KEY on existing table ${table} builds the key's index under ACCESS EXCLUSIVE`,
        at,
      );
    if (has('CONSTR_UNIQUE'))
      scope.report(
        'disallowed-unique-constraint',
        `ADD COLUMN ${name} … UNIQUE on existing table ${table} builds a unique index under ACCESS EXCLUSIVE`,
        at,
      );
    const fk = has('CONSTR_FOREIGN');
    if (fk)
      scope.report(
        'constraint-missing-not-valid',
        `ADD COLUMN ${name} … REFERENCES ${displayName(relationOf(fk.pktable) ?? { schema: undefined, name: '?' })} validates the new foreign key against every row of ${table} while holding its lock; add the column first, then the constraint NOT VALID`,
        at,
      );
    if (has('CONSTR_CHECK'))
      scope.report(
        'constraint-missing-not-valid',
        `ADD COLUMN ${name} … CHECK on existing table ${table} checks every row under ACCESS EXCLUSIVE; add the column first, then the constraint NOT VALID`,
        at,
      );
  }

  private alterColumnType(
    rel: RelationName,
    column: string,
    col: ColumnDef,
    scope: StatementScope,
  ): void {
    const facts = this.settings.facts;
    const next = columnTypeOf(col.typeName);
    const previous = facts.columnType(rel.name, column);
    const previousLive = facts.columnTypeIsLive(rel.name, column);
    if (next !== undefined) {
      this.columnStyle(rel, { ...col, colname: column }, next, scope);
      facts.setColumnType(rel.name, column, next);
    }
    if (this.isNew(rel)) return;
    const using = col.raw_default !== undefined;
    const catalogOnly =
      !using && previous !== undefined && next !== undefined && noRewrite(previous, next);
    // A type a migration of the set declared passes silently, as before live facts.
    if (catalogOnly && !previousLive) return;
    const from = previous === undefined ? '' : ` from ${typeLabel(previous)}`;
    const to = next === undefined ? '' : ` to ${typeLabel(next)}`;
    scope.report(
      'changing-column-type',
      `ALTER COLUMN ${column} TYPE on existing table ${displayName(rel)}${from}${to} rewrites the table and its indexes under ACCESS EXCLUSIVE and can break running code`,
      undefined,
      undefined,
      catalogOnly
        ? `column ${column} is ${typeLabel(previous)} in the database: ${typeLabel(next)} is binary-compatible, a catalog-only change (no rewrite, ACCESS EXCLUSIVE for milliseconds)`
        : undefined,
    );
  }

  private addConstraint(rel: RelationName, c: Constraint, scope: StatementScope): void {
    const existing = !this.isNew(rel);
    const table = displayName(rel);
    const notValid = c.skip_validation === true;
    const at = scope.at(c.location);
    switch (c.contype) {
      case 'CONSTR_CHECK': {
        const name = this.recordNotNullCheck(rel.name, c, !notValid);
        if (!existing) break;
        if (notValid) this.notValidHere.add(`${rel.name}\u0000${name}`);
        else
          scope.report(
            'constraint-missing-not-valid',
            `ADD CONSTRAINT ${c.conname ?? ''} CHECK on existing table ${table} without NOT VALID checks every row while holding ACCESS EXCLUSIVE`,
            at,
            undefined,
            this.small(rel, 'the validating scan holds ACCESS EXCLUSIVE for milliseconds'),
          );
        break;
      }
      case 'CONSTR_FOREIGN': {
        const name = c.conname ?? `${rel.name}_${stringsOf(c.fk_attrs).join('_')}_fkey`;
        if (!existing) break;
        const target = relationOf(c.pktable);
        if (notValid) this.notValidHere.add(`${rel.name}\u0000${name}`);
        else
          scope.report(
            'constraint-missing-not-valid',
            `ADD FOREIGN KEY ${c.conname ?? ''} on existing table ${table} without NOT VALID checks every row while ${table}${target === undefined ? '' : ` and ${displayName(target)}`} are locked against writes (SHARE ROW EXCLUSIVE)`,
            at,
            undefined,
            // Both tables are locked, and the check probes the referenced one per row.
            this.small(target, '') === undefined
              ? undefined
              : this.small(
                  rel,
                  `and so is ${displayName(target ?? rel)}: the validating scan holds their locks for milliseconds`,
                ),
          );
        break;
      }
      case 'CONSTR_PRIMARY':
        if (existing && c.indexname === undefined)
          scope.report(
            'adding-primary-key-without-index',
            `ADD PRIMARY KEY on existing table ${table} builds its index under ACCESS EXCLUSIVE, blocking reads and writes for the whole build`,
            at,
            undefined,
            this.small(rel, 'the index build holds ACCESS EXCLUSIVE for milliseconds'),
          );
        break;
      case 'CONSTR_UNIQUE':
        if (existing && c.indexname === undefined)
          scope.report(
            'disallowed-unique-constraint',
            `ADD UNIQUE ${c.conname ?? ''} on existing table ${table} builds its index under ACCESS EXCLUSIVE, blocking reads and writes for the whole build`,
            at,
            undefined,
            this.small(rel, 'the index build holds ACCESS EXCLUSIVE for milliseconds'),
          );
        break;
      case 'CONSTR_NOTNULL': {
        const columns = stringsOf(c.keys);
        if (this.before(18)) {
          this.requiresNewer(
            notValid
              ? 'ADD CONSTRAINT … NOT NULL … NOT VALID'
              : 'ADD CONSTRAINT … NOT NULL (a NOT NULL table constraint)',
            18,
            scope,
            `Before PostgreSQL 18: ${this.before(12) ? SET_NOT_NULL_HELP.before12 : SET_NOT_NULL_HELP.check}`,
            at,
          );
          break;
        }
        // Checked before it is recorded: a validated NOT NULL proves itself only once added.
        if (existing && !notValid)
          for (const col of columns)
            this.setNotNull(rel, col, `ADD CONSTRAINT ${c.conname ?? ''} NOT NULL ${col}`, scope);
        // PostgreSQL names an unnamed one <table>_<column>_not_null.
        const name = c.conname ?? `${rel.name}_${columns[0] ?? ''}_not_null`;
        this.settings.facts.addNotNullCheck(rel.name, name, columns, !notValid);
        if (existing && notValid) this.notValidHere.add(`${rel.name}\u0000${name}`);
        break;
      }
      case 'CONSTR_EXCLUSION':
        if (existing)
          scope.report(
            'add-exclusion-constraint',
            `ADD EXCLUDE ${c.conname ?? ''} on existing table ${table} builds its index under ACCESS EXCLUSIVE, blocking reads and writes for the whole build`,
            at,
          );
        break;
      default:
        break;
    }
  }

  // ---- maintenance statements ------------------------------------------------------------

  private vacuum(s: VacuumStmt, scope: StatementScope): void {
    if (s.is_vacuumcmd !== true || !optionEnabled(s.options, 'full')) return;
    const rels: RelationName[] = [];
    for (const r of s.rels ?? []) {
      const rel = 'VacuumRelation' in r ? relationOf(r.VacuumRelation.relation) : undefined;
      if (rel !== undefined) rels.push(rel);
    }
    const existing = rels.filter((r) => !this.isNew(r));
    if (rels.length > 0 && existing.length === 0) return;
    scope.report(
      'ban-vacuum-full',
      `VACUUM FULL ${existing.length === 0 ? '(every table)' : existing.map(displayName).join(', ')} rewrites under ACCESS EXCLUSIVE`,
    );
  }

  private cluster(relation: RangeVar | undefined, scope: StatementScope): void {
    const rel = relationOf(relation);
    if (rel !== undefined && this.isNew(rel)) return;
    scope.report(
      'ban-cluster',
      `CLUSTER ${rel === undefined ? '(every clustered table)' : displayName(rel)} rewrites under ACCESS EXCLUSIVE`,
    );
  }

  private refresh(s: RefreshMatViewStmt, scope: StatementScope): void {
    const rel = relationOf(s.relation);
    if (s.concurrent === true || rel === undefined || this.isNew(rel)) return;
    scope.report(
      'require-concurrent-refresh',
      `REFRESH MATERIALIZED VIEW ${displayName(rel)} without CONCURRENTLY blocks reads of the view until it finishes`,
    );
  }

  private alterDomain(s: AlterDomainStmt, scope: StatementScope): void {
    const domain = stringsOf(s.typeName).join('.');
    if (s.subtype === 'C' && s.def !== undefined && 'Constraint' in s.def) {
      if (s.def.Constraint.skip_validation === true) return;
      scope.report(
        'ban-alter-domain-with-add-constraint',
        `ALTER DOMAIN ${domain} ADD CONSTRAINT checks every column of the domain in every table while holding SHARE locks on them (writes blocked)`,
      );
    } else if (s.subtype === 'O') {
      // 'O' is SET NOT NULL ('N' is DROP NOT NULL).
      scope.report(
        'ban-alter-domain-with-add-constraint',
        `ALTER DOMAIN ${domain} SET NOT NULL checks every column of the domain in every table while holding SHARE locks on them (writes blocked)`,
      );
    }
  }

  private createDomain(s: CreateDomainStmt, scope: StatementScope): void {
    const kinds = new Set<string>();
    let at: number | undefined;
    for (const n of s.constraints ?? []) {
      if (!('Constraint' in n)) continue;
      const c = n.Constraint;
      // DEFAULT and NULL are listed as constraints too, but restrict nothing.
      const kind =
        c.contype === 'CONSTR_CHECK' ? 'CHECK' : c.contype === 'CONSTR_NOTNULL' ? 'NOT NULL' : '';
      if (kind === '') continue;
      kinds.add(kind);
      at ??= scope.at(c.location);
    }
    if (kinds.size === 0) return;
    scope.report(
      'ban-create-domain-with-constraint',
      `CREATE DOMAIN ${stringsOf(s.domainname).join('.')} with ${[...kinds].join(' and ')}: changing a domain's constraints later re-checks every column of the domain in every table`,
      at,
    );
  }

  private alterEnum(s: AlterEnumStmt, scope: StatementScope): void {
    const type = stringsOf(s.typeName).join('.');
    if (
      s.newVal !== undefined &&
      s.oldVal === undefined &&
      scope.inTransaction &&
      this.before(12) &&
      !this.newEnums.has(type)
    )
      this.requiresNewer(
        'ALTER TYPE … ADD VALUE inside a transaction block',
        12,
        scope,
        'Before PostgreSQL 12, ADD VALUE runs only outside a transaction block (unless the type was created in the same one): put it in its own migration with `-- dbmigrate:transaction=false`.',
      );
    // RENAME VALUE has oldVal and no newValNeighbor: it moves nothing.
    if (s.newVal === undefined || s.oldVal !== undefined || s.newValNeighbor !== undefined) return;
    scope.report(
      'require-enum-value-ordering',
      `ALTER TYPE ${type} ADD VALUE '${s.newVal}' without BEFORE or AFTER appends it as the greatest value of ${type}, which comparisons and ORDER BY on its columns then see`,
    );
  }
}

/** A timeout setting of the migration's session, as SET and RESET in the migration change it. */
class SessionTimeout {
  /** Reported once per migration. */
  reported = false;

  constructor(
    private readonly name: 'lock_timeout' | 'statement_timeout',
    /** 0 means none; any other value counts as set (the linter does not judge its size). */
    private ms: number,
    /** Where the current value came from, for the message. */
    public source: string,
  ) {}

  /** 0 and not yet reported. */
  unset(): boolean {
    return this.ms === 0 && !this.reported;
  }

  follow(s: VariableSetStmt, line: number): void {
    const name = s.name?.toLowerCase();
    if (s.kind === 'VAR_RESET_ALL' || (name === this.name && s.kind !== 'VAR_SET_VALUE')) {
      if (name !== undefined && name !== this.name) return;
      // RESET (and SET … TO DEFAULT) go back to the session's default from the server or role
      // settings, not to the value the engine set.
      this.ms = 0;
      this.source = `reset at line ${line} to the server default, 0 unless the server sets one`;
      return;
    }
    if (name !== this.name || s.kind !== 'VAR_SET_VALUE') return;
    const zero = isZeroSetting(s.args?.[0]);
    this.ms = zero ? 0 : 1;
    if (zero) this.source = `SET ${this.name} = 0 at line ${line}`;
  }
}

const REINDEX_BEFORE_12 =
  'PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a replacement with CREATE INDEX CONCURRENTLY new_idx (same definition), then DROP INDEX CONCURRENTLY the old one and ALTER INDEX new_idx RENAME TO the old name, in a migration with `-- dbmigrate:transaction=false`. An index behind a constraint needs ADD CONSTRAINT … USING INDEX instead of the drop.';

const DETACH_BEFORE_14 =
  'PostgreSQL before 14 has no DETACH PARTITION … CONCURRENTLY: detach in a maintenance window (`-- dbmigrate:window=required`) with a short lock_timeout, and ignore this finding with the reason; or leave the partition attached and stop writing to it.';

const DEFAULT_BEFORE_11 =
  'Before PostgreSQL 11 every DEFAULT on ADD COLUMN rewrites the table: add the column nullable without a default, ALTER COLUMN … SET DEFAULT for new rows (no rewrite), backfill existing rows in batches, then add NOT NULL (see set-not-null-without-check). From PostgreSQL 11 a non-volatile default needs no rewrite.';

/** `16 kB`, `9.5 MB`: sizes in findings, rounded as pg_size_pretty rounds them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${String(bytes)} bytes`;
  if (bytes < 1024 * 1024) return `${String(Math.round(bytes / 1024))} kB`;
  const mb = bytes / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1).replace(/\.0$/, '') : String(Math.round(mb))} MB`;
}

/** `DEFAULT NULL`: no value to write, on any version. */
function isNullConstant(expr: Node | undefined): boolean {
  return expr !== undefined && 'A_Const' in expr && expr.A_Const.isnull === true;
}

/** Type changes PostgreSQL makes without rewriting the table (binary-compatible). */
function noRewrite(from: ColumnType, to: ColumnType): boolean {
  if (from.array !== to.array) return false;
  const [fromLen] = from.mods;
  const [toLen] = to.mods;
  if (from.name === to.name && from.mods.join() === to.mods.join()) return true;
  const textual = (t: ColumnType) => t.name === 'text' || t.name === 'varchar';
  if (textual(from) && textual(to)) {
    if (to.name === 'text' || toLen === undefined) return true;
    return from.name === 'varchar' && fromLen !== undefined && toLen >= fromLen;
  }
  if (from.name === 'numeric' && to.name === 'numeric') {
    if (to.mods.length === 0) return true;
    const [p1, s1 = 0] = from.mods;
    const [p2, s2 = 0] = to.mods;
    return p1 !== undefined && p2 !== undefined && s1 === s2 && p2 >= p1;
  }
  if (from.name === 'varbit' && to.name === 'varbit')
    return toLen === undefined || (fromLen !== undefined && toLen >= fromLen);
  return false;
}

/** `SET lock_timeout = 0`, `'0'`, `'0s'`, `0.0` … */
function isZeroSetting(arg: Node | undefined): boolean {
  if (arg === undefined) return false;
  const asInt = integerOf(arg);
  if (asInt !== undefined) return asInt === 0;
  let text: string | undefined;
  if ('A_Const' in arg) text = arg.A_Const.sval?.sval ?? arg.A_Const.fval?.fval;
  else text = stringOf(arg);
  if (text === undefined) return false;
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*[a-z]*\s*$/i.exec(text);
  return m?.[1] !== undefined && Number(m[1]) === 0;
}
