/**
 * The steps of the safe-apply pipeline that both drivers run: `apply --safe` calls them in
 * sequence, the operator's reconciler calls one per phase. Each takes typed input and returns
 * a typed outcome, so neither driver re-derives a verdict on its own.
 */
import { resolvePgVersion, type PgVersion } from '../../api/pg-version.js';
import type { LintRuleSettings, LintSmallTable } from '../../api/settings.js';
import type { Migration } from '../../engine/migration.js';
import type { MigrationImpact } from '../dryrun/impact.js';
import { lintMigrations } from '../lint/linter.js';
import { liveLintContextAt } from '../lint/live-facts.js';
import { lintVerdict, type LintFindingRef, type LintPolicy, type LintVerdict } from './choices.js';

/**
 * Lints the whole set (later files see earlier ones' tables) and judges the pending ones, with
 * the project's per-rule severities (`settings.lintRules`): a rule set to error blocks like any
 * error, one set to off or warning does not. With `databaseUrl` (the target: apply --safe, the
 * operator) the rules are judged for that server's PostgreSQL version unless `pgVersion` names
 * one.
 */
export async function lintPending(
  migrations: readonly Migration[],
  pendingIds: readonly string[],
  policy: LintPolicy,
  options: {
    readonly rules?: LintRuleSettings | undefined;
    /** The runner's lock_timeout and statement_timeout, which the timeout rules judge by. */
    readonly lockTimeoutMs?: number | undefined;
    readonly statementTimeoutMs?: number | undefined;
    /** The project's PostgreSQL version for the linter (dbmigrate.json lint.pgVersion). */
    readonly pgVersion?: number | undefined;
    /**
     * The database the migrations are for: its server's version is used when none is given,
     * and its catalog's facts clear findings they prove harmless (they then block nothing).
     */
    readonly databaseUrl?: string | undefined;
    readonly smallTable?: LintSmallTable | undefined;
  } = {},
): Promise<
  LintVerdict & {
    readonly findings: readonly LintFindingRef[];
    readonly pgVersion: PgVersion;
    /** Findings of the pending migrations the target's facts cleared (they block nothing). */
    readonly cleared: number;
  }
> {
  const explicit = { config: options.pgVersion };
  if (policy === 'off')
    return {
      ...lintVerdict([], 'off'),
      findings: [],
      pgVersion: resolvePgVersion(explicit),
      cleared: 0,
    };
  const live =
    options.databaseUrl === undefined
      ? undefined
      : await liveLintContextAt(options.databaseUrl, {
          explicit,
          smallTable: options.smallTable,
        });
  const pgVersion = live?.pgVersion ?? resolvePgVersion(explicit);
  const pending = new Map(
    migrations.filter((m) => pendingIds.includes(m.id)).map((m) => [m.file, m.id]),
  );
  const linted = await lintMigrations(migrations, {
    rules: options.rules,
    defaultLockTimeoutMs: options.lockTimeoutMs,
    defaultStatementTimeoutMs: options.statementTimeoutMs,
    pgVersion: pgVersion.major,
    smallTable: options.smallTable,
    ...(live !== undefined && {
      // The target is at the state after every migration that is not pending.
      live: {
        catalog: live.catalog,
        applied: new Set(migrations.filter((m) => !pendingIds.includes(m.id)).map((m) => m.id)),
      },
    }),
  });
  const findings = linted.flatMap((f) => {
    const id = pending.get(f.file);
    // A finding the live facts cleared blocks nothing.
    return id === undefined || f.cleared !== undefined
      ? []
      : [{ migration: id, file: f.file, line: f.line, ruleId: f.ruleId, severity: f.severity }];
  });
  const cleared = linted.filter((f) => pending.has(f.file) && f.cleared !== undefined).length;
  return { ...lintVerdict(findings, policy), findings, pgVersion, cleared };
}

/** The lint verdict of a dry-run, which linted each migration it applied. */
export function dryRunLintVerdict(
  migrations: readonly Pick<MigrationImpact, 'id' | 'file' | 'lint'>[],
  policy: LintPolicy,
): LintVerdict {
  return lintVerdict(
    migrations.flatMap((m) =>
      m.lint.map((f) => ({
        migration: m.id,
        file: m.file,
        line: f.line,
        ruleId: f.ruleId,
        severity: f.severity,
      })),
    ),
    policy,
  );
}

/** Relations a migration locked or rewrote on staging: what post-verify checks in production. */
export function touchedRelations(migration: Pick<MigrationImpact, 'locks' | 'rewrites'>): string[] {
  const out = new Set<string>();
  for (const l of migration.locks) out.add(l.relation);
  for (const r of migration.rewrites) if (r.startsWith('table ')) out.add(r.slice('table '.length));
  return [...out];
}

/**
 * Pending migrations the dry-run did not run (a staging database that already had them): a
 * dry-run that measured nothing for a migration is no verdict on it. Null when all were run.
 */
export function dryRunGap(
  report: { readonly migrations: readonly Pick<MigrationImpact, 'id'>[] },
  pendingIds: readonly string[],
): string | null {
  const ran = new Set(report.migrations.map((m) => m.id));
  const missing = pendingIds.filter((id) => !ran.has(id));
  if (missing.length === 0) return null;
  return `the dry-run did not run ${missing.join(', ')}: the staging database already records ${missing.length > 1 ? 'them' : 'it'} as applied, so nothing was measured; dry-run on a copy at production's state (a restored snapshot, or a staging database reset to it)`;
}

export type DryRunVerdict =
  | { readonly kind: 'passed'; readonly detail: string; readonly lint: LintVerdict }
  | {
      readonly kind: 'incomplete' | 'failed' | 'lint-failed';
      readonly detail: string;
      readonly lint: LintVerdict;
    };

/**
 * The one verdict on a dry-run both drivers act on: every pending migration ran on staging,
 * none failed, and the lint policy holds. Pure.
 */
export function judgeDryRun(
  report: {
    readonly migrations: readonly Pick<
      MigrationImpact,
      'id' | 'file' | 'lint' | 'status' | 'error'
    >[];
  },
  pendingIds: readonly string[],
  policy: LintPolicy,
): DryRunVerdict {
  const lint = dryRunLintVerdict(report.migrations, policy);
  const gap = dryRunGap(report, pendingIds);
  if (gap !== null) return { kind: 'incomplete', detail: gap, lint };
  const failed = report.migrations.find((m) => m.status === 'failed');
  if (failed) {
    return {
      kind: 'failed',
      detail: `dry-run failed on staging at ${failed.id}: ${failed.error ?? ''}; production was not touched`,
      lint,
    };
  }
  if (!lint.ok) return { kind: 'lint-failed', detail: lint.detail, lint };
  return {
    kind: 'passed',
    detail: `${String(report.migrations.length)} migration(s) applied on staging`,
    lint,
  };
}
