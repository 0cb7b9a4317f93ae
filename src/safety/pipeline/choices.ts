/**
 * Pure decisions both drivers (the CLI's `apply --safe` and the operator) make the same way:
 * where the staging copy comes from, where a verification restore may run, what the lint
 * verdict is, and what the engine's history says of a pinned set. The drivers only name their
 * own settings (flags or spec fields) for the messages.
 */
import type { MigrationStatusEntry } from '../../engine/plan.js';

/** How one driver spells each choice, so a refusal names what the user can set. */
export interface ChoiceVocabulary {
  readonly stagingDatabase: string;
  readonly snapshot: string;
  readonly scratchServer: string;
  readonly allowProductionServer: string;
  readonly skipDryRun: string;
}

export const CLI_VOCABULARY: ChoiceVocabulary = {
  stagingDatabase: '--staging-url URL (a staging database)',
  snapshot: 'a snapshot',
  scratchServer:
    '--scratch-url URL (a server for temporary copies), --scratch-local (a throwaway local server of the same major)',
  allowProductionServer:
    '--scratch-on-production (temporary copies on the production server: doubles its load and disk use)',
  skipDryRun: 'plain `dbmigrate apply` (no safety pipeline)',
};

export const OPERATOR_VOCABULARY: ChoiceVocabulary = {
  stagingDatabase: 'spec.staging.secretRef (a staging database)',
  snapshot: 'spec.snapshot',
  scratchServer: 'spec.staging.scratch.secretRef (a server for temporary copies)',
  allowProductionServer:
    'spec.staging.scratch.allowProductionServer: true (temporary copies on the production server: doubles its load and disk use)',
  skipDryRun: 'spec.safety: Unsafe (applies without a dry-run; a Warning Event says so)',
};

/** Where temporary full copies are created. */
export type ScratchChoice =
  | { readonly kind: 'scratch-server' }
  | { readonly kind: 'production-server' }
  | { readonly kind: 'refuse'; readonly message: string };

export function scratchChoice(
  input: { readonly scratchServer: boolean; readonly allowProductionServer: boolean },
  words: Pick<ChoiceVocabulary, 'scratchServer' | 'allowProductionServer'>,
  purpose: string,
): ScratchChoice {
  if (input.scratchServer) return { kind: 'scratch-server' };
  if (input.allowProductionServer) return { kind: 'production-server' };
  return {
    kind: 'refuse',
    message: `${purpose} needs a server for a temporary copy and none is configured; set ${words.scratchServer}, or ${words.allowProductionServer}`,
  };
}

/** Where the staging dry-run runs, or why it does not. */
export type StagingChoice =
  | { readonly kind: 'skip'; readonly why: string }
  | { readonly kind: 'staging-database' }
  | {
      readonly kind: 'restore-snapshot';
      /** private-server: a pgBackRest snapshot restores into a server of its own, started here. */
      readonly server: 'scratch-server' | 'production-server' | 'private-server';
    }
  | { readonly kind: 'refuse'; readonly message: string };

export interface StagingInput {
  /** The user's explicit words for skipping the dry-run (e.g. "spec.safety: Unsafe"), or null. */
  readonly skippedBy: string | null;
  readonly stagingDatabase: boolean;
  readonly snapshot: boolean;
  /** The snapshot is physical (pgBackRest): its copy needs no server, only a directory. */
  readonly physicalSnapshot?: boolean;
  readonly scratchServer: boolean;
  readonly allowProductionServer: boolean;
}

/**
 * The dry-run is never skipped by default: without a staging database and a snapshot to
 * restore on an allowed server, the run is refused with one message naming every way out.
 */
export function stagingChoice(input: StagingInput, words: ChoiceVocabulary): StagingChoice {
  if (input.skippedBy !== null) return { kind: 'skip', why: input.skippedBy };
  if (input.stagingDatabase) return { kind: 'staging-database' };
  const ways = `set ${words.stagingDatabase}; or ${words.snapshot} with ${words.scratchServer}; or ${words.snapshot} with ${words.allowProductionServer}; or skip the dry-run explicitly with ${words.skipDryRun}`;
  if (!input.snapshot) {
    return {
      kind: 'refuse',
      message: `the staging dry-run has nowhere to run: no staging database and no snapshot to restore into one; ${ways}`,
    };
  }
  if (input.physicalSnapshot === true)
    return { kind: 'restore-snapshot', server: 'private-server' };
  const server = scratchChoice(input, words, 'the staging dry-run');
  if (server.kind === 'refuse') {
    return {
      kind: 'refuse',
      message: `the staging dry-run has nowhere to restore the snapshot: no scratch server is configured; ${ways}`,
    };
  }
  return { kind: 'restore-snapshot', server: server.kind };
}

export type LintPolicy = 'enforce' | 'warn' | 'off';

export interface LintFindingRef {
  readonly migration: string;
  readonly file: string;
  readonly line: number;
  readonly ruleId: string;
  readonly severity: string;
}

export interface LintVerdict {
  readonly ok: boolean;
  readonly errors: readonly LintFindingRef[];
  readonly detail: string;
}

/** Error findings stop the run under `enforce`; `warn` reports them; `off` never looks. */
export function lintVerdict(findings: readonly LintFindingRef[], policy: LintPolicy): LintVerdict {
  if (policy === 'off') return { ok: true, errors: [], detail: 'lint disabled' };
  const errors = findings.filter((f) => f.severity === 'error');
  const list = (fs: readonly LintFindingRef[]): string =>
    fs.map((f) => `${f.file}:${String(f.line)} ${f.ruleId}`).join(', ');
  if (errors.length > 0 && policy === 'enforce') {
    return {
      ok: false,
      errors,
      detail: `${String(errors.length)} lint error(s) (policy enforce): ${list(errors)}; fix them or add an ignore comment with the reason`,
    };
  }
  return {
    ok: true,
    errors,
    detail:
      findings.length === 0
        ? 'no lint findings'
        : `${String(findings.length)} lint finding(s)${policy === 'warn' && errors.length > 0 ? ' (policy warn)' : ''}: ${list(findings)}`,
  };
}

export interface PinnedProgress {
  /** Pinned migrations the history records as in effect, in pinned order. */
  readonly applied: readonly MigrationStatusEntry[];
  /** Pinned migrations not (yet) in effect. */
  readonly pendingIds: readonly string[];
  /** Every migration in effect in the database (the APPLIED column). */
  readonly appliedTotal: number;
}

/**
 * What the engine's history says of a pinned set: the ground truth after any restart, failover
 * or resume, whatever the last status write claimed.
 */
export function pinnedProgress(
  pinnedIds: readonly string[],
  entries: readonly MigrationStatusEntry[],
): PinnedProgress {
  const inEffect = (e: MigrationStatusEntry): boolean =>
    e.state === 'applied' || e.state === 'baselined';
  const byId = new Map(entries.map((e) => [e.id, e]));
  const applied: MigrationStatusEntry[] = [];
  const pendingIds: string[] = [];
  for (const id of pinnedIds) {
    const e = byId.get(id);
    if (e && inEffect(e)) applied.push(e);
    else pendingIds.push(id);
  }
  return { applied, pendingIds, appliedTotal: entries.filter(inEffect).length };
}
