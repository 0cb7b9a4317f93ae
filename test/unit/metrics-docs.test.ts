// docs/metrics.md lists exactly the metrics the operator and the engine register.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { operatorMetrics } from '../../src/observability/metrics.js';

describe('docs/metrics.md', () => {
  it('lists every dbmigrate_ metric the operator registers, and nothing it does not', async () => {
    const registry = new Registry();
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
      .filter((n) => n.startsWith('dbmigrate_'))
      .sort();
    const documented = [
      ...readFileSync('docs/metrics.md', 'utf8').matchAll(/^\| `(dbmigrate_[a-z_]+)`/gm),
    ]
      .map((m) => m[1] ?? '')
      .filter((n) => !n.startsWith('dbmigrate_health_'))
      .sort();
    expect(documented).toEqual(registered);
  });
});
