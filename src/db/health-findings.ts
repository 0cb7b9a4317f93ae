import type { HealthConfig, HealthLimits } from '../api/health-config.js';
import type { HealthReport, SectionName } from './health.js';

/**
 * Pure judgement of a health report against the thresholds of dbmigrate.json: which measured
 * values are warnings or critical, and the overall status with check_postgres's meaning
 * (ok, warning, critical, unknown when a section could not be read).
 */

export type Severity = 'warning' | 'critical';
export type HealthStatus = 'ok' | 'warning' | 'critical' | 'unknown';

/** Stable names: scripts, alert rules and the `check` metric label use them. */
export type CheckName =
  | 'connections'
  | 'longest_query'
  | 'longest_transaction'
  | 'idle_in_transaction'
  | 'lock_wait'
  | 'invalid_index'
  | 'cache_hit_ratio'
  | 'dead_tuples'
  | 'table_bloat'
  | 'index_bloat'
  | 'autovacuum_disabled'
  | 'xid_wraparound'
  | 'replication_lag'
  | 'inactive_slot'
  | 'read_path';

export interface Finding {
  readonly check: CheckName;
  readonly severity: Severity;
  /** What it is about: `cluster`, `pid 4711`, `public.documents`, a slot's name. */
  readonly subject: string;
  readonly message: string;
  /** The measured value in the threshold's unit, and the threshold it reached. */
  readonly value: number;
  readonly threshold: number;
}

export interface UnavailableSection {
  readonly section: SectionName;
  readonly reason: string;
}

export interface HealthEvaluation {
  readonly status: HealthStatus;
  /** Worst first. */
  readonly findings: readonly Finding[];
  readonly unavailable: readonly UnavailableSection[];
}

/** The severity `value` reaches, or null; `below` for values where lower is worse. */
export function severityOf(
  value: number,
  limits: HealthLimits,
  direction: 'above' | 'below' = 'above',
): { severity: Severity; threshold: number } | null {
  const reaches = (t: number): boolean => (direction === 'above' ? value >= t : value <= t);
  if (reaches(limits.critical)) return { severity: 'critical', threshold: limits.critical };
  if (reaches(limits.warning)) return { severity: 'warning', threshold: limits.warning };
  return null;
}

const CHECK_ORDER: readonly CheckName[] = [
  'xid_wraparound',
  'connections',
  'lock_wait',
  'longest_transaction',
  'idle_in_transaction',
  'longest_query',
  'replication_lag',
  'inactive_slot',
  'autovacuum_disabled',
  'invalid_index',
  'read_path',
  'dead_tuples',
  'table_bloat',
  'index_bloat',
  'cache_hit_ratio',
];

