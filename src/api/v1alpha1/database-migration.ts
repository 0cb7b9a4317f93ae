import { z } from 'zod';
import { DEFAULTS } from '../settings.js';
import {
  LintRuleSettingSchema,
  LintSmallTableSchema,
  MaintenanceWindowSchema,
  PostVerifyConfigSchema,
} from '../config.js';
import { NEWEST_PG_MAJOR, OLDEST_PG_MAJOR } from '../pg-version.js';
import {
  METHOD_RULE,
  METHOD_VALIDATION,
  methodMatchesSettings,
  RetentionSpecSchema,
  SNAPSHOT_METHOD_FIELDS,
  SnapshotStorageSpecSchema,
} from './backup-snapshot.js';
import {
  ConditionSchema,
  ObjectMetaSchema,
  ScratchServerSpecSchema,
  SecretKeyRefSchema,
} from './common.js';

export const MIGRATION_PHASES = [
  'Pending',
  'Snapshotting',
  'DryRunning',
  'AwaitingWindow',
  'AwaitingApproval',
  'Applying',
  'Verifying',
  'Succeeded',
  'Failed',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** A new value starts a new run of the same generation (after SourceChangedMidRun, for example). */
export const RESTART_ANNOTATION = 'dbops.docserver.io/restart';

/** The annotation naming the generation a human approved (`kubectl annotate … approved-generation=3`). */
export const APPROVED_GENERATION_ANNOTATION = 'dbops.docserver.io/approved-generation';

const InlineMigrationSchema = z
  .object({
    name: z
      .string()
      .regex(/^\d+_[A-Za-z0-9][A-Za-z0-9_.-]*\.sql$/, 'must look like NNNN_name.sql')
      .describe('File name, NNNN_name.sql: its number orders it.'),
    sql: z.string().min(1).describe('The file: header directives, -- migrate:up, SQL.'),
  })
  .strict();

export const MigrationSourceSpecSchema = z
  .object({
    configMapRef: z
      .object({ name: z.string().min(1).describe('ConfigMap in the same namespace.') })
      .strict()
      .optional()
      .describe(
        'A ConfigMap whose NNNN_name.sql keys are the migrations (kustomize configMapGenerator).',
      ),
    inline: z
      .array(InlineMigrationSchema)
      .max(200)
      .optional()
      .describe('Migrations written in the resource itself (at most 200).'),
  })
  .strict()
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'has(self.configMapRef) != has(self.inline)',
        message: 'set exactly one of configMapRef or inline',
      },
    ],
  });

export const DatabaseMigrationSpecSchema = z
  .object({
    database: z
      .object({ secretRef: SecretKeyRefSchema.describe('The Secret holding its URL.') })
      .strict()
      .describe('The production database to migrate.'),
    migrations: MigrationSourceSpecSchema.describe(
      'Where the migration files come from: configMapRef or inline, exactly one.',
    ),
    target: z
      .string()
      .regex(/^\d+$/)
      .optional()
      .describe('Apply up to this migration ID; all pending when unset.'),
    historySchema: z
      .string()
      .min(1, 'must name a schema (the engine keeps its history there)')
      .max(63, 'PostgreSQL identifiers are at most 63 bytes')
      .default(DEFAULTS.historySchema)
      .describe('Schema of the history tables in the database.'),
    safety: z
      .enum(['Safe', 'Unsafe'])
      .default('Safe')
      .describe(
        'Safe: no migration reaches production without a staging dry-run and a lint verdict. Unsafe: skip the dry-run (a Warning Event and the DryRun condition say so).',
      ),
    snapshot: z
      .object({
        enabled: z.boolean().default(true).describe('false: no snapshot before applying.'),
        storage: SnapshotStorageSpecSchema.describe('Where the BackupSnapshot writes.'),
        checksums: z
          .enum(['full', 'counts'])
          .default('full')
          .describe('full: row counts and content checksums per table; counts: row counts only.'),
        ...SNAPSHOT_METHOD_FIELDS,
        retention: RetentionSpecSchema.optional().describe(
          'Prunes older pre-migration snapshots of this database made in this namespace.',
        ),
      })
      .strict()
      .refine(methodMatchesSettings, {
        message: METHOD_RULE.message,
        path: ['pgbackrest'],
      })
      .meta(METHOD_VALIDATION)
      .optional()
      .describe('A verified BackupSnapshot taken before anything is applied.'),
    staging: z
      .object({
        secretRef: SecretKeyRefSchema.optional().describe(
          'A staging database; otherwise the snapshot is restored into a temporary one on the scratch server.',
        ),
        scratch: ScratchServerSpecSchema.optional().describe(
          'Where the snapshot is verified and restored for the dry-run when no staging database is given.',
        ),
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'false skips the dry-run, with a Warning Event and the DryRun condition saying so.',
          ),
      })
      .strict()
      .optional()
      .describe('Where the dry-run applies the pinned migrations before production.'),
    lint: z
      .object({
        policy: z
          .enum(['Enforce', 'Warn', 'Disabled'])
          .default('Enforce')
          .describe('Enforce: a lint error fails the migration; Warn: findings only.'),
        rules: z
          .record(z.string(), LintRuleSettingSchema)
          .optional()
          .describe(
            'Lint rule ID → off, warning or error, as lint.rules in dbmigrate.json (docs/lint.md); warning or error also turns on an opt-in rule. An unknown ID fails the resource (InvalidSpec).',
          ),
        pgVersion: z
          .number()
          .int()
          .min(OLDEST_PG_MAJOR)
          .max(NEWEST_PG_MAJOR)
          .optional()
          .describe(
            "PostgreSQL major version the linter judges the migrations for; unset: the target server's.",
          ),
        smallTable: LintSmallTableSchema.optional().describe(
          'An index build or validation scan on a table of the target below both figures is cleared: it holds its lock for milliseconds.',
        ),
      })
      .strict()
      .optional()
      .describe(
        "The unsafe-pattern linter (locks, rewrites, breaking changes), judged with the target database's version and catalog facts.",
      ),
    maintenanceWindow: z
      .object({
        windows: z
          .array(MaintenanceWindowSchema)
          .default([])
          .describe('Weekly windows (UTC) in which blocking migrations may run.'),
        thresholdMs: z
          .number()
          .int()
          .positive()
          .default(DEFAULTS.windowThresholdMs)
          .describe('A lock held longer than this on staging needs a window, in milliseconds.'),
      })
      .strict()
      .optional()
      .describe('When migrations that block writes may run.'),
    approval: z
      .object({
        required: z
          .boolean()
          .default(false)
          .describe('Wait after the dry-run for the approved-generation annotation.'),
      })
      .strict()
      .optional()
      .describe('A person approves each generation before it reaches production.'),
    postVerify: PostVerifyConfigSchema.partial()
      .optional()
      .describe(
        'Checks after applying: constraints, invalid indexes, amcheck, counts, smoke queries.',
      ),
    lockTimeoutMs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("lock_timeout of each migration in milliseconds (a file's header wins)."),
    statementTimeoutMs: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "statement_timeout of each migration in milliseconds, 0 for none (a file's header wins).",
      ),
  })
  .strict();
