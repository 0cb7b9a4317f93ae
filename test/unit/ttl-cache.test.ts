import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../src/db/ttl-cache.js';

describe('TtlCache', () => {
  it('forgets an entry once it is as old as the bound', () => {
    let now = 0;
    const cache = new TtlCache<number>(1000, 10, () => now);
    cache.set('a', 1);
    now = 999;
    expect(cache.get('a')).toBe(1);
    now = 1000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the oldest entry when full, and a rewrite makes an entry the newest', () => {
    let now = 0;
    const cache = new TtlCache<string>(1000, 2, () => now);
    cache.set('a', 'x');
    cache.set('b', 'y');
    now = 10;
    cache.set('a', 'z');
    cache.set('c', 'w');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('z');
    expect(cache.get('c')).toBe('w');
    // The rewrite restarted the entry's age too.
    now = 1005;
    expect(cache.get('a')).toBe('z');
  });
});
