// A private PostgreSQL cluster with WAL archiving into a pgBackRest repository, for the
// `pgbackrest` snapshot method's tests and bench/snapshot: its own data directory, port and
// stanza, created and removed by its user; the machine's shared cluster and its configuration
// are never touched.
import { execFile } from 'node:child_process';
import { copyFile, chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { PgBackRestTarget } from '../src/safety/snapshot/pgbackrest.js';
import { cachedTool } from './cached-tool.js';
import { freePort } from './control-plane.js';

const run = promisify(execFile);
const PG_BIN = process.env['DBMIGRATE_PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';

export function pgbackrestBinary(): string {
  return cachedTool('DBM_PGBACKREST', 'hack/pgbackrest.sh', 'pgBackRest');
}

export interface ArchivingCluster {
  /** A URL on the cluster over TCP (loopback), for `database`. */
  url(database?: string): string;
  readonly dir: string;
  readonly repository: string;
  readonly target: PgBackRestTarget;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    database?: string,
  ): Promise<pg.QueryResult<R>>;
  stop(): Promise<void>;
}

/** As root, the cluster and pgBackRest run as the `postgres` system user (initdb refuses root). */
async function asServerUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

async function tool(
  bin: string,
  args: string[],
  user: { uid: number; gid: number } | null,
): Promise<string> {
  const { stdout } = await run(bin, args, {
    ...(user !== null && { uid: user.uid, gid: user.gid }),
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export async function startArchivingCluster(stanza = 'main'): Promise<ArchivingCluster> {
  const user = await asServerUser();
  const dir = await mkdtemp(join(tmpdir(), 'dbm-archiving-'));
  // The postgres user runs the archive_command: the binary must be where it can reach.
  await chmod(dir, 0o755);
  const bin = join(dir, 'pgbackrest');
  await copyFile(pgbackrestBinary(), bin);
  await chmod(bin, 0o755);
  const port = await freePort();
  const data = join(dir, 'data');
  const repository = join(dir, 'repo');
  const config = join(dir, 'pgbackrest.conf');
  await writeFile(
    config,
    [
      '[global]',
      `repo1-path=${repository}`,
      // Sets are removed by the tests (expire --set), never by a count.
      'repo1-retention-full=9999999',
      `log-path=${join(dir, 'log')}`,
      `lock-path=${join(dir, 'lock')}`,
      `spool-path=${join(dir, 'spool')}`,
      'log-level-file=off',
      '',
      `[${stanza}]`,
      `pg1-path=${data}`,
      `pg1-port=${String(port)}`,
      `pg1-socket-path=${dir}`,
      '',
    ].join('\n'),
  );
  if (user !== null) {
    for (const f of [dir, config, bin]) await chown(f, user.uid, user.gid);
  }
  await tool(
    join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--data-checksums'],
    user,
  );
  const options = [
    `-p ${String(port)} -k ${dir} -c listen_addresses=127.0.0.1`,
    '-c wal_level=replica -c archive_mode=on',
    `-c archive_command='${bin} --config=${config} --stanza=${stanza} archive-push %p'`,
    '-c fsync=off -c max_wal_size=256MB',
  ].join(' ');
  await tool(
    join(PG_BIN, 'pg_ctl'),
    ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', options, 'start'],
    user,
  );
  const target: PgBackRestTarget = { stanza, config, bin, processMax: 2 };
  const url = (database = 'postgres'): string =>
    `postgres://postgres@127.0.0.1:${String(port)}/${database}`;
  const stop = async (): Promise<void> => {
    await tool(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], user).catch(
      () => undefined,
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await tool(bin, [`--config=${config}`, `--stanza=${stanza}`, 'stanza-create'], user);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    dir,
    repository,
    target,
    async query(sql, database) {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    },
    stop,
  };
}
