import { z } from 'zod';
import { ConfigError } from './config-file.js';
import { HealthConfigSchema } from './health-config.js';
import { PG_VERSION_RANGE, PgVersionError, pgMajorSetting } from './pg-version.js';
import { DEFAULTS, type LintRuleSetting, type SettingsInput } from './settings.js';

const Hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM in 24-hour UTC time, e.g. 02:30');

export const WeekdaySchema = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof WeekdaySchema>;

/** One weekly maintenance window in UTC; `end` before `start` crosses midnight. */
export const MaintenanceWindowSchema = z
  .object({
    days: z.array(WeekdaySchema).min(1).describe('Days the window opens on (Mon … Sun).'),
    start: Hhmm.describe('Opening time, HH:MM UTC.'),
    end: Hhmm.describe(
      'Closing time, HH:MM UTC; before start means the window runs past midnight.',
    ),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'start and end must differ' });
export type MaintenanceWindow = z.infer<typeof MaintenanceWindowSchema>;

export const SmokeQuerySchema = z
  .object({
    name: z.string().min(1).describe('Name shown in the verify report.'),
    sql: z
      .string()
      .min(1)
      .describe('A read-only query, run with EXPLAIN ANALYZE after the migrations.'),
    /** Fails post-verify when EXPLAIN ANALYZE's execution time exceeds this. */
    maxMs: z
      .number()
      .positive()
      .describe('Post-verify fails when its execution time exceeds this many milliseconds.'),
  })
  .strict();
export type SmokeQuery = z.infer<typeof SmokeQuerySchema>;

export const PostVerifyConfigSchema = z
  .object({
    /** Allowed drift of a table's row count from the snapshot, for live traffic, in percent. */
    rowCountTolerancePercent: z
      .number()
      .nonnegative()
      .default(1)
      .describe(
        "Allowed drift of a table's row count from the snapshot (live traffic), in percent.",
      ),
    /** Tables whose counts the migrations change on purpose (`schema.table`). */
    declaredRowChanges: z
      .array(z.string())
      .default([])
      .describe('Tables (schema.table) whose row counts the migrations change on purpose.'),
    smokeQueries: z
      .array(SmokeQuerySchema)
      .default([])
      .describe('Queries that must stay fast after the migrations.'),
    /** Run amcheck's bt_index_check on the btree indexes of the tables the migrations touched. */
    amcheck: z
      .boolean()
      .default(true)
      .describe("Run amcheck's bt_index_check on the btree indexes of the touched tables."),
  })
  .strict();
export type PostVerifyConfig = z.infer<typeof PostVerifyConfigSchema>;

const LintPolicySchema = z.enum(['enforce', 'warn', 'off'], {
  error: 'must be "enforce", "warn" or "off"',
});

export const LintRuleSettingSchema = z.enum(
  ['off', 'warning', 'error'] satisfies LintRuleSetting[],
  {
    error: 'must be "off", "warning" or "error"',
  },
);

/** `15`, `"15"` or `"15.4"`: the major version the linter judges for (PG_VERSION_RANGE). */
const PgVersionSettingSchema = z
  .union([z.number(), z.string()], {
    error: `must be a PostgreSQL major version from ${PG_VERSION_RANGE}, e.g. 15 or "15.4"`,
  })
  .transform((value, ctx): number => {
    try {
      return pgMajorSetting(value, 'pgVersion');
    } catch (err) {
      if (!(err instanceof PgVersionError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message.replace(/^pgVersion: /, '') });
      return z.NEVER;
    }
  });

/** Where the live-facts lint calls a table small; also the operator's `spec.lint.smallTable`. */
export const LintSmallTableSchema = z
  .object({
    maxRows: z
      .number()
      .int()
      .nonnegative()
      .default(DEFAULTS.lintSmallTable.maxRows)
      .describe('Rows (counted, stopped one past this).'),
    maxBytes: z
      .number()
      .int()
      .nonnegative()
      .default(DEFAULTS.lintSmallTable.maxBytes)
      .describe('pg_table_size in bytes.'),
  })
  .strict();

