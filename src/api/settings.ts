/**
 * Every setting a run depends on, with its default declared once. Each entry point resolves
 * them once (the CLI from flags, environment and dbmigrate.json; the operator from the spec)
 * into ResolvedSettings, and everything downstream reads that value, never a default of its own.
 */
export const DEFAULTS = {
  historySchema: 'dbmigrate',
  /** How long to wait for another runner's advisory lock. */
  lockWaitMs: 60_000,
  /** lock_timeout per migration (a header directive overrides it). */
  lockTimeoutMs: 5_000,
  /** statement_timeout per migration; 0 means none. */
  statementTimeoutMs: 0,
  /** Retries after a lock_timeout, with jittered backoff. */
  lockRetries: 3,
  /**
   * A lock that blocks writes longer than this on staging needs a maintenance window. Hold
   * times are measured per statement, so a catalog-only change (about a millisecond) passes
   * and a rewrite or a long transaction does not.
   */
  windowThresholdMs: 20,
  lint: 'enforce',
  /** Lint rules switched off or given another severity (none: the catalogue's own). */
  lintRules: Object.freeze({}) as LintRuleSettings,
  /**
   * Below both figures (in the live database) a table is small: building an index on it, or
   * scanning it for a constraint, holds its lock for milliseconds, so the linter clears those
   * findings. 10,000 rows and 10 MB build in well under the 20 ms window threshold.
   */
  lintSmallTable: Object.freeze({ maxRows: 10_000, maxBytes: 10 * 1024 * 1024 }) as LintSmallTable,
  snapshotChecksums: 'full',
} as const;

/** The operator's own defaults (its command-line flags and its leader election). */
export const OPERATOR_DEFAULTS = {
  leaseName: 'dbmigrate-operator',
  /** A Lease not renewed for this long can be taken over by another replica. */
  leaseDurationSeconds: 15,
  retryPeriodMs: 2000,
  /** Resources reconciled in parallel. */
  workers: 2,
  /** Probes (and metrics) listen here. */
  httpAddr: ':8080',
} as const;

export type LintPolicySetting = 'enforce' | 'warn' | 'off';

/** What a lint rule can be set to: not run, or run at this severity. */
export type LintRuleSetting = 'off' | 'warning' | 'error';

/** Lint rule ID (a former ID too) → its setting; rules not named keep their catalogue default. */
export type LintRuleSettings = Readonly<Record<string, LintRuleSetting>>;

/** The small-table limit of the live-facts lint (dbmigrate.json `lint.smallTable`). */
export interface LintSmallTable {
  readonly maxRows: number;
  readonly maxBytes: number;
}

export interface ResolvedSettings {
  readonly historySchema: string;
  readonly lockWaitMs: number;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly lockRetries: number;
  readonly windowThresholdMs: number;
  readonly lint: LintPolicySetting;
  /** Per-rule severities for every lint of the run (dbmigrate.json `lint.rules`). */
  readonly lintRules: LintRuleSettings;
  /**
   * The PostgreSQL major the linter judges for, when the project names one (dbmigrate.json
   * `lint.pgVersion`); unset, the linter asks the server it is connected to.
   */
  readonly lintPgVersion?: number;
  /** Tables under both figures are small for the live-facts lint (dbmigrate.json `lint.smallTable`). */
  readonly lintSmallTable: LintSmallTable;
  readonly allowOutOfOrder: boolean;
  /** Apply up to this migration ID; all pending when unset. */
  readonly target?: string;
}

/** What an entry point knows; `undefined` means it did not set it. */
export type SettingsInput = {
  readonly [K in keyof ResolvedSettings]?: ResolvedSettings[K] | undefined;
};

/** Fills what the entry point did not set from DEFAULTS; `undefined` means "not set". */
export function resolveSettings(given: SettingsInput = {}): ResolvedSettings {
  return {
    historySchema: given.historySchema ?? DEFAULTS.historySchema,
    lockWaitMs: given.lockWaitMs ?? DEFAULTS.lockWaitMs,
    lockTimeoutMs: given.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    statementTimeoutMs: given.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    lockRetries: given.lockRetries ?? DEFAULTS.lockRetries,
    windowThresholdMs: given.windowThresholdMs ?? DEFAULTS.windowThresholdMs,
    lint: given.lint ?? DEFAULTS.lint,
    lintRules: given.lintRules ?? DEFAULTS.lintRules,
    lintSmallTable: given.lintSmallTable ?? DEFAULTS.lintSmallTable,
    allowOutOfOrder: given.allowOutOfOrder ?? false,
    ...(given.lintPgVersion !== undefined && { lintPgVersion: given.lintPgVersion }),
    ...(given.target !== undefined && { target: given.target }),
  };
}
