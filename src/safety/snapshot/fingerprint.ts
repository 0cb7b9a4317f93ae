import { createHash } from 'node:crypto';
import type pg from 'pg';
import { openClient } from '../../db/connection.js';
import type { DatabaseFingerprint, TableStats } from './manifest.js';

/** Row text must render identically on the source and on a restored copy. */
export const STABLE_OUTPUT_SETTINGS = [
  "set datestyle = 'ISO, YMD'",
  "set timezone = 'UTC'",
  "set intervalstyle = 'postgres'",
  "set extra_float_digits = '1'",
  "set bytea_output = 'hex'",
];

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;
/** Objects that belong to an extension are the extension's business, compared by version. */
const NOT_EXTENSION_MEMBER = (classOid: string, oid: string): string =>
  `not exists (select 1 from pg_depend d where d.classid = '${classOid}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;

export interface FingerprintOptions {
  /** 'counts' skips the row checksums, which read every row. */
  readonly checksums: 'full' | 'counts';
  /** Called after each table, for progress reports. */
  readonly onTable?: (done: number, total: number, table: string) => void;
}

/**
 * Reads the fingerprint on `client` as it sees the database now — inside a REPEATABLE READ
 * transaction that imported pg_dump's snapshot, that is exactly what the dump holds.
 */
export async function readFingerprint(
  client: pg.ClientBase,
  options: FingerprintOptions,
): Promise<DatabaseFingerprint> {
  for (const s of STABLE_OUTPUT_SETTINGS) await client.query(s);
  const version = await client.query<{ v: string; n: string }>(
    "select current_setting('server_version') as v, current_setting('server_version_num') as n",
  );
  const extensions = await client.query<{ name: string; version: string }>(
    'select extname as name, extversion as version from pg_extension order by extname',
  );
  return {
    serverVersion: version.rows[0]?.v ?? '',
    serverVersionNum: Number(version.rows[0]?.n ?? 0),
    extensions: extensions.rows,
    schemaHash: await schemaHash(client),
    tables: await tableStats(client, options),
  };
}

/**
 * The fingerprint of the database at `url` as one consistent view (a read-only REPEATABLE READ
 * transaction on a session of its own): what a restored copy is compared by.
 */
export async function fingerprintOfDatabase(
  url: string,
  options: FingerprintOptions & { readonly purpose: string },
): Promise<DatabaseFingerprint> {
  const client = await openClient(url, `dbmigrate:${options.purpose}`);
  try {
    await client.query('begin isolation level repeatable read read only');
    const fingerprint = await readFingerprint(client, options);
    await client.query('commit');
    return fingerprint;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function schemaHash(client: pg.ClientBase): Promise<string> {
  const parts = await client.query<{ line: string }>(`
    select line from (
      select format('column %I.%I #%s %I %s%s default %s', n.nspname, c.relname,
               row_number() over (partition by c.oid order by a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), case when a.attnotnull then ' not null' else '' end,
               coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-')) as line
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
       where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f')
         and ${USER_SCHEMAS} and ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
      union all
      select format('relation %I.%I kind %s', n.nspname, c.relname, c.relkind)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and ${USER_SCHEMAS}
         and ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
      union all
      select format('constraint %I.%I %I %s', n.nspname, cl.relname, co.conname, pg_get_constraintdef(co.oid))
        from pg_constraint co
        join pg_class cl on cl.oid = co.conrelid
        join pg_namespace n on n.oid = cl.relnamespace
       where ${USER_SCHEMAS}
      union all
      select format('index %s', pg_get_indexdef(i.indexrelid))
        from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
       where ${USER_SCHEMAS} and ${NOT_EXTENSION_MEMBER('pg_class', 'i.indrelid')}
      union all
      select format('function %s', pg_get_functiondef(p.oid))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where p.prokind in ('f', 'p') and ${USER_SCHEMAS} and ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}
    ) all_lines order by line collate "C"`);
  const hash = createHash('sha256');
  for (const row of parts.rows) hash.update(`${row.line}\n`);
  return hash.digest('hex');
}

async function tableStats(
  client: pg.ClientBase,
  options: FingerprintOptions,
): Promise<TableStats[]> {
  const tables = await client.query<{ schema: string; name: string }>(`
    select n.nspname as schema, c.relname as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and ${USER_SCHEMAS} and ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
     order by n.nspname collate "C", c.relname collate "C"`);
  const stats: TableStats[] = [];
  for (const [index, t] of tables.rows.entries()) {
    const ident = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`;
    // hashtextextended summed: one sequential scan, no sort, independent of physical row order.
    const sql =
      options.checksums === 'full'
        ? `select count(*)::text as n, coalesce(sum(hashtextextended(r::text, 0)), 0)::text as h from only ${ident} r`
        : `select count(*)::text as n, null::text as h from only ${ident}`;
    const res = await client.query<{ n: string; h: string | null }>(sql);
    stats.push({
      schema: t.schema,
      name: t.name,
      rowCount: Number(res.rows[0]?.n ?? 0),
      checksum: res.rows[0]?.h ?? null,
    });
    options.onTable?.(index + 1, tables.rows.length, `${t.schema}.${t.name}`);
  }
  return stats;
}
