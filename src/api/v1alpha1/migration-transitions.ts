/**
 * Every status change of a DatabaseMigration as a named function, beside the type it changes
 * (as CloudNativePG's SetAsFailed / SetAsCompleted): a reconciler says what happened by
 * choosing a transition, never by assembling a status patch inline. `nextStatus` applies one,
 * purely, so the bookkeeping (conditions, history, observed generation) has one home.
 */
import type { Condition } from './common.js';
import { setCondition } from './conditions.js';
import type { DatabaseMigrationStatus, MigrationPhase } from './database-migration.js';

interface OwnConditionOf<T extends string> {
  readonly type: T;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** A verdict condition a transition sets besides the phase conditions. */
export type OwnCondition = OwnConditionOf<'DryRun' | 'Linted'>;

export interface Transition {
  readonly phase: MigrationPhase;
  readonly reason: string;
  readonly message: string;
  readonly eventType: 'Normal' | 'Warning';
  readonly patch: Partial<DatabaseMigrationStatus>;
  readonly conditions: readonly OwnCondition[];
}

const HISTORY_LIMIT = 20;

function to(
  phase: MigrationPhase,
  reason: string,
  message: string,
  patch: Partial<DatabaseMigrationStatus> = {},
  extra: { eventType?: 'Normal' | 'Warning'; conditions?: readonly OwnCondition[] } = {},
): Transition {
  return {
    phase,
    reason,
    message,
    patch,
    eventType: extra.eventType ?? (phase === 'Failed' ? 'Warning' : 'Normal'),
    conditions: extra.conditions ?? [],
  };
}

/** The status after `t`, from the status before it. Pure. */
export function nextStatus(
  previous: DatabaseMigrationStatus,
  t: Transition,
  generation: number,
  now: Date,
): DatabaseMigrationStatus {
  const terminal = t.phase === 'Succeeded' || t.phase === 'Failed';
  const degraded = t.phase === 'Failed' || t.eventType === 'Warning';
  // Each condition answers its own question, with its own reason and message.
  const phaseConditions: OwnConditionOf<'Ready' | 'Progressing' | 'Degraded'>[] = [
    { type: 'Ready', status: t.phase === 'Succeeded', reason: t.reason, message: t.message },
    terminal
      ? {
          type: 'Progressing',
          status: false,
          reason: t.phase === 'Succeeded' ? 'RunComplete' : 'RunStopped',
          message:
            t.phase === 'Succeeded'
              ? 'the run is complete'
              : 'the run stopped; see the Degraded condition',
        }
      : t.phase === 'AwaitingApproval' || t.phase === 'AwaitingWindow'
        ? // Waiting on a person or the clock is not progress; tools must not wait on it.
          { type: 'Progressing', status: false, reason: t.reason, message: t.message }
        : { type: 'Progressing', status: true, reason: t.reason, message: t.message },
    degraded
      ? { type: 'Degraded', status: true, reason: t.reason, message: t.message }
      : { type: 'Degraded', status: false, reason: 'AsExpected', message: 'no problem observed' },
  ];
  // A new run starts its own DryRun and Linted verdicts.
  let conditions: Condition[] =
    t.phase === 'Pending'
      ? (previous.conditions ?? []).filter((c) => c.type !== 'DryRun' && c.type !== 'Linted')
      : [...(previous.conditions ?? [])];
  for (const c of [...phaseConditions, ...t.conditions]) {
    conditions = setCondition(
      conditions,
      {
        type: c.type,
        status: c.status ? 'True' : 'False',
        reason: c.reason,
        message: c.message,
        observedGeneration: generation,
      },
      now,
    );
  }
  const history =
    previous.phase !== t.phase
      ? [
          ...(previous.history ?? []),
          { at: now.toISOString(), phase: t.phase, message: t.message.slice(0, 500) },
        ].slice(-HISTORY_LIMIT)
      : previous.history;
  return {
    ...t.patch,
    phase: t.phase,
    observedGeneration: t.patch.observedGeneration ?? previous.observedGeneration ?? generation,
    conditions,
    ...(history !== undefined && { history }),
  };
}

/** Whether a transition is worth an Event: a phase change, or any Warning. */
export function isEventWorthy(previous: DatabaseMigrationStatus, t: Transition): boolean {
  return previous.phase !== t.phase || t.eventType === 'Warning';
}

export function asInvalidSpec(message: string): Transition {
  return to('Failed', 'InvalidSpec', message, { lastError: message });
}

export function asNewRun(generation: number, restart: string): Transition {
  return to(
    'Pending',
    'NewRun',
    `generation ${String(generation)}${restart ? ` (restart ${restart})` : ''} observed`,
    { observedGeneration: generation, observedRestart: restart, lastError: '', runId: '' },
  );
}

/** Something the resource points at is wrong; `reason` says what (SecretMissing, …). */
export function asFailed(
  reason: string,
  message: string,
  patch: Partial<DatabaseMigrationStatus> = {},
  conditions: readonly OwnCondition[] = [],
): Transition {
  return to('Failed', reason, message, { ...patch, lastError: message }, { conditions });
}

/** Transient: the phase stays, the Warning says why progress stopped. */
export function asDatabaseUnreachable(phase: MigrationPhase, message: string): Transition {
  return to(
    phase,
    'DatabaseUnreachable',
    message,
    { lastError: message },
    { eventType: 'Warning' },
  );
}

export function asUpToDate(
  planned: Partial<DatabaseMigrationStatus>,
  appliedCount: number,
  completedAt: string,
): Transition {
  return to('Succeeded', 'UpToDate', `nothing pending; ${String(appliedCount)} applied`, {
    ...planned,
    completedAt,
  });
}

export function asPlanned(
  planned: Partial<DatabaseMigrationStatus>,
  next: 'Snapshotting' | 'DryRunning',
  pendingIds: readonly string[],
): Transition {
  return to(
    next,
    'Planned',
    `${String(pendingIds.length)} pending: ${pendingIds.join(', ')}`,
    planned,
  );
}

export function asSnapshotRequested(name: string): Transition {
  return to('Snapshotting', 'SnapshotRequested', `BackupSnapshot ${name} created`, {
    snapshotRef: { name },
  });
}

export function asSnapshotVerified(name: string, snapshotId: string): Transition {
  return to('DryRunning', 'SnapshotVerified', `snapshot ${snapshotId} verified`, {
    snapshotRef: { name },
  });
}

export function asDryRunIncomplete(
  dryRun: DatabaseMigrationStatus['dryRun'],
  gap: string,
): Transition {
  return asFailed('DryRunIncomplete', gap, { ...(dryRun !== undefined && { dryRun }) }, [
    { type: 'DryRun', status: false, reason: 'Incomplete', message: gap },
  ]);
}

export function asDryRunFailed(
  dryRun: DatabaseMigrationStatus['dryRun'],
  message: string,
): Transition {
  return asFailed('DryRunFailed', message, { ...(dryRun !== undefined && { dryRun }) }, [
    { type: 'DryRun', status: false, reason: 'Failed', message },
  ]);
}

function windowNote(dryRun: NonNullable<DatabaseMigrationStatus['dryRun']>): string {
  return dryRun.needsWindow ? '; a maintenance window is required' : '';
}

/** The DryRun condition of a dry-run that ran every pinned migration on staging. */
export function dryRunPassedCondition(
  dryRun: NonNullable<DatabaseMigrationStatus['dryRun']>,
): OwnCondition {
  return {
    type: 'DryRun',
    status: true,
    reason: 'Passed',
    message: `${String(dryRun.migrations.length)} migration(s) applied on staging${windowNote(dryRun)}`,
  };
}

export function asDryRunPassed(
  dryRun: NonNullable<DatabaseMigrationStatus['dryRun']>,
  lint: OwnCondition,
): Transition {
  return to(
    'DryRunning',
    'DryRunPassed',
    `dry-run passed${windowNote(dryRun)}`,
    { dryRun },
    { conditions: [dryRunPassedCondition(dryRun), lint] },
  );
}

/** The user skipped the dry-run explicitly: on the record as a Warning and the DryRun condition. */
export function asDryRunSkipped(why: string, lint: OwnCondition): Transition {
  const message = `the staging dry-run was skipped (${why}): lock, rewrite and duration impact on production were not predicted`;
  return to(
    'DryRunning',
    'DryRunSkipped',
    message,
    {},
    {
      eventType: 'Warning',
      conditions: [dryRunSkippedCondition(why), lint],
    },
  );
}

export function dryRunSkippedCondition(why: string): OwnCondition {
  return {
    type: 'DryRun',
    status: false,
    reason: 'Skipped',
    message: `the staging dry-run was skipped (${why}): lock, rewrite and duration impact on production were not predicted`,
  };
}

export function asLintFailed(
  detail: string,
  lint: OwnCondition,
  patch: Partial<DatabaseMigrationStatus> = {},
  conditions: readonly OwnCondition[] = [],
): Transition {
  return asFailed('LintFailed', detail, patch, [...conditions, lint]);
}

export function asAwaitingApproval(command: string): Transition {
  return to('AwaitingApproval', 'AwaitingApproval', `approve with: ${command}`);
}

export function asAwaitingWindow(message: string): Transition {
  return to('AwaitingWindow', 'AwaitingWindow', message);
}

/** A retryable failure is gone: carry on in the phase it interrupted. */
export function asResumed(phase: 'Applying' | 'Verifying'): Transition {
  return to(phase, 'Resumed', `the cause of the failure is gone; resuming ${phase.toLowerCase()}`);
}

export function asApplying(): Transition {
  return to('Applying', 'Applying', 'applying the pinned migrations');
}

export function asApplyStarted(runId: string): Transition {
  return to('Applying', 'ApplyStarted', `run ${runId}`, { runId });
}

export function asApplied(
  counts: Partial<DatabaseMigrationStatus>,
  appliedNow: number,
  durationMs: number,
): Transition {
  return to(
    'Verifying',
    'Applied',
    `applied ${String(appliedNow)} migration(s) in this attempt (${String(durationMs)} ms); ${String(counts.pendingCount ?? 0)} of the pinned set pending`,
    counts,
  );
}

export function asApplyFailed(
  counts: Partial<DatabaseMigrationStatus>,
  message: string,
): Transition {
  return asFailed('ApplyFailed', message, counts);
}

export function asVerifyFailed(message: string): Transition {
  return asFailed('VerifyFailed', message);
}

export function asSucceeded(completedAt: string): Transition {
  return to('Succeeded', 'Succeeded', 'all migrations applied and verified', {
    completedAt,
    lastError: '',
  });
}
