import { z } from 'zod';

export const HistoryStatusSchema = z.enum([
  'running',
  'applied',
  'failed',
  'baselined',
  'rolled_back',
]);
export type HistoryStatus = z.infer<typeof HistoryStatusSchema>;

export const HistorySourceSchema = z.enum(['dbmigrate', 'baseline', 'sqlx', 'flyway']);
export type HistorySource = z.infer<typeof HistorySourceSchema>;

/** One row of the history table: the latest state of one migration in this database. */
export const HistoryRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  checksum: z.string(),
  status: HistoryStatusSchema,
  transactional: z.boolean(),
  statementsDone: z.number().int(),
  statementsTotal: z.number().int(),
  /** Checksum of the statements already done, so a resume can prove they did not change. */
  doneChecksum: z.string().nullable(),
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
  durationMs: z.number().int().nullable(),
  appliedBy: z.string(),
  runId: z.string(),
  error: z.string().nullable(),
  source: HistorySourceSchema,
});
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

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

export const HistoryEventSchema = z.object({
  seq: z.number().int(),
  at: z.date(),
  runId: z.string(),
  migrationId: z.string(),
  action: z.enum([
    'applied',
    'failed',
    'resumed',
    'rolled_back',
    'baselined',
    'imported',
    'repaired',
  ]),
  checksum: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  actor: z.string(),
  detail: z.string().nullable(),
});
export type HistoryEvent = z.infer<typeof HistoryEventSchema>;
