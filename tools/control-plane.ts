import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedTool } from './cached-tool.js';

/** A real etcd + kube-apiserver on loopback, for end-to-end tests. */
export interface ControlPlane {
  readonly server: string;
  readonly kubeconfig: string;
  readonly adminToken: string;
  readonly binDir: string;
  /** Runs the control plane's kubectl against it. */
  kubectl(args: readonly string[], input?: string): string;
  /** Installs crds/ (server-side apply) and waits until both are established. */
  installCrds(): void;
  /**
   * A kubeconfig file authenticating as `serviceAccount` in `namespace` (a token from
   * `kubectl create token`), so what runs with it has only the RBAC that account is bound to.
   */
  kubeconfigFor(namespace: string, serviceAccount: string): Promise<string>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/** The bin directory hack/control-plane.sh builds (cached by version). */
export function controlPlaneBinDir(): string {
  return cachedTool('DBM_K8S_BIN', 'hack/control-plane.sh', 'the Kubernetes control plane');
}

function readyz(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    // The apiserver's serving certificate is self-signed for the test.
    const req = httpsGet(
      `${server}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => {
      resolve(false);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

async function waitReady(
  server: string,
  token: string,
  procs: ChildProcess[],
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    for (const p of procs) {
      if (p.exitCode !== null)
        throw new Error(`control plane process exited (${String(p.exitCode)}):\n${logs()}`);
    }
    if (await readyz(server, token)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver was not ready within 90 s:\n${logs()}`);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const binDir = controlPlaneBinDir();
  for (const b of ['etcd', 'kube-apiserver', 'kubectl']) {
    if (!existsSync(join(binDir, b)))
      throw new Error(`${join(binDir, b)} is missing; run hack/control-plane.sh`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'dbm-k8s-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(dir, 'tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`);
  execFileSync('openssl', ['genrsa', '-out', join(dir, 'sa.key'), '2048'], { stdio: 'ignore' });
  let log = '';
  const capture = (name: string) => (chunk: Buffer) => {
    log = (log + `[${name}] ${chunk.toString()}`).slice(-20_000);
  };
  const etcd = spawn(
    join(binDir, 'etcd'),
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  etcd.stdout.on('data', capture('etcd'));
  etcd.stderr.on('data', capture('etcd'));
  const apiserver = spawn(
    join(binDir, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      `--cert-dir=${join(dir, 'certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.key')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--v=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  apiserver.stdout.on('data', capture('apiserver'));
  apiserver.stderr.on('data', capture('apiserver'));
  const server = `https://127.0.0.1:${apiPort}`;
  const stop = async (): Promise<void> => {
    for (const p of [apiserver, etcd]) {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            p.kill('SIGKILL');
            r(undefined);
          }, 5000);
          p.once('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(server, adminToken, [etcd, apiserver], () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${server}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${adminToken}`,
      'contexts:',
      '- name: e2e',
      '  context: {cluster: e2e, user: admin, namespace: default}',
      'current-context: e2e',
      '',
    ].join('\n'),
  );
  const kubectl = (args: readonly string[], input?: string): string =>
    execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      encoding: 'utf8',
      ...(input !== undefined && { input }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  return {
    server,
    kubeconfig,
    adminToken,
    binDir,
    kubectl,
    stop,
    async kubeconfigFor(namespace, serviceAccount) {
      const token = kubectl([
        '-n',
        namespace,
        'create',
        'token',
        serviceAccount,
        '--duration=1h',
      ]).trim();
      const file = join(dir, `kubeconfig-${namespace}-${serviceAccount}`);
      await writeFile(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: local, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
          `users: [{name: ${serviceAccount}, user: {token: "${token}"}}]`,
          `contexts: [{name: local, context: {cluster: local, user: ${serviceAccount}, namespace: ${namespace}}}]`,
          'current-context: local',
          '',
        ].join('\n'),
      );
      return file;
    },
    installCrds() {
      kubectl(['apply', '--server-side', '-f', 'crds/']);
      kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/databasemigrations.dbops.docserver.io',
        'crd/backupsnapshots.dbops.docserver.io',
      ]);
    },
  };
}

/**
 * A log line reporting a request the API server refused for lack of permission: client-node's
 * `HTTP-Code: 403`, the operator's one-line `HTTP 403: …`, or a Status reason Forbidden. A
 * number that happens to be 403 (`"total_ms":403`) is not one.
 */
export const FORBIDDEN_LOG_LINE = /\bHTTP(?:-Code)?:? 403\b|\bforbidden\b/i;

/** Whether a `dbmigrate operator` on loopback `port` answers its /readyz with 200. */
export function operatorReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    httpGet({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    })
      .on('error', () => {
        resolve(false);
      })
      .on('timeout', function (this: { destroy(): void }) {
        this.destroy();
      });
  });
}
