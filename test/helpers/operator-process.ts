import { spawn, type ChildProcess } from 'node:child_process';
import type { ControlPlane } from '../../tools/control-plane.js';

/**
 * The real `dbmigrate operator` (dist/cli) as a process of its own, so a test can scrape it, kill
 * it like a pod or SIGTERM it. Short lease and retry periods make failovers quick; warnings go to
 * the test's stderr. Replicas on one machine each need their own probe port.
 */
export function startOperatorProcess(
  cp: ControlPlane,
  identity: string,
  httpPort = 0,
): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--liftoff-only',
      'dist/cli/dbmigrate.js',
      'operator',
      '--kubeconfig',
      cp.kubeconfig,
      '--identity',
      identity,
      '--lease-duration',
      '4s',
      '--retry-period',
      '500ms',
      '--log-level',
      'warn',
      '--http-addr',
      `127.0.0.1:${String(httpPort)}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
