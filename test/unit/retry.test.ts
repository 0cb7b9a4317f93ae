import { describe, it, expect } from 'vitest';
import {
  DEFAULT_BACKOFF,
  LOCK_NOT_AVAILABLE,
  retryDelayMs,
  sqlStateOf,
} from '../../src/engine/retry.js';

const policy = { baseMs: 100, capMs: 1_000 };
const always = (value: number) => () => value;

describe('retryDelayMs', () => {
  it('grows exponentially from the base: base·2^attempt at the top of the range', () => {
    const almostOne = always(0.999_999);
    expect(retryDelayMs(0, policy, almostOne)).toBe(99);
    expect(retryDelayMs(1, policy, almostOne)).toBe(199);
    expect(retryDelayMs(2, policy, almostOne)).toBe(399);
    expect(retryDelayMs(3, policy, almostOne)).toBe(799);
  });

  it('never exceeds the cap, however many attempts', () => {
    const almostOne = always(0.999_999);
    expect(retryDelayMs(4, policy, almostOne)).toBe(999);
    expect(retryDelayMs(30, policy, almostOne)).toBe(999);
    expect(retryDelayMs(5_000, policy, almostOne)).toBe(999);
  });

  it('uses full jitter: the injected random value scales the whole range', () => {
    expect(retryDelayMs(2, policy, always(0))).toBe(0);
    expect(retryDelayMs(2, policy, always(0.5))).toBe(200);
    expect(retryDelayMs(2, policy, always(0.25))).toBe(100);
    expect(retryDelayMs(10, policy, always(0.5))).toBe(500);
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(retryDelayMs(1, policy, always(0.123_456)))).toBe(true);
    expect(retryDelayMs(1, policy, always(0.123_456))).toBe(24);
  });

  it('stays within [0, min(cap, base·2^attempt)) with the real random source', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = retryDelayMs(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('defaults to a 500 ms base capped at 10 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, capMs: 10_000 });
    expect(retryDelayMs(0, undefined, always(0.5))).toBe(250);
    expect(retryDelayMs(20, undefined, always(0.5))).toBe(5_000);
  });
});

describe('sqlStateOf', () => {
  it('reads the SQLSTATE from a pg error', () => {
    const err = Object.assign(new Error('canceling statement due to lock timeout'), {
      code: '55P03',
    });
    expect(sqlStateOf(err)).toBe(LOCK_NOT_AVAILABLE);
    expect(sqlStateOf({ code: '23505' })).toBe('23505');
    expect(sqlStateOf({ code: '42P01' })).toBe('42P01');
  });

  it('returns null for anything that is not a SQLSTATE', () => {
    expect(sqlStateOf(null)).toBeNull();
    expect(sqlStateOf(undefined)).toBeNull();
    expect(sqlStateOf('55P03')).toBeNull();
    expect(sqlStateOf(new Error('boom'))).toBeNull();
    expect(sqlStateOf({ code: 55 })).toBeNull();
    expect(sqlStateOf({ code: '55p03' })).toBeNull();
    expect(sqlStateOf({ code: 'ECONNREFUSED' })).toBeNull();
    expect(sqlStateOf({ code: '1234' })).toBeNull();
    expect(sqlStateOf({ code: '123456' })).toBeNull();
  });

  it('names lock_timeout’s SQLSTATE', () => {
    expect(LOCK_NOT_AVAILABLE).toBe('55P03');
  });
});
