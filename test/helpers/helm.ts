import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cachedTool } from './cached-tool.js';

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