export type DatabaseMigrationSpec = z.infer<typeof DatabaseMigrationSpecSchema>;

export const MigrationRecordSchema = z
  .object({
    id: z.string().describe('Migration ID (the number of its file name).'),
    name: z.string().describe('Its name, after the number.'),
    checksum: z.string().describe('sha256 of its up section, normalised.'),
    durationMs: z.number().int().optional().describe('How long it took to apply.'),
    appliedAt: z.string().optional().describe('When it was applied (RFC 3339).'),
  })
  .strict();

export const DryRunSummarySchema = z
  .object({
    ok: z.boolean().describe('Every pinned migration applied on staging and lint passed.'),
    needsWindow: z.boolean().describe('Some migration blocked writes longer than the threshold.'),
    migrations: z
      .array(
        z
          .object({
            id: z.string().describe('Migration ID.'),
            status: z.string().describe('applied or failed, on staging.'),
            durationMs: z.number().int().optional().describe('How long it took on staging.'),
            strongestLock: z
              .string()
              .optional()
              .describe('The strongest lock it took (ACCESS EXCLUSIVE, SHARE, …).'),
            lockHeldMs: z
              .number()
              .int()
              .optional()
              .describe('How long it held a lock that blocks writes.'),
            rewrites: z.array(z.string()).optional().describe('Tables it rewrote.'),
            reasons: z.array(z.string()).optional().describe('Why it needs a maintenance window.'),
            touched: z
              .array(z.string())
              .optional()
              .describe('Relations it locked or rewrote on staging: post-verify checks them.'),
          })
          .strict(),
      )
      .describe('Each pinned migration as it ran on staging.'),
  })
  .strict();

export const DatabaseMigrationStatusSchema = z
  .object({
    phase: z
      .enum(MIGRATION_PHASES)
      .optional()
      .describe(
        'Pending → Snapshotting → DryRunning → (AwaitingApproval, AwaitingWindow) → Applying → Verifying → Succeeded, or Failed.',
      ),
    observedGeneration: z.number().int().optional().describe('The generation this status is for.'),
    /** The restart annotation's value when the run started: a new value starts a new run. */
    observedRestart: z
      .string()
      .optional()
      .describe('The restart annotation value this run started with.'),
    runId: z.string().optional().describe('ID of the run, in the history table and the logs.'),
    /** Pinned when a run starts: the set that run applies, never mixed with a later edit. */
    pinned: z
      .array(MigrationRecordSchema)
      .optional()
      .describe('The migrations this run applies, pinned with their checksums when it started.'),
    applied: z
      .array(MigrationRecordSchema)
      .optional()
      .describe('Pinned migrations the history table records as applied.'),
    pending: z
      .array(MigrationRecordSchema)
      .optional()
      .describe('Pinned migrations not applied yet.'),
    appliedCount: z.number().int().optional().describe('How many are applied.'),
    pendingCount: z.number().int().optional().describe('How many are pending.'),
    snapshotRef: z
      .object({ name: z.string().describe('BackupSnapshot name.') })
      .strict()
      .optional()
      .describe('The pre-migration BackupSnapshot (labelled, not owned: it outlives this).'),
    dryRun: DryRunSummarySchema.optional().describe('What the staging dry-run measured.'),
    lastError: z.string().optional().describe('Why it failed, when it did.'),
    startedAt: z.string().optional().describe('When this run started (RFC 3339).'),
    completedAt: z.string().optional().describe('When it ended (RFC 3339).'),
    history: z
      .array(
        z
          .object({
            at: z.string().describe('When (RFC 3339).'),
            phase: z.string().describe('The phase entered.'),
            message: z.string().describe('Why.'),
          })
          .strict(),
      )
      .max(50)
      .optional()
      .describe('The phases this run went through, oldest first (the last 50).'),
    conditions: z
      .array(ConditionSchema)
      .optional()
      .describe('Ready, Progressing, Degraded, DryRun and Linted.'),
  })
  .strict();
export type DatabaseMigrationStatus = z.infer<typeof DatabaseMigrationStatusSchema>;

export const DatabaseMigrationSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('DatabaseMigration'),
  metadata: ObjectMetaSchema,
  spec: DatabaseMigrationSpecSchema,
  status: DatabaseMigrationStatusSchema.optional(),
});
export type DatabaseMigration = z.infer<typeof DatabaseMigrationSchema>;
