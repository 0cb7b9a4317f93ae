// The Grafana dashboard: valid, every query parses as PromQL (promtool check rules, with
// Grafana's variables filled in) and names only metrics the project exports (docs/metrics.md),
// and the chart ships it for Grafana's sidecar.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { cachedTool } from '../../tools/cached-tool.js';
import { renderChart } from '../../tools/helm.js';

interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { uid: string };
  targets: { expr: string }[];
}
const FILE = 'charts/db-migration-operator/dashboards/db-migration-operator.json';
const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as { uid: string; panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
/** Metric names in the `name` column of docs/metrics.md's tables. */
const documented = new Set(
  [...readFileSync('docs/metrics.md', 'utf8').matchAll(/^\| `([a-z_:]+)`/gm)].map((m) => m[1]),
);

describe('the Grafana dashboard', () => {
  it('is laid out on the 24-column grid with unique panel ids and one data source variable', () => {
    expect(dashboard.uid).toBe('db-migration-operator');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.datasource.uid, p.title).toBe('${datasource}');
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
  });

  it('queries only metrics the project exports (docs/metrics.md) or Node process metrics', () => {
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b(dbmigrate_[a-z_]+|process_[a-z_]+)/g)].map((m) => m[1]),
      ),
    );
    const unknown = [...used].filter(
      (n) =>
        n !== undefined &&
        !n.startsWith('process_') &&
        !documented.has(n.replace(/_(bucket|count|sum)$/, '')),
    );
    expect(unknown).toEqual([]);
  });

  it('has queries that all parse as PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-dashboard-'));
    const rules = exprs.map((expr, i) => ({
      record: `dashboard:query_${String(i)}`,
      expr: expr
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$__range', '1h')
        .replace(/\$(namespace|job)\b/g, '.*'),
    }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const bin = join(cachedTool('DBM_PROMTOOL_BIN', 'hack/promtool.sh', 'promtool'), 'promtool');
    const res = spawnSync(bin, ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(res.stdout + res.stderr).toContain(`SUCCESS: ${String(rules.length)} rules found`);
    expect(res.status).toBe(0);
  });

  it('is shipped by the chart as a ConfigMap for the sidecar when enabled', () => {
    const cm = parseAllDocuments(
      renderChart('dbmigrate-system', ['metrics.grafanaDashboard.enabled=true']),
    )
      .map(
        (d) => d.toJS() as { kind?: string; metadata?: { labels?: object }; data?: object } | null,
      )
      .find((o) => o?.kind === 'ConfigMap');
    expect(cm?.metadata?.labels).toMatchObject({ grafana_dashboard: '1' });
    const json = (cm?.data as Record<string, string> | undefined)?.['db-migration-operator.json'];
    expect(JSON.parse(json ?? '{}')).toEqual(dashboard);
  });
});
