import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import type { KubeApi } from '../../src/operator/kube.js';
import { LeaderElector } from '../../src/operator/leader.js';
import { STEP_PRIORITY, TaskRunner } from '../../src/operator/tasks.js';

describe('TaskRunner', () => {
  it('cancel aborts the running tasks of one resource, waits for them, and leaves the others', async () => {
    const tasks = new TaskRunner();
    const seen: string[] = [];
    const work = (label: string) => (signal: AbortSignal) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          setTimeout(() => {
            seen.push(`${label} stopped`);
            resolve(label);
          }, 20);
        });
      });
    tasks.start('uid-a/1/apply', work('a'), () => undefined);
    tasks.start('uid-b/1/apply', work('b'), () => undefined);
    await tasks.cancel('uid-a/', 'deleted');
    // Resolved only after the task settled: nothing of it runs after cancel returns.
    expect(seen).toEqual(['a stopped']);
    expect(tasks.anyRunning('uid-a/')).toBe(false);
    expect(tasks.anyRunning('uid-b/')).toBe(true);
    await tasks.cancel('', 'lost the lease');
    expect(seen).toEqual(['a stopped', 'b stopped']);
  });

  it('cancel leaves alone a task started under the same key while it waited', async () => {
    const tasks = new TaskRunner();
    let release = (): void => undefined;
    tasks.start(
      'uid/1/apply',
      (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            release = resolve;
          });
        }),
      () => undefined,
    );
    const cancelling = tasks.cancel('uid/', 'lost the lease');
    // The old task has not settled yet; once it has, the key is free and a new one starts.
    release();
    await cancelling;
    let finish = (): void => undefined;
    tasks.start(
      'uid/1/apply',
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
      () => undefined,
    );
    await tasks.cancel('other/', 'unrelated');
    expect(tasks.anyRunning('uid/')).toBe(true);
    finish();
  });

  it('drain does not keep the process alive after the tasks ended', async () => {
    const tasks = new TaskRunner();
    tasks.start(
      'k',
      () => Promise.resolve(1),
      () => undefined,
    );
    const t0 = performance.now();
    await tasks.drain(60_000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

/** A Lease store with the API server's optimistic concurrency, enough for one elector. */
function leaseApi(): KubeApi {
  let lease: V1Lease | null = null;
  const store = (body: V1Lease): Promise<V1Lease> => {
    lease = body;
    return Promise.resolve(body);
  };
  return {
    readLease: () => Promise.resolve(lease),
    createLease: (_ns: string, body: V1Lease) => store(body),
    replaceLease: (_ns: string, _name: string, body: V1Lease) => store(body),
  } as unknown as KubeApi;
}

describe('TaskRunner limits', () => {
  /** A task that records when it starts and ends and finishes when told to. */
  function gated(log: string[], label: string) {
    let finish!: () => void;
    const done = new Promise<void>((r) => {
      finish = r;
    });
    const work = async (signal: AbortSignal): Promise<string> => {
      log.push(`${label} start`);
      await Promise.race([
        done,
        new Promise<void>((r) => {
          signal.addEventListener(
            'abort',
            () => {
              r();
            },
            { once: true },
          );
        }),
      ]);
      log.push(`${label} end`);
      return label;
    };
    return { work, finish };
  }
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('runs at most `limit` tasks at once, one per lane, and lets other lanes pass a busy one', async () => {
    const tasks = new TaskRunner(undefined, { limit: 2 });
    const log: string[] = [];
    const a1 = gated(log, 'a1');
    const a2 = gated(log, 'a2');
    const b1 = gated(log, 'b1');
    const c1 = gated(log, 'c1');
    const settled = () => undefined;
    tasks.start('u1/apply', a1.work, settled, 'db-a');
    tasks.start('u2/apply', a2.work, settled, 'db-a');
    tasks.start('u3/apply', b1.work, settled, 'db-b');
    tasks.start('u4/apply', c1.work, settled, 'db-c');
    await tick();
    // a2 waits for its lane; b1 passes it; c1 waits for a slot.
    expect(log).toEqual(['a1 start', 'b1 start']);
    expect(tasks.queued).toBe(2);
    expect(tasks.get('u2/apply')?.state).toBe('running');
    a1.finish();
    await tick();
    // a1's slot goes to the oldest task that can run: a2, its lane now free.
    expect(log).toEqual(['a1 start', 'b1 start', 'a1 end', 'a2 start']);
    b1.finish();
    await tick();
    expect(log.slice(-2)).toEqual(['b1 end', 'c1 start']);
    a2.finish();
    c1.finish();
    await tasks.drain(1000);
    expect(tasks.queued).toBe(0);
    expect(tasks.get<string>('u4/apply')).toMatchObject({ state: 'done', value: 'c1' });
  });

  it('gives a freed slot to the waiting step of the run furthest along, then to the oldest', async () => {
    const tasks = new TaskRunner(undefined, { limit: 1 });
    const log: string[] = [];
    const first = gated(log, 'first');
    const snapB = gated(log, 'snapshot-b');
    const applyA = gated(log, 'apply-a');
    const snapC = gated(log, 'snapshot-c');
    const settled = () => undefined;
    tasks.start('u0/snapshot', first.work, settled, 'db-0', STEP_PRIORITY.snapshot);
    tasks.start('u1/snapshot', snapB.work, settled, 'db-b', STEP_PRIORITY.snapshot);
    tasks.start('u2/apply', applyA.work, settled, 'db-a', STEP_PRIORITY.apply);
    tasks.start('u3/snapshot', snapC.work, settled, 'db-c', STEP_PRIORITY.snapshot);
    await tick();
    first.finish();
    await tick();
    // The apply came after snapshot-b, but finishes a run: it goes first.
    expect(log.slice(-2)).toEqual(['first end', 'apply-a start']);
    applyA.finish();
    await tick();
    expect(log.slice(-2)).toEqual(['apply-a end', 'snapshot-b start']);
    snapB.finish();
    snapC.finish();
    await tasks.drain(1000);
    expect(log.at(-1)).toBe('snapshot-c end');
  });

  it('takes an aborted task out of the line without running it, and reports no duration', async () => {
    const finished: string[] = [];
    const tasks = new TaskRunner((key, outcome) => finished.push(`${key} ${outcome}`), {
      limit: 1,
    });
    const log: string[] = [];
    const first = gated(log, 'first');
    const waiting = gated(log, 'waiting');
    tasks.start('u1/snapshot', first.work, () => undefined, 'db-a');
    tasks.start('u2/snapshot', waiting.work, () => undefined, 'db-b');
    await tick();
    await tasks.cancel('u2/', 'BackupSnapshot deleted');
    expect(tasks.queued).toBe(0);
    expect(tasks.get('u2/snapshot')).toBeUndefined();
    first.finish();
    await tasks.drain(1000);
    expect(log).toEqual(['first start', 'first end']);
    expect(finished).toEqual(['u1/snapshot done']);
  });

  it('without a limit or lane, starts every task at once as before', async () => {
    const tasks = new TaskRunner();
    const log: string[] = [];
    const gates = ['x', 'y', 'z'].map((l) => gated(log, l));
    gates.forEach((g, i) => {
      tasks.start(`u${String(i)}/apply`, g.work, () => undefined);
    });
    await tick();
    expect(log).toEqual(['x start', 'y start', 'z start']);
    for (const g of gates) g.finish();
    await tasks.drain(1000);
  });
});

describe('LeaderElector takeover', () => {
  it("times another holder's Lease by its own clock, never by the holder's renewTime", async () => {
    const api = leaseApi();
    // Renewed by a replica whose wall clock runs an hour behind: by ours it looks long expired.
    const skewed = JSON.parse(
      JSON.stringify({
        metadata: { name: 'lease', namespace: 'default' },
        spec: {
          holderIdentity: 'a',
          leaseDurationSeconds: 1,
          renewTime: new Date(Date.now() - 3_600_000).toISOString(),
          acquireTime: new Date(Date.now() - 3_600_000).toISOString(),
        },
      }),
    ) as V1Lease;
    await api.createLease('default', skewed);
    const b = new LeaderElector(api, {
      namespace: 'default',
      name: 'lease',
      identity: 'b',
      leaseDurationSeconds: 1,
      retryPeriodMs: 100,
      logger: silentLogger(),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    const t0 = performance.now();
    b.start();
    while (!b.isLeader && performance.now() - t0 < 5000)
      await new Promise((r) => setTimeout(r, 20));
    expect(b.isLeader).toBe(true);
    // Not before a whole lease duration of silence as b itself measured it.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    await b.stop();
  });
});

describe('LeaderElector fence', () => {
  it('stops vouching for this replica once its last renewal is older than the renew deadline', async () => {
    const elector = new LeaderElector(leaseApi(), {
      namespace: 'default',
      name: 'lease',
      identity: 'a',
      leaseDurationSeconds: 2,
      retryPeriodMs: 60_000,
      logger: silentLogger(),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    elector.start();
    for (let i = 0; i < 50 && !elector.isLeader; i++) await new Promise((r) => setTimeout(r, 10));
    expect(elector.isLeader).toBe(true);
    const now = performance.now();
    expect(elector.holdsLease(now)).toBe(true);
    // As after a SIGSTOP: no renewal for longer than 80 % of the lease, by the monotonic clock.
    expect(elector.holdsLease(now + 1700)).toBe(false);
    await elector.stop();
  });
});
