// What the linter learns from a live database: the server's version (and, for the rules, the
// catalog's facts). The queries only; what they mean for a rule is decided in the pure modules.
import type pg from 'pg';
import { openClient } from '../../db/connection.js';
import { resolvePgVersion, type PgVersion } from '../../api/pg-version.js';

/** `server_version_num` of the connected server (150004 for 15.4). */
export async function readServerVersionNum(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
  return Number(r.rows[0]?.v);
}

/** What a lint run connected to a database judges with. */
export interface LiveLintContext {
  readonly pgVersion: PgVersion;
}

/**
 * The version to lint for on `client`'s server: `explicit` (a flag or dbmigrate.json, which
 * wins: the user may lint for the server production will be upgraded to), else the server's.
 */
export async function liveLintContext(
  client: pg.ClientBase,
  explicit: { readonly flag?: number | undefined; readonly config?: number | undefined } = {},
): Promise<LiveLintContext> {
  const serverVersionNum = await readServerVersionNum(client);
  return { pgVersion: resolvePgVersion({ ...explicit, serverVersionNum }) };
}

/** liveLintContext on a session of its own, closed afterwards. */
export async function liveLintContextAt(
  url: string,
  explicit: { readonly flag?: number | undefined; readonly config?: number | undefined } = {},
): Promise<LiveLintContext> {
  const client = await openClient(url, 'dbmigrate:lint');
  try {
    return await liveLintContext(client, explicit);
  } finally {
    await client.end().catch(() => undefined);
  }
}
