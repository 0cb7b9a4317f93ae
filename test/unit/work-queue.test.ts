import { describe, expect, it } from 'vitest';
import { setCondition } from '../../src/api/v1alpha1/conditions.js';
import { WorkQueue } from '../../src/operator/work-queue.js';

describe('WorkQueue', () => {
  it('deduplicates keys and hands them out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands the same key to two workers; a key added during processing comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | null = null;
    const waiting = q.get().then((k) => (second = k));
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBeNull();
    q.done(first ?? '');
    await waiting;
    expect(second).toBe('a');
  });

  it('backs off per key exponentially up to a cap, and forgets after success', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('x'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('y')).toBe(100);
    q.forget('x');
    expect(q.failureCount('x')).toBe(0);
    q.shutDown();
  });

  it('limits the overall rate with a token bucket', async () => {
    let clock = 0;
    const q = new WorkQueue({ ratePerSecond: 10, burst: 2, now: () => clock });
    for (const k of ['a', 'b', 'c']) q.add(k);
    await q.get();
    await q.get();
    let third: string | null = null;
    const pending = q.get().then((k) => (third = k));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBeNull();
    clock += 100;
    await pending;
    expect(third).toBe('c');
  });

  it('wakes waiting workers with null on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeNull();
  });
});

describe('setCondition', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:05:00Z');
  it('keeps lastTransitionTime while the status stays the same and moves it on a change', () => {
    const a = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Applying', message: 'm1', observedGeneration: 1 },
      t1,
    );
    const b = setCondition(
      a,
      { type: 'Ready', status: 'False', reason: 'Verifying', message: 'm2', observedGeneration: 1 },
      t2,
    );
    expect(b).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'Verifying',
        message: 'm2',
        observedGeneration: 1,
        lastTransitionTime: t1.toISOString(),
      },
    ]);
    const c = setCondition(
      b,
      {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: 'done',
        observedGeneration: 1,
      },
      t2,
    );
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });
});
