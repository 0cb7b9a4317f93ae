import { z } from 'zod';
import { DEFAULTS } from '../settings.js';
import { MaintenanceWindowSchema, PostVerifyConfigSchema } from '../config.js';
import { RetentionSpecSchema, SnapshotStorageSpecSchema } from './backup-snapshot.js';
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
    name: z.string().regex(/^\d+_[A-Za-z0-9][A-Za-z0-9_.-]*\.sql$/, 'must look like NNNN_name.sql'),
    sql: z.string().min(1),
  })
  .strict();

export const MigrationSourceSpecSchema = z
  .object({
    configMapRef: z
      .object({ name: z.string().min(1) })
      .strict()
      .optional()
      .describe(
        'A ConfigMap whose NNNN_name.sql keys are the migrations (kustomize configMapGenerator).',
      ),
    inline: z.array(InlineMigrationSchema).max(200).optional(),
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
    database: z.object({ secretRef: SecretKeyRefSchema }).strict(),
    migrations: MigrationSourceSpecSchema,
    target: z
      .string()
      .regex(/^\d+$/)
      .optional()
      .describe('Apply up to this migration ID; all pending when unset.'),
    historySchema: z
      .string()
      .min(1, 'must name a schema (the engine keeps its history there)')
      .max(63, 'PostgreSQL identifiers are at most 63 bytes')
      .default(DEFAULTS.historySchema),
    safety: z
      .enum(['Safe', 'Unsafe'])
      .default('Safe')
      .describe(
        'Safe: no migration reaches production without a staging dry-run and a lint verdict. Unsafe: skip the dry-run (a Warning Event and the DryRun condition say so).',
      ),
    snapshot: z
      .object({
        enabled: z.boolean().default(true),
        storage: SnapshotStorageSpecSchema,
        checksums: z.enum(['full', 'counts']).default('full'),
        retention: RetentionSpecSchema.optional(),
      })
      .strict()
      .optional(),
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
      .optional(),
    lint: z
      .object({ policy: z.enum(['Enforce', 'Warn', 'Disabled']).default('Enforce') })
      .strict()
      .optional(),
    maintenanceWindow: z
      .object({
        windows: z.array(MaintenanceWindowSchema).default([]),
        thresholdMs: z.number().int().positive().default(DEFAULTS.windowThresholdMs),
      })
      .strict()
      .optional(),
    approval: z
      .object({ required: z.boolean().default(false) })
      .strict()
      .optional(),
    postVerify: PostVerifyConfigSchema.partial().optional(),
    lockTimeoutMs: z.number().int().positive().optional(),
    statementTimeoutMs: z.number().int().nonnegative().optional(),
  })
  .strict();
export type DatabaseMigrationSpec = z.infer<typeof DatabaseMigrationSpecSchema>;

export const MigrationRecordSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    checksum: z.string(),
    durationMs: z.number().int().optional(),
    appliedAt: z.string().optional(),
  })
  .strict();

export const DryRunSummarySchema = z
  .object({
    ok: z.boolean(),
    needsWindow: z.boolean(),
    migrations: z.array(
      z
        .object({
          id: z.string(),
          status: z.string(),
          durationMs: z.number().int().optional(),
          strongestLock: z.string().optional(),
          lockHeldMs: z.number().int().optional(),
          rewrites: z.array(z.string()).optional(),
          reasons: z.array(z.string()).optional(),
          touched: z
            .array(z.string())
            .optional()
            .describe('Relations it locked or rewrote on staging: post-verify checks them.'),
        })
        .strict(),
    ),
  })
  .strict();

export const DatabaseMigrationStatusSchema = z
  .object({
    phase: z.enum(MIGRATION_PHASES).optional(),
    observedGeneration: z.number().int().optional(),
    /** The restart annotation's value when the run started: a new value starts a new run. */
    observedRestart: z.string().optional(),
    runId: z.string().optional(),
    /** Pinned when a run starts: the set that run applies, never mixed with a later edit. */
    pinned: z.array(MigrationRecordSchema).optional(),
    applied: z.array(MigrationRecordSchema).optional(),
    pending: z.array(MigrationRecordSchema).optional(),
    appliedCount: z.number().int().optional(),
    pendingCount: z.number().int().optional(),
    snapshotRef: z.object({ name: z.string() }).strict().optional(),
    dryRun: DryRunSummarySchema.optional(),
    lastError: z.string().optional(),
    startedAt: z.string().optional(),
    completedAt: z.string().optional(),
    history: z
      .array(z.object({ at: z.string(), phase: z.string(), message: z.string() }).strict())
      .max(50)
      .optional(),
    conditions: z.array(ConditionSchema).optional(),
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
