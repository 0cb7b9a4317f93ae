import { describe, expect, it } from 'vitest';
import { rateText } from '../../src/cli/progress.js';

describe('progress text', () => {
  it('says what is done, the rate once there is one, and the time left once there is a total', () => {
    expect(rateText(0, 300_000, 'rows', 0, 0)).toBe('0 of 300.0k rows');
    expect(rateText(12_300, 300_000, 'rows', 0, 3000)).toBe(
      '12.3k of 300.0k rows, 4.1k rows/s, about 1 min 10 s left',
    );
    expect(rateText(2_500_000, null, 'rows', 0, 10_000)).toBe('2.5M rows, 250.0k rows/s');
    expect(rateText(300_000, 300_000, 'rows', 0, 60_000)).toBe(
      '300.0k of 300.0k rows, 5.0k rows/s',
    );
    expect(rateText(10, 1_000_000, 'rows', 0, 1000)).toBe(
      '10 of 1.0M rows, 10 rows/s, about 27 h 46 min left',
    );
  });
});
