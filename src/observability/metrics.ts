import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics, named and labelled by Prometheus conventions (base units in the name,
 * `_total` counters, bounded labels; never a URL with credentials or SQL text as a label).
 * docs/metrics.md lists every one; the e2e tests scrape a running operator through
 * `promtool check metrics`.
 *
 * Metrics are created per registry, once: the operator serves its own, and a library caller
 * (the doc-server) passes its registry so the engine's counters appear beside its own.
 */

/** Seconds, from 5 ms to about 2 h: reconcile passes, migrations and the long pipeline steps. */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 300, 900, 3600, 7200];

/** The engine's counters, recorded by every Migrator built with them (CLI, operator, library). */
export interface EngineMetrics {
  readonly migrationsApplied: Counter<'database'>;
  readonly migrationsFailed: Counter<'database'>;
  readonly lockTimeoutRetries: Counter<'database'>;
  readonly migrationDuration: Histogram<'database'>;
}

const engineByRegistry = new WeakMap<Registry, EngineMetrics>();

/** The engine's metrics in `registry` (created on first use, then the same objects). */
export function engineMetrics(registry: Registry): EngineMetrics {
  const known = engineByRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const metrics: EngineMetrics = {
    migrationsApplied: new Counter({
      name: 'dbmigrate_migrations_applied_total',
      help: 'Migrations applied (up), by database (user@host:port/name, never a password).',
      labelNames: ['database'],
      registers,
    }),
    migrationsFailed: new Counter({
      name: 'dbmigrate_migrations_failed_total',
      help: 'Migrations that failed (SQL error, lock timeout after its retries, lost connection), by database.',
      labelNames: ['database'],
      registers,
    }),
    lockTimeoutRetries: new Counter({
      name: 'dbmigrate_lock_timeout_retries_total',
      help: 'Times a migration or statement was retried after lock_timeout expired, by database.',
      labelNames: ['database'],
      registers,
    }),
    migrationDuration: new Histogram({
      name: 'dbmigrate_migration_duration_seconds',
      help: 'How long each applied migration took, by database.',
      labelNames: ['database'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
  };
  engineByRegistry.set(registry, metrics);
  return metrics;
}

/** What the operator exposes, beside the engine's counters and Node's process metrics. */
export interface OperatorMetrics {
  readonly registry: Registry;
  readonly engine: EngineMetrics;
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly reconcileErrors: Counter<'kind'>;
  readonly reconcileDuration: Histogram<'kind'>;
  readonly workqueueRetries: Counter<'kind'>;
  readonly stepDuration: Histogram<'step' | 'outcome'>;
}

/** Values read when scraped, from the operator's own state (informer caches, queue, Lease). */
export interface OperatorGauges {
  workqueueDepth(): number;
  isLeader(): boolean;
  /** DatabaseMigrations in each phase (every known phase, zeros included). */
  migrationsByPhase(): ReadonlyMap<string, number>;
  /** Each DatabaseMigration's current phase and when it entered it (seconds since the epoch). */
  migrationPhases(): readonly {
    namespace: string;
    name: string;
    phase: string;
    sinceSeconds: number;
  }[];
  /** Per database (namespace and the Secret naming it), the newest verified snapshot. */
  verifiedSnapshots(): readonly {
    namespace: string;
    database: string;
    verifiedAtSeconds: number;
    sizeBytes: number;
  }[];
  /** What the last dry-run of each DatabaseMigration predicted per migration. */
  dryRunWriteBlocks(): readonly {
    namespace: string;
    name: string;
    migration: string;
    seconds: number;
  }[];
}

/**
 * A registry with the operator's metrics (controller-runtime's names where they have a
 * counterpart, under `dbmigrate_`), the engine's, and Node's default process metrics. The
 * gauges read `gauges` at scrape time, so they hold after a restart or a failover.
 */
export function operatorMetrics(
  gauges: OperatorGauges,
  registry = new Registry(),
): OperatorMetrics {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges `_total`, which Prometheus reserves for counters (promtool
  // check metrics refuses them); the handle and request counts are not worth a renamed copy.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  new Gauge({
    name: 'dbmigrate_workqueue_depth',
    help: 'Resources waiting in the work queue.',
    registers,
    collect() {
      this.set(gauges.workqueueDepth());
    },
  });
  new Gauge({
    name: 'dbmigrate_leader',
    help: '1 while this replica holds the leader Lease and reconciles, 0 while it stands by.',
    registers,
    collect() {
      this.set(gauges.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'dbmigrate_database_migrations',
    help: 'DatabaseMigrations in each phase, in the namespaces this operator watches.',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      for (const [phase, n] of gauges.migrationsByPhase()) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'dbmigrate_database_migration_phase_since_timestamp_seconds',
    help: 'When each DatabaseMigration entered its current phase (one series per resource, labelled with that phase).',
    labelNames: ['namespace', 'name', 'phase'],
    registers,
    collect() {
      this.reset();
      for (const m of gauges.migrationPhases())
        this.set({ namespace: m.namespace, name: m.name, phase: m.phase }, m.sinceSeconds);
    },
  });
  new Gauge({
    name: 'dbmigrate_snapshot_last_verified_timestamp_seconds',
    help: 'When the newest verified BackupSnapshot of each database was verified (database: the Secret holding its URL).',
    labelNames: ['namespace', 'database'],
    registers,
    collect() {
      this.reset();
      for (const s of gauges.verifiedSnapshots())
        this.set({ namespace: s.namespace, database: s.database }, s.verifiedAtSeconds);
    },
  });
  new Gauge({
    name: 'dbmigrate_snapshot_size_bytes',
    help: 'Size of the newest verified snapshot dump of each database.',
    labelNames: ['namespace', 'database'],
    registers,
    collect() {
      this.reset();
      for (const s of gauges.verifiedSnapshots())
        this.set({ namespace: s.namespace, database: s.database }, s.sizeBytes);
    },
  });
  new Gauge({
    name: 'dbmigrate_dry_run_write_block_seconds',
    help: "How long each migration held a lock that blocks writes in its DatabaseMigration's last staging dry-run.",
    labelNames: ['namespace', 'name', 'migration'],
    registers,
    collect() {
      this.reset();
      for (const d of gauges.dryRunWriteBlocks())
        this.set({ namespace: d.namespace, name: d.name, migration: d.migration }, d.seconds);
    },
  });
  return {
    registry,
    engine: engineMetrics(registry),
    reconciles: new Counter({
      name: 'dbmigrate_reconcile_total',
      help: 'Reconcile passes by kind and result (success, requeue, retry_later, terminal, error).',
      labelNames: ['kind', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'dbmigrate_reconcile_errors_total',
      help: 'Reconcile passes that failed with an error and were retried with backoff, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'dbmigrate_reconcile_duration_seconds',
      help: 'How long a reconcile pass took, by kind (long steps run as tasks, not in the pass).',
      labelNames: ['kind'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workqueueRetries: new Counter({
      name: 'dbmigrate_workqueue_retries_total',
      help: 'Resources put back in the work queue with backoff after a failed or waiting pass, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    stepDuration: new Histogram({
      name: 'dbmigrate_step_duration_seconds',
      help: 'How long each long step took (snapshot, snapshot_verify, dry_run, apply, verify), by outcome (done, failed).',
      labelNames: ['step', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
  };
}
