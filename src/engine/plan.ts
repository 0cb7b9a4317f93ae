import { statementsChecksum } from './checksum.js';
import type { ValidationIssue } from './errors.js';
import { UnknownTargetError } from './errors.js';
import type { MigrationGraph } from './graph.js';
import {
  isInEffect,
  isInEffectAction,
  isPartial,
  resumesOnItsOwn,
  type HistoryRecord,
} from './history.js';
import {
  compareMigrationIds,
  migrationIdKey,
  sameMigrationId,
  type Migration,
} from './migration.js';

export type MigrationState =
  'applied' | 'baselined' | 'pending' | 'failed' | 'partial' | 'rolled_back' | 'missing_file';

/** One line of `dbmigrate status`: a file, a history row, or both. */
export interface MigrationStatusEntry {
  readonly id: string;
  readonly name: string;
  readonly file: string | null;
  readonly state: MigrationState;
  readonly checksum: string | null;
  readonly appliedChecksum: string | null;
  readonly drifted: boolean;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly transactional: boolean;
}

/** A resumable partial migration: where it stopped and whether its done part is unchanged. */
export interface ResumePoint {
  readonly migration: Migration;
  readonly record: HistoryRecord;
  readonly fromStatement: number;
}

/** An index left INVALID by a failed CREATE INDEX CONCURRENTLY. */
export interface InvalidIndex {
  readonly schema: string;
  readonly name: string;
  readonly table: string;
}

export interface ValidationContext {
  readonly invalidIndexes: readonly InvalidIndex[];
  /** Apply migrations with IDs below the highest applied one (otherwise refused). */
  readonly allowOutOfOrder: boolean;
  /** Continue partial non-transactional migrations from their last completed statement. */
  readonly resume: boolean;
  /** Per migration, the last outcome the append-only events log records (see HistoryStore). */
  readonly lastOutcomes?: ReadonlyMap<string, string>;
  /**
   * Tables, views and sequences found in a database with no history at all (see
   * readUnrecordedRelations): applying onto them needs a baseline first, as in Flyway.
   */
  readonly unrecordedRelations?: readonly string[];
}

export function historyById(history: readonly HistoryRecord[]): Map<string, HistoryRecord> {
  return new Map(history.map((r) => [migrationIdKey(r.id), r]));
}

function recordFor(
  records: ReadonlyMap<string, HistoryRecord>,
  id: string,
): HistoryRecord | undefined {
  return records.get(migrationIdKey(id));
}

export function migrationStatus(
  graph: MigrationGraph,
  history: readonly HistoryRecord[],
): MigrationStatusEntry[] {
  const records = historyById(history);
  const entries: MigrationStatusEntry[] = graph.ordered.map((m) => {
    const r = recordFor(records, m.id);
    return {
      id: m.id,
      name: m.name,
      file: m.file,
      state: r ? stateOf(r) : 'pending',
      checksum: m.checksum,
      appliedChecksum: r?.checksum ?? null,
      drifted: r !== undefined && isInEffect(r) && r.checksum !== m.checksum,
      finishedAt: r?.finishedAt ?? null,
      durationMs: r?.durationMs ?? null,
      transactional: m.directives.transaction,
    };
  });
  const known = new Set(graph.ordered.map((m) => migrationIdKey(m.id)));
  for (const r of history) {
    if (known.has(migrationIdKey(r.id))) continue;
    entries.push({
      id: r.id,
      name: r.name,
      file: null,
      state: isInEffect(r) || isPartial(r) ? 'missing_file' : stateOf(r),
      checksum: null,
      appliedChecksum: r.checksum,
      drifted: false,
      finishedAt: r.finishedAt,
      durationMs: r.durationMs,
      transactional: r.transactional,
    });
  }
  return entries.sort((a, b) => compareMigrationIds(a.id, b.id));
}

function stateOf(r: HistoryRecord): MigrationState {
  if (isPartial(r)) return 'partial';
  if (r.status === 'running') return 'failed';
  return r.status;
}

/** Migrations that still need to run, in order, optionally only up to `target` and what it needs. */
export function pendingMigrations(
  graph: MigrationGraph,
  history: readonly HistoryRecord[],
  target?: string,
): Migration[] {
  const records = historyById(history);
  const wanted = target === undefined ? null : dependencyClosure(graph, target);
  return graph.ordered.filter((m) => {
    const r = recordFor(records, m.id);
    if (r && isInEffect(r)) return false;
    return wanted === null || wanted.has(m.id);
  });
}

/** `target` and everything it depends on, transitively. */
export function dependencyClosure(graph: MigrationGraph, target: string): Set<string> {
  const start = graph.ordered.find((m) => sameMigrationId(m.id, target));
  if (!start) throw new UnknownTargetError(target);
  const seen = new Set<string>();
  const stack = [start.id];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(graph.dependencies.get(id) ?? []));
  }
  return seen;
}

