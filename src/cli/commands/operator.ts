import { parseDurationMs } from '../../engine/duration.js';
import { createLogger } from '../../observability/logger.js';
import { Operator } from '../../operator/controller.js';
import { KubeApi, KubeConfigError, loadKubeConfig } from '../../operator/kube.js';
import { parseListenAddress, ProbeServer } from '../../operator/probes.js';
import { OPERATOR_DEFAULTS } from '../../api/settings.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { operatorSpec } from '../specs/operator.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

/** `dbmigrate operator`: runs the controller against the kubeconfig (or in-cluster config) until SIGTERM. */
export async function operatorCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(operatorSpec, args);
  const leaseSeconds =
    values['lease-duration'] === undefined ? undefined : parseDurationMs(values['lease-duration']);
  const retryMs =
    values['retry-period'] === undefined ? undefined : parseDurationMs(values['retry-period']);
  if (leaseSeconds === null || retryMs === null) {
    throw new UsageError('--lease-duration and --retry-period must be durations such as 15s or 2s');
  }
  if (
    (retryMs ?? OPERATOR_DEFAULTS.retryPeriodMs) >=
    (leaseSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds * 1000) * 0.8
  ) {
    // The leader renews every retry period and stops writing at 80 % of the lease: a slower
    // renewal would make it step down (and cancel its work) on every tick.
    throw new UsageError(
      '--retry-period must be shorter than 80 % of --lease-duration (defaults: 2s and 15s)',
    );
  }
  const listen = parseListenAddress(values['http-addr'] ?? OPERATOR_DEFAULTS.httpAddr);
  if (listen === null) {
    throw new UsageError(
      `--http-addr: "${values['http-addr'] ?? ''}" is not host:port, :port or off`,
    );
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64)) {
    throw new UsageError('--workers must be a whole number from 1 to 64');
  }
  const watchNamespaces = (values['watch-namespaces'] ?? io.env['WATCH_NAMESPACES'] ?? '')
    .split(',')
    .map((ns) => ns.trim())
    .filter(Boolean);
  const badNamespace = watchNamespaces.find(
    (ns) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63,
  );
  if (badNamespace !== undefined) {
    throw new UsageError(`--watch-namespaces: "${badNamespace}" is not a namespace name`);
  }
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const logger = createLogger({ component: 'operator', ...(level !== undefined && { level }) });
  const kubeconfig = values.kubeconfig ?? io.env['KUBECONFIG'];
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(kubeconfig);
  } catch (err) {
    if (err instanceof KubeConfigError) throw new UsageError(err.message);
    throw err;
  }
  const api = new KubeApi(kubeConfig);
  const identity = values.identity ?? io.env['POD_NAME'];
  const operator = new Operator({
    api,
    logger,
    leaseNamespace: values['lease-namespace'] ?? io.env['POD_NAMESPACE'] ?? 'default',
    ...(values['lease-name'] !== undefined && { leaseName: values['lease-name'] }),
    ...(identity !== undefined && { identity }),
    ...(workers !== undefined && { workers }),
    ...(watchNamespaces.length > 0 && { watchNamespaces }),
    ...(leaseSeconds !== undefined && {
      leaseDurationSeconds: Math.max(1, Math.round(leaseSeconds / 1000)),
    }),
    ...(retryMs !== undefined && { retryPeriodMs: retryMs }),
  });
  // Listening before the informers list: the kubelet sees a live process that is not ready yet.
  const probes =
    listen === 'off'
      ? null
      : new ProbeServer({
          notReadyReason: () => operator.notReadyReason(),
          logger,
          routes: {
            '/metrics': async (res) => {
              const registry = operator.metrics.registry;
              const body = await registry.metrics();
              res.writeHead(200, { 'content-type': registry.contentType });
              res.end(body);
            },
          },
        });
  if (probes && listen !== 'off') {
    const port = await probes.listen(listen.host, listen.port);
    logger.info({ host: listen.host, port }, 'serving /healthz, /readyz and /metrics');
  }
  await operator.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      logger.info('shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await operator.stop();
  await probes?.close();
  // Watches, keep-alive sockets and pools may outlive the operator; a stopped operator exits
  // now rather than when they time out (a pod's SIGTERM grace period is short).
  setTimeout(() => process.exit(process.exitCode ?? ExitCode.ok), 500).unref();
  return ExitCode.ok;
}
