import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubeConfigError, loadKubeConfig } from '../../src/operator/kube.js';

const dir = mkdtempSync(join(tmpdir(), 'dbm-kubeconfig-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadKubeConfig', () => {
  it('names a missing file, a directory and text that is not a kubeconfig, with a stable code', () => {
    const missing = join(dir, 'nope');
    expect(() => loadKubeConfig(missing)).toThrow(
      new KubeConfigError(`kubeconfig ${missing} does not exist`),
    );
    expect(() => loadKubeConfig(dir)).toThrow(`kubeconfig ${dir} is a directory`);
    const garbage = file('garbage', 'clusters: [unclosed\n');
    expect(() => loadKubeConfig(garbage)).toThrow(
      new RegExp(`^kubeconfig ${garbage} is not a kubeconfig \\(`),
    );
    try {
      loadKubeConfig(missing);
    } catch (err) {
      expect((err as KubeConfigError).code).toBe('KUBECONFIG');
    }
  });

  it('refuses a kubeconfig whose current context names no cluster', () => {
    const empty = file('empty', 'apiVersion: v1\nkind: Config\ncurrent-context: gone\n');
    expect(() => loadKubeConfig(empty)).toThrow(
      `kubeconfig ${empty} names no cluster server for its current context "gone"`,
    );
  });

  it('loads a usable one', () => {
    const ok = file(
      'ok',
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    expect(loadKubeConfig(ok).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });
});
