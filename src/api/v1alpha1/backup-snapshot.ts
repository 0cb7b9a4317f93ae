import { z } from 'zod';
import {
  ConditionSchema,
  ObjectMetaSchema,
  ScratchServerSpecSchema,
  SecretKeyRefSchema,
} from './common.js';
import { isSafeS3Prefix } from '../../safety/snapshot/storage-location.js';

export const BACKUP_SNAPSHOT_PHASES = [
  'Pending',
  'Running',
  'Verifying',
  'Completed',
  'Failed',
] as const;
export type BackupSnapshotPhase = (typeof BACKUP_SNAPSHOT_PHASES)[number];

/** A key of a Secret in the same namespace (no default key: each credential names its own). */
const CredentialKeyRefSchema = z
  .object({
    name: z.string().min(1).max(253).describe('Name of a Secret in the same namespace.'),
    key: z.string().min(1).max(253).describe('The key holding the value.'),
  })
  .strict();

export const S3StorageSpecSchema = z
  .object({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
      .describe('Bucket name (3-63 lowercase letters, digits, dots and hyphens).'),
    prefix: z
      .string()
      .max(512)
      // Checked here, not by the API server: its patterns are RE2, without lookaheads.
      .refine(isSafeS3Prefix, { message: 'the prefix has an empty or ".." part' })
      .optional()
      .describe("Key prefix for this database's snapshots, e.g. prod/docserver/."),
    endpoint: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/)
      .optional()
      .describe('Endpoint URL of an S3-compatible server (http(s)://host:port); AWS when unset.'),
    region: z.string().min(1).max(64).optional().describe('Region (AWS_REGION when unset).'),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe('Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need.'),
    credentials: z
      .object({
        accessKeyId: CredentialKeyRefSchema.describe('The access key ID.'),
        secretAccessKey: CredentialKeyRefSchema.describe('The secret access key.'),
        sessionToken: CredentialKeyRefSchema.optional().describe('A session token, if any.'),
      })
      .strict()
      .optional()
      .describe(
        "Keys of Secrets holding the credentials; when unset, the operator's own (its environment, or the service account's web identity).",
      ),
    serverSideEncryption: z
      .enum(['AES256', 'aws:kms'])
      .optional()
      .describe('Server-side encryption of every object written.'),
    kmsKeyId: z.string().min(1).optional().describe('The KMS key, with aws:kms.'),
  })
  .strict();
export type S3StorageSpec = z.infer<typeof S3StorageSpecSchema>;

export const SnapshotStorageSpecSchema = z
  .object({
    /** A directory inside the operator's pod: a mounted PersistentVolumeClaim. */
    path: z
      .string()
      .min(1)
      .optional()
      .describe('Directory (a mounted volume) where snapshot folders are written.'),
    s3: S3StorageSpecSchema.optional().describe(
      'S3-compatible object storage where snapshot objects are written.',
    ),
  })
  .strict()
  .refine((s) => (s.path === undefined) !== (s.s3 === undefined), {
    message: 'set exactly one of path or s3',
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.path) != has(self.s3)', message: 'set exactly one of path or s3' },
    ],
  });
export type SnapshotStorageSpec = z.infer<typeof SnapshotStorageSpecSchema>;

export const RetentionSpecSchema = z
  .object({
    keepLast: z.number().int().positive().optional().describe('Keep the N newest snapshots.'),
    maxAgeDays: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Remove snapshots older than this many days (the newest verified one stays).'),
  })
  .strict();

export const PgBackRestSpecSchema = z
  .object({
    stanza: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/)
      .describe("The stanza in pgBackRest's configuration: the cluster that holds the database."),
    config: CredentialKeyRefSchema.optional().describe(
      "A Secret key holding pgbackrest.conf (the repository and pg1-host or pg1-path; it may hold the repository's credentials), written to a private file for each command. Unset: /etc/pgbackrest/pgbackrest.conf in the operator pod.",
    ),
    backupType: z
      .enum(['full', 'diff', 'incr'])
      .default('incr')
      .describe(
        'incr: what changed since the last backup; diff: since the last full one; full: everything. pgBackRest takes a full one when the stanza has none.',
      ),
    processMax: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe("Parallel processes of the backup and the restores (pgBackRest's process-max)."),
    restorePath: z
      .string()
      .regex(/^\//, 'must be an absolute path')
      .describe(
        'An absolute directory in the operator pod (a volume with room for two copies of the cluster) where restores go: verifications in a folder per namespace and stanza, dry-runs in one per namespace, stanza and database, each kept so the next restore there copies only what changed (delta).',
      ),
  })
  .strict();
export type PgBackRestSpec = z.infer<typeof PgBackRestSpecSchema>;

/** The snapshot method and its settings: shared by BackupSnapshot and DatabaseMigration. */
export const SNAPSHOT_METHOD_FIELDS = {
  method: z
    .enum(['pg_dump', 'pgbackrest'])
    .default('pg_dump')
    .describe(
      "pg_dump: a logical dump of the database into storage. pgbackrest: a physical backup of the whole cluster by pgBackRest into the stanza's repository, for databases too large to dump; storage keeps its manifest.",
    ),
  pgbackrest: PgBackRestSpecSchema.optional().describe(
    'Where pgBackRest backs up and restores; required with method pgbackrest, and only then.',
  ),
};

