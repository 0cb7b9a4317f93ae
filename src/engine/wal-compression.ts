import type pg from 'pg';
import type { Logger } from 'pino';
import { ONLINE_WAL_COMPRESSION } from './migration.js';
import { sqlStateOf } from './retry.js';

/**
 * Compresses the WAL of an online change's session (a concurrent index build, a backfill)
 * where the server does not already and the role may change it (a superuser, or GRANT SET ON
 * PARAMETER wal_compression): such a change writes full-page images, which lz4 halves for the
 * archive and the replicas. True when it was set; otherwise the session runs as the
 * server has it, and a debug line says why.
 */
export async function compressSessionWal(
  client: pg.ClientBase,
  log: Logger,
  context: Record<string, unknown>,
): Promise<boolean> {
  try {
    const r = await client.query<{ set: boolean }>(
      `select case when current_setting('wal_compression') = 'off'
              then set_config('wal_compression', $1, false) is not null else false end as set`,
      [ONLINE_WAL_COMPRESSION],
    );
    return r.rows[0]?.set === true;
  } catch (err) {
    // 42501: the role may not set it; 22023: a server built without lz4.
    log.debug(
      { ...context, sqlstate: sqlStateOf(err) },
      'wal_compression left as the server has it',
    );
    return false;
  }
}
