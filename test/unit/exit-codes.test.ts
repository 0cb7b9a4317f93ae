import { describe, it, expect } from 'vitest';
import { ExitCode, exitCodeFor } from '../../src/cli/exit-codes.js';
import type { MigrationErrorCode } from '../../src/engine/errors.js';

describe('exitCodeFor', () => {
  it('keeps the numbers documented in the README', () => {
    expect(ExitCode).toMatchObject({
      ok: 0,
      internal: 1,
      usage: 2,
      validation: 3,
      lock: 4,
      sql: 5,
      connection: 6,
      tool: 7,
      healthWarning: 10,
      healthCritical: 11,
      healthUnknown: 12,
    });
  });

  const table: [MigrationErrorCode | 'USAGE' | 'CONNECTION_ERROR', number][] = [
    ['USAGE', 2],
    ['PARSE_ERROR', 3],
    ['DUPLICATE_ID', 3],
    ['MISSING_DEPENDENCY', 3],
    ['DEPENDENCY_CYCLE', 3],
    ['VALIDATION_FAILED', 3],
    ['IRREVERSIBLE', 3],
    ['UNKNOWN_TARGET', 3],
    ['BASELINE_REFUSED', 3],
    ['IMPORT_REFUSED', 3],
    ['SOURCE_ERROR', 3],
    ['LOCK_BUSY', 4],
    ['LOCK_TIMEOUT', 4],
    ['SQL_ERROR', 5],
    ['DATABASE_ERROR', 5],
    ['CONNECTION_ERROR', 6],
  ];

  it.each(table)('exits with the documented code for %s (%d)', (code, exit) => {
    expect(exitCodeFor(code)).toBe(exit);
  });

  it.each([
    ['PGBACKREST_FAILED', 7],
    ['PGBACKREST_OUTPUT', 7],
    ['PGBACKREST_REFUSED', 3],
  ])(
    'exits with the documented code for pgBackRest failures: %s (%d), never as an internal error',
    (code, exit) => {
      expect(exitCodeFor(code)).toBe(exit);
    },
  );

  it('treats anything unknown as an internal error (1)', () => {
    expect(exitCodeFor('ECONNRESET')).toBe(1);
    expect(exitCodeFor('')).toBe(1);
    expect(exitCodeFor('parse_error')).toBe(1);
  });
});
