import { describe, expect, it } from 'vitest';
import { mayHoldLongIdentifier } from '../../src/safety/lint/identifiers.js';
import { lintOne, ruleIds } from './lint-helpers.js';

describe('the lexer runs only for statements that may hold a long identifier', () => {
  it.each([
    ['an unquoted name of 64 ASCII bytes', `create table t (${'x'.repeat(64)} int);`],
    ['an unquoted name of 64 UTF-8 bytes in 32 letters', `create table t (${'é'.repeat(32)} int);`],
    ['a name with digits, _ and $', `create table t (${'a1_$'.repeat(16)} int);`],
    [
      'any double quote in a long statement',
      `alter table t add column "a b" text, add column ${'c'.repeat(60)} int;`,
    ],
  ])('scans %s', (_what, sql) => {
    expect(mayHoldLongIdentifier(sql)).toBe(true);
  });

  it.each([
    ['a short statement', 'create table t (a int);'],
    [
      'a long statement of short names',
      `create table t (${Array.from({ length: 30 }, (_, i) => `c${String(i)} int`).join(', ')});`,
    ],
    ['a 63-byte name', `create table t (${'x'.repeat(63)} int);`],
  ])('skips %s', (_what, sql) => {
    expect(mayHoldLongIdentifier(sql)).toBe(false);
  });

  it('still finds a 32-letter non-ASCII name, 64 bytes long', async () => {
    expect(
      ruleIds(await lintOne(`create table t2 (id bigint, ${'é'.repeat(32)} text);`)),
    ).toContain('identifier-too-long');
  });
});