export const LintConfigSchema = z
  .object({
    /** enforce: lint errors in pending migrations stop `apply --safe`; warn: they only require a window. */
    policy: LintPolicySchema.default(DEFAULTS.lint).describe(
      'enforce: lint errors in pending migrations stop apply --safe; warn: they require a maintenance window instead; off: no lint step.',
    ),
    /**
     * Rule ID → off | warning | error, wherever the linter runs with this file (`dbmigrate
     * lint`, `apply --safe`). IDs are checked against the catalogue where the file is loaded
     * (the catalogue lives in src/safety/lint, above this layer).
     */
    rules: z
      .record(z.string(), LintRuleSettingSchema)
      .default({})
      .describe(
        'Lint rule ID → "off", "warning" or "error"; "warning" or "error" also turns on an opt-in rule.',
      ),
    /** Tables below both figures are small for the live-facts lint (docs/lint.md). */
    smallTable: LintSmallTableSchema.optional().describe(
      'With a database connection, an index build or validation scan on a table below both figures (rows, bytes) is cleared: it holds its lock for milliseconds.',
    ),
    /**
     * The PostgreSQL major the linter judges for when no `--pg-version` is given; unset, the
     * server's when connected, else the newest the parser knows.
     */
    pgVersion: PgVersionSettingSchema.optional().describe(
      `PostgreSQL major version (${PG_VERSION_RANGE}) the linter judges migrations for; unset: the server's when connected, else the newest supported.`,
    ),
  })
  .strict();
export type LintConfig = z.infer<typeof LintConfigSchema>;

/**
 * `lint` is either the policy alone (`"lint": "warn"`, as before rules could be configured)
 * or `{ "policy": …, "rules": { … } }`, the shape of the operator's `spec.lint`. Both parse to
 * the object, and an error names the field the user wrote (`lint`, `lint.rules.<id>`).
 */
const LintSettingSchema = z.unknown().transform((value, ctx): LintConfig => {
  const parsed =
    typeof value === 'string'
      ? LintPolicySchema.transform((policy) => ({ policy, rules: {} })).safeParse(value)
      : typeof value === 'object' && value !== null && !Array.isArray(value)
        ? LintConfigSchema.safeParse(value)
        : null;
  if (parsed === null) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be "enforce", "warn" or "off", or an object { "policy": …, "rules": { "<rule-id>": "off" | "warning" | "error" } }',
    });
    return z.NEVER;
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return parsed.data;
});

/** `dbmigrate.json`: project settings the CLI and the operator share. */
export const DbmigrateConfigSchema = z
  .object({
    migrations: z.string().default('migrations'),
    historySchema: z.string().min(1).default(DEFAULTS.historySchema),
    snapshots: z
      .object({
        storage: z.string().default('snapshots'),
        checksums: z.enum(['full', 'counts']).default(DEFAULTS.snapshotChecksums),
        keepLast: z.number().int().positive().optional(),
        maxAgeDays: z.number().positive().optional(),
      })
      .strict()
      .default({ storage: 'snapshots', checksums: 'full' }),
    /** The lint step's policy and per-rule severities (LintSettingSchema: a string or an object). */
    lint: LintSettingSchema.default({ policy: DEFAULTS.lint, rules: {} }),
    /** A lock that blocks writes longer than this on staging needs a maintenance window. */
    windowThresholdMs: z.number().int().positive().default(DEFAULTS.windowThresholdMs),
    maintenanceWindows: z.array(MaintenanceWindowSchema).default([]),
    postVerify: PostVerifyConfigSchema.default({
      rowCountTolerancePercent: 1,
      declaredRowChanges: [],
      smokeQueries: [],
      amcheck: true,
    }),
    /** Thresholds of `dbmigrate health` (docs/health.md). */
    health: HealthConfigSchema,
  })
  .strict();
export type DbmigrateConfig = z.infer<typeof DbmigrateConfigSchema>;

// Where a file is read and defaults are known without building this schema.
export { ConfigError, loadConfig } from './config-file.js';

/** Parses a config object; errors name the file and the field path. */
export function parseConfig(value: unknown, file: string): DbmigrateConfig {
  const parsed = DbmigrateConfigSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** The run settings dbmigrate.json decides (flags may override them). */
export function configSettings(config: DbmigrateConfig): SettingsInput {
  return {
    historySchema: config.historySchema,
    lint: config.lint.policy,
    lintRules: config.lint.rules,
    lintPgVersion: config.lint.pgVersion,
    lintSmallTable: config.lint.smallTable,
    windowThresholdMs: config.windowThresholdMs,
  };
}
