import { OPERATOR_DEFAULTS } from '../api/settings.js';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiErrorSummary, httpStatus, type KubeApi } from './kube.js';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** This replica (pod name); must differ between replicas. */
  readonly identity: string;
  readonly leaseDurationSeconds?: number;
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

/**
 * Lease times are metav1.MicroTime: the apiserver rejects the millisecond ISO strings Date
 * produces, so the serializer is handed a Date that prints six fractional digits.
 */
export class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

/** `date` (or now, when the lease never recorded one) as a MicroTime. */
function micro(date: Date | string | undefined): MicroTime {
  // client-node hands MicroTime fields back as strings, despite their Date type.
  return new MicroTime(date === undefined ? Date.now() : new Date(date).getTime());
}

/**
 * coordination.k8s.io Lease election: one replica holds the lease and renews it every retry
 * period; the others take over only after it has gone un-renewed for the lease duration.
 * Every write is a replace at the read resourceVersion, so two replicas never both win.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  /** performance.now() when the last successful renewal was sent: monotonic, so a paused process sees the gap. */
  private lastRenew = -Infinity;
  /**
   * The other holder's record as last seen, and when (our monotonic clock). Expiry is timed
   * from when we saw it change, never from its renewTime: the two nodes' wall clocks may
   * disagree, and a skew larger than the renew margin would let two replicas lead at once.
   */
  private observed: { readonly record: string; readonly at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly api: KubeApi,
    private readonly options: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this replica may still write: it leads and its last renewal is younger than the
   * renew deadline (80 % of the lease duration) by its own monotonic clock. A process that was
   * paused (SIGSTOP, a long GC, a frozen VM) learns here, synchronously, that another replica
   * may have taken over, before its next statement; no API round trip is needed to find out.
   */
  holdsLease(now = performance.now()): boolean {
    return this.leading && now - this.lastRenew < this.renewDeadlineMs();
  }

  private renewDeadlineMs(): number {
    return (
      (this.options.leaseDurationSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds) * 1000 * 0.8
    );
  }

  start(): void {
    void this.tick();
  }

  /** Gives the lease up (graceful shutdown), so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      try {
        const lease = await this.api.readLease(this.options.namespace, this.options.name);
        if (lease?.spec?.holderIdentity === this.options.identity) {
          await this.api.replaceLease(this.options.namespace, this.options.name, {
            ...lease,
            // Renewed "long ago": expired now, so a standby may take it at its next retry.
            spec: {
              ...lease.spec,
              acquireTime: micro(lease.spec.acquireTime),
              renewTime: new MicroTime(0),
              leaseDurationSeconds: 1,
            },
          });
        }
      } catch {
        // The lease expires by itself.
      }
      this.setLeading(false);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.logger.info(
      { identity: this.options.identity, leading },
      leading ? 'became leader' : 'stopped leading',
    );
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // Past the renew deadline (e.g. after a pause) another replica may lead already: step down
    // before asking the API server, so running tasks stop now rather than after a round trip.
    if (this.leading && !this.holdsLease()) this.setLeading(false);
    try {
      const sent = performance.now();
      const leading = await this.tryAcquireOrRenew();
      if (leading) this.lastRenew = sent;
      // A renewal that itself took past the deadline does not count.
      this.setLeading(leading && performance.now() - sent < this.renewDeadlineMs());
    } catch (err) {
      this.options.logger.warn({ reason: apiErrorSummary(err) }, 'leader election error');
      if (this.leading && !this.holdsLease()) this.setLeading(false);
    }
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => void this.tick(),
      this.options.retryPeriodMs ?? OPERATOR_DEFAULTS.retryPeriodMs,
    );
  }

  private expiredByOurClock(lease: V1Lease): boolean {
    const record = JSON.stringify([
      lease.spec?.holderIdentity,
      lease.spec?.renewTime,
      lease.spec?.acquireTime,
      lease.spec?.leaseDurationSeconds,
    ]);
    const at = performance.now();
    if (this.observed?.record !== record) this.observed = { record, at };
    const duration = lease.spec?.leaseDurationSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds;
    return at - this.observed.at > duration * 1000;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const duration = this.options.leaseDurationSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds;
    const now = new MicroTime();
    const lease = await this.api.readLease(namespace, name);
    if (!lease) {
      try {
        await this.api.createLease(namespace, {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: duration,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (err) {
        if (httpStatus(err) === 409) return false;
        throw err;
      }
    }
    const holder = lease.spec?.holderIdentity;
    const mine = holder === identity;
    if (!mine && holder && !this.expiredByOurClock(lease)) return false;
    try {
      await this.api.replaceLease(namespace, name, {
        ...lease,
        spec: {
          ...lease.spec,
          acquireTime: micro(lease.spec?.acquireTime),
          holderIdentity: identity,
          leaseDurationSeconds: duration,
          renewTime: now,
          ...(mine
            ? {}
            : { acquireTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }),
        },
      });
      return true;
    } catch (err) {
      if (httpStatus(err) === 409) return false;
      throw err;
    }
  }
}
