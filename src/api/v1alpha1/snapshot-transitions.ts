/**
 * Every status change of a BackupSnapshot as a named function beside its type; `nextSnapshotStatus`
 * applies one purely (conditions, observed generation), so the reconciler only chooses.
 */
import type { BackupSnapshotPhase, BackupSnapshotStatus } from './backup-snapshot.js';
import { setCondition } from './conditions.js';

export interface SnapshotTransition {
  readonly reason: string;
  readonly message: string;
  readonly eventType: 'Normal' | 'Warning';
  /** Whether `kubectl describe` should show it as an Event. */
  readonly event: boolean;
  readonly patch: Partial<BackupSnapshotStatus>;
}

function to(
  reason: string,
  message: string,
  patch: Partial<BackupSnapshotStatus>,
  eventType: 'Normal' | 'Warning' = patch.phase === 'Failed' ? 'Warning' : 'Normal',
): SnapshotTransition {
  return { reason, message, patch, eventType, event: true };
}

/** The status after `t`. Ready means: completed and its files still there to restore. */
export function nextSnapshotStatus(
  previous: BackupSnapshotStatus,
  t: SnapshotTransition,
  generation: number,
  now: Date,
): BackupSnapshotStatus {
  const phase: BackupSnapshotPhase = t.patch.phase ?? previous.phase ?? 'Pending';
  const filesPresent = t.patch.filesPresent ?? previous.filesPresent ?? true;
  const ready = phase === 'Completed' && filesPresent;
  const degraded = phase === 'Failed' || !filesPresent;
  let conditions = setCondition(
    previous.conditions,
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: t.reason,
      message: t.message,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    degraded
      ? {
          type: 'Degraded',
          status: 'True',
          reason: t.reason,
          message: t.message,
          observedGeneration: generation,
        }
      : {
          type: 'Degraded',
          status: 'False',
          reason: 'AsExpected',
          message: 'no problem observed',
          observedGeneration: generation,
        },
    now,
  );
  return { ...t.patch, observedGeneration: generation, conditions };
}

export function asSnapshotInvalid(message: string): SnapshotTransition {
  return to('InvalidSpec', message, { phase: 'Failed', lastError: message });
}

export function asSnapshotFailed(reason: string, message: string): SnapshotTransition {
  return to(reason, message, { phase: 'Failed', lastError: message });
}

/** Named before the dump starts, so a delete mid-dump knows what to remove. */
export function asSnapshotStarted(
  snapshotId: string,
  startedAt: string,
  method: 'pg_dump' | 'pgbackrest' = 'pg_dump',
): SnapshotTransition {
  const doing = method === 'pgbackrest' ? 'taking a pgBackRest backup for' : 'dumping';
  return to('Started', `${doing} ${snapshotId}`, { phase: 'Running', snapshotId, startedAt });
}

export interface DumpFacts {
  readonly snapshotId: string;
  readonly location: string;
  readonly sizeBytes: number;
  readonly size: string;
  readonly tables: number;
  readonly rows: number;
  readonly schemaHash: string;
  readonly serverVersion: string;
  readonly method: 'pg_dump' | 'pgbackrest';
  readonly durationMs: number;
  /** The pgBackRest set (method pgbackrest). */
  readonly backup?: {
    readonly label: string;
    readonly type: string;
    readonly copiedBytes: number;
    readonly repositoryBytes: number;
  };
}

export function asSnapshotDumped(
  facts: DumpFacts,
  verify: boolean,
  completedAt: string,
): SnapshotTransition {
  return to(
    'Dumped',
    `${facts.backup ? `pgBackRest ${facts.backup.type} backup ${facts.backup.label} (${facts.size} in the repository)` : `dumped ${facts.size}`}${verify ? '; verifying' : ' (unverified by request)'}`,
    {
      ...facts,
      phase: verify ? 'Verifying' : 'Completed',
      filesPresent: true,
      ...(verify ? {} : { completedAt, verified: false }),
    },
  );
}

interface VerificationFacts {
  readonly at: string;
  readonly mismatches: readonly string[];
  readonly durationMs?: number;
  /** Set for a pgBackRest snapshot: its set was checked by pgbackrest verify too. */
  readonly backupLabel?: string | undefined;
}

export function asSnapshotVerified(
  verification: VerificationFacts,
  completedAt: string,
): SnapshotTransition {
  const how =
    verification.backupLabel !== undefined
      ? `pgbackrest verify passed, and set ${verification.backupLabel} restored into a private server matched the manifest`
      : 'restored into a scratch database and matched the manifest';
  return to('Verified', how, {
    phase: 'Completed',
    verified: true,
    verifiedAt: verification.at,
    ...(verification.durationMs !== undefined && { verifyDurationMs: verification.durationMs }),
    mismatches: [...verification.mismatches],
    completedAt,
  });
}

export function asSnapshotVerifyFailed(
  verification: VerificationFacts,
  completedAt: string,
): SnapshotTransition {
  const message = `verification failed: ${verification.mismatches.join('; ')}`;
  return to('VerifyFailed', message, {
    phase: 'Failed',
    verified: false,
    verifiedAt: verification.at,
    mismatches: [...verification.mismatches],
    completedAt,
    lastError: message,
  });
}

/** The files a Completed snapshot describes vanished: it can no longer be restored. */
export function asSnapshotFilesMissing(problem: string): SnapshotTransition {
  const message = `${problem}; this snapshot can no longer be restored`;
  return to('FilesMissing', message, { filesPresent: false, lastError: message }, 'Warning');
}

export function asSnapshotFilesPresent(): SnapshotTransition {
  return to('FilesPresent', 'the snapshot files are back in storage', {
    filesPresent: true,
    lastError: '',
  });
}
