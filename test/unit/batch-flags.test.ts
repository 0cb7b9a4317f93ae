import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../src/cli/batch-flags.js';

describe('--max-wal-rate sizes', () => {
  it('reads PostgreSQL units, 1024-based, and plain bytes', () => {
    expect(parseBytes('16MB')).toBe(16 * 1024 * 1024);
    expect(parseBytes('512kB')).toBe(512 * 1024);
    expect(parseBytes('1.5GB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('4096')).toBe(4096);
  });

  it('refuses what is not a positive size', () => {
    for (const bad of ['', '0', '16 parsecs', '-1MB', 'MB', '1TBB'])
      expect(parseBytes(bad)).toBeNull();
  });
});
