import pg from 'pg';
import { DEFAULTS } from '../../api/settings.js';
import type { Logger } from 'pino';
import type { PostVerifyConfig } from '../../api/config.js';
import { errorText, openClient } from '../../db/connection.js';
import { silentLogger } from '../../observability/logger.js';
import type { SnapshotManifest } from '../snapshot/manifest.js';

export type CheckStatus = 'ok' | 'warning' | 'error' | 'skipped';

export interface CheckResult {
  readonly check: 'constraints' | 'invalid-indexes' | 'amcheck' | 'row-counts' | 'smoke-queries';
  readonly status: CheckStatus;
  readonly findings: readonly string[];
}

export interface SmokeResult {
  readonly name: string;
  readonly executionMs: number;
  readonly maxMs: number;
  readonly ok: boolean;
  /** EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), kept as evidence. */
  readonly plan: unknown;
}

export interface PostVerifyReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  readonly smoke: readonly SmokeResult[];
  readonly durationMs: number;
}

export interface PostVerifyOptions {
  readonly databaseUrl: string;
  readonly config: PostVerifyConfig;
  /** Counts to compare with (the pre-apply snapshot), when there is one. */
  readonly manifest?: SnapshotManifest;
  /** Tables the migrations touched (`schema.table`); amcheck runs on their btree indexes. */
  readonly touchedTables?: readonly string[];
  readonly historySchema?: string;
  readonly logger?: Logger;
}

function result(
  check: CheckResult['check'],
  findings: string[],
  severity: 'warning' | 'error' = 'error',
): CheckResult {
  return { check, status: findings.length === 0 ? 'ok' : severity, findings };
}

/**
 * NOT VALID constraints are legitimate mid-rollout, but only while no row breaks them: each
 * is checked for offending rows (orphans for a foreign key) without taking more than
 * ACCESS SHARE locks.
 */
async function checkConstraints(client: pg.ClientBase): Promise<CheckResult> {
  const res = await client.query<{
    name: string;
    rel: string;
    type: string;
    def: string;
    conrelid: string;
    confrelid: string;
    conkey: number[];
    confkey: number[];
  }>(
    `select conname as name, conrelid::regclass::text as rel, contype as type, pg_get_constraintdef(oid) as def,
            conrelid::text, confrelid::text, conkey, confkey
       from pg_constraint where not convalidated and contype in ('f', 'c')`,
  );
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const c of res.rows) {
    let violating = 0;
    if (c.type === 'f') {
      const cols = await client.query<{ child: string; parent: string; parent_rel: string }>(
        `select a.attname as child, b.attname as parent, $3::oid::regclass::text as parent_rel
           from unnest($1::int2[], $2::int2[]) as k(c, p)
           join pg_attribute a on a.attrelid = $4::oid and a.attnum = k.c
           join pg_attribute b on b.attrelid = $3::oid and b.attnum = k.p`,
        [c.conkey, c.confkey, c.confrelid, c.conrelid],
      );
      const ident = (s: string): string => client.escapeIdentifier(s);
      const parent = cols.rows[0]?.parent_rel ?? '';
      const on = cols.rows.map((k) => `p.${ident(k.parent)} = c.${ident(k.child)}`).join(' and ');
      const notNull = cols.rows.map((k) => `c.${ident(k.child)} is not null`).join(' and ');
      const count = await client.query<{ n: string }>(
        `select count(*)::text as n from ${c.rel} c where ${notNull} and not exists (select 1 from ${parent} p where ${on})`,
      );
      violating = Number(count.rows[0]?.n ?? 0);
    } else {
      const expr = /^CHECK \((.*)\)( NOT VALID)?$/s.exec(c.def)?.[1];
      if (expr !== undefined) {
        const count = await client.query<{ n: string }>(
          `select count(*)::text as n from ${c.rel} where not (${expr})`,
        );
        violating = Number(count.rows[0]?.n ?? 0);
      }
    }
    if (violating > 0) {
      errors.push(
        `${c.rel}: ${violating} row(s) violate NOT VALID constraint ${c.name} (${c.def})${c.type === 'f' ? ' — orphans' : ''}; fix the data before VALIDATE CONSTRAINT`,
      );
    } else {
      warnings.push(
        `${c.rel}: constraint ${c.name} is NOT VALID (no violating rows); finish with ALTER TABLE … VALIDATE CONSTRAINT ${c.name}`,
      );
    }
  }
  if (errors.length > 0)
    return { check: 'constraints', status: 'error', findings: [...errors, ...warnings] };
  return result('constraints', warnings, 'warning');
}

async function checkInvalidIndexes(client: pg.ClientBase): Promise<CheckResult> {
  const res = await client.query<{ name: string; rel: string }>(
    `select i.indexrelid::regclass::text as name, i.indrelid::regclass::text as rel
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
      where not i.indisvalid and n.nspname not in ('pg_catalog', 'information_schema')`,
  );
  return result(
    'invalid-indexes',
    res.rows.map(
      (r) =>
        `index ${r.name} on ${r.rel} is INVALID; DROP INDEX CONCURRENTLY ${r.name} and rebuild it`,
    ),
  );
}

