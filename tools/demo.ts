// `make demo`: the operator's main job on this machine. A real etcd + kube-apiserver (the cached
// test control plane), the CRDs and the Helm chart's ServiceAccount and RBAC installed, the
// operator run as a local process authenticated as that ServiceAccount (so it has only the
// chart's permissions), and the doc-server's migrations applied through a DatabaseMigration
// while `kubectl get dbm,dbsnap` shows its phases. Everything it starts, it stops.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  FORBIDDEN_LOG_LINE,
  freePort,
  operatorReady,
  startControlPlane,
  type ControlPlane,
} from './control-plane.js';
import { installChartRbac } from './helm.js';
import { APPROVED_GENERATION_ANNOTATION } from '../src/api/v1alpha1/database-migration.js';

const OPERATOR_NS = 'dbmigrate-system';
const SERVICE_ACCOUNT = 'dbmigrate-db-migration-operator';
const APP_NS = 'docs';
const NAME = 'docs-schema';
const ADMIN_URL = process.env['DEMO_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = process.env['DEMO_DATABASE'] ?? 'dbmigrate_operator_demo';
const TIMEOUT_MS = 10 * 60_000;

const started = Date.now();
function say(line: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${s}s] ${line}\n`);
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseUrl(): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

function sampleMigration(snapshots: string): string {
  return `apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata:
  name: ${NAME}
  namespace: ${APP_NS}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {configMapRef: {name: docs-migrations}}
  snapshot:
    storage: {path: "${snapshots}"}
  # A demo has one PostgreSQL server: the staging copy and the snapshot's verification restore
  # go into temporary databases on it. In production they belong on a scratch server.
  staging: {scratch: {allowProductionServer: true}}
`;
}

interface Status {
  phase?: string;
  lastError?: string;
  history?: { at: string; phase: string; message: string }[];
  applied?: { id: string; name: string; durationMs?: number }[];
}

async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'dbm-demo-'));
  let cp: ControlPlane | null = null;
  let operator: ChildProcess | null = null;
  let databaseCreated = false;
  try {
    say('starting etcd and kube-apiserver (hack/control-plane.sh, cached)');
    cp = await startControlPlane();
    say(`control plane ready at ${cp.server}`);
    cp.installCrds();
    say('installed the CRDs (crds/)');
    const kinds = installChartRbac(cp, OPERATOR_NS);
    say(`installed the chart's ${kinds.join(', ')} in ${OPERATOR_NS} (helm template)`);

    await admin(`drop database if exists ${DATABASE} with (force)`);
    await admin(`create database ${DATABASE}`);
    databaseCreated = true;
    say(`created the database ${DATABASE}`);
    cp.kubectl(['create', 'namespace', APP_NS]);
    cp.kubectl([
      '-n',
      APP_NS,
      'create',
      'secret',
      'generic',
      'docs-db',
      `--from-literal=DATABASE_URL=${databaseUrl()}`,
    ]);
    cp.kubectl(['-n', APP_NS, 'create', 'configmap', 'docs-migrations', '--from-file=migrations/']);
    say(`created the Secret docs-db and the ConfigMap docs-migrations (migrations/) in ${APP_NS}`);

    const kubeconfig = await cp.kubeconfigFor(OPERATOR_NS, SERVICE_ACCOUNT);
    const port = await freePort();
    // Kept after the demo: it is what to read when a run fails.
    const logFile = join(tmpdir(), 'dbmigrate-demo-operator.log');
    const log = createWriteStream(logFile);
    operator = spawn(
      process.execPath,
      [
        'dist/cli/dbmigrate.js',
        'operator',
        '--kubeconfig',
        kubeconfig,
        '--lease-namespace',
        OPERATOR_NS,
        '--lease-name',
        SERVICE_ACCOUNT,
        '--identity',
        'demo',
        '--http-addr',
        `127.0.0.1:${String(port)}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    operator.stdout?.pipe(log);
    operator.stderr?.pipe(log);
    for (let i = 0; i < 300 && !(await operatorReady(port)); i++) {
      if (operator.exitCode !== null) throw new Error(`the operator exited; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    say(
      `operator running as system:serviceaccount:${OPERATOR_NS}:${SERVICE_ACCOUNT}, /readyz OK on :${String(port)}`,
    );

    const snapshots = join(work, 'snapshots');
    cp.kubectl(['apply', '-f', '-'], sampleMigration(snapshots));
    say(`kubectl apply -f - (DatabaseMigration ${APP_NS}/${NAME})\n`);

    let shown = '';
    const show = (kube: ControlPlane): void => {
      const table = kube.kubectl(['-n', APP_NS, 'get', 'dbm,dbsnap']).trimEnd();
      // A new table when something but the AGE column changed.
      const content = table.replace(/\s+\S+$/gm, '');
      if (content === shown) return;
      say(`kubectl -n ${APP_NS} get dbm,dbsnap`);
      process.stdout.write(`${table}\n\n`);
      shown = content;
    };
    let status: Status = {};
    let approved = false;
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      show(cp);
      status =
        (
          JSON.parse(cp.kubectl(['-n', APP_NS, 'get', 'dbm', NAME, '-o', 'json'])) as {
            status?: Status;
          }
        ).status ?? {};
      if (status.phase === 'Succeeded' || status.phase === 'Failed') {
        show(cp);
        break;
      }
      if (status.phase === 'AwaitingWindow' && !approved) {
        // The dry-run found a lock that blocks writes longer than the threshold (0009's
        // partitioning, docs/partitioning.md): a person reads why and approves this generation.
        const why = (status.history ?? []).at(-1)?.message ?? '';
        say(`the operator waits for a maintenance window: ${why}`);
        const generation = String(
          (
            JSON.parse(cp.kubectl(['-n', APP_NS, 'get', 'dbm', NAME, '-o', 'json'])) as {
              metadata: { generation?: number };
            }
          ).metadata.generation ?? 1,
        );
        cp.kubectl([
          '-n',
          APP_NS,
          'annotate',
          'dbm',
          NAME,
          `${APPROVED_GENERATION_ANNOTATION}=${generation}`,
        ]);
        say(
          `approved: kubectl -n ${APP_NS} annotate dbm ${NAME} ${APPROVED_GENERATION_ANNOTATION}=${generation}\n`,
        );
        approved = true;
      }
      if (Date.now() > deadline) throw new Error(`still ${status.phase ?? 'Pending'} after 10 min`);
      await new Promise((r) => setTimeout(r, 500));
    }

    say('the run, from status.history:');
    for (const h of status.history ?? []) {
      process.stdout.write(`  ${h.at}  ${h.phase.padEnd(14)} ${h.message}\n`);
    }
    say('the database, from dbmigrate history:');
    const history = spawnSync(process.execPath, ['dist/cli/dbmigrate.js', 'history'], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: databaseUrl(), DBMIGRATE_LOG_LEVEL: 'warn' },
    });
    process.stdout.write(history.stdout + history.stderr);
    const forbidden = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => FORBIDDEN_LOG_LINE.test(l));
    say(
      `operator log: ${logFile} (${String(forbidden.length)} forbidden request${forbidden.length === 1 ? '' : 's'})`,
    );
    if (status.phase !== 'Succeeded') {
      say(`FAILED: ${status.lastError ?? 'see the operator log'}`);
      return 1;
    }
    say(`${APP_NS}/${NAME} Succeeded through the operator under the chart's RBAC`);
    return forbidden.length === 0 ? 0 : 1;
  } finally {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator?.once('exit', r));
      operator.kill('SIGTERM');
      await exited;
    }
    await cp?.stop();
    if (databaseCreated && process.env['DEMO_KEEP_DATABASE'] === undefined) {
      await admin(`drop database if exists ${DATABASE} with (force)`);
    }
    await rm(work, { recursive: true, force: true });
    say('stopped the operator and the control plane, dropped the demo database');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
