// The chart's PrometheusRule, rendered by helm with its defaults, checked and unit-tested by
// promtool (`check rules`, then the cases in test/alerts/operator-alerts.test.yaml).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { cachedTool } from '../../tools/cached-tool.js';
import { renderChart } from '../../tools/helm.js';

interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
}

function promtool(args: readonly string[], cwd: string) {
  const bin = join(cachedTool('DBM_PROMTOOL_BIN', 'hack/promtool.sh', 'promtool'), 'promtool');
  return spawnSync(bin, [...args], { cwd, encoding: 'utf8' });
}

describe("the chart's alert rules", () => {
  const rendered = parseAllDocuments(
    renderChart('dbmigrate-system', ['metrics.prometheusRule.enabled=true']),
  )
    .map((d) => d.toJS() as { kind?: string; spec?: { groups: { rules: Rule[] }[] } } | null)
    .find((o) => o?.kind === 'PrometheusRule');

  it('are off by default and render as a PrometheusRule when enabled', () => {
    expect(
      parseAllDocuments(renderChart('dbmigrate-system'))
        .map((d) => (d.toJS() as { kind?: string } | null)?.kind)
        .filter((k) => k === 'PrometheusRule'),
    ).toEqual([]);
    expect(rendered?.spec?.groups[0]?.rules.map((r) => r.alert)).toEqual([
      'DatabaseMigrationFailed',
      'DatabaseMigrationStuck',
      'DatabaseSnapshotTooOld',
      'DatabaseMigrationRunFailed',
      'DatabaseMigrationOperatorNoLeader',
      'DatabaseMigrationOperatorReconcileErrors',
      'DatabaseHealthCritical',
      'DatabaseHealthWarning',
      'DatabaseHealthUnreachable',
    ]);
    for (const r of rendered?.spec?.groups[0]?.rules ?? [])
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.['severity']);
  });

  it('pass promtool check rules and every case of promtool test rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-alerts-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rendered?.spec?.groups ?? [] }));
    copyFileSync('test/alerts/operator-alerts.test.yaml', join(dir, 'alerts.test.yaml'));
    const check = promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(check.stdout + check.stderr).toMatch(/SUCCESS: 9 rules found/);
    expect(check.status).toBe(0);
    const test = promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    expect(test.stdout + test.stderr).toMatch(/SUCCESS/);
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });
});
