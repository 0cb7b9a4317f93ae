import { describe, expect, it } from 'vitest';
import {
  asSnapshotDumped,
  asSnapshotFilesMissing,
  asSnapshotVerified,
  nextSnapshotStatus,
} from '../../src/api/v1alpha1/snapshot-transitions.js';

const now = new Date('2026-11-30T12:00:00Z');
const facts = {
  snapshotId: 'docs-20261130T120000Z-ab12',
  location: '/snapshots/docs-20261130T120000Z-ab12',
  sizeBytes: 2048,
  size: '2.0 KiB',
  tables: 2,
  rows: 10,
  schemaHash: 'h',
  serverVersion: '15.8',
  method: 'pg_dump' as const,
  durationMs: 1200,
};

describe('BackupSnapshot status transitions', () => {
  it('says what pgBackRest took and how it was verified, with bytes and durations in status', () => {
    const physical = {
      ...facts,
      method: 'pgbackrest' as const,
      backup: {
        label: '20261203-071500F_20261203-080000I',
        type: 'incr',
        copiedBytes: 8_192_000,
        repositoryBytes: 1_024_000,
      },
    };
    const dumped = asSnapshotDumped(physical, true, now.toISOString());
    expect(dumped.message).toBe(
      'pgBackRest incr backup 20261203-071500F_20261203-080000I (2.0 KiB in the repository); verifying',
    );
    const status = nextSnapshotStatus({}, dumped, 1, now);
    expect(status).toMatchObject({
      method: 'pgbackrest',
      durationMs: 1200,
      backup: { type: 'incr', copiedBytes: 8_192_000, repositoryBytes: 1_024_000 },
    });
    const verified = asSnapshotVerified(
      {
        at: now.toISOString(),
        mismatches: [],
        durationMs: 5300,
        backupLabel: '20261203-071500F_20261203-080000I',
      },
      now.toISOString(),
    );
    expect(verified.message).toBe(
      'pgbackrest verify passed, and set 20261203-071500F_20261203-080000I restored into a private server matched the manifest',
    );
    expect(nextSnapshotStatus(status, verified, 1, now)).toMatchObject({
      verified: true,
      verifyDurationMs: 5300,
    });
  });

  it('is Ready only when verified and its files are there', () => {
    const dumped = nextSnapshotStatus({}, asSnapshotDumped(facts, true, now.toISOString()), 1, now);
    expect(dumped.phase).toBe('Verifying');
    const verified = nextSnapshotStatus(
      dumped,
      asSnapshotVerified({ at: now.toISOString(), mismatches: [] }, now.toISOString()),
      1,
      now,
    );
    expect(verified.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const lost = nextSnapshotStatus(
      { ...dumped, ...verified },
      asSnapshotFilesMissing('snapshot x: its dump file is missing; it cannot be restored'),
      1,
      now,
    );
    expect(lost.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'FilesMissing',
    });
    expect(lost.conditions?.find((c) => c.type === 'Degraded')?.status).toBe('True');
    expect(asSnapshotFilesMissing('x').eventType).toBe('Warning');
  });
});
