import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiException } from '@kubernetes/client-node';
import { apiErrorSummary, KubeConfigError, loadKubeConfig } from '../../src/operator/kube.js';
import { FORBIDDEN_LOG_LINE } from '../../tools/control-plane.js';

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

describe('apiErrorSummary', () => {
  it("gives the status and the API server's message, or the network cause, in one line", () => {
    const status = JSON.stringify({
      kind: 'Status',
      status: 'Failure',
      message: 'storage is (re)initializing',
      reason: 'TooManyRequests',
      code: 429,
    });
    expect(
      apiErrorSummary(
        new ApiException(429, 'Unknown API Status Code!', status, { 'retry-after': '1' }),
      ),
    ).toBe('HTTP 429: storage is (re)initializing');
    expect(apiErrorSummary(new ApiException(503, 'x', '<html>', {}))).toBe('HTTP 503');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(apiErrorSummary(new TypeError('fetch failed', { cause: refused }))).toBe(
      'cannot reach the API server: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(apiErrorSummary(new Error('first line\nsecond'))).toBe('first line');
  });
});

describe('FORBIDDEN_LOG_LINE', () => {
  it('finds a refused request in any of its spellings, and not a 403 ms duration', () => {
    for (const line of [
      '{"reason":"HTTP 403: configmaps is forbidden: User cannot list"}',
      '{"err":{"message":"HTTP-Code: 403\\nMessage: Forbidden"}}',
      '{"reason":"Forbidden"}',
    ])
      expect(FORBIDDEN_LOG_LINE.test(line), line).toBe(true);
    expect(FORBIDDEN_LOG_LINE.test('{"msg":"dry-run finished","total_ms":403}')).toBe(false);
  });
});
