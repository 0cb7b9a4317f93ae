import { describe, expect, it } from 'vitest';
import { dryRunTable } from '../../src/cli/commands/dry-run.js';
import type { DryRunReport } from '../../src/safety/dryrun/dry-run.js';
import type { MigrationImpact } from '../../src/safety/dryrun/impact.js';

const migration = (over: Partial<MigrationImpact>): MigrationImpact => ({
  id: '0002',
  name: 'change',
  file: '0002_change.sql',
  transactional: true,
  status: 'applied',
  durationMs: 12,
  error: null,
  locks: [],
  rewrites: [],
  rowsTouched: 0,
  needsWindow: false,
  reasons: [],
  lint: [],
  lintCleared: [],
  ...over,
});

const report = (migrations: MigrationImpact[]): DryRunReport => ({
  staging: { database: 'postgres://127.0.0.1:5432/staging', from: 'url', snapshotId: null },
  startedAt: '2026-12-01T00:00:00.000Z',
  durationMs: 900,
  windowThresholdMs: 20,
  sampleIntervalMs: 50,
  samples: 18,
  migrations,
  lintPgVersion: { major: 15, source: 'server' },
  ok: true,
  needsWindow: migrations.some((m) => m.needsWindow),
});

describe('the dry-run report', () => {
  it('shows every relation a migration locked, its hold and rewrite, and the threshold', () => {
    const text = dryRunTable(
      report([
        migration({
          id: '0002',
          name: 'widen',
          locks: [
            {
              relation: 'items',
              mode: 'ACCESS EXCLUSIVE',
              heldMs: 2,
              blocksWrites: true,
              blocksReads: true,
            },
            {
              relation: 'owners',
              mode: 'SHARE ROW EXCLUSIVE',
              heldMs: 1,
              blocksWrites: true,
              blocksReads: false,
            },
          ],
        }),
        migration({
          id: '0003',
          name: 'retype',
          durationMs: 840,
          locks: [
            {
              relation: 'items',
              mode: 'ACCESS EXCLUSIVE',
              heldMs: 812,
              blocksWrites: true,
              blocksReads: true,
            },
          ],
          rewrites: ['table items', 'index items_pkey'],
          rowsTouched: 0,
          needsWindow: true,
          reasons: [
            'holds ACCESS EXCLUSIVE on items for 812 ms, blocking reads and writes (threshold 20 ms)',
          ],
          lint: [{ ruleId: 'prefer-bigint', severity: 'warning', line: 3, message: 'use bigint' }],
        }),
      ]),
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+NAME\s+RESULT\s+DURATION\s+RELATION\s+LOCK\s+HELD\s+REWRITE\s+ROWS\s+WINDOW$/,
    );
    expect(lines[1]).toMatch(
      /^0002\s+widen\s+applied\s+12ms\s+items\s+ACCESS EXCLUSIVE\s+2ms\s+no\s+0\s+-$/,
    );
    expect(lines[2]).toMatch(/^\s+owners\s+SHARE ROW EXCLUSIVE\s+1ms\s+no$/);
    expect(lines[3]).toMatch(
      /^0003\s+retype\s+applied\s+840ms\s+items\s+ACCESS EXCLUSIVE\s+812ms\s+yes\s+0\s+REQUIRED$/,
    );
    expect(text).toContain(
      '0003 needs a maintenance window: holds ACCESS EXCLUSIVE on items for 812 ms',
    );
    expect(text).toContain('0003 lint warning prefer-bigint at line 3: use bigint');
    expect(text).toContain('a lock blocking writes longer than 20ms needs a window');
  });

  it('shows a migration that locked nothing on one row, with what it rewrote', () => {
    const text = dryRunTable(report([migration({ rewrites: ['index items_v_idx'] })]));
    expect(text.split('\n')[1]).toMatch(
      /^0002\s+change\s+applied\s+12ms\s+-\s+-\s+-\s+index items_v_idx\s+0\s+-$/,
    );
  });
});
