import { Transform, type TransformCallback } from 'node:stream';
import { openClient } from '../../db/connection.js';
import { libpqEnvironment, PgToolError, spawnTool, toolVersion } from './pg-tools.js';

/**
 * Session settings pg_restore sets before anything else, with the major that introduced each.
 * pg_restore 17 sends `SET transaction_timeout = 0` to every server, and one older than 17
 * refuses it, so a dump taken and restored on PostgreSQL 15 fails with the tools of 17 (what the
 * image ships, as the newest client reads every older server).
 */
const PREAMBLE_SETTING_SINCE: Readonly<Record<string, number>> = { transaction_timeout: 17 };

/** A line of the script's preamble: comments, blank lines, session SETs, set_config, psql's \restrict. */
const PREAMBLE_LINE =
  /^(--.*|\s*|SET \w+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\restrict \S+)$/;

/**
 * Whether `line` of a restore script's preamble sets a parameter the target's major does not
 * know. Pure; only ever asked about preamble lines, never about data.
 */
export function isUnknownPreambleSetting(line: string, targetMajor: number): boolean {
  const m = /^SET (\w+) = .*;$/.exec(line);
  const since = m?.[1] === undefined ? undefined : PREAMBLE_SETTING_SINCE[m[1]];
  return since !== undefined && targetMajor < since;
}

/**
 * Passes a plain-format restore script through, dropping the preamble's settings the target
 * server does not know. The preamble ends at the first line that is not one of its kinds; from
 * there on every byte passes unchanged, so table data (COPY blocks) is never rewritten.
 */
export class PreambleFilter extends Transform {
  private inPreamble = true;
  private pending = '';

  constructor(private readonly targetMajor: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.inPreamble) {
      done(null, chunk);
      return;
    }
    this.pending += chunk.toString('utf8');
    let out = '';
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (!PREAMBLE_LINE.test(line)) {
        this.inPreamble = false;
        out += `${line}\n${this.pending}`;
        this.pending = '';
        break;
      }
      if (!isUnknownPreambleSetting(line, this.targetMajor)) out += `${line}\n`;
      nl = this.pending.indexOf('\n');
    }
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pending);
  }
}

async function serverMajor(url: string): Promise<number> {
  const client = await openClient(url, 'dbmigrate:restore');
  try {
    const res = await client.query<{ v: string }>(
      "select current_setting('server_version_num') as v",
    );
    return Math.floor(Number(res.rows[0]?.v ?? 0) / 10000);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** How a dump reaches the server: pg_restore connected to it, or its script through psql. */
export type RestoreRoute = 'pg_restore' | 'script';

/**
 * Restores the custom-format dump at `path` into the database `targetUrl` names, stopping at the
 * first error. When pg_restore is newer than the server, the dump goes through pg_restore's
 * script output and psql instead, without the session settings the server would refuse; `route`
 * forces one way (tests).
 */
export async function restoreArchive(
  path: string,
  targetUrl: string,
  options: { readonly signal?: AbortSignal; readonly route?: RestoreRoute } = {},
): Promise<RestoreRoute> {
  const { env, dbname } = libpqEnvironment(targetUrl);
  const target = await serverMajor(targetUrl);
  const route =
    options.route ?? ((await toolVersion('pg_restore')).major > target ? 'script' : 'pg_restore');
  const common = ['--exit-on-error', '--no-owner', '--no-privileges'];
  if (route === 'pg_restore') {
    const restore = spawnTool(
      'pg_restore',
      [...common, `--dbname=${dbname}`, path],
      env,
      options.signal,
    );
    restore.child.stdin.end();
    await restore.done;
    return route;
  }
  const script = spawnTool('pg_restore', [...common, '--file=-', path], env, options.signal);
  const psql = spawnTool(
    'psql',
    ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--output=/dev/null', `--dbname=${dbname}`],
    env,
    options.signal,
  );
  script.child.stdin.end();
  psql.child.stdout.resume();
  // psql stopping at an error closes the pipe under pg_restore: its error is the one to report.
  psql.child.stdin.on('error', () => undefined);
  script.child.stdout.pipe(new PreambleFilter(target)).pipe(psql.child.stdin);
  const [fromScript, fromPsql] = await Promise.allSettled([script.done, psql.done]);
  if (fromPsql.status === 'rejected') throw fromPsql.reason as PgToolError;
  if (fromScript.status === 'rejected') throw fromScript.reason as PgToolError;
  return route;
}
