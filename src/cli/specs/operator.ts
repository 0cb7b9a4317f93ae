import { OPERATOR_DEFAULTS } from '../../api/settings.js';
import { defineCommand, formatDuration } from '../command-spec.js';

export const operatorSpec = defineCommand({
  name: 'operator',
  summary: 'run the Kubernetes operator (DatabaseMigration, BackupSnapshot) against --kubeconfig',
  usage: ['operator [--kubeconfig FILE] [--lease-namespace NS] [--workers N]'],
  details: [
    'Watches DatabaseMigration and BackupSnapshot resources and reconciles them while this replica holds the leader Lease; stops on SIGTERM. In a pod it uses the in-cluster service account.',
  ],
  flags: {
    kubeconfig: {
      type: 'string',
      value: 'FILE',
      description: 'cluster to watch',
      env: 'KUBECONFIG',
      defaultText: 'in-cluster config, else ~/.kube/config',
    },
    'lease-namespace': {
      type: 'string',
      value: 'NS',
      description: 'namespace of the leader-election Lease',
      env: 'POD_NAMESPACE',
      defaultText: 'default',
    },
    'lease-name': {
      type: 'string',
      value: 'NAME',
      description: 'name of the leader-election Lease',
      defaultText: OPERATOR_DEFAULTS.leaseName,
    },
    identity: {
      type: 'string',
      value: 'ID',
      description: 'this replica in the Lease',
      env: 'POD_NAME',
      defaultText: 'hostname-pid',
    },
    workers: {
      type: 'string',
      value: 'N',
      description:
        'resources reconciled, and long steps (dump, dry-run, apply, verify) run, at once; one step at a time per database',
      defaultText: String(OPERATOR_DEFAULTS.workers),
    },
    'lease-duration': {
      type: 'string',
      value: 'DURATION',
      description: 'how long a Lease holds without renewal',
      defaultText: formatDuration(OPERATOR_DEFAULTS.leaseDurationSeconds * 1000),
    },
    'retry-period': {
      type: 'string',
      value: 'DURATION',
      description: 'how often the Lease is renewed or tried (under 80 % of --lease-duration)',
      defaultText: formatDuration(OPERATOR_DEFAULTS.retryPeriodMs),
    },
    'watch-namespaces': {
      type: 'string',
      value: 'LIST',
      description:
        'comma-separated namespaces to watch; the operator then needs a Role in each, not a ClusterRole',
      env: 'WATCH_NAMESPACES',
      defaultText: 'every namespace',
    },
    'http-addr': {
      type: 'string',
      value: 'ADDR',
      description: 'where /healthz, /readyz and /metrics are served (host:port, :port, or off)',
      defaultText: OPERATOR_DEFAULTS.httpAddr,
    },
  },
  globals: ['log-level'],
});