export const METHOD_RULE = {
  rule: "(has(self.method) && self.method == 'pgbackrest') == has(self.pgbackrest)",
  message: 'set pgbackrest with method: pgbackrest, and only then',
};

/** The same rule for zod (the API server checks METHOD_RULE). */
export function methodMatchesSettings(spec: {
  readonly method: 'pg_dump' | 'pgbackrest';
  readonly pgbackrest?: PgBackRestSpec | undefined;
}): boolean {
  return (spec.method === 'pgbackrest') === (spec.pgbackrest !== undefined);
}

export const METHOD_VALIDATION = {
  'x-kubernetes-validations': [METHOD_RULE],
} as const;

export const BackupSnapshotSpecSchema = z
  .object({
    database: z
      .object({ secretRef: SecretKeyRefSchema.describe('The Secret holding its URL.') })
      .strict()
      .describe('The database to dump.'),
    storage: SnapshotStorageSpecSchema.describe('Where the dump and its manifest are written.'),
    checksums: z
      .enum(['full', 'counts'])
      .default('full')
      .describe('full: row counts and content checksums per table; counts: row counts only.'),
    ...SNAPSHOT_METHOD_FIELDS,
    verify: z
      .boolean()
      .default(true)
      .describe(
        'Restore and compare with the manifest: into a scratch database (pg_dump), or into a private server under pgbackrest.restorePath after pgbackrest verify (pgbackrest).',
      ),
    scratch: ScratchServerSpecSchema.optional().describe(
      'Where the verification restore of a pg_dump snapshot runs; required when verify is true.',
    ),
    retention: RetentionSpecSchema.optional().describe(
      'Prunes older snapshots of the same database made in this namespace; never those of other databases.',
    ),
  })
  .strict()
  .refine(methodMatchesSettings, {
    message: METHOD_RULE.message,
    path: ['pgbackrest'],
  })
  .meta(METHOD_VALIDATION);
export type BackupSnapshotSpec = z.infer<typeof BackupSnapshotSpecSchema>;

export const BackupSnapshotStatusSchema = z
  .object({
    phase: z
      .enum(BACKUP_SNAPSHOT_PHASES)
      .optional()
      .describe('Pending → Running (dump) → Verifying (restore) → Completed, or Failed.'),
    observedGeneration: z.number().int().optional().describe('The generation this status is for.'),
    snapshotId: z.string().optional().describe('The snapshot folder in storage.'),
    location: z
      .string()
      .optional()
      .describe('Where it is: its path in the operator pod, or s3://bucket/prefix/id.'),
    method: z
      .enum(['pg_dump', 'pgbackrest'])
      .optional()
      .describe('How it was taken: a pg_dump, or a pgBackRest backup of the cluster.'),
    sizeBytes: z
      .number()
      .int()
      .optional()
      .describe('Size of the dump in bytes, or of the pgBackRest set in its repository.'),
    durationMs: z
      .number()
      .int()
      .optional()
      .describe('How long the dump or backup took, in milliseconds.'),
    backup: z
      .object({
        label: z.string().describe("The backup set in the stanza's repository."),
        type: z.string().describe('full, diff or incr, as pgBackRest took it.'),
        copiedBytes: z
          .number()
          .int()
          .describe('Bytes of the cluster this backup copied (the rest are in earlier sets).'),
        repositoryBytes: z
          .number()
          .int()
          .describe('Bytes it added to the repository (compressed).'),
      })
      .strict()
      .optional()
      .describe('The pgBackRest backup set (method pgbackrest).'),
    verifyDurationMs: z
      .number()
      .int()
      .optional()
      .describe('How long the verification (restore and comparison) took, in milliseconds.'),
    size: z.string().optional().describe('Human-readable size, for the printer column.'),
    tables: z.number().int().optional().describe('Tables in the manifest.'),
    rows: z.number().int().optional().describe('Rows in all of them when dumped.'),
    schemaHash: z.string().optional().describe('Hash of the schema, compared by verification.'),
    serverVersion: z.string().optional().describe('PostgreSQL version it was dumped from.'),
    startedAt: z.string().optional().describe('When the dump started (RFC 3339).'),
    completedAt: z.string().optional().describe('When the dump finished (RFC 3339).'),
    verifiedAt: z.string().optional().describe('When a restore last matched the manifest.'),
    verified: z
      .boolean()
      .optional()
      .describe('A restore into a scratch database matched counts, checksums and schema.'),
    filesPresent: z
      .boolean()
      .optional()
      .describe(
        'False when the dump or manifest is gone from storage: the snapshot cannot be restored.',
      ),
    mismatches: z
      .array(z.string())
      .optional()
      .describe('What a failed verification found different.'),
    lastError: z.string().optional().describe('Why it failed, when it did.'),
    conditions: z.array(ConditionSchema).optional().describe('Ready and Degraded.'),
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