/**
 * Applied migrations above `target`, newest first: what a rollback to `target` undoes.
 * `target` itself stays applied.
 */
export function rollbackSet(
  graph: MigrationGraph,
  history: readonly HistoryRecord[],
  target: string,
): Migration[] {
  // 0 is "before the first migration": roll back every one.
  const everything = /^0+$/.test(target);
  if (!everything && !graph.ordered.some((m) => sameMigrationId(m.id, target))) {
    throw new UnknownTargetError(target);
  }
  const records = historyById(history);
  return graph.ordered
    .filter((m) => {
      const r = recordFor(records, m.id);
      return compareMigrationIds(m.id, target) > 0 && r !== undefined && r.status === 'applied';
    })
    .reverse();
}

/** Where each partial migration would resume, when its done part is unchanged. */
export function resumePoints(
  graph: MigrationGraph,
  history: readonly HistoryRecord[],
): ResumePoint[] {
  const records = historyById(history);
  const points: ResumePoint[] = [];
  for (const m of graph.ordered) {
    const r = recordFor(records, m.id);
    if (!r || !isPartial(r) || m.directives.transaction) continue;
    const statements = m.up.statements.map((s) => s.sql);
    if (
      r.statementsDone <= statements.length &&
      statementsChecksum(statements, r.statementsDone) === (r.doneChecksum ?? '')
    ) {
      points.push({ migration: m, record: r, fromStatement: r.statementsDone });
    }
  }
  return points;
}

/** Names of the indexes that the CREATE INDEX CONCURRENTLY statements among `statements` build. */
export function concurrentIndexNames(statements: readonly string[]): string[] {
  const names: string[] = [];
  for (const sql of statements) {
    const m =
      /^create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?(?!on\s)("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/i.exec(
        sql,
      );
    if (m?.[1]) names.push(identifierName(m[1]));
  }
  return names;
}

/**
 * The index name and table of a `CREATE INDEX CONCURRENTLY` statement (schema-less names as
 * PostgreSQL folds them), or null for any other statement.
 */
export function concurrentIndexTarget(sql: string): { index: string; table: string } | null {
  const ident = '("(?:[^"]|"")+"|[A-Za-z_][\\w$]*)';
  const m = new RegExp(
    `^\\s*create\\s+(?:unique\\s+)?index\\s+concurrently\\s+(?:if\\s+not\\s+exists\\s+)?${ident}\\s+on\\s+(?:only\\s+)?(?:${ident}\\.)?${ident}`,
    'i',
  ).exec(sql);
  if (!m?.[1] || !m[3]) return null;
  return { index: identifierName(m[1]), table: identifierName(m[3]) };
}

function identifierName(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token.toLowerCase();
}

/**
 * Everything that makes applying unsafe, each with how to fix it. Pure: the caller reads
 * history and invalid indexes from the database (under the migration lock) and passes them in.
 */
