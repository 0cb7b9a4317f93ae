/** What a migration's history row says of it now. */
export const HISTORY_STATUSES = [
  'running',
  'applied',
  'failed',
  'baselined',
  'rolled_back',
] as const;
export type HistoryStatus = (typeof HISTORY_STATUSES)[number];

/** Who wrote a history row: this engine, a baseline, or an import from another tool's table. */
export const HISTORY_SOURCES = ['dbmigrate', 'baseline', 'sqlx', 'flyway'] as const;
export type HistorySource = (typeof HISTORY_SOURCES)[number];

/**
 * One row of the history table: the latest state of one migration in this database. A plain
 * type, checked by historyRecordOf (every command reads every row; zod's schema for it, in
 * history-schema.ts, words the error when a row fails).
 */
export interface HistoryRecord {
  id: string;
  name: string;
  checksum: string;
  status: HistoryStatus;
  transactional: boolean;
  statementsDone: number;
  statementsTotal: number;
  /** Checksum of the statements already done, so a resume can prove they did not change. */
  doneChecksum: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  appliedBy: string;
  runId: string;
  error: string | null;
  source: HistorySource;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());
const orNull =
  <T>(is: (v: unknown) => v is T) =>
  (v: unknown): v is T | null =>
    v === null || is(v);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): v is T =>
    (values as readonly unknown[]).includes(v);
// Built once: every command checks every history row with them.
const isStatus = oneOf(HISTORY_STATUSES);
const isSource = oneOf(HISTORY_SOURCES);
const isStringOrNull = orNull(isString);
const isDateOrNull = orNull(isDate);
const isIntOrNull = orNull(isInt);

/**
 * The record a history table row holds when every field has its type (what the zod schema in
 * history-schema.ts accepts, with the fields in its order), else undefined. It never accepts a
 * row that schema refuses; a row it refuses goes to the schema, which has the last word.
 */
export function historyRecordOf(row: Readonly<Record<string, unknown>>): HistoryRecord | undefined {
  const { id, name, checksum, status, transactional, statementsDone, statementsTotal } = row;
  const { doneChecksum, startedAt, finishedAt, durationMs, appliedBy, runId, error, source } = row;
  if (
    !isString(id) ||
    !isString(name) ||
    !isString(checksum) ||
    !isStatus(status) ||
    typeof transactional !== 'boolean' ||
    !isInt(statementsDone) ||
    !isInt(statementsTotal) ||
    !isStringOrNull(doneChecksum) ||
    !isDate(startedAt) ||
    !isDateOrNull(finishedAt) ||
    !isIntOrNull(durationMs) ||
    !isString(appliedBy) ||
    !isString(runId) ||
    !isStringOrNull(error) ||
    !isSource(source)
  )
    return undefined;
  return {
    id,
    name,
    checksum,
    status,
    transactional,
    statementsDone,
    statementsTotal,
    doneChecksum,
    startedAt,
    finishedAt,
    durationMs,
    appliedBy,
    runId,
    error,
    source,
  };
}

/** Applied or adopted: the database has this migration's effect. */
export function isInEffect(record: HistoryRecord): boolean {
  return record.status === 'applied' || record.status === 'baselined';
}

/** A non-transactional migration stopped part-way: some of its statements are in the database. */
export function isPartial(record: HistoryRecord): boolean {
  return !record.transactional && (record.status === 'failed' || record.status === 'running');
}

/** Events after which a migration's changes are in the database. */
export const IN_EFFECT_ACTIONS = ['applied', 'baselined', 'imported'] as const;
export type InEffectAction = (typeof IN_EFFECT_ACTIONS)[number];

/**
 * Events that decide whether a migration's changes are in the database: what the history
 * table must agree with. A repair is not one: it changes the bookkeeping, not the database.
 */
export const OUTCOME_ACTIONS: readonly string[] = [...IN_EFFECT_ACTIONS, 'rolled_back'];

export function isInEffectAction(action: string | undefined): action is InEffectAction {
  return (IN_EFFECT_ACTIONS as readonly (string | undefined)[]).includes(action);
}

/** The error code a failed row was recorded with (`[LOCK_TIMEOUT] …`), or null. */
export function failureCode(record: HistoryRecord): string | null {
  return /^\[([A-Z_]+)\] /.exec(record.error ?? '')?.[1] ?? null;
}

/**
 * A partial migration that a plain apply continues, without --resume: it stopped only because
 * its lock_timeout retries ran out, so nothing about its statements was wrong and the next
 * statement is the one to run (its done part is still checked against the file).
 */
export function resumesOnItsOwn(record: HistoryRecord): boolean {
  return isPartial(record) && record.status === 'failed' && failureCode(record) === 'LOCK_TIMEOUT';
}

export const HISTORY_EVENT_ACTIONS = [
  'applied',
  'failed',
  'resumed',
  'rolled_back',
  'baselined',
  'imported',
  'repaired',
] as const;

/** One entry of the append-only events log (history-schema.ts checks a row read back). */
export interface HistoryEvent {
  seq: number;
  at: Date;
  runId: string;
  migrationId: string;
  action: (typeof HISTORY_EVENT_ACTIONS)[number];
  checksum: string | null;
  durationMs: number | null;
  actor: string;
  detail: string | null;
}
