import { Gauge, Registry } from 'prom-client';
import type { HealthEvaluation, HealthStatus } from '../db/health-findings.js';
import type { HealthReport, SectionName } from '../db/health.js';

/**
 * A health check as Prometheus gauges, in their own Registry (never the operator's global
 * one). Base units: seconds, bytes, ratios 0-1. Labels are bounded: a section name, a check
 * name, and relation / slot / replica names from lists capped at health.topN; never query text.
 */

/** What one refresh produced: a judged report, or why the database could not be checked. */
export type HealthOutcome =
  | {
      readonly kind: 'checked';
      readonly report: HealthReport;
      readonly evaluation: HealthEvaluation;
    }
  | { readonly kind: 'unreachable'; readonly message: string };

const STATUSES: readonly HealthStatus[] = ['ok', 'warning', 'critical', 'unknown'];

export class HealthMetrics {
  readonly registry = new Registry();
  private readonly gauges: Gauge[] = [];

  private gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames: L[] = [],
  ): Gauge<L> {
    const g = new Gauge<L>({
      name: `dbmigrate_health_${name}`,
      help,
      labelNames,
      registers: [this.registry],
    });
    this.gauges.push(g);
    return g;
  }

  private readonly up = this.gauge('up', '1 when the last check reached the database, else 0.');
  private readonly status = this.gauge(
    'status',
    'The overall status of the last check: 1 for the current one of ok, warning, critical, unknown.',
    ['status'],
  );
  private readonly findings = this.gauge('findings', 'Findings of the last check.', [
    'check',
    'severity',
  ]);
  private readonly sectionAvailable = this.gauge(
    'section_available',
    '1 when the section was read, 0 when the role or a timeout prevented it (absent sections are not listed).',
    ['section'],
  );
  private readonly duration = this.gauge('check_duration_seconds', 'How long the last check took.');
  private readonly maxConnections = this.gauge('max_connections', 'max_connections of the server.');
  private readonly clusterConnections = this.gauge(
    'cluster_connections',
    'Client connections to the whole server.',
  );
  private readonly connections = this.gauge(
    'connections',
    'Client connections to this database by state.',
    ['state'],
  );
  private readonly longestQuery = this.gauge(
    'longest_query_seconds',
    'Run time of the longest running query in this database.',
  );
  private readonly longestTransaction = this.gauge(
    'longest_transaction_seconds',
    'Age of the oldest open transaction in this database.',
  );
  private readonly idleInTransaction = this.gauge(
    'idle_in_transaction_sessions',
    'Sessions idle in an open transaction in this database.',
  );
  private readonly idleInTransactionLongest = this.gauge(
    'idle_in_transaction_longest_seconds',
    'The longest time a session of this database has been idle in transaction.',
  );
  private readonly lockWaiting = this.gauge(
    'lock_waiting_sessions',
    'Sessions of this database waiting for a lock.',
  );
  private readonly lockWaitLongest = this.gauge(
    'lock_wait_longest_seconds',
    'The longest current lock wait in this database.',
  );
  private readonly invalidIndexes = this.gauge(
    'invalid_indexes',
    'Invalid indexes, not counting builds in progress.',
  );
  private readonly cacheHitRatio = this.gauge(
    'cache_hit_ratio',
    'blks_hit / (blks_hit + blks_read) of this database since the statistics reset.',
  );
  private readonly deadTuples = this.gauge(
    'table_dead_tuples',
    'Dead tuples of the tables with the most.',
    ['schema', 'table'],
  );
  private readonly deadTupleRatio = this.gauge(
    'table_dead_tuple_ratio',
    'Dead tuples as a share of live + dead, for the tables with the most.',
    ['schema', 'table'],
  );
  private readonly autovacuumEnabled = this.gauge(
    'autovacuum_enabled',
    '1 when the server runs autovacuum (autovacuum and track_counts on).',
  );
  private readonly autovacuumDisabledTables = this.gauge(
    'autovacuum_disabled_tables',
    'Tables with the reloption autovacuum_enabled = false.',
  );
  private readonly tableBloat = this.gauge(
    'table_bloat_bytes',
    'Estimated wasted bytes of the most bloated tables (from the statistics).',
    ['schema', 'table'],
  );
  private readonly indexBloat = this.gauge(
    'index_bloat_bytes',
    'Estimated wasted bytes of the most bloated btree indexes (from the statistics).',
    ['schema', 'index'],
  );
  private readonly xidAge = this.gauge(
    'oldest_xid_age',
    'age(datfrozenxid) of the oldest database, in transactions.',
  );
  private readonly xidAgeRatio = this.gauge(
    'oldest_xid_age_ratio',
    'age(datfrozenxid) of the oldest database as a share of autovacuum_freeze_max_age.',
  );
  private readonly replicationLag = this.gauge(
    'replication_lag_seconds',
    'Replay lag of each replica.',
    ['replica'],
  );
  private readonly slotRetained = this.gauge(
    'replication_slot_retained_bytes',
    'WAL retained by each replication slot.',
    ['slot', 'active'],
  );
  private readonly checkpoints = this.gauge(
    'checkpoints',
    'Checkpoints since the statistics reset, timed or requested (a counter read from the server).',
    ['kind'],
  );
  private readonly sinceCheckpoint = this.gauge(
    'seconds_since_checkpoint',
    'Time since the last checkpoint (needs pg_monitor).',
  );
  private readonly databaseSize = this.gauge('database_size_bytes', 'Size of this database.');
  private readonly relationSize = this.gauge(
    'relation_size_bytes',
    'Total size (with indexes and TOAST) of the largest tables.',
    ['schema', 'relation'],
  );
  private readonly pgvector = this.gauge(
    'pgvector_info',
    '1, labelled with the installed pgvector version.',
    ['version'],
  );
  private readonly vectorIndexSize = this.gauge(
    'vector_index_size_bytes',
    'Size of each hnsw / ivfflat index.',
    ['schema', 'index', 'method'],
  );
  private readonly indexBuilds = this.gauge(
    'index_builds',
    'CREATE INDEX / REINDEX runs in progress in this database.',
  );
  private readonly readPath = this.gauge(
    'read_path_seconds',
    'Latency of the doc-server read-path smoke queries.',
    ['query'],
  );

  /** Replaces every value with what `outcome` says; nothing of an earlier check survives. */
  update(outcome: HealthOutcome): void {
    for (const g of this.gauges) g.reset();
    if (outcome.kind === 'unreachable') {
      this.up.set(0);
      return;
    }
    const { report, evaluation } = outcome;
    this.up.set(1);
    for (const s of STATUSES) this.status.set({ status: s }, s === evaluation.status ? 1 : 0);
    for (const f of evaluation.findings)
      this.findings.inc({ check: f.check, severity: f.severity });
    this.duration.set(report.durationMs / 1000);
    for (const [name, section] of Object.entries(report.sections) as [
      SectionName,
      { status: string },
    ][]) {
      if (section.status !== 'absent')
        this.sectionAvailable.set({ section: name }, section.status === 'ok' ? 1 : 0);
    }
    this.sections(report);
  }

  private sections(report: HealthReport): void {
    const s = report.sections;
    if (s.connections.status === 'ok') {
      const c = s.connections.data;
      this.maxConnections.set(c.max);
      this.clusterConnections.set(c.total);
      for (const [state, n] of Object.entries(c.byState)) this.connections.set({ state }, n);
    }
    if (s.activity.status === 'ok') {
      const a = s.activity.data;
      this.longestQuery.set(a.longestQuery?.seconds ?? 0);
      this.longestTransaction.set(a.longestTransaction?.seconds ?? 0);
      this.idleInTransaction.set(a.idleInTransaction.length);
      this.idleInTransactionLongest.set(a.idleInTransaction[0]?.seconds ?? 0);
    }
    if (s.locks.status === 'ok') {
      this.lockWaiting.set(s.locks.data.waiting.length);
      this.lockWaitLongest.set(s.locks.data.waiting[0]?.seconds ?? 0);
    }
    if (s.invalidIndexes.status === 'ok')
      this.invalidIndexes.set(s.invalidIndexes.data.filter((i) => !i.building).length);
    if (s.cache.status === 'ok' && s.cache.data.hitRatio !== null)
      this.cacheHitRatio.set(s.cache.data.hitRatio);
    if (s.vacuum.status === 'ok') {
      const v = s.vacuum.data;
      this.autovacuumEnabled.set(v.autovacuum && v.trackCounts ? 1 : 0);
      this.autovacuumDisabledTables.set(v.tables.filter((t) => !t.autovacuumEnabled).length);
      for (const t of v.tables) {
        this.deadTuples.set({ schema: t.schema, table: t.table }, t.deadTuples);
        this.deadTupleRatio.set({ schema: t.schema, table: t.table }, t.deadRatio);
      }
    }
    if (s.bloat.status === 'ok') {
      for (const b of s.bloat.data.tables)
        this.tableBloat.set({ schema: b.schema, table: b.name }, b.wastedBytes);
      for (const b of s.bloat.data.indexes)
        this.indexBloat.set({ schema: b.schema, index: b.name }, b.wastedBytes);
    }
    if (s.wraparound.status === 'ok' && s.wraparound.data.oldest) {
      const w = s.wraparound.data;
      const age = w.oldest?.age ?? 0;
      this.xidAge.set(age);
      this.xidAgeRatio.set(w.freezeMaxAge === 0 ? 0 : age / w.freezeMaxAge);
    }
    if (s.replication.status === 'ok') {
      for (const r of s.replication.data.replicas)
        if (r.replayLagSeconds !== null)
          this.replicationLag.set(
            { replica: r.application ?? r.clientAddress ?? 'unknown' },
            r.replayLagSeconds,
          );
      for (const slot of s.replication.data.slots)
        if (slot.retainedBytes !== null)
          this.slotRetained.set(
            { slot: slot.name, active: String(slot.active) },
            slot.retainedBytes,
          );
    }
    if (s.checkpoints.status === 'ok') {
      const c = s.checkpoints.data;
      this.checkpoints.set({ kind: 'timed' }, c.timed);
      this.checkpoints.set({ kind: 'requested' }, c.requested);
      if (c.secondsSinceLast !== null) this.sinceCheckpoint.set(c.secondsSinceLast);
    }
    if (s.sizes.status === 'ok') {
      this.databaseSize.set(s.sizes.data.databaseBytes);
      for (const r of s.sizes.data.largest)
        this.relationSize.set({ schema: r.schema, relation: r.relation }, r.bytes);
    }
    if (s.vector.status === 'ok') {
      this.pgvector.set({ version: s.vector.data.version }, 1);
      for (const i of s.vector.data.indexes)
        this.vectorIndexSize.set({ schema: i.schema, index: i.index, method: i.method }, i.bytes);
    }
    if (s.indexBuilds.status === 'ok') this.indexBuilds.set(s.indexBuilds.data.length);
    if (s.readPaths.status === 'ok')
      for (const q of s.readPaths.data) this.readPath.set({ query: q.name }, q.ms / 1000);
  }
}
