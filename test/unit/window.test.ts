import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/config.js';
import { activeWindow, nextWindowStart, waitForWindow } from '../../src/safety/window/window.js';

const SAT_NIGHT = [{ days: ['sat' as const], start: '22:00', end: '02:00' }];
const WEEKDAY_EARLY = [
  { days: ['mon' as const, 'tue' as const, 'wed' as const], start: '03:00', end: '04:30' },
];

describe('maintenance windows', () => {
  it('knows a window that crosses midnight is still open early Sunday', () => {
    // 2026-11-28 is a Saturday.
    expect(activeWindow(SAT_NIGHT, new Date('2026-11-28T23:00:00Z'))?.endsAt.toISOString()).toBe(
      '2026-11-29T02:00:00.000Z',
    );
    expect(activeWindow(SAT_NIGHT, new Date('2026-11-29T01:59:00Z'))).not.toBeNull();
    expect(activeWindow(SAT_NIGHT, new Date('2026-11-29T02:00:00Z'))).toBeNull();
    expect(activeWindow(SAT_NIGHT, new Date('2026-11-28T21:59:00Z'))).toBeNull();
  });

  it('finds the next opening across the week', () => {
    // Wednesday 2026-11-25 10:00 -> next Monday 03:00.
    expect(nextWindowStart(WEEKDAY_EARLY, new Date('2026-11-25T10:00:00Z'))?.toISOString()).toBe(
      '2026-11-30T03:00:00.000Z',
    );
    expect(nextWindowStart([], new Date())).toBeNull();
  });

  it('blocks until the window opens, then releases', async () => {
    let clock = new Date('2026-11-28T21:00:00Z').getTime();
    const slept: number[] = [];
    let announced: Date | null = null;
    await waitForWindow(SAT_NIGHT, {
      now: () => new Date(clock),
      sleep: (ms) => {
        slept.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      onWait: (at) => {
        announced = at;
      },
    });
    expect(new Date(clock).toISOString()).toBe('2026-11-28T22:00:00.000Z');
    expect(slept).toHaveLength(60);
    expect(Math.max(...slept)).toBeLessThanOrEqual(60_000);
    expect(announced).toEqual(new Date('2026-11-28T22:00:00Z'));
  });

  it('returns at once inside a window and refuses when none is configured or it opens too late', async () => {
    await waitForWindow(SAT_NIGHT, {
      now: () => new Date('2026-11-28T23:00:00Z'),
      sleep: () => Promise.reject(new Error('slept')),
    });
    await expect(waitForWindow([])).rejects.toThrow(/none is configured/);
    await expect(
      waitForWindow(SAT_NIGHT, { now: () => new Date('2026-11-25T10:00:00Z'), maxWaitMs: 60_000 }),
    ).rejects.toThrow(/later than the 60000 ms allowed to wait/);
  });
});

describe('dbmigrate.json', () => {
  it('fills defaults', () => {
    const c = parseConfig({}, 'dbmigrate.json');
    expect(c).toMatchObject({
      migrations: 'migrations',
      windowThresholdMs: 20,
      maintenanceWindows: [],
    });
  });

  it('names the file and the field of a bad value', () => {
    expect(() =>
      parseConfig(
        { maintenanceWindows: [{ days: ['sat'], start: '25:00', end: '02:00' }] },
        'conf/dbmigrate.json',
      ),
    ).toThrow(
      'conf/dbmigrate.json: maintenanceWindows.0.start: must be HH:MM in 24-hour UTC time, e.g. 02:30',
    );
    expect(() => parseConfig({ windowThreshold: 5 }, 'dbmigrate.json')).toThrow(
      /dbmigrate\.json: \(root\): Unrecognized key/,
    );
    expect(() =>
      parseConfig(
        { maintenanceWindows: [{ days: ['someday'], start: '01:00', end: '02:00' }] },
        'x.json',
      ),
    ).toThrow(/x\.json: maintenanceWindows\.0\.days\.0/);
  });
});
