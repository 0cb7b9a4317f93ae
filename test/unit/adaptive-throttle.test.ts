import { describe, expect, it } from 'vitest';
import {
  IdleLatency,
  initialThrottleState,
  lsnBytes,
  nextPace,
  throttleLimits,
  type BatchObservation,
  type ThrottleState,
} from '../../src/safety/throttle/adaptive-throttle.js';

const limits = throttleLimits({
  maxAddedLatencyMs: 10,
  maxBatchSize: 1000,
  minBatchSize: 50,
  minPauseMs: 10,
  maxPauseMs: 5000,
  calmBatches: 3,
  // The impact rules alone; the batch-time and duty limits have their own tests.
  maxBatchMs: 1e9,
  maxDutyCycle: 1,
});

const calm: BatchObservation = { batchMs: 20, addedLatencyMs: 1, walBytesPerSecond: null };
const slowed: BatchObservation = { batchMs: 20, addedLatencyMs: 25, walBytesPerSecond: null };

function run(start: ThrottleState, observations: readonly BatchObservation[]): ThrottleState {
  return observations.reduce((s, o) => nextPace(s, o, limits).state, start);
}

describe('adaptive throttle', () => {
  it('starts at the full batch and the shortest pause', () => {
    expect(initialThrottleState(limits)).toEqual({ batchSize: 1000, pauseMs: 10, calm: 0 });
  });

  it('halves the batch and at least doubles the pause when writers waited over the target', () => {
    const d = nextPace(initialThrottleState(limits), slowed, limits);
    expect(d.reason).toBe('writers-slowed');
    // The pause is at least the batch's own time (20 ms), so writers get half the time.
    expect(d.state).toEqual({ batchSize: 500, pauseMs: 20, calm: 0 });
    expect(nextPace(d.state, slowed, limits).state).toEqual({
      batchSize: 250,
      pauseMs: 40,
      calm: 0,
    });
  });

  it('never goes below the smallest batch or past the longest pause', () => {
    const s = run(initialThrottleState(limits), Array<BatchObservation>(30).fill(slowed));
    expect(s).toEqual({ batchSize: 50, pauseMs: 5000, calm: 0 });
  });

  it('speeds up only after enough calm batches in a row, and never past the given batch', () => {
    const slow: ThrottleState = { batchSize: 200, pauseMs: 400, calm: 0 };
    expect(nextPace(slow, calm, limits)).toEqual({ reason: 'steady', state: { ...slow, calm: 1 } });
    expect(run(slow, [calm, calm])).toEqual({ ...slow, calm: 2 });
    const third = nextPace({ ...slow, calm: 2 }, calm, limits);
    expect(third).toEqual({ reason: 'headroom', state: { batchSize: 300, pauseMs: 200, calm: 0 } });
    const long = run(slow, Array<BatchObservation>(30).fill(calm));
    expect(long).toMatchObject({ batchSize: 1000, pauseMs: 10 });
  });

  it('holds the pace between half the target and the target, and resets the calm count', () => {
    const s: ThrottleState = { batchSize: 300, pauseMs: 100, calm: 2 };
    const d = nextPace(s, { ...calm, addedLatencyMs: 7 }, limits);
    expect(d).toEqual({ reason: 'steady', state: { ...s, calm: 0 } });
  });

  it('holds the pace when no probe measured anything', () => {
    const s: ThrottleState = { batchSize: 300, pauseMs: 100, calm: 2 };
    expect(nextPace(s, { ...calm, addedLatencyMs: null }, limits).state).toEqual({
      ...s,
      calm: 0,
    });
  });

  it('lengthens the pause until the WAL of a cycle fits under the ceiling', () => {
    const walLimits = throttleLimits({ ...limits, maxWalBytesPerSecond: 10_000_000 });
    const s: ThrottleState = { batchSize: 1000, pauseMs: 30, calm: 0 };
    // 20 MB/s over a 50 ms cycle = 1 MB; at 10 MB/s that needs 100 ms: 20 ms batch + 80 ms.
    const d = nextPace(s, { batchMs: 20, addedLatencyMs: 1, walBytesPerSecond: 20e6 }, walLimits);
    expect(d).toEqual({ reason: 'wal-rate', state: { batchSize: 1000, pauseMs: 80, calm: 0 } });
    // Close under the ceiling it does not speed up either.
    const near = nextPace(
      { ...s, calm: 2 },
      { batchMs: 20, addedLatencyMs: 1, walBytesPerSecond: 9e6 },
      walLimits,
    );
    expect(near.reason).toBe('steady');
  });

  it('puts slowed writers before the WAL rate', () => {
    const walLimits = throttleLimits({ ...limits, maxWalBytesPerSecond: 1 });
    const d = nextPace(
      initialThrottleState(walLimits),
      { ...slowed, walBytesPerSecond: 1e9 },
      walLimits,
    );
    expect(d.reason).toBe('writers-slowed');
  });

  it('cuts a batch that took longer than maxBatchMs to the size that fits', () => {
    const timed = throttleLimits({ ...limits, maxBatchMs: 20 });
    const d = nextPace(
      { batchSize: 1000, pauseMs: 10, calm: 2 },
      { batchMs: 80, addedLatencyMs: 1, walBytesPerSecond: null },
      timed,
    );
    expect(d).toEqual({
      reason: 'batch-too-long',
      state: { batchSize: 250, pauseMs: 10, calm: 0 },
    });
    // Slowed writers halve it already; the time limit cuts further when it must.
    const both = nextPace(
      { batchSize: 1000, pauseMs: 10, calm: 0 },
      { batchMs: 200, addedLatencyMs: 50, walBytesPerSecond: null },
      timed,
    );
    expect(both).toEqual({
      reason: 'writers-slowed',
      state: { batchSize: 100, pauseMs: 200, calm: 0 },
    });
  });

  it('never works more than maxDutyCycle of the time', () => {
    const third = throttleLimits({ ...limits, maxDutyCycle: 0.25 });
    // A 20 ms batch at a quarter of the time needs 60 ms of pause, even when all is calm.
    const d = nextPace({ batchSize: 1000, pauseMs: 10, calm: 0 }, calm, third);
    expect(d.state.pauseMs).toBe(60);
    expect(nextPace({ batchSize: 1000, pauseMs: 10, calm: 0 }, calm, limits).state.pauseMs).toBe(
      10,
    );
  });

  it('refuses limits that cannot pace anything', () => {
    expect(() => throttleLimits({ maxAddedLatencyMs: 0 })).toThrow(/maxAddedLatencyMs/);
    expect(() => throttleLimits({ calmBatches: 0 })).toThrow(/calmBatches/);
    expect(() => throttleLimits({ minPauseMs: -1 })).toThrow(/minPauseMs/);
    expect(() => throttleLimits({ maxWalBytesPerSecond: 0 })).toThrow(/maxWalBytesPerSecond/);
    expect(() => throttleLimits({ maxDutyCycle: 0 })).toThrow(/maxDutyCycle/);
    expect(() => throttleLimits({ maxDutyCycle: 1.5 })).toThrow(/maxDutyCycle/);
    expect(() => throttleLimits({ maxBatchMs: 0 })).toThrow(/maxBatchMs/);
    // A batch size under the default floor lowers the floor with it.
    expect(throttleLimits({ maxBatchSize: 10 })).toMatchObject({
      minBatchSize: 10,
      maxBatchSize: 10,
    });
  });
});

describe('idle latency', () => {
  it('is the median of the recent idle probes, so one slow write does not move it', () => {
    const idle = new IdleLatency(5);
    expect(idle.median()).toBeNull();
    for (const ms of [2, 2, 3, 90, 2]) idle.add(ms);
    expect(idle.median()).toBe(2);
    for (const ms of [8, 8, 8]) idle.add(ms);
    // Oldest dropped: [90, 2, 8, 8, 8].
    expect(idle.median()).toBe(8);
    idle.add(1);
    idle.add(1);
    expect(new IdleLatency(2).median()).toBeNull();
  });

  it('averages the middle two of an even count', () => {
    const idle = new IdleLatency(4);
    for (const ms of [1, 2, 4, 10]) idle.add(ms);
    expect(idle.median()).toBe(3);
  });
});

describe('lsnBytes', () => {
  it('counts WAL bytes between two LSNs, across the 4 GB boundary', () => {
    expect(lsnBytes('0/16B3740', '0/16B3840')).toBe(256);
    expect(lsnBytes('0/FFFFFF00', '1/100')).toBe(512);
    expect(lsnBytes('nope', '0/1')).toBeNull();
  });
});
