// docs/metrics.md lists exactly the metrics the operator and the engine register.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { operatorMetrics } from '../../src/observability/metrics.js';

describe('docs/metrics.md', () => {
  it('lists every dbmigrate_ and docserver_ metric the operator and the pool register, and nothing they do not', async () => {
    const registry = new Registry();
    // Never connects: the pool opens connections on demand.
    void createPool({ connectionString: 'postgres://x@127.0.0.1:1/none' }, { registry }).end();
    operatorMetrics(
      {
        workqueueDepth: () => 0,
        isLeader: () => false,
        migrationsByPhase: () => new Map(),
        migrationPhases: () => [],
        verifiedSnapshots: () => [],
        dryRunWriteBlocks: () => [],
      },
      registry,
    );
    const registered = (await registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => /^(dbmigrate|docserver)_/.test(n))
      .sort();
    const documented = [
      ...readFileSync('docs/metrics.md', 'utf8').matchAll(
        /^\| `((?:dbmigrate|docserver)_[a-z_]+)`/gm,
      ),
    ]
      .map((m) => m[1] ?? '')
      .filter((n) => !n.startsWith('dbmigrate_health_'))
      .sort();
    expect(documented).toEqual(registered);
  });
});
