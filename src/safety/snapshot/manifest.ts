import { z } from 'zod';

export const TableStatsSchema = z.object({
  schema: z.string(),
  name: z.string(),
  rowCount: z.number().int().nonnegative(),
  /** Order-independent sum of row hashes, as a decimal string; null when only counts were taken. */
  checksum: z.string().nullable(),
});
export type TableStats = z.infer<typeof TableStatsSchema>;

export const ExtensionSchema = z.object({ name: z.string(), version: z.string() });

/** What a database held at one instant: compared between the source and a restored copy. */
export const DatabaseFingerprintSchema = z.object({
  serverVersion: z.string(),
  serverVersionNum: z.number().int(),
  extensions: z.array(ExtensionSchema),
  /** sha256 over tables, columns, types, constraints and index definitions. */
  schemaHash: z.string(),
  tables: z.array(TableStatsSchema),
});
export type DatabaseFingerprint = z.infer<typeof DatabaseFingerprintSchema>;

export const VerificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  /** The scratch database a dump was restored into, or the directory of a physical restore. */
  scratchDatabase: z.string(),
  durationMs: z.number().int(),
  mismatches: z.array(z.string()),
  /** sha256 of the dump that was restored: a verification vouches for those bytes only. */
  dumpSha256: z.string().optional(),
  /** The pgBackRest set that was restored: a verification vouches for that set only. */
  backupLabel: z.string().optional(),
});
export type Verification = z.infer<typeof VerificationSchema>;

const ManifestCommon = {
  formatVersion: z.literal(1),
  id: z.string(),
  createdAt: z.string(),
  /** user@host:port/db — never a password. */
  source: z.string(),
  /**
   * Who made it and may prune it: `kubernetes:<namespace>` for the operator, `cli` for the CLI.
   * Retention only ever selects snapshots of its own database and owner.
   */
  owner: z.string().optional(),
  database: z.string(),
  durationMs: z.number().int().nonnegative(),
  checksums: z.enum(['full', 'counts']),
  fingerprint: DatabaseFingerprintSchema,
  verification: VerificationSchema.nullable(),
};

/** A logical snapshot: `pg_dump -Fc` of one database, stored beside its manifest. */
export const DumpManifestSchema = z.object({
  ...ManifestCommon,
  method: z.literal('pg_dump'),
  pgDumpVersion: z.string(),
  dumpFile: z.string(),
  dumpSizeBytes: z.number().int().nonnegative(),
  dumpSha256: z.string(),
});
export type DumpManifest = z.infer<typeof DumpManifestSchema>;

/** What pgBackRest recorded of the set (`pgbackrest info`). */
export const PgBackRestSetSchema = z.object({
  stanza: z.string(),
  label: z.string(),
  type: z.enum(['full', 'diff', 'incr']),
  prior: z.string().nullable(),
  /** The cluster's files the set restores to. */
  sizeBytes: z.number().nonnegative(),
  /** What this backup read from the cluster (everything for a full one). */
  deltaBytes: z.number().nonnegative(),
  /** What the set takes in the repository, and of that what this backup added. */
  repositorySizeBytes: z.number().nonnegative(),
  repositoryDeltaBytes: z.number().nonnegative(),
  lsnStart: z.string(),
  lsnStop: z.string(),
  pgbackrestVersion: z.string(),
});
export type PgBackRestSet = z.infer<typeof PgBackRestSetSchema>;

/**
 * A physical snapshot: a pgBackRest backup of the whole cluster, kept in the stanza's
 * repository; only this manifest is in the snapshot storage. Its fingerprint is of the
 * migrated database, read once the backup finished, and replaced by the restored copy's when
 * it is verified (what the set holds, at the end of the backup).
 */
export const PhysicalManifestSchema = z.object({
  ...ManifestCommon,
  method: z.literal('pgbackrest'),
  pgbackrest: PgBackRestSetSchema,
});
export type PhysicalManifest = z.infer<typeof PhysicalManifestSchema>;

