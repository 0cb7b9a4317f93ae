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
};

describe('BackupSnapshot status transitions', () => {
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