export function validateAgainstHistory(
  graph: MigrationGraph,
  history: readonly HistoryRecord[],
  context: ValidationContext,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const files = new Map(graph.ordered.map((m) => [migrationIdKey(m.id), m]));
  // The events log is append-only: a history row that contradicts it was edited by hand, and
  // trusting the row would run an applied migration a second time.
  const rows = historyById(history);
  for (const [id, outcome] of context.lastOutcomes ?? []) {
    if (!isInEffectAction(outcome)) continue;
    const r = rows.get(id);
    if (r && isInEffect(r)) continue;
    const shown = files.get(id)?.id ?? r?.id ?? id;
    issues.push({
      code: 'HISTORY_MISMATCH',
      migrationId: shown,
      message: `the events log records migration ${shown} as ${outcome}, but the history table ${r ? `says ${r.status}` : 'has no row for it'}; the history table was edited by hand`,
      fix: `run \`dbmigrate repair ${shown}\`: it restores the row from the events log; do not re-run migration ${shown}: its changes are in the database`,
    });
  }
  const unrecorded = context.unrecordedRelations ?? [];
  if (history.length === 0 && (context.lastOutcomes?.size ?? 0) === 0 && unrecorded.length > 0) {
    // Migration 0001 would run against objects it did not create, and a CREATE that happens to
    // succeed would hide that the schema was built some other way.
    const first = graph.ordered[0];
    const shown = unrecorded.slice(0, 5).join(', ');
    const more =
      unrecorded.length > 5
        ? ` and ${unrecorded.length >= 50 ? 'more' : `${String(unrecorded.length - 5)} more`}`
        : '';
    issues.push({
      code: 'NOT_EMPTY_WITHOUT_HISTORY',
      migrationId: null,
      message: `the database already holds ${shown}${more}, but no migration history: its schema was not built by these migrations`,
      fix: `adopt it with \`dbmigrate baseline --version ID\` (ID: the last migration whose changes it already has${first ? `, e.g. ${first.id}` : ''}) or \`dbmigrate baseline --from sqlx|flyway\`, then apply; or apply to an empty database`,
    });
  }
  const resumable = new Map(
    resumePoints(graph, history).map((p) => [migrationIdKey(p.migration.id), p]),
  );
  let highestApplied: string | null = null;

  for (const r of history) {
    const m = files.get(migrationIdKey(r.id));
    if (isInEffect(r) && (highestApplied === null || compareMigrationIds(r.id, highestApplied) > 0))
      highestApplied = r.id;
    if (!m) {
      if (isInEffect(r) || isPartial(r)) {
        issues.push({
          code: 'MISSING_FILE',
          migrationId: r.id,
          message: `migration ${r.id} (${r.name}) is recorded as ${r.status} in the database but its file is missing`,
          fix: `restore ${r.id}_${r.name}.sql to the migrations source (checksum ${r.checksum.slice(0, 12)}); applied migrations must never be deleted`,
        });
      }
      continue;
    }
    if (isInEffect(r) && r.checksum !== m.checksum) {
      issues.push({
        code: 'CHECKSUM_DRIFT',
        migrationId: r.id,
        message: `${m.file}: changed after it was ${r.status} (recorded checksum ${r.checksum.slice(0, 12)}, file now ${m.checksum.slice(0, 12)})`,
        fix: `restore ${m.file} to what was applied and put the change in a new migration; if the database already matches the edited file, run \`dbmigrate repair ${r.id}\` to accept the new checksum`,
      });
    }
    if (isPartial(r)) {
      const stoppedAt = `${r.status === 'running' ? 'was interrupted' : 'failed'} after ${r.statementsDone} of ${r.statementsTotal} statements`;
      const continues = resumesOnItsOwn(r) && resumable.has(migrationIdKey(r.id));
      if (!context.resume && !continues) {
        issues.push({
          code: r.status === 'running' ? 'INTERRUPTED' : 'HALF_APPLIED',
          migrationId: r.id,
          message: `${m.file}: non-transactional migration ${stoppedAt}${r.error ? ` (${r.error})` : ''}`,
          fix: `fix the cause, then run \`dbmigrate apply --resume\` to continue at statement ${r.statementsDone + 1} (an invalid index it left is dropped and rebuilt), or undo its done statements by hand and run \`dbmigrate repair ${r.id}\``,
        });
      } else if (!resumable.has(migrationIdKey(r.id))) {
        issues.push({
          code: 'HALF_APPLIED',
          migrationId: r.id,
          message: `${m.file}: non-transactional migration ${stoppedAt}, and the file changed in the part already applied, so it cannot be resumed`,
          fix: `restore the first ${r.statementsDone} statements of ${m.file} to what ran, or undo them by hand and run \`dbmigrate repair ${r.id}\``,
        });
      }
    }
  }

  if (!context.allowOutOfOrder && highestApplied !== null) {
    const records = historyById(history);
    for (const m of graph.ordered) {
      const r = recordFor(records, m.id);
      if (r && (isInEffect(r) || isPartial(r))) continue;
      if (compareMigrationIds(m.id, highestApplied) < 0) {
        issues.push({
          code: 'OUT_OF_ORDER',
          migrationId: m.id,
          message: `${m.file}: new migration ${m.id} sorts before ${highestApplied}, which is already applied`,
          fix: `renumber it above ${highestApplied}, or apply with --out-of-order if it really is independent of the later ones`,
        });
      }
    }
  }

  // Invalid indexes the run will drop and build again: those the remaining statements of a
  // migration it continues create, and those of a migration it runs from the start (after
  // `repair` forgot an interrupted one).
  const rebuilt = new Set<string>();
  for (const p of resumable.values()) {
    if (!context.resume && !resumesOnItsOwn(p.record)) continue;
    const remaining = p.migration.up.statements.slice(p.fromStatement).map((s) => s.sql);
    for (const name of concurrentIndexNames(remaining)) rebuilt.add(name);
  }
  for (const m of graph.ordered) {
    if (m.directives.transaction || recordFor(rows, m.id)) continue;
    for (const name of concurrentIndexNames(m.up.statements.map((s) => s.sql))) rebuilt.add(name);
  }
  for (const idx of context.invalidIndexes) {
    if (rebuilt.has(idx.name)) continue;
    issues.push({
      code: 'INVALID_INDEX',
      migrationId: null,
      message: `index ${idx.schema}.${idx.name} on ${idx.table} is INVALID (left by a failed CREATE INDEX CONCURRENTLY); it slows writes and serves no reads`,
      fix: `DROP INDEX CONCURRENTLY ${quoteIdent(idx.schema)}.${quoteIdent(idx.name)}; then re-run the migration that builds it${context.resume ? '' : ', or use --resume if that migration is partial'}`,
    });
  }
  return issues;
}

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
