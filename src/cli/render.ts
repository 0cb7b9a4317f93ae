import { redactSecrets } from '../observability/redact.js';
import type { HistoryEvent } from '../engine/history.js';
import type { MigrationPlan, RunResult } from '../engine/migrator.js';
import type { ValidationIssue } from '../engine/errors.js';
import type { MigrationStatusEntry } from '../engine/plan.js';
import type { CommandIo } from './context.js';
import { formatMs, formatTime, renderTable } from './table.js';

export function statusTable(entries: readonly MigrationStatusEntry[]): string {
  return renderTable(
    ['ID', 'NAME', 'STATE', 'APPLIED AT', 'DURATION', 'CHECKSUM'],
    entries.map((e) => [
      e.id,
      e.name,
      e.drifted ? `${e.state} (DRIFTED)` : e.state,
      formatTime(e.finishedAt),
      formatMs(e.durationMs),
      (e.checksum ?? e.appliedChecksum ?? '').slice(0, 12),
    ]),
  );
}

export function historyTable(events: readonly HistoryEvent[]): string {
  return renderTable(
    ['AT', 'MIGRATION', 'ACTION', 'DURATION', 'BY', 'RUN', 'DETAIL'],
    events.map((e) => [
      formatTime(e.at),
      e.migrationId,
      e.action,
      formatMs(e.durationMs),
      e.actor,
      e.runId.slice(0, 8),
      (e.detail ?? '').split('\n')[0] ?? '',
    ]),
  );
}

export function planTable(plan: MigrationPlan): string {
  if (plan.pending.length === 0) return 'nothing to apply: the database is up to date';
  return renderTable(
    ['ID', 'NAME', 'MODE', 'LOCK_TIMEOUT', 'WINDOW', 'RESUME'],
    plan.pending.map((p) => [
      p.id,
      p.name,
      p.transactional ? 'transaction' : 'statement-by-statement',
      formatMs(p.lockTimeoutMs),
      p.windowRequired ? 'required' : '-',
      p.resumeFromStatement === null ? '-' : `from statement ${p.resumeFromStatement + 1}`,
    ]),
  );
}

export function runTable(run: RunResult): string {
  if (run.results.length === 0) return '';
  return renderTable(
    ['ID', 'NAME', 'RESULT', 'DURATION', 'NOTE'],
    run.results.map((r) => [
      r.id,
      r.name,
      r.status,
      formatMs(r.durationMs),
      r.resumedFromStatement !== null
        ? `resumed at statement ${r.resumedFromStatement + 1}`
        : r.lockRetries > 0
          ? `${r.lockRetries} lock retries`
          : '',
    ]),
  );
}

/** Each migration's NOTICE/WARNING lines, under the run table. */
export function noticeLines(run: RunResult): string[] {
  return run.results.flatMap((r) => r.notices.map((n) => `${r.id}: ${n}`));
}

export function printIssues(io: CommandIo, issues: readonly ValidationIssue[]): void {
  if (issues.length === 0) return;
  io.stdout(`\n${issues.length} problem(s) would stop apply:`);
  for (const i of issues) io.stdout(`  [${i.code}] ${i.message}\n    fix: ${i.fix}`);
}

/** JSON form of a run: the error as code + message, never the raw object. */
/** A run as JSON; its error has the same shape as every command's (`code`, `exitCode`, `message`). */
export function runJson(
  run: RunResult,
  exitCode: number,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    {
      ...run,
      ...extra,
      error: run.error
        ? { code: run.error.code, exitCode, message: redactSecrets(run.error.message) }
        : null,
    },
    null,
    2,
  );
}
