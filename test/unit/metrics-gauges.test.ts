import { describe, expect, it } from 'vitest';
import {
  dryRunWriteBlocks,
  migrationPhases,
  migrationsByPhase,
  verifiedSnapshots,
} from '../../src/operator/metrics-gauges.js';

const at = (iso: string) => new Date(iso).getTime() / 1000;

describe('operator gauges from the informer caches', () => {
  it('counts DatabaseMigrations per phase, every phase present, a new one as Pending', () => {
    const counts = migrationsByPhase([
      { status: { phase: 'Succeeded' } },
      { status: { phase: 'Succeeded' } },
      { status: { phase: 'Failed' } },
      {},
    ]);
    expect(counts.get('Succeeded')).toBe(2);
    expect(counts.get('Failed')).toBe(1);
    expect(counts.get('Pending')).toBe(1);
    expect(counts.get('Applying')).toBe(0);
  });

  it('dates the current phase from the history entry that entered it, else the creation', () => {
    expect(
      migrationPhases([
        {
          metadata: { namespace: 'shop', name: 'a' },
          status: {
            phase: 'Applying',
            history: [
              { at: '2026-01-01T00:00:00Z', phase: 'Applying' },
              { at: '2026-01-01T00:05:00Z', phase: 'AwaitingWindow' },
              { at: '2026-01-01T01:00:00Z', phase: 'Applying' },
            ],
          },
        },
        { metadata: { name: 'b', creationTimestamp: '2026-01-02T00:00:00Z' } },
        { metadata: { name: 'c' } },
      ]),
    ).toEqual([
      { namespace: 'shop', name: 'a', phase: 'Applying', sinceSeconds: at('2026-01-01T01:00:00Z') },
      {
        namespace: 'default',
        name: 'b',
        phase: 'Pending',
        sinceSeconds: at('2026-01-02T00:00:00Z'),
      },
    ]);
  });

  it('keeps the newest verified snapshot still on disk per database, never an unverified or lost one', () => {
    const snap = (name: string, verifiedAt: string, extra: object = {}) => ({
      metadata: { namespace: 'shop', name },
      spec: { database: { secretRef: { name: 'orders-db' } } },
      status: { verified: true, verifiedAt, sizeBytes: name.length, ...extra },
    });
    expect(
      verifiedSnapshots([
        snap('old', '2026-01-01T00:00:00Z'),
        snap('newest', '2026-01-03T00:00:00Z'),
        snap('gone', '2026-01-04T00:00:00Z', { filesPresent: false }),
        snap('bad', '2026-01-05T00:00:00Z', { verified: false }),
        {
          metadata: { namespace: 'other', name: 'x' },
          spec: { database: { secretRef: { name: 'orders-db' } } },
          status: { verified: true, verifiedAt: '2026-01-02T00:00:00Z', sizeBytes: 9 },
        },
      ]),
    ).toEqual([
      {
        namespace: 'shop',
        database: 'orders-db',
        verifiedAtSeconds: at('2026-01-03T00:00:00Z'),
        sizeBytes: 6,
      },
      {
        namespace: 'other',
        database: 'orders-db',
        verifiedAtSeconds: at('2026-01-02T00:00:00Z'),
        sizeBytes: 9,
      },
    ]);
  });

  it("reports each migration's predicted write block from the last dry-run, in seconds", () => {
    expect(
      dryRunWriteBlocks([
        {
          metadata: { namespace: 'shop', name: 'a' },
          status: { dryRun: { migrations: [{ id: '0001', lockHeldMs: 1500 }, { id: '0002' }] } },
        },
        { metadata: { name: 'b' } },
      ]),
    ).toEqual([{ namespace: 'shop', name: 'a', migration: '0001', seconds: 1.5 }]);
  });
});
