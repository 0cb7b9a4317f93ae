/**
 * The PostgreSQL major version the linter judges migrations for. What is safe changes between
 * versions (a constant DEFAULT stopped rewriting the table in 11, REINDEX CONCURRENTLY came in
 * 12 …), so the linter needs one; it comes from `--pg-version`, dbmigrate.json `lint.pgVersion`,
 * the server when a connection is at hand, or else the newest version the parser knows. Pure:
 * a leaf every layer may import (the config schema parses the setting with it).
 */

/** The oldest major the rules know the behaviour of. */
export const OLDEST_PG_MAJOR = 10;
/** The newest: libpg-query's grammar is PostgreSQL 18's, so later syntax does not even parse. */
export const NEWEST_PG_MAJOR = 18;

/** Where the version the linter used came from. */
export type PgVersionSource = 'flag' | 'config' | 'server' | 'default';

export interface PgVersion {
  /** The major version the rules were judged for (OLDEST_PG_MAJOR … NEWEST_PG_MAJOR). */
  readonly major: number;
  readonly source: PgVersionSource;
  /** The server's own major when it lies outside the range and `major` is the nearest known one. */
  readonly serverMajor?: number;
}

export class PgVersionError extends Error {
  readonly code = 'BAD_PG_VERSION';

  constructor(message: string) {
    super(message);
    this.name = 'PgVersionError';
  }
}

/**
 * The major of a version as people write it (`15`, `15.4`, `9.6` gives 9), or null when it is
 * no version at all. Range checks are the caller's (pgMajorSetting).
 */
export function pgMajorOf(text: string): number | null {
  const m = /^\s*(\d{1,3})(?:\.\d{1,4})?\s*$/.exec(text);
  if (m?.[1] === undefined) return null;
  const major = Number(m[1]);
  // 9.6 is major 9.6 in PostgreSQL's own numbering, but below our range either way.
  return major;
}

/** What the message names as accepted. */
export const PG_VERSION_RANGE = `${String(OLDEST_PG_MAJOR)} to ${String(NEWEST_PG_MAJOR)}`;

/**
 * A major version from a setting (`--pg-version`, `lint.pgVersion`): PgVersionError naming
 * `where` and the accepted range when it is not one the rules know.
 */
export function pgMajorSetting(value: string | number, where: string): number {
  const text = String(value);
  const major = pgMajorOf(text);
  if (major === null || major < OLDEST_PG_MAJOR || major > NEWEST_PG_MAJOR) {
    const why =
      major === null
        ? 'is not a PostgreSQL version'
        : major > NEWEST_PG_MAJOR
          ? `is newer than the linter's parser (PostgreSQL ${String(NEWEST_PG_MAJOR)}'s grammar)`
          : 'is older than the versions the lint rules know';
    throw new PgVersionError(
      `${where}: "${text}" ${why}; give a major version from ${PG_VERSION_RANGE} (e.g. 15 or 15.4)`,
    );
  }
  return major;
}

/** The major of `server_version_num` (150004 → 15; 90624 → 9). */
export function pgMajorFromVersionNum(versionNum: number): number {
  return Math.floor(versionNum / 10_000);
}

/**
 * The version to lint for: an explicit one (flag over config), else the server's when
 * connected (brought into the known range, remembering the server's), else the newest known.
 */
export function resolvePgVersion(given: {
  readonly flag?: number | undefined;
  readonly config?: number | undefined;
  readonly serverVersionNum?: number | undefined;
}): PgVersion {
  if (given.flag !== undefined) return { major: given.flag, source: 'flag' };
  if (given.config !== undefined) return { major: given.config, source: 'config' };
  if (given.serverVersionNum !== undefined) {
    const server = pgMajorFromVersionNum(given.serverVersionNum);
    const major = Math.min(NEWEST_PG_MAJOR, Math.max(OLDEST_PG_MAJOR, server));
    return { major, source: 'server', ...(major !== server && { serverMajor: server }) };
  }
  return { major: NEWEST_PG_MAJOR, source: 'default' };
}

/** `PostgreSQL 15 (the server's version)`, for report headers. */
export function describePgVersion(v: PgVersion): string {
  const from: Record<PgVersionSource, string> = {
    flag: '--pg-version',
    config: 'dbmigrate.json lint.pgVersion',
    server:
      v.serverMajor === undefined
        ? "the server's version"
        : `the server is ${String(v.serverMajor)}, the nearest version the rules know`,
    default: 'the newest the parser knows; --pg-version or --database-url sets it',
  };
  return `PostgreSQL ${String(v.major)} (${from[v.source]})`;
}
