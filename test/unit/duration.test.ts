import { describe, it, expect } from 'vitest';
import { parseDurationMs } from '../../src/engine/duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['250', 250],
    ['0', 0],
    ['5 s', 5_000],
    ['  10min  ', 600_000],
    ['007s', 7_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1.5s', 1_500],
    ['1d', 86_400_000],
    ['2 minutes', 120_000],
    ['1h30m15s', 5_415_000],
    ['2147483647', 2_147_483_647],
    ['24d', 2_073_600_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each([
    '',
    ' ',
    's',
    'five',
    '-1s',
    '+1s',
    '5 fortnights',
    '5 min s',
    '30m1h',
    '1h1h',
    '5 years',
    '1h-30m',
    '5MS',
    '5S',
    '1e3',
  ])('refuses %j', (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });
});
