import { OPERATOR_DEFAULTS } from '../api/settings.js';
import { hostname } from 'node:os';
import {
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { operatorMetrics, type OperatorMetrics } from '../observability/metrics.js';
import { GROUP, VERSION } from '../api/v1alpha1/common.js';
import { apiErrorSummary, KubeApi, type Plural } from './kube.js';
import { LeaderElector } from './leader.js';
import {
  dryRunWriteBlocks,
  migrationPhases,
  migrationsByPhase,
  verifiedSnapshots,
} from './metrics-gauges.js';
import { MIGRATION_LABEL, MigrationReconciler } from './migration-reconciler.js';
import { RetryLater } from './migration-source.js';
import { TerminalError, type Reconciler } from './reconcile.js';
import { SnapshotReconciler } from './snapshot-reconciler.js';
import { TaskRunner } from './tasks.js';
import { WorkQueue } from './work-queue.js';

export interface OperatorOptions {
  readonly api: KubeApi;
  readonly logger: Logger;
  /** Where the leader Lease lives. */
  readonly leaseNamespace: string;
  readonly leaseName?: string;
  readonly identity?: string;
  readonly workers?: number;
  readonly leaseDurationSeconds?: number;
  readonly retryPeriodMs?: number;
  /** Every resource is reconciled at least this often, whatever the watch delivered (default 30 s). */
  readonly resyncPeriodMs?: number;
  /**
   * Namespaces to watch; empty or absent watches the whole cluster. Restricted, the operator
   * lists and watches only there, so a Role per namespace is all the RBAC it needs.
   */
  readonly watchNamespaces?: readonly string[];
  /** Where the operator's metrics are registered (served on /metrics); a new one by default. */
  readonly registry?: Registry;
}

type Kind = 'dbm' | 'snap';

/** The `kind` label of the reconcile metrics. */
const KIND_LABEL: Readonly<Record<Kind, string>> = {
  dbm: 'DatabaseMigration',
  snap: 'BackupSnapshot',
};

/** The `step` label of a task key's last part (`<uid>/<run>/dry-run` → dry_run). */
function stepOf(key: string): string {
  return (key.split('/').at(-1) ?? 'unknown').replaceAll('-', '_');
}

function keyOf(kind: Kind, obj: KubernetesObject): string {
  return `${kind}/${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}

/**
 * The operator: informers feed a keyed work queue, workers reconcile, and only the Lease
 * holder reconciles (standbys watch but do nothing). Graceful shutdown hands the lease over.
 */
export class Operator {
  private readonly queue = new WorkQueue();
  private readonly tasks: TaskRunner;
  /** Served on /metrics by the probe server. */
  readonly metrics: OperatorMetrics;
  private readonly elector: LeaderElector;
  private readonly informers: {
    readonly plural: Plural | 'configmaps';
    readonly informer: Informer<KubernetesObject> & { list(): readonly KubernetesObject[] };
  }[] = [];
  /** Informers whose first list has not succeeded yet: with none created, not ready either. */
  private readonly unlisted = new Set<string>();
  private readonly reconcilers: Readonly<Record<Kind, Reconciler>>;
  private stopped = false;
  private workersDone: Promise<void>[] = [];
  private resync: NodeJS.Timeout | null = null;

  constructor(private readonly options: OperatorOptions) {
    this.metrics = operatorMetrics(
      {
        workqueueDepth: () => this.queue.length,
        isLeader: () => this.elector.isLeader,
        migrationsByPhase: () => migrationsByPhase(this.cached('databasemigrations')),
        migrationPhases: () => migrationPhases(this.cached('databasemigrations')),
        verifiedSnapshots: () => verifiedSnapshots(this.cached('backupsnapshots')),
        dryRunWriteBlocks: () => dryRunWriteBlocks(this.cached('databasemigrations')),
      },
      options.registry,
    );
    // As many long steps at once as workers, one per database (src/operator/tasks.ts).
    this.tasks = new TaskRunner(
      (key, outcome, seconds) => {
        this.metrics.stepDuration.observe({ step: stepOf(key), outcome }, seconds);
      },
      { limit: options.workers ?? OPERATOR_DEFAULTS.workers },
    );
    const requeue = (kind: Kind) => (namespace: string, name: string) => {
      this.queue.add(`${kind}/${namespace}/${name}`);
    };
    const migrations = new MigrationReconciler({
      api: options.api,
      tasks: this.tasks,
      logger: options.logger,
      requeue: requeue('dbm'),
      fence: () => this.fence(),
      engineMetrics: this.metrics.engine,
    });
    const snapshots = new SnapshotReconciler({
      api: options.api,
      tasks: this.tasks,
      logger: options.logger,
      requeue: requeue('snap'),
    });
    this.reconcilers = { dbm: migrations, snap: snapshots };
    this.elector = new LeaderElector(options.api, {
      namespace: options.leaseNamespace,
      name: options.leaseName ?? OPERATOR_DEFAULTS.leaseName,
      identity: options.identity ?? `${hostname()}-${String(process.pid)}`,
      logger: options.logger,
      ...(options.leaseDurationSeconds !== undefined && {
        leaseDurationSeconds: options.leaseDurationSeconds,
      }),
      ...(options.retryPeriodMs !== undefined && { retryPeriodMs: options.retryPeriodMs }),
      onStartedLeading: () => {
        // Level-triggered: on taking over, look at everything once.
        for (const o of this.cached()) this.enqueue(o);
      },
      onStoppedLeading: () => {
        // Another replica may lead now: nothing of ours may write again. Tasks stop before
        // their next statement (the advisory lock stays the second fence).
        void this.tasks.cancel('', 'this replica lost the leader Lease');
      },
    });
  }

  /** Why this replica must not write now, or null while it holds the Lease. */
  private fence(): string | null {
    if (this.stopped && !this.elector.isLeader) return 'the operator is shutting down';
    return this.elector.holdsLease() ? null : 'this replica no longer holds the leader Lease';
  }

  /**
   * Why this replica is not ready, or null when it is: every informer has listed. A standby is
   * ready too (it serves probes and waits for the Lease); leadership is not readiness.
   */
  notReadyReason(): string | null {
    if (this.stopped) return 'shutting down';
    if (this.informers.length === 0 || this.unlisted.size > 0) {
      const waiting = [...this.unlisted].sort().join(', ');
      return `informers have not listed yet${waiting ? `: ${waiting}` : ''}`;
    }
    return null;
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  private enqueue(obj: KubernetesObject): void {
    const kind: Kind = obj.kind === 'BackupSnapshot' ? 'snap' : 'dbm';
    this.options.logger.debug(
      { key: keyOf(kind, obj), resource_version: obj.metadata?.resourceVersion },
      'enqueue',
    );
    this.queue.add(keyOf(kind, obj));
    const migration =
      obj.metadata?.annotations?.[MIGRATION_LABEL] ?? obj.metadata?.labels?.[MIGRATION_LABEL];
    if (kind === 'snap' && migration !== undefined) {
      // A pre-migration snapshot's progress moves its migration on.
      this.queue.add(`dbm/${obj.metadata?.namespace ?? 'default'}/${migration}`);
    }
  }

  /** Cached DatabaseMigrations and BackupSnapshots (or one of them) of every watched namespace. */
  private cached(plural?: Plural): KubernetesObject[] {
    return this.informers
      .filter((i) => i.plural !== 'configmaps' && (plural === undefined || i.plural === plural))
      .flatMap((i) => [...i.informer.list()]);
  }

  /** `/namespaces/<ns>` for each watched namespace, or `''` once for the whole cluster. */
  private scopes(): string[] {
    const namespaces = this.options.watchNamespaces ?? [];
    return namespaces.length ? namespaces.map((ns) => `/namespaces/${ns}`) : [''];
  }

  private informer(plural: Plural, scope: string, namespace: string | undefined) {
    return this.watch(
      `${plural}${scope}`,
      `/apis/${GROUP}/${VERSION}${scope}/${plural}`,
      async () =>
        (await this.options.api.list(plural, namespace)) as KubernetesListObject<KubernetesObject>,
      (obj) => {
        this.enqueue(obj);
      },
    );
  }

  /**
   * ConfigMaps are watched so a migration waiting on one (missing, or its SQL edited) is looked
   * at when it changes, not only at the next retry or resync.
   */
  private configMapInformer(scope: string, namespace: string | undefined) {
    return this.watch(
      `configmaps${scope}`,
      `/api/v1${scope}/configmaps`,
      () => this.options.api.listConfigMaps(namespace),
      (cm) => {
        const ns = cm.metadata?.namespace ?? 'default';
        for (const obj of this.cached('databasemigrations')) {
          const ref = (obj as { spec?: { migrations?: { configMapRef?: { name?: string } } } }).spec
            ?.migrations?.configMapRef?.name;
          if (obj.metadata?.namespace === ns && ref === cm.metadata?.name) this.enqueue(obj);
        }
      },
    );
  }

  private watch(
    what: string,
    path: string,
    list: () => Promise<KubernetesListObject<KubernetesObject>>,
    onChange: (obj: KubernetesObject) => void,
  ): Informer<KubernetesObject> & { list(): readonly KubernetesObject[] } {
    // Not ready until this informer's list has succeeded once (a 429 while the API server's
    // storage initialises fails it, and the restart below lists again).
    this.unlisted.add(what);
    const listed = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await list();
      this.unlisted.delete(what);
      return result;
    };
    const inf = makeInformer(this.options.api.config, path, listed);
    for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, onChange);
    // Restart the watch after a pause (the list resyncs the cache). A start that itself fails
    // without an error event is retried the same way, so a watch is never left dead.
    const restart = (): void => {
      setTimeout(() => {
        if (this.stopped) return;
        inf.start().catch((err: unknown) => {
          this.options.logger.warn(
            { watch: what, reason: apiErrorSummary(err) },
            'informer restart failed; retrying',
          );
          restart();
        });
      }, 2000).unref();
    };
    inf.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.options.logger.warn(
        { watch: what, reason: apiErrorSummary(err) },
        'informer error; restarting',
      );
      restart();
    });
    return inf;
  }

  async start(): Promise<void> {
    const log = this.options.logger;
    for (const scope of this.scopes()) {
      const namespace = scope === '' ? undefined : scope.slice('/namespaces/'.length);
      for (const plural of ['databasemigrations', 'backupsnapshots'] as const)
        this.informers.push({ plural, informer: this.informer(plural, scope, namespace) });
      this.informers.push({
        plural: 'configmaps',
        informer: this.configMapInformer(scope, namespace),
      });
    }
    for (const { informer } of this.informers) await informer.start();
    this.elector.start();
    // Level-triggered safety net: a missed watch event delays a step by one resync, never forever.
    this.resync = setInterval(() => {
      if (this.elector.isLeader) for (const o of this.cached()) this.enqueue(o);
    }, this.options.resyncPeriodMs ?? 30_000);
    this.resync.unref();
    const workers = this.options.workers ?? OPERATOR_DEFAULTS.workers;
    for (let i = 0; i < workers; i++) this.workersDone.push(this.work());
    log.info(
      { workers, watch_namespaces: this.options.watchNamespaces ?? 'all' },
      'operator started',
    );
  }

  private countReconcile(kind: string, started: number, result: string): void {
    this.metrics.reconciles.inc({ kind, result });
    this.metrics.reconcileDuration.observe({ kind }, (performance.now() - started) / 1000);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === null) return;
      let kind = KIND_LABEL.dbm;
      let started = performance.now();
      try {
        if (!this.elector.holdsLease()) continue;
        const [first, namespace = 'default', name = ''] = key.split('/');
        kind = KIND_LABEL[first === 'snap' ? 'snap' : 'dbm'];
        this.options.logger.debug({ key }, 'reconcile');
        started = performance.now();
        const result = await this.reconcilers[first === 'snap' ? 'snap' : 'dbm'].reconcile({
          namespace,
          name,
        });
        this.queue.forget(key);
        if (result.requeue) this.queue.addAfter(key, result.afterMs);
        this.countReconcile(kind, started, result.requeue ? 'requeue' : 'success');
      } catch (err) {
        if (err instanceof TerminalError) this.countReconcile(kind, started, 'terminal');
        else if (err instanceof RetryLater) this.countReconcile(kind, started, 'retry_later');
        else {
          this.countReconcile(kind, started, 'error');
          this.metrics.reconcileErrors.inc({ kind });
        }
        if (!(err instanceof TerminalError)) this.metrics.workqueueRetries.inc({ kind });
        if (err instanceof TerminalError) {
          // Retrying cannot fix it: wait for the object to change. Its status says why.
          this.queue.forget(key);
          this.options.logger.warn(
            { key, reason: err.message },
            'reconcile ended; waiting for the resource to change',
          );
        } else if (err instanceof RetryLater) {
          const delay = this.queue.addRateLimited(key);
          this.options.logger.info(
            { key, reason: err.reason, retry_in_ms: delay },
            'waiting for another object; will retry',
          );
        } else {
          const delay = this.queue.addRateLimited(key);
          this.options.logger.warn(
            { err, key, retry_in_ms: delay },
            'reconcile failed; will retry',
          );
        }
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Stops watching, lets running tasks finish for up to `graceMs`, then hands the lease over. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    for (const { informer } of this.informers) await informer.stop().catch(() => undefined);
    this.queue.shutDown();
    await Promise.all(this.workersDone);
    await this.tasks.drain(graceMs);
    // Whatever still runs stops (before its next statement) before the Lease is handed over.
    await this.tasks.cancel('', 'the operator is shutting down');
    await this.elector.stop();
    this.options.logger.info('operator stopped');
  }
}