async function checkAmcheck(
  client: pg.ClientBase,
  tables: readonly string[],
  enabled: boolean,
): Promise<CheckResult> {
  if (!enabled)
    return { check: 'amcheck', status: 'skipped', findings: ['disabled in postVerify.amcheck'] };
  if (tables.length === 0)
    return { check: 'amcheck', status: 'skipped', findings: ['no touched tables'] };
  const installed = await client.query("select 1 from pg_extension where extname = 'amcheck'");
  if (installed.rowCount === 0) {
    return {
      check: 'amcheck',
      status: 'skipped',
      findings: [
        'the amcheck extension is not installed; CREATE EXTENSION amcheck to check btree indexes',
      ],
    };
  }
  const indexes = await client.query<{ name: string; oid: string }>(
    `select i.indexrelid::regclass::text as name, i.indexrelid::text as oid
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
      where am.amname = 'btree' and i.indisvalid and i.indrelid = any(select to_regclass(t) from unnest($1::text[]) t)`,
    [tables],
  );
  const findings: string[] = [];
  for (const idx of indexes.rows) {
    try {
      // bt_index_check takes only ACCESS SHARE: safe on a live database.
      await client.query('select bt_index_check($1::oid::regclass, false)', [idx.oid]);
    } catch (err) {
      findings.push(`index ${idx.name} failed bt_index_check: ${errorText(err)}`);
    }
  }
  return result('amcheck', findings);
}

async function checkRowCounts(
  client: pg.ClientBase,
  manifest: SnapshotManifest | undefined,
  config: PostVerifyConfig,
  historySchema: string,
): Promise<CheckResult> {
  if (!manifest)
    return {
      check: 'row-counts',
      status: 'skipped',
      findings: ['no snapshot manifest to compare with'],
    };
  const declared = new Set(config.declaredRowChanges);
  const findings: string[] = [];
  for (const t of manifest.fingerprint.tables) {
    const name = `${t.schema}.${t.name}`;
    if (t.schema === historySchema || declared.has(name)) continue;
    const exists = await client.query<{ r: string | null }>('select to_regclass($1)::text as r', [
      `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`,
    ]);
    if (exists.rows[0]?.r === null) {
      findings.push(
        `table ${name} (${t.rowCount} rows in the snapshot) no longer exists; declare it in postVerify.declaredRowChanges if that is intended`,
      );
      continue;
    }
    const res = await client.query<{ n: string }>(
      `select count(*)::text as n from only ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`,
    );
    const now = Number(res.rows[0]?.n ?? 0);
    const allowed = Math.max(0, Math.ceil((t.rowCount * config.rowCountTolerancePercent) / 100));
    if (Math.abs(now - t.rowCount) > allowed) {
      findings.push(
        `table ${name} has ${now} rows, the snapshot had ${t.rowCount} (allowed ±${allowed}); declare it in postVerify.declaredRowChanges if the migrations change it on purpose`,
      );
    }
  }
  return result('row-counts', findings);
}

async function runSmokeQueries(
  client: pg.ClientBase,
  config: PostVerifyConfig,
): Promise<SmokeResult[]> {
  const out: SmokeResult[] = [];
  for (const q of config.smokeQueries) {
    // Read-only and rolled back: a smoke query must never change production.
    await client.query('begin transaction read only');
    try {
      const res = await client.query<{ 'QUERY PLAN': { 'Execution Time': number }[] }>(
        `explain (analyze, buffers, format json) ${q.sql}`,
      );
      const plan = res.rows[0]?.['QUERY PLAN'];
      const ms = plan?.[0]?.['Execution Time'] ?? Number.NaN;
      out.push({ name: q.name, executionMs: ms, maxMs: q.maxMs, ok: ms <= q.maxMs, plan });
    } finally {
      await client.query('rollback');
    }
  }
  return out;
}

/** Checks the database after migrations: constraints, indexes, btree integrity, counts, performance. */
export async function postVerify(options: PostVerifyOptions): Promise<PostVerifyReport> {
  const log = options.logger ?? silentLogger();
  const started = performance.now();
  const client = await openClient(options.databaseUrl, 'dbmigrate:post-verify');
  try {
    await client.query("set statement_timeout = '5min'; set lock_timeout = '5s'");
    const checks = [
      await checkConstraints(client),
      await checkInvalidIndexes(client),
      await checkAmcheck(client, options.touchedTables ?? [], options.config.amcheck),
      await checkRowCounts(
        client,
        options.manifest,
        options.config,
        options.historySchema ?? DEFAULTS.historySchema,
      ),
    ];
    const smoke = await runSmokeQueries(client, options.config);
    const slow = smoke
      .filter((s) => !s.ok)
      .map((s) => `smoke query ${s.name} took ${s.executionMs.toFixed(1)} ms, limit ${s.maxMs} ms`);
    checks.push(
      options.config.smokeQueries.length === 0
        ? { check: 'smoke-queries', status: 'skipped', findings: ['none configured'] }
        : result('smoke-queries', slow),
    );
    const report: PostVerifyReport = {
      ok: checks.every((c) => c.status !== 'error'),
      checks,
      smoke,
      durationMs: Math.round(performance.now() - started),
    };
    log.info(
      {
        ok: report.ok,
        checks: checks.map((c) => `${c.check}:${c.status}`),
        duration_ms: report.durationMs,
      },
      'post-verify finished',
    );
    return report;
  } finally {
    await client.end().catch(() => undefined);
  }
}
