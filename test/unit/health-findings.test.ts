import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/config.js';
import { defaultHealthConfig, type HealthConfig } from '../../src/api/health-config.js';
import { HealthMetrics } from '../../src/cli/health-metrics.js';
import { healthExitCode, healthText } from '../../src/cli/health-output.js';
import { evaluateHealth, severityOf, statusOf } from '../../src/db/health-findings.js';
import {
  blockingChain,
  maskSqlPasswords,
  queryText,
  type HealthReport,
  type HealthSections,
} from '../../src/db/health.js';

const absent = { status: 'absent', reason: 'not here' } as const;

/** A report of a quiet database; each test changes the sections it is about. */
function report(sections: Partial<HealthSections> = {}): HealthReport {
  return {
    checkedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 12,
    server: {
      version: '15.20',
      versionNum: 150020,
      database: 'app',
      user: 'monitor',
      inRecovery: false,
      readsAllStats: true,
    },
    sections: {
      connections: {
        status: 'ok',
        data: { max: 100, superuserReserved: 3, total: 10, byState: { active: 1, idle: 9 } },
      },
      activity: {
        status: 'ok',
        data: { longestQuery: null, longestTransaction: null, idleInTransaction: [] },
      },
      locks: { status: 'ok', data: { waiting: [], blockers: [] } },
      invalidIndexes: { status: 'ok', data: [] },
      cache: { status: 'ok', data: { blocksHit: 990_000, blocksRead: 10_000, hitRatio: 0.99 } },
      bloat: { status: 'ok', data: { tables: [], indexes: [], limitedToReadableTables: false } },
      vacuum: { status: 'ok', data: { autovacuum: true, trackCounts: true, tables: [] } },
      wraparound: {
        status: 'ok',
        data: {
          freezeMaxAge: 200_000_000,
          databases: [{ database: 'app', age: 1000 }],
          oldest: { database: 'app', age: 1000 },
        },
      },
      replication: absent,
      checkpoints: absent,
      sizes: absent,
      vector: absent,
      indexBuilds: { status: 'ok', data: [] },
      statements: absent,
      readPaths: absent,
      ...sections,
    },
  };
}

function config(health: Record<string, unknown> = {}): HealthConfig {
  return parseConfig({ health }, 'dbmigrate.json').health;
}

const session = { user: 'app', application: 'docserver', query: 'select 1' };

describe('severityOf', () => {
  it('reaches warning and critical at the threshold itself, upwards or downwards', () => {
    const limits = { warning: 10, critical: 20 };
    expect(severityOf(9.9, limits)).toBeNull();
    expect(severityOf(10, limits)).toEqual({ severity: 'warning', threshold: 10 });
    expect(severityOf(20, limits)).toEqual({ severity: 'critical', threshold: 20 });
    const low = { warning: 0.9, critical: 0.8 };
    expect(severityOf(0.95, low, 'below')).toBeNull();
    expect(severityOf(0.85, low, 'below')?.severity).toBe('warning');
    expect(severityOf(0.8, low, 'below')?.severity).toBe('critical');
  });
});

