import { z } from 'zod';
import {
  ConditionSchema,
  ObjectMetaSchema,
  ScratchServerSpecSchema,
  SecretKeyRefSchema,
} from './common.js';

export const BACKUP_SNAPSHOT_PHASES = [
  'Pending',
  'Running',
  'Verifying',
  'Completed',
  'Failed',
] as const;
export type BackupSnapshotPhase = (typeof BACKUP_SNAPSHOT_PHASES)[number];

export const SnapshotStorageSpecSchema = z
  .object({
    /** A directory inside the operator's pod: a mounted PersistentVolumeClaim. */
    path: z
      .string()
      .min(1)
      .describe('Directory (a mounted volume) where snapshot folders are written.'),
  })
  .strict();

export const RetentionSpecSchema = z
  .object({
    keepLast: z.number().int().positive().optional(),
    maxAgeDays: z.number().int().positive().optional(),
  })
  .strict();

export const BackupSnapshotSpecSchema = z
  .object({
    database: z.object({ secretRef: SecretKeyRefSchema }).strict(),
    storage: SnapshotStorageSpecSchema,
    checksums: z.enum(['full', 'counts']).default('full'),
    verify: z
      .boolean()
      .default(true)
      .describe('Restore into a scratch database and compare with the manifest.'),
    scratch: ScratchServerSpecSchema.optional().describe(
      'Where the verification restore runs; required when verify is true.',
    ),
    retention: RetentionSpecSchema.optional().describe(
      'Prunes older snapshots of the same database made in this namespace; never those of other databases.',
    ),
  })
  .strict();
export type BackupSnapshotSpec = z.infer<typeof BackupSnapshotSpecSchema>;

export const BackupSnapshotStatusSchema = z
  .object({
    phase: z.enum(BACKUP_SNAPSHOT_PHASES).optional(),
    observedGeneration: z.number().int().optional(),
    snapshotId: z.string().optional(),
    location: z.string().optional(),
    sizeBytes: z.number().int().optional(),
    size: z.string().optional().describe('Human-readable size, for the printer column.'),
    tables: z.number().int().optional(),
    rows: z.number().int().optional(),
    schemaHash: z.string().optional(),
    serverVersion: z.string().optional(),
    startedAt: z.string().optional(),
    completedAt: z.string().optional(),
    verifiedAt: z.string().optional(),
    verified: z.boolean().optional(),
    filesPresent: z
      .boolean()
      .optional()
      .describe(
        'False when the dump or manifest is gone from storage: the snapshot cannot be restored.',
      ),
    mismatches: z.array(z.string()).optional(),
    lastError: z.string().optional(),
    conditions: z.array(ConditionSchema).optional(),
  })
  .strict();
export type BackupSnapshotStatus = z.infer<typeof BackupSnapshotStatusSchema>;

export const BackupSnapshotSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('BackupSnapshot'),
  metadata: ObjectMetaSchema,
  spec: BackupSnapshotSpecSchema,
  status: BackupSnapshotStatusSchema.optional(),
});
export type BackupSnapshot = z.infer<typeof BackupSnapshotSchema>;