export const SnapshotManifestSchema = z.preprocess(
  // Manifests written before there was a second method say nothing of it: they are dumps.
  (v) =>
    typeof v === 'object' && v !== null && !('method' in v) ? { ...v, method: 'pg_dump' } : v,
  z.discriminatedUnion('method', [DumpManifestSchema, PhysicalManifestSchema]),
);
export type SnapshotManifest = DumpManifest | PhysicalManifest;

/** Verified, and for the dump or set the manifest names (not a later one under the same name). */
export function isVerified(m: SnapshotManifest): boolean {
  const v = m.verification;
  if (v?.ok !== true) return false;
  if (m.method === 'pgbackrest') return v.backupLabel === m.pgbackrest.label;
  return v.dumpSha256 === undefined || v.dumpSha256 === m.dumpSha256;
}

/** The bytes a snapshot keeps: its dump, or what its backup set takes in the repository. */
export function snapshotBytes(m: SnapshotManifest): number {
  return m.method === 'pgbackrest' ? m.pgbackrest.repositorySizeBytes : m.dumpSizeBytes;
}

/** host:port/db of a manifest's source: the same database whichever role dumped it. */
export function sourceDatabaseKey(source: string): string {
  const at = source.lastIndexOf('@');
  const hostPart = at === -1 ? source : source.slice(at + 1);
  return hostPart.replace(/^(localhost|127\.0\.0\.1|\[::1\]|::1)(?=[:/])/, 'local');
}

/**
 * Differences between what was dumped and what a restore produced, one readable line each;
 * empty means identical. Server versions may differ (restore onto another server) — only the
 * major must match for the checksums to be comparable.
 */
export function compareFingerprints(
  expected: DatabaseFingerprint,
  actual: DatabaseFingerprint,
): string[] {
  const problems: string[] = [];
  if (
    Math.floor(expected.serverVersionNum / 10000) !== Math.floor(actual.serverVersionNum / 10000)
  ) {
    problems.push(
      `server major differs: dumped from ${expected.serverVersion}, restored on ${actual.serverVersion}`,
    );
  }
  const ext = (f: DatabaseFingerprint): Map<string, string> =>
    new Map(f.extensions.map((e) => [e.name, e.version]));
  const exp = ext(expected);
  const act = ext(actual);
  for (const [name, version] of exp) {
    const got = act.get(name);
    if (got === undefined) problems.push(`extension ${name} ${version} is missing after restore`);
    else if (got !== version) problems.push(`extension ${name} is ${got}, expected ${version}`);
  }
  for (const name of act.keys()) {
    if (!exp.has(name)) problems.push(`extension ${name} appeared after restore`);
  }
  if (expected.schemaHash !== actual.schemaHash) {
    problems.push(
      `schema differs (hash ${expected.schemaHash.slice(0, 12)} expected, ${actual.schemaHash.slice(0, 12)} restored)`,
    );
  }
  const key = (t: TableStats): string => `${t.schema}.${t.name}`;
  const restored = new Map(actual.tables.map((t) => [key(t), t]));
  for (const t of expected.tables) {
    const r = restored.get(key(t));
    if (!r) {
      problems.push(`table ${key(t)} is missing after restore`);
      continue;
    }
    if (r.rowCount !== t.rowCount) {
      problems.push(`table ${key(t)} has ${r.rowCount} rows, expected ${t.rowCount}`);
    } else if (t.checksum !== null && r.checksum !== null && r.checksum !== t.checksum) {
      problems.push(`table ${key(t)} rows differ in content (checksum mismatch)`);
    }
    restored.delete(key(t));
  }
  for (const extra of restored.keys()) problems.push(`table ${extra} appeared after restore`);
  return problems;
}

// Without zod, for the CLI's progress lines.
export { formatBytes } from './format-bytes.js';
