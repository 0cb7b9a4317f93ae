import type pg from 'pg';
import { HistoryImportError } from './errors.js';
import type { HistoryWrite } from './history-store.js';
import { sameMigrationId, type Migration } from './migration.js';

export type ForeignRunner = 'sqlx' | 'flyway';

/** One migration another runner recorded as run. */
export interface ForeignHistoryEntry {
  readonly version: string | null;
  readonly description: string;
  readonly installedOn: Date;
  readonly executionMs: number;
  readonly installedBy: string;
  readonly success: boolean;
  /** Flyway's baseline marker: everything up to this version counts as present. */
  readonly baseline: boolean;
}

/** Reads sqlx's `_sqlx_migrations` or Flyway's `flyway_schema_history` from `schema`. */
export async function readForeignHistory(
  client: pg.ClientBase,
  runner: ForeignRunner,
  schema: string,
): Promise<ForeignHistoryEntry[]> {
  const table = runner === 'sqlx' ? '_sqlx_migrations' : 'flyway_schema_history';
  const exists = await client.query<{ ok: boolean }>(
    'select to_regclass(format($1::text, $2::text, $3::text)) is not null as ok',
    ['%I.%I', schema, table],
  );
  if (exists.rows[0]?.ok !== true) {
    throw new HistoryImportError(
      `no ${runner} history table ${schema}.${table} in this database; nothing was imported`,
    );
  }
  if (runner === 'sqlx') {
    // sqlx records execution_time in nanoseconds.
    const res = await client.query<{
      version: string;
      description: string;
      installed_on: Date;
      success: boolean;
      execution_time: string;
    }>(
      `select version::text, description, installed_on, success, execution_time::text
         from ${ident(schema)}._sqlx_migrations order by version`,
    );
    return res.rows.map((r) => ({
      version: r.version,
      description: r.description,
      installedOn: r.installed_on,
      executionMs: Math.round(Number(r.execution_time) / 1e6),
      installedBy: 'sqlx',
      success: r.success,
      baseline: false,
    }));
  }
  const res = await client.query<{
    version: string | null;
    description: string;
    type: string;
    installed_on: Date;
    installed_by: string;
    execution_time: number;
    success: boolean;
  }>(
    `select version, description, type, installed_on, installed_by, execution_time, success
       from ${ident(schema)}.flyway_schema_history order by installed_rank`,
  );
  return res.rows.map((r) => ({
    version: r.version,
    description: r.description,
    installedOn: r.installed_on,
    executionMs: r.execution_time,
    installedBy: r.installed_by,
    success: r.success,
    baseline: r.type === 'BASELINE',
  }));
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Maps another runner's history onto our migrations by version number. Refuses, changing
 * nothing, when a recorded migration failed or has no file of ours with the same number.
 * Repeatable Flyway migrations (no version) are returned as skipped.
 */
export function mapForeignHistory(
  runner: ForeignRunner,
  entries: readonly ForeignHistoryEntry[],
  migrations: readonly Migration[],
  runId: string,
): { writes: HistoryWrite[]; skipped: string[] } {
  const failed = entries.filter((e) => !e.success);
  if (failed.length > 0) {
    throw new HistoryImportError(
      `${runner} recorded failed migrations (${failed.map((e) => e.version ?? e.description).join(', ')}); repair them with ${runner} first, nothing was imported`,
    );
  }
  const writes: HistoryWrite[] = [];
  const skipped: string[] = [];
  const unmatched: string[] = [];
  const claim = (m: Migration, e: ForeignHistoryEntry, baseline: boolean): void => {
    if (writes.some((w) => w.id === m.id)) return;
    writes.push({
      id: m.id,
      name: m.name,
      checksum: m.checksum,
      status: baseline ? 'baselined' : 'applied',
      transactional: m.directives.transaction,
      statementsDone: 0,
      statementsTotal: 0,
      doneChecksum: null,
      startedAt: e.installedOn,
      finishedAt: e.installedOn,
      durationMs: baseline ? 0 : e.executionMs,
      appliedBy: e.installedBy,
      runId,
      error: null,
      source: runner,
    });
  };
  for (const e of entries) {
    if (e.version === null) {
      skipped.push(`repeatable ${e.description}`);
      continue;
    }
    if (!/^\d+$/.test(e.version)) {
      unmatched.push(e.version);
      continue;
    }
    const version = e.version;
    if (e.baseline) {
      for (const m of migrations) if (BigInt(m.id) <= BigInt(version)) claim(m, e, true);
      continue;
    }
    const m = migrations.find((x) => sameMigrationId(x.id, version));
    if (!m) unmatched.push(`${version} (${e.description})`);
    else claim(m, e, false);
  }
  if (unmatched.length > 0) {
    throw new HistoryImportError(
      `${runner} history has migrations with no matching NNNN_name.sql file: ${unmatched.join(', ')}; add files numbered like them (their SQL already ran) and import again. Nothing was imported`,
    );
  }
  return { writes, skipped };
}
