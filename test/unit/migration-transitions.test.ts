import { describe, expect, it } from 'vitest';
import {
  asDryRunSkipped,
  asFailed,
  asNewRun,
  asSucceeded,
  isEventWorthy,
  nextStatus,
} from '../../src/api/v1alpha1/migration-transitions.js';

const t0 = new Date('2026-11-30T10:00:00Z');
const t1 = new Date('2026-11-30T10:05:00Z');
const lint = {
  type: 'Linted',
  status: true,
  reason: 'Passed',
  message: 'no lint findings',
} as const;

describe('DatabaseMigration status transitions', () => {
  it('gives each condition its own reason and message, and a Warning for an explicit skip', () => {
    const t = asDryRunSkipped('spec.safety: Unsafe', lint);
    const s = nextStatus({ phase: 'Pending' }, t, 3, t0);
    const byType = new Map(s.conditions?.map((c) => [c.type, c]));
    expect(byType.get('DryRun')).toMatchObject({ status: 'False', reason: 'Skipped' });
    expect(byType.get('Linted')).toMatchObject({ status: 'True', reason: 'Passed' });
    expect(byType.get('Degraded')).toMatchObject({ status: 'True', reason: 'DryRunSkipped' });
    expect(t.eventType).toBe('Warning');
    expect(isEventWorthy({ phase: 'DryRunning' }, t)).toBe(true);
  });

  it('starts a new run without the previous verdicts, and keeps transition times of unchanged conditions', () => {
    const done = nextStatus({ phase: 'Pending' }, asSucceeded(t0.toISOString()), 1, t0);
    const failed = nextStatus(done, asFailed('SecretMissing', 'no Secret'), 1, t1);
    expect(failed.conditions?.find((c) => c.type === 'Progressing')?.lastTransitionTime).toBe(
      t0.toISOString(),
    );
    expect(failed.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(
      t1.toISOString(),
    );
    const withVerdicts = nextStatus(failed, asDryRunSkipped('x', lint), 1, t1);
    const fresh = nextStatus(withVerdicts, asNewRun(2, ''), 2, t1);
    expect(fresh.conditions?.map((c) => c.type).sort()).toEqual([
      'Degraded',
      'Progressing',
      'Ready',
    ]);
    expect(fresh.observedGeneration).toBe(2);
    expect(fresh.lastError).toBe('');
  });

  it('lets each phase condition answer its own question', () => {
    const s = nextStatus({ phase: 'Verifying' }, asSucceeded(t0.toISOString()), 1, t0);
    const byType = new Map(s.conditions?.map((c) => [c.type, c]));
    expect(byType.get('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(byType.get('Progressing')).toMatchObject({ status: 'False', reason: 'RunComplete' });
    expect(byType.get('Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    const f = nextStatus(s, asFailed('SecretMissing', 'Secret default/x does not exist'), 1, t1);
    const failed = new Map(f.conditions?.map((c) => [c.type, c]));
    expect(failed.get('Degraded')).toMatchObject({ status: 'True', reason: 'SecretMissing' });
    expect(failed.get('Progressing')).toMatchObject({ status: 'False', reason: 'RunStopped' });
  });

  it('keeps a bounded history of phase changes only', () => {
    let s = nextStatus({}, asNewRun(1, ''), 1, t0);
    for (let i = 0; i < 30; i++) {
      s = nextStatus(s, asFailed('X', `f${String(i)}`), 1, t0);
      s = nextStatus(s, asNewRun(1, String(i)), 1, t0);
    }
    s = nextStatus(s, asNewRun(1, 'again'), 1, t0);
    expect(s.history).toHaveLength(20);
    expect(s.history?.at(-1)?.phase).toBe('Pending');
  });
});
