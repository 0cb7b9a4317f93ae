// zod schemas of the history rows, for the words of the error when a row read back is not what
// dbmigrate writes, and for library callers. Loaded only then: the plain check in history.ts
// answers for every row that is fine.
import { z } from 'zod';
import {
  HISTORY_EVENT_ACTIONS,
  HISTORY_SOURCES,
  HISTORY_STATUSES,
  type HistoryEvent,
  type HistoryRecord,
} from './history.js';

export const HistoryStatusSchema = z.enum(HISTORY_STATUSES);

export const HistorySourceSchema = z.enum(HISTORY_SOURCES);

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

export const HistoryEventSchema = z.object({
  seq: z.number().int(),
  at: z.date(),
  runId: z.string(),
  migrationId: z.string(),
  action: z.enum(HISTORY_EVENT_ACTIONS),
  checksum: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  actor: z.string(),
  detail: z.string().nullable(),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** Compiles only while the plain types in history.ts and these schemas describe the same rows. */
export type HistorySchemasMatchTypes = [
  Assert<Same<z.infer<typeof HistoryRecordSchema>, HistoryRecord>>,
  Assert<Same<z.infer<typeof HistoryEventSchema>, HistoryEvent>>,
];
