// The plain check of history rows (every command reads every row) against the zod schema that
// words the error: it never accepts a row the schema refuses, and gives what the schema gives.
import { describe, expect, it } from 'vitest';
import { historyRecordOf } from '../../src/engine/history.js';
import { HistoryRecordSchema } from '../../src/engine/history-schema.js';

const ROW: Readonly<Record<string, unknown>> = {
  id: '0001',
  name: 'create_docs',
  checksum: 'ab'.repeat(32),
  status: 'applied',
  transactional: true,
  statementsDone: 1,
  statementsTotal: 1,
  doneChecksum: null,
  startedAt: new Date('2026-01-02T03:04:05Z'),
  finishedAt: new Date('2026-01-02T03:04:06Z'),
  durationMs: 12,
  appliedBy: 'alice@host',
  runId: '5f0c1a52-0f5b-4d8e-9c1e-1b2b3c4d5e6f',
  error: null,
  source: 'dbmigrate',
};

/** A value of each JavaScript kind a hand-edited table (or a changed column type) could give. */
const ODD_VALUES: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  '12',
  0,
  1.5,
  -3,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  12n,
  true,
  false,
  new Date('not a date'),
  new Date(0),
  {},
  [],
  'rolled_back',
  'flyway',
];

describe('historyRecordOf', () => {
  it('gives what the schema gives for a row dbmigrate wrote, with nullable fields set or null', () => {
    for (const row of [
      ROW,
      { ...ROW, finishedAt: null, durationMs: null },
      {
        ...ROW,
        status: 'failed',
        transactional: false,
        error: '[LOCK_TIMEOUT] x',
        doneChecksum: 'c',
      },
      { ...ROW, source: 'sqlx', extra: 'column' },
    ]) {
      expect(historyRecordOf(row)).toEqual(HistoryRecordSchema.parse(row));
      expect(Object.keys(historyRecordOf(row) ?? {})).toEqual(
        Object.keys(HistoryRecordSchema.shape),
      );
    }
  });

  it('accepts a field value exactly when the schema does, for every field and kind of value', () => {
    for (const field of Object.keys(HistoryRecordSchema.shape)) {
      for (const value of ODD_VALUES) {
        const row = { ...ROW, [field]: value };
        const schema = HistoryRecordSchema.safeParse(row);
        const plain = historyRecordOf(row);
        expect({ field, value, accepted: plain !== undefined }).toEqual({
          field,
          value,
          accepted: schema.success,
        });
        if (schema.success) expect(plain).toEqual(schema.data);
      }
      const without = Object.fromEntries(Object.entries(ROW).filter(([k]) => k !== field));
      expect(historyRecordOf(without)).toBeUndefined();
      expect(HistoryRecordSchema.safeParse(without).success).toBe(false);
    }
  });
});
