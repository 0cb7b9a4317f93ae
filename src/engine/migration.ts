import type { SqlStatement } from './sql-splitter.js';
/**
 * Header directives of a migration file (`-- dbmigrate:key=value`). A plain type, checked by
 * the header parser value by value (migration-file.ts): every command reads every file's
 * header, and a schema library is not worth its start-up there.
 */
export interface MigrationDirectives {
  /** false for statements PostgreSQL refuses inside a transaction (CREATE INDEX CONCURRENTLY). */
  readonly transaction: boolean;
  /** IDs this migration needs besides the one before it. */
  readonly depends: readonly string[];
  readonly lockTimeoutMs?: number | undefined;
  readonly statementTimeoutMs?: number | undefined;
  /** How often a lock_timeout failure is retried before giving up. */
  readonly lockRetries?: number | undefined;
  /** `required` marks a migration that may only run inside a maintenance window. */
  readonly window: 'required' | 'none';
  /**
   * max_parallel_maintenance_workers for the session of a `transaction=false` migration (its
   * index builds); unset: ONLINE_INDEX_BUILD_WORKERS.
   */
  readonly maxParallelMaintenanceWorkers?: number | undefined;
  /**
   * wal_compression for the session of a `transaction=false` migration; unset:
   * ONLINE_WAL_COMPRESSION where the server's setting is off and the role may change it.
   */
  readonly walCompression?: WalCompression | undefined;
}

/** The values PostgreSQL 15+ takes for wal_compression (`on` is pglz). */
export const WAL_COMPRESSIONS = ['off', 'on', 'pglz', 'lz4', 'zstd'] as const;
export type WalCompression = (typeof WAL_COMPRESSIONS)[number];

/**
 * Parallel workers of an index build in a `transaction=false` migration (CREATE INDEX
 * CONCURRENTLY) unless its header says otherwise: the build is online, so its speed matters
 * less than the cores it leaves to the application (docs/benchmarks.md, "Online changes").
 */
export const ONLINE_INDEX_BUILD_WORKERS = 0;

/**
 * wal_compression of a `transaction=false` migration's session unless its header says
 * otherwise. An index build writes every page of the new index to the WAL as a full-page
 * image: lz4 halves it (a 39 MB btree on a million rows: 35 MB of WAL uncompressed, 18 MB with
 * lz4) for about the same build time, WAL the archive and replicas need not carry; pglz and
 * zstd cost the build more CPU (docs/engine.md).
 */
export const ONLINE_WAL_COMPRESSION: WalCompression = 'lz4';

/** SQL text and the file line it starts on. */
export interface SqlText {
  readonly sql: string;
  /** File line of the first line of `sql`. */
  readonly startLine: number;
}

/** One section (up or down) of a migration file, split once when the file is parsed. */
export interface SqlSection extends SqlText {
  /** What the executor runs and resume counts, in order; never empty. */
  readonly statements: readonly SqlStatement[];
}

export interface Migration {
  /** The numeric prefix of the file name, as written (`0007`). */
  readonly id: string;
  readonly name: string;
  /** Where it came from, for error messages: a path, a ConfigMap key, `inline:<n>`. */
  readonly file: string;
  readonly up: SqlSection;
  readonly down: SqlSection | null;
  readonly directives: MigrationDirectives;
  readonly checksum: string;
}

/** The digits a migration file name starts with; anything else names no migration. */
export function isMigrationId(id: string): boolean {
  // A loop rather than /^\d+$/: status checks every ID several times, and a regex test allocates.
  if (id.length === 0) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The ID as a number written without leading zeros: `0007` and `7` name one migration. A
 * string, not a BigInt: `status` keys and sorts thousands of IDs, and this allocates nothing
 * for an ID without leading zeros. Throws, as BigInt does, for text that is not digits.
 */
export function migrationIdKey(id: string): string {
  if (!isMigrationId(id)) throw new SyntaxError(`Cannot convert ${id} to a migration ID`);
  let zeros = 0;
  while (zeros < id.length - 1 && id.charCodeAt(zeros) === 48) zeros++;
  return zeros === 0 ? id : id.slice(zeros);
}

/** IDs compare by number, so `0010` sorts after `0009` and `7` equals `0007`. */
export function compareMigrationIds(a: string, b: string): number {
  // Same length (the usual zero-padded names): digit strings compare as their numbers.
  if (a.length !== b.length || !isMigrationId(a) || !isMigrationId(b)) {
    a = migrationIdKey(a);
    b = migrationIdKey(b);
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** False, never a crash, when either is not a migration ID. */
export function sameMigrationId(a: string, b: string): boolean {
  return isMigrationId(a) && isMigrationId(b) && compareMigrationIds(a, b) === 0;
}
