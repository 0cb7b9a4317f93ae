import type { HealthEvaluation, HealthStatus } from '../db/health-findings.js';
import type { HealthReport, Section } from '../db/health.js';
import { ExitCode } from './exit-codes.js';
import { renderTable } from './table.js';

/** `dbmigrate health`'s exit code for a status (check_postgres's meanings, dbmigrate's numbers). */
export function healthExitCode(status: HealthStatus): number {
  switch (status) {
    case 'ok':
      return ExitCode.ok;
    case 'warning':
      return ExitCode.healthWarning;
    case 'critical':
      return ExitCode.healthCritical;
    case 'unknown':
      return ExitCode.healthUnknown;
  }
}

/** The `--json` document; its top-level keys are stable (docs/health.md). */
export function healthJson(report: HealthReport, evaluation: HealthEvaluation): object {
  return {
    status: evaluation.status,
    exitCode: healthExitCode(evaluation.status),
    checkedAt: report.checkedAt,
    durationMs: report.durationMs,
    server: report.server,
    findings: evaluation.findings,
    unavailable: evaluation.unavailable,
    sections: report.sections,
  };
}

const fmtSeconds = (s: number): string =>
  s < 60 ? `${s.toFixed(1)}s` : s < 3600 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? String(v) : v.toFixed(1)} ${units[u] ?? 'B'}`;
}

const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;

/** The human report: the verdict, the findings worst first, then every section. */
export function healthText(report: HealthReport, evaluation: HealthEvaluation): string {
  const srv = report.server;
  const out: string[] = [
    `${evaluation.status.toUpperCase()}: database ${srv.database} on PostgreSQL ${srv.version}${srv.inRecovery ? ' (standby)' : ''} as ${srv.user}; ${String(evaluation.findings.length)} finding(s), checked in ${String(report.durationMs)} ms`,
  ];
  if (evaluation.findings.length > 0) {
    out.push(
      '',
      renderTable(
        ['SEVERITY', 'CHECK', 'SUBJECT', 'FINDING'],
        evaluation.findings.map((f) => [f.severity.toUpperCase(), f.check, f.subject, f.message]),
      ),
    );
  }
  if (evaluation.unavailable.length > 0) {
    out.push('', 'unavailable:');
    for (const u of evaluation.unavailable) out.push(`  ${u.section}: ${u.reason}`);
  }
  out.push('', ...sectionLines(report));
  return out.join('\n');
}

function sectionLines(report: HealthReport): string[] {
  const s = report.sections;
  const lines: string[] = [];
  const section = <T>(title: string, value: Section<T>, body: (data: T) => string[]): void => {
    if (value.status !== 'ok') {
      lines.push(`${title}: ${value.status} (${value.reason})`);
      return;
    }
    const [first = '', ...rest] = body(value.data);
    lines.push(`${title}: ${first}`, ...rest.map((l) => `  ${l}`));
  };
  section('connections', s.connections, (c) => [
    `${String(c.total)} of ${String(c.max)} (cluster); this database: ${
      Object.entries(c.byState)
        .map(([state, n]) => `${state} ${String(n)}`)
        .join(', ') || 'none'
    }`,
  ]);
  section('activity', s.activity, (a) => [
    `longest query ${a.longestQuery ? `${fmtSeconds(a.longestQuery.seconds)} (pid ${String(a.longestQuery.pid)})` : '-'}, longest transaction ${a.longestTransaction ? `${fmtSeconds(a.longestTransaction.seconds)} (pid ${String(a.longestTransaction.pid)})` : '-'}, idle in transaction ${String(a.idleInTransaction.length)}`,
    ...a.idleInTransaction.map(
      (i) =>
        `idle in transaction: pid ${String(i.pid)} ${fmtSeconds(i.seconds)} ${i.user ?? ''} ${i.query ?? ''}`,
    ),
  ]);
  section('locks', s.locks, (l) => [
    l.waiting.length === 0 ? 'no session waits for a lock' : `${String(l.waiting.length)} waiting`,
    ...l.waiting.map(
      (w) =>
        `chain ${w.chain.join(' → ')}: pid ${String(w.pid)} waits ${fmtSeconds(w.seconds)} for ${w.waitingFor}: ${w.query ?? ''}`,
    ),
    ...l.blockers.map(
      (b) =>
        `blocker pid ${String(b.pid)} (${b.user ?? '?'}, ${b.state ?? '?'}, transaction ${fmtSeconds(b.seconds)}): ${b.query ?? ''}`,
    ),
  ]);
  section('invalid indexes', s.invalidIndexes, (list) => [
    list.length === 0 ? 'none' : String(list.length),
    ...list.map(
      (i) => `${i.schema}.${i.index} on ${i.table}${i.building ? ' (being built now)' : ''}`,
    ),
  ]);
  section('cache', s.cache, (c) => [
    c.hitRatio === null
      ? 'nothing read yet'
      : `hit ratio ${pct(c.hitRatio)} (${String(c.blocksHit)} hits, ${String(c.blocksRead)} reads)`,
  ]);
  section('vacuum', s.vacuum, (v) => [
    `autovacuum ${v.autovacuum ? 'on' : 'OFF'}, track_counts ${v.trackCounts ? 'on' : 'OFF'}`,
    ...(v.tables.length === 0
      ? []
      : renderTable(
          ['TABLE', 'LIVE', 'DEAD', 'DEAD %', 'LAST AUTOVACUUM', 'LAST ANALYZE', 'AUTOVACUUM'],
          v.tables.map((t) => [
            `${t.schema}.${t.table}`,
            String(t.liveTuples),
            String(t.deadTuples),
            pct(t.deadRatio),
            t.lastAutovacuum ?? t.lastVacuum ?? '-',
            t.lastAutoanalyze ?? t.lastAnalyze ?? '-',
            t.autovacuumEnabled ? 'on' : 'OFF',
          ]),
        ).split('\n')),
  ]);
  section('bloat (estimate)', s.bloat, (b) => [
    b.limitedToReadableTables ? 'only tables whose columns this role may read' : 'all tables',
    ...[...b.tables, ...b.indexes]
      .filter((e) => e.wastedBytes > 0)
      .map(
        (e) =>
          `${e.table === null ? 'table' : 'index'} ${e.schema}.${e.name}: ${formatBytes(e.wastedBytes)} of ${formatBytes(e.bytes)} (${pct(e.ratio)})`,
      ),
  ]);
  section('wraparound', s.wraparound, (w) => [
    w.oldest
      ? `oldest ${w.oldest.database}: age ${String(w.oldest.age)} of autovacuum_freeze_max_age ${String(w.freezeMaxAge)}`
      : '-',
  ]);
  section('replication', s.replication, (r) => [
    `${String(r.replicas.length)} replica(s), ${String(r.slots.length)} slot(s)${r.standbyReplayDelaySeconds === null ? '' : `, replay delay ${fmtSeconds(r.standbyReplayDelaySeconds)}`}`,
    ...r.replicas.map(
      (x) =>
        `replica ${x.application ?? x.clientAddress ?? '?'} ${x.state ?? ''} lag ${x.replayLagSeconds === null ? '-' : fmtSeconds(x.replayLagSeconds)}`,
    ),
    ...r.slots.map(
      (x) =>
        `slot ${x.name} (${x.type}) ${x.active ? 'active' : 'INACTIVE'} retains ${x.retainedBytes === null ? '-' : formatBytes(x.retainedBytes)}`,
    ),
  ]);
  section('checkpoints', s.checkpoints, (c) => [
    `${String(c.timed)} timed, ${String(c.requested)} requested since ${c.statsReset ?? 'the statistics reset'}${c.secondsSinceLast === null ? '' : `; last ${fmtSeconds(c.secondsSinceLast)} ago`} (${c.source})`,
  ]);
  section('sizes', s.sizes, (z) => [
    `database ${formatBytes(z.databaseBytes)}`,
    ...z.largest.map((r) => `${r.schema}.${r.relation}: ${formatBytes(r.bytes)}`),
  ]);
  section('pgvector', s.vector, (v) => [
    `${v.version}${v.availableVersion !== null && v.availableVersion !== v.version ? ` (${v.availableVersion} available)` : ''}`,
    ...v.indexes.map(
      (i) =>
        `${i.method} ${i.schema}.${i.index} on ${i.table}: ${formatBytes(i.bytes)}${i.valid ? '' : ' (INVALID)'}`,
    ),
  ]);
  section('index builds', s.indexBuilds, (list) => [
    list.length === 0 ? 'none running' : String(list.length),
    ...list.map(
      (b) =>
        `pid ${String(b.pid)} ${b.command} ${b.index ?? ''} on ${b.relation ?? '?'}: ${b.phase}, blocks ${String(b.blocksDone)}/${String(b.blocksTotal)}`,
    ),
  ]);
  section('top statements', s.statements, (list) => [
    `${String(list.length)} by total time`,
    ...list.map(
      (q) =>
        `${fmtSeconds(q.totalSeconds)} total, ${String(q.calls)} calls, ${(q.meanSeconds * 1000).toFixed(1)} ms mean: ${q.query}`,
    ),
  ]);
  section('read paths', s.readPaths, (list) => [
    list.map((q) => `${q.name} ${q.ms.toFixed(1)} ms (${String(q.rows)} rows)`).join(', '),
  ]);
  return lines;
}