export function evaluateHealth(report: HealthReport, config: HealthConfig): HealthEvaluation {
  const findings: Finding[] = [];
  const add = (
    check: CheckName,
    subject: string,
    value: number,
    limits: HealthLimits,
    message: (threshold: number) => string,
    direction: 'above' | 'below' = 'above',
  ): void => {
    const hit = severityOf(value, limits, direction);
    if (hit)
      findings.push({
        check,
        severity: hit.severity,
        subject,
        message: message(hit.threshold),
        value,
        threshold: hit.threshold,
      });
  };
  const fixed = (check: CheckName, severity: Severity, subject: string, message: string): void => {
    findings.push({ check, severity, subject, message, value: 1, threshold: 1 });
  };
  const s = report.sections;
  const secs = (n: number): string => `${n.toFixed(n < 10 ? 1 : 0)}s`;
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  const who = (p: { pid: number; user: string | null; application: string | null }): string =>
    `pid ${String(p.pid)}${p.user === null ? '' : ` (${p.user}${p.application ? `, ${p.application}` : ''})`}`;

  if (s.connections.status === 'ok') {
    const c = s.connections.data;
    const ratio = c.max === 0 ? 0 : c.total / c.max;
    add(
      'connections',
      'cluster',
      ratio,
      config.connections,
      (t) =>
        `${String(c.total)} of max_connections ${String(c.max)} in use (${pct(ratio)}, threshold ${pct(t)})`,
    );
  }

  if (s.activity.status === 'ok') {
    const a = s.activity.data;
    const q = a.longestQuery;
    if (q)
      add(
        'longest_query',
        `pid ${String(q.pid)}`,
        q.seconds,
        config.longestQuerySeconds,
        (t) => `${who(q)} has run one query for ${secs(q.seconds)} (threshold ${secs(t)})`,
      );
    const x = a.longestTransaction;
    if (x)
      add(
        'longest_transaction',
        `pid ${String(x.pid)}`,
        x.seconds,
        config.longestTransactionSeconds,
        (t) =>
          `${who(x)} has kept a transaction open for ${secs(x.seconds)} (threshold ${secs(t)}); it holds back vacuum`,
      );
    for (const i of a.idleInTransaction)
      add(
        'idle_in_transaction',
        `pid ${String(i.pid)}`,
        i.seconds,
        config.idleInTransactionSeconds,
        (t) =>
          `${who(i)} is idle in ${i.aborted ? 'an aborted' : 'an open'} transaction for ${secs(i.seconds)} (threshold ${secs(t)}); its locks stay held`,
      );
  }

  if (s.locks.status === 'ok') {
    for (const w of s.locks.data.waiting)
      add(
        'lock_wait',
        `pid ${String(w.pid)}`,
        w.seconds,
        config.lockWaitSeconds,
        (t) =>
          `${who(w)} has waited ${secs(w.seconds)} for a ${w.waitingFor} lock (threshold ${secs(t)}), blocked by pid ${w.blockedBy.join(', ')}; chain ${w.chain.join(' → ')}`,
      );
  }

  if (s.invalidIndexes.status === 'ok') {
    const failed = s.invalidIndexes.data.filter((i) => !i.building);
    for (const i of failed)
      add(
        'invalid_index',
        `${i.schema}.${i.index}`,
        failed.length,
        config.invalidIndexes,
        () =>
          `index ${i.schema}.${i.index} on ${i.table} is invalid (a failed CREATE INDEX CONCURRENTLY?): it is maintained on every write but never used; drop it and build it again`,
      );
  }

  if (s.cache.status === 'ok') {
    const c = s.cache.data;
    const ratio = c.hitRatio;
    if (ratio !== null && c.blocksHit + c.blocksRead >= config.cacheHitRatio.minBlocks)
      add(
        'cache_hit_ratio',
        report.server.database,
        ratio,
        config.cacheHitRatio,
        (t) => `buffer cache hit ratio ${pct(ratio)} (threshold ${pct(t)})`,
        'below',
      );
  }

  if (s.vacuum.status === 'ok') {
    const v = s.vacuum.data;
    const { server, table } = config.autovacuumDisabled;
    if ((!v.autovacuum || !v.trackCounts) && server !== 'off')
      fixed(
        'autovacuum_disabled',
        server,
        'cluster',
        `${!v.autovacuum ? 'autovacuum' : 'track_counts'} is off for the whole server: dead tuples pile up and transaction IDs are not frozen`,
      );
    for (const t of v.tables) {
      const name = `${t.schema}.${t.table}`;
      if (!t.autovacuumEnabled && table !== 'off')
        fixed(
          'autovacuum_disabled',
          table,
          name,
          `autovacuum is disabled on ${name} (reloption autovacuum_enabled = false)`,
        );
      if (t.deadTuples >= config.deadTupleRatio.minDeadTuples)
        add(
          'dead_tuples',
          name,
          t.deadRatio,
          config.deadTupleRatio,
          (th) =>
            `${name} has ${String(t.deadTuples)} dead tuples, ${pct(t.deadRatio)} of its rows (threshold ${pct(th)}); last vacuum ${t.lastAutovacuum ?? t.lastVacuum ?? 'never'}`,
        );
    }
  }

  if (s.bloat.status === 'ok') {
    for (const b of s.bloat.data.tables)
      if (b.bytes >= config.tableBloatRatio.minBytes)
        add(
          'table_bloat',
          `${b.schema}.${b.name}`,
          b.ratio,
          config.tableBloatRatio,
          (t) =>
            `table ${b.schema}.${b.name}: about ${pct(b.ratio)} of ${mib(b.bytes)} is wasted (estimate, threshold ${pct(t)})`,
        );
    for (const b of s.bloat.data.indexes)
      if (b.bytes >= config.indexBloatRatio.minBytes)
        add(
          'index_bloat',
          `${b.schema}.${b.name}`,
          b.ratio,
          config.indexBloatRatio,
          (t) =>
            `index ${b.schema}.${b.name}: about ${pct(b.ratio)} of ${mib(b.bytes)} is wasted (estimate, threshold ${pct(t)}); REINDEX CONCURRENTLY reclaims it`,
        );
  }

  const oldest = s.wraparound.status === 'ok' ? s.wraparound.data.oldest : null;
  if (s.wraparound.status === 'ok' && oldest) {
    const w = s.wraparound.data;
    const ratio = w.freezeMaxAge === 0 ? 0 : oldest.age / w.freezeMaxAge;
    add(
      'xid_wraparound',
      oldest.database,
      ratio,
      config.xidAgeRatio,
      (t) =>
        `database ${oldest.database}: age(datfrozenxid) ${String(oldest.age)} is ${ratio.toFixed(2)}× autovacuum_freeze_max_age ${String(w.freezeMaxAge)} (threshold ${String(t)}×); wraparound stops writes at about 2.1 billion`,
    );
  }

  if (s.replication.status === 'ok') {
    for (const r of s.replication.data.replicas) {
      const lag = r.replayLagSeconds;
      const name = r.application ?? r.clientAddress ?? 'replica';
      if (lag !== null)
        add(
          'replication_lag',
          name,
          lag,
          config.replicationLagSeconds,
          (t) => `replica ${name} replays ${secs(lag)} behind (threshold ${secs(t)})`,
        );
    }
    for (const slot of s.replication.data.slots) {
      const retained = slot.retainedBytes;
      if (!slot.active && retained !== null)
        add(
          'inactive_slot',
          slot.name,
          retained,
          config.inactiveSlotRetainedBytes,
          (t) =>
            `inactive replication slot ${slot.name} retains ${mib(retained)} of WAL (threshold ${mib(t)}); drop it if its consumer is gone`,
        );
    }
  }

  if (s.readPaths.status === 'ok') {
    for (const q of s.readPaths.data)
      add(
        'read_path',
        q.name,
        q.ms,
        config.readPathMs,
        (t) => `read path ${q.name} took ${q.ms.toFixed(1)} ms (threshold ${String(t)} ms)`,
      );
  }

  const unavailable = (Object.entries(s) as [SectionName, (typeof s)[SectionName]][]).flatMap(
    ([section, value]) =>
      value.status === 'unavailable' ? [{ section, reason: value.reason }] : [],
  );
  findings.sort(
    (a, b) =>
      rank(b.severity) - rank(a.severity) ||
      CHECK_ORDER.indexOf(a.check) - CHECK_ORDER.indexOf(b.check) ||
      b.value - a.value,
  );
  return { status: statusOf(findings, unavailable), findings, unavailable };
}

function rank(severity: Severity): number {
  return severity === 'critical' ? 2 : 1;
}

/** check_postgres's order: critical over warning over unknown over ok. */
export function statusOf(
  findings: readonly Finding[],
  unavailable: readonly UnavailableSection[],
): HealthStatus {
  if (findings.some((f) => f.severity === 'critical')) return 'critical';
  if (findings.length > 0) return 'warning';
  return unavailable.length > 0 ? 'unknown' : 'ok';
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
