import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cachedTool } from './cached-tool.js';
import type { ControlPlane } from './control-plane.js';

export const CHART = 'charts/db-migration-operator';

/** The bin directory hack/helm.sh builds (cached by version). */
export function helmBinDir(): string {
  return cachedTool('DBM_HELM_BIN', 'hack/helm.sh', 'helm');
}

/** Runs helm; returns its exit code, stdout and stderr (never throws on a non-zero exit). */
export function helm(args: readonly string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(join(helmBinDir(), 'helm'), [...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/dbm-helm-cache',
      HELM_CONFIG_HOME: '/tmp/dbm-helm-config',
    },
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

/** `helm template` of the chart into the release `dbmigrate` in `namespace`, or throws. */
export function renderChart(namespace: string, set: readonly string[] = []): string {
  const res = helm([
    'template',
    'dbmigrate',
    CHART,
    '--namespace',
    namespace,
    ...set.flatMap((s) => ['--set', s]),
  ]);
  if (res.code !== 0) throw new Error(`helm template failed: ${res.err}`);
  return res.out;
}

const RBAC_KINDS = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

/**
 * Installs the chart's ServiceAccount and RBAC for the release `dbmigrate` in `namespace` (created
 * here), not its Deployment: a local control plane has no kubelet, so the operator runs as a
 * process authenticated as that ServiceAccount instead. Returns the kinds installed.
 */
export function installChartRbac(cp: ControlPlane, namespace: string): string[] {
  const rbac = parseAllDocuments(renderChart(namespace))
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o): o is { kind: string } => o?.kind !== undefined && RBAC_KINDS.has(o.kind));
  cp.kubectl(['create', 'namespace', namespace]);
  cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
  return rbac.map((o) => o.kind);
}