describe('evaluateHealth', () => {
  it('finds nothing in a quiet database: ok, exit 0', () => {
    const e = evaluateHealth(report(), defaultHealthConfig());
    expect(e).toEqual({ status: 'ok', findings: [], unavailable: [] });
    expect(healthExitCode(e.status)).toBe(0);
  });

  it('puts critical findings before warnings, and says unknown only when nothing else', () => {
    const r = report({
      connections: {
        status: 'ok',
        data: { max: 100, superuserReserved: 3, total: 95, byState: {} },
      },
      activity: {
        status: 'ok',
        data: {
          longestQuery: { pid: 7, seconds: 61, ...session },
          longestTransaction: null,
          idleInTransaction: [],
        },
      },
      statements: { status: 'unavailable', reason: 'permission denied' },
    });
    const e = evaluateHealth(r, defaultHealthConfig());
    expect(e.findings.map((f) => [f.check, f.severity])).toEqual([
      ['connections', 'critical'],
      ['longest_query', 'warning'],
    ]);
    expect(e.status).toBe('critical');
    expect(e.unavailable).toEqual([{ section: 'statements', reason: 'permission denied' }]);
    expect(statusOf([], e.unavailable)).toBe('unknown');
    expect(healthExitCode('unknown')).toBe(12);
    expect(healthExitCode('warning')).toBe(10);
    expect(healthExitCode('critical')).toBe(11);
  });

  it('judges a lock wait by its own wait and names the chain', () => {
    const r = report({
      locks: {
        status: 'ok',
        data: {
          waiting: [
            {
              pid: 3,
              seconds: 6,
              ...session,
              waitingFor: 'transactionid',
              blockedBy: [2],
              chain: [1, 2, 3],
            },
          ],
          blockers: [],
        },
      },
    });
    const [f] = evaluateHealth(r, defaultHealthConfig()).findings;
    expect(f).toMatchObject({ check: 'lock_wait', severity: 'warning', subject: 'pid 3' });
    expect(f?.message).toContain('chain 1 → 2 → 3');
    expect(evaluateHealth(r, config({ lockWaitSeconds: { warning: 1, critical: 5 } })).status).toBe(
      'critical',
    );
  });

  it('ignores an index that is invalid only because its build is running', () => {
    const building = { schema: 'public', index: 'i', table: 't', building: true };
    expect(
      evaluateHealth(report({ invalidIndexes: { status: 'ok', data: [building] } }), config())
        .findings,
    ).toEqual([]);
    expect(
      evaluateHealth(
        report({ invalidIndexes: { status: 'ok', data: [{ ...building, building: false }] } }),
        config(),
      ).findings.map((f) => f.subject),
    ).toEqual(['public.i']);
  });

  it('judges cache, dead tuples and bloat only above their floors', () => {
    const cold = report({
      cache: { status: 'ok', data: { blocksHit: 10, blocksRead: 90, hitRatio: 0.1 } },
    });
    expect(evaluateHealth(cold, config()).findings).toEqual([]);
    expect(
      evaluateHealth(cold, config({ cacheHitRatio: { minBlocks: 100 } })).findings[0],
    ).toMatchObject({ check: 'cache_hit_ratio', severity: 'critical' });

    const table = {
      schema: 'public',
      table: 'pages',
      liveTuples: 100,
      deadTuples: 900,
      deadRatio: 0.9,
      lastVacuum: null,
      lastAutovacuum: null,
      lastAnalyze: null,
      lastAutoanalyze: null,
      autovacuumEnabled: true,
    };
    const dead = report({
      vacuum: { status: 'ok', data: { autovacuum: true, trackCounts: true, tables: [table] } },
    });
    expect(evaluateHealth(dead, config()).findings).toEqual([]);
    expect(
      evaluateHealth(dead, config({ deadTupleRatio: { minDeadTuples: 500 } })).findings[0],
    ).toMatchObject({ check: 'dead_tuples', severity: 'critical', subject: 'public.pages' });

    const bloated = { schema: 'public', name: 'pages', table: null, wastedBytes: 600, ratio: 0.6 };
    const small = report({
      bloat: {
        status: 'ok',
        data: { tables: [{ ...bloated, bytes: 1000 }], indexes: [], limitedToReadableTables: true },
      },
    });
    expect(evaluateHealth(small, config()).findings).toEqual([]);
    expect(
      evaluateHealth(small, config({ tableBloatRatio: { minBytes: 0 } })).findings[0],
    ).toMatchObject({ check: 'table_bloat', severity: 'warning' });
  });

  it('reports autovacuum off with the severities dbmigrate.json gives', () => {
    const r = report({
      vacuum: {
        status: 'ok',
        data: {
          autovacuum: false,
          trackCounts: true,
          tables: [
            {
              schema: 'public',
              table: 'events',
              liveTuples: 0,
              deadTuples: 0,
              deadRatio: 0,
              lastVacuum: null,
              lastAutovacuum: null,
              lastAnalyze: null,
              lastAutoanalyze: null,
              autovacuumEnabled: false,
            },
          ],
        },
      },
    });
    expect(evaluateHealth(r, config()).findings.map((f) => [f.subject, f.severity])).toEqual([
      ['cluster', 'critical'],
      ['public.events', 'warning'],
    ]);
    expect(
      evaluateHealth(
        r,
        config({ autovacuumDisabled: { server: 'warning', table: 'off' } }),
      ).findings.map((f) => [f.subject, f.severity]),
    ).toEqual([['cluster', 'warning']]);
  });

  it('measures wraparound against autovacuum_freeze_max_age and flags inactive slots', () => {
    const r = report({
      wraparound: {
        status: 'ok',
        data: {
          freezeMaxAge: 200_000_000,
          databases: [{ database: 'app', age: 310_000_000 }],
          oldest: { database: 'app', age: 310_000_000 },
        },
      },
      replication: {
        status: 'ok',
        data: {
          replicas: [
            {
              application: 'replica1',
              clientAddress: null,
              state: 'streaming',
              syncState: 'async',
              replayLagSeconds: 45,
              lagBytes: 1000,
            },
          ],
          slots: [
            {
              name: 'old_slot',
              type: 'physical',
              database: null,
              active: false,
              walStatus: 'extended',
              retainedBytes: 2 * 1024 ** 3,
            },
          ],
          standbyReplayDelaySeconds: null,
        },
      },
    });
    expect(evaluateHealth(r, config()).findings.map((f) => [f.check, f.severity])).toEqual([
      ['xid_wraparound', 'critical'],
      ['replication_lag', 'warning'],
      ['inactive_slot', 'warning'],
    ]);
  });
});

