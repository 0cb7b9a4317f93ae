import type { ExecutionObserver } from '../engine/executor.js';
import type { SafeStepEvent } from '../safety/pipeline/safe-apply.js';
import type { SnapshotProgress } from '../safety/snapshot/snapshot.js';
import {
  bytesText,
  progressShown,
  startProgress,
  statementText,
  type Progress,
} from './progress.js';

/** What each step of `apply --safe` is doing, as its progress line says it. */
const DOING: Readonly<Record<string, string>> = {
  plan: 'reading history and files',
  lint: 'linting the pending migrations',
  snapshot: 'dumping production',
  'verify-snapshot': 'restoring the snapshot into a scratch database',
  'dry-run': 'applying on the staging copy',
  window: 'checking the maintenance window',
  apply: 'applying to production',
  'post-verify': 'verifying production',
};

/**
 * The progress lines of `dbmigrate apply --safe` on a terminal: one per step, with bytes for the
 * snapshot and its verification and the statement running for the apply; each ends done or
 * failed with the step's own detail. Null when nothing is drawn.
 */
export function safeApplyProgress(): {
  onStep: (event: SafeStepEvent) => void;
  onSnapshotProgress: (p: SnapshotProgress) => void;
  applyObserver: ExecutionObserver;
  dryRunObserver: ExecutionObserver;
} | null {
  if (!progressShown()) return null;
  let line: Progress | null = null;
  let step = '';
  let started = Date.now();
  const statementLine =
    (name: string): NonNullable<ExecutionObserver['statementStarted']> =>
    (event) => {
      line?.update(`${name}: ${statementText(event)}`);
    };
  return {
    onStep: (event) => {
      if (event.phase === 'start') {
        step = event.step;
        started = Date.now();
        line = startProgress(`${step}: ${DOING[step] ?? ''}`);
        return;
      }
      const text = `${event.step}: ${event.detail}`;
      if (event.ok) line?.succeed(text);
      else line?.fail(text);
      line = null;
    },
    onSnapshotProgress: (p) => {
      if (p.phase === 'checksum') {
        line?.update(`${step}: checksums, table ${String(p.done)} of ${String(p.total)}`);
        return;
      }
      line?.update(`${step}: ${DOING[step] ?? ''}, ${bytesText(p.bytes, started, Date.now())}`);
    },
    applyObserver: { statementStarted: statementLine('apply') },
    dryRunObserver: { statementStarted: statementLine('dry-run') },
  };
}
