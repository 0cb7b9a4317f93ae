import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatus, type KubeApi } from './kube.js';

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

/** Whether a lease held by someone else has expired and may be taken over. */
export function leaseExpired(lease: V1Lease, now: Date): boolean {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const duration = lease.spec?.leaseDurationSeconds ?? 15;
  if (!renew) return true;
  return new Date(renew).getTime() + duration * 1000 < now.getTime();
}

/**
 * coordination.k8s.io Lease election: one replica holds the lease and renews it every retry
 * period; the others take over only after it has gone un-renewed for the lease duration.
 * Every write is a replace at the read resourceVersion, so two replicas never both win.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly api: KubeApi,
    private readonly options: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
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
    try {
      const leading = await this.tryAcquireOrRenew();
      if (leading) this.lastRenew = Date.now();
      this.setLeading(leading);
    } catch (err) {
      this.options.logger.warn({ err }, 'leader election error');
      // Without a renewal for a whole lease duration another replica may take over: stop first.
      const duration = (this.options.leaseDurationSeconds ?? 15) * 1000;
      if (this.leading && Date.now() - this.lastRenew > duration * 0.8) this.setLeading(false);
    }
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.retryPeriodMs ?? 2000);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const duration = this.options.leaseDurationSeconds ?? 15;
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
    if (!mine && holder && !leaseExpired(lease, now)) return false;
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