describe('blockingChain', () => {
  it('follows the first blocker to the head of the queue', () => {
    const edges = new Map([
      [3, [2]],
      [2, [1]],
    ]);
    expect(blockingChain(3, edges)).toEqual([1, 2, 3]);
    expect(blockingChain(2, edges)).toEqual([1, 2]);
  });

  it('stops where a deadlock cycle closes', () => {
    const edges = new Map([
      [1, [2]],
      [2, [1]],
    ]);
    expect(blockingChain(1, edges)).toEqual([2, 1]);
  });
});

describe('statement text in reports', () => {
  it('masks passwords of CREATE / ALTER ROLE, also when cut short', () => {
    expect(maskSqlPasswords("alter role app password 'hunter2' valid until 'x'")).toBe(
      "alter role app password '***' valid until 'x'",
    );
    expect(maskSqlPasswords("CREATE USER a WITH PASSWORD 'it''s secret'")).toBe(
      "CREATE USER a WITH PASSWORD '***'",
    );
    expect(maskSqlPasswords("create role a password 'cut sho")).toBe(
      "create role a password '***'",
    );
    expect(queryText("select 'postgres://u:pw@h/db'")).toBe("select 'postgres://u:***@h/db'");
  });

  it('shortens long statements to one line', () => {
    const text = queryText(`select\n  ${'x, '.repeat(200)}1`);
    expect(text?.length).toBe(200);
    expect(text).not.toContain('\n');
  });
});

describe('the exporter gauges', () => {
  it('carry bounded labels, never statement text, and reset between checks', async () => {
    const metrics = new HealthMetrics();
    const r = report({
      activity: {
        status: 'ok',
        data: {
          longestQuery: { pid: 7, seconds: 61, ...session, query: 'select secret_column' },
          longestTransaction: null,
          idleInTransaction: [],
        },
      },
    });
    metrics.update({ kind: 'checked', report: r, evaluation: evaluateHealth(r, config()) });
    const text = await metrics.registry.metrics();
    expect(text).toContain('dbmigrate_health_up 1');
    expect(text).toContain('dbmigrate_health_longest_query_seconds 61');
    expect(text).toContain('dbmigrate_health_findings{check="longest_query",severity="warning"} 1');
    expect(text).not.toContain('secret_column');
    metrics.update({ kind: 'unreachable', message: 'down' });
    const down = await metrics.registry.metrics();
    expect(down).toContain('dbmigrate_health_up 0');
    expect(down).not.toContain('dbmigrate_health_longest_query_seconds 61');
  });
});

describe('the human report', () => {
  it('leads with the verdict and the findings, worst first', () => {
    const r = report({
      activity: {
        status: 'ok',
        data: {
          longestQuery: null,
          longestTransaction: { pid: 8, seconds: 2000, ...session },
          idleInTransaction: [{ pid: 8, seconds: 70, ...session, aborted: false }],
        },
      },
    });
    const lines = healthText(r, evaluateHealth(r, config())).split('\n');
    expect(lines[0]).toMatch(/^CRITICAL: database app on PostgreSQL 15\.20 as monitor; 2 finding/);
    expect(lines[3]).toMatch(/^CRITICAL\s+longest_transaction\s+pid 8/);
    expect(lines[4]).toMatch(/^WARNING\s+idle_in_transaction\s+pid 8/);
  });
});
