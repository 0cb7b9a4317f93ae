// A private PostgreSQL cluster with WAL archiving into a pgBackRest repository, for the
// `pgbackrest` snapshot method's tests and bench/snapshot: its own data directory, port and
// stanza, created and removed by its user; the machine's shared cluster and its configuration
// are never touched.
import { execFile } from 'node:child_process';
import { copyFile, chmod, chown, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serverUser, type SystemUser } from '../src/safety/scratch/local-server.js';
import type { PgBackRestTarget } from '../src/safety/snapshot/pgbackrest.js';
import { cachedTool } from './cached-tool.js';
import { freePort } from './control-plane.js';

const run = promisify(execFile);
const PG_BIN = process.env['DBMIGRATE_PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';

export function pgbackrestBinary(): string {
  return cachedTool('DBM_PGBACKREST', 'hack/pgbackrest.sh', 'pgBackRest');
}

export interface ArchivingClusterOptions {
  /**
   * Server settings over the tests' defaults (`fsync=off`, `max_wal_size=256MB`), by name, e.g.
   * `{ fsync: 'on', shared_buffers: '2GB' }`; passed on the server's command line.
   */
  readonly settings?: Readonly<Record<string, string>>;
  /** Where the cluster's directory is made: the system's temporary directory by default. */
  readonly parent?: string;
}

/** The settings the tests run with: durability is not what they are about. */
const TEST_SETTINGS: Readonly<Record<string, string>> = { fsync: 'off', max_wal_size: '256MB' };

export interface ArchivingCluster {
  /** A URL on the cluster over TCP (loopback), for `database`. */
  url(database?: string): string;
  readonly dir: string;
  readonly repository: string;
  readonly target: PgBackRestTarget;
  /** The settings given on the server's command line besides port, socket and archiving. */
  readonly settings: Readonly<Record<string, string>>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    database?: string,
  ): Promise<pg.QueryResult<R>>;
  /**
   * Off: WAL segments are reported archived without reaching the repository (a bulk load or a
   * restore into this cluster that no backup needs); on again (the default): archived by
   * pgBackRest. Backups need the WAL from their own start on only.
   */
  setArchiving(on: boolean): Promise<void>;
  /** Stops the server; its directory is removed unless `keepFiles`. */
  stop(options?: { readonly keepFiles?: boolean }): Promise<void>;
}

async function tool(bin: string, args: string[], user: SystemUser | null): Promise<string> {
  const { stdout } = await run(bin, args, {
    ...(user !== null && { uid: user.uid, gid: user.gid }),
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** A setting's value as one shell word of pg_ctl's `-o`. */
function settingArgument(name: string, value: string): string {
  if (!/^[a-z_.]+$/.test(name)) throw new Error(`not a setting name: ${name}`);
  return `-c ${name}='${value.replaceAll("'", "'\\''")}'`;
}

export async function startArchivingCluster(
  stanza = 'main',
  options: ArchivingClusterOptions = {},
): Promise<ArchivingCluster> {
  // As root, the cluster and pgBackRest run as the `postgres` system user (initdb refuses root).
  const user = await serverUser();
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'dbm-archiving-'));
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
  const settings = { ...TEST_SETTINGS, ...options.settings };
  // While this file exists the archive command succeeds without archiving (setArchiving).
  const paused = join(dir, 'archiving-paused');
  const serverOptions = [
    `-p ${String(port)} -k ${dir} -c listen_addresses=127.0.0.1`,
    '-c wal_level=replica -c archive_mode=on',
    `-c archive_command='test -f ${paused} || ${bin} --config=${config} --stanza=${stanza} archive-push %p'`,
    ...Object.entries(settings).map(([name, value]) => settingArgument(name, value)),
  ].join(' ');
  await tool(
    join(PG_BIN, 'pg_ctl'),
    ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', serverOptions, 'start'],
    user,
  );
  const target: PgBackRestTarget = { stanza, config, bin, processMax: 2 };
  const url = (database = 'postgres'): string =>
    `postgres://postgres@127.0.0.1:${String(port)}/${database}`;
  const stop = async (how: { readonly keepFiles?: boolean } = {}): Promise<void> => {
    // Kept files are for a later look or start: a clean shutdown then needs no recovery.
    const mode = how.keepFiles === true ? 'fast' : 'immediate';
    await tool(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop'], user).catch(
      () => undefined,
    );
    if (how.keepFiles !== true) await rm(dir, { recursive: true, force: true });
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
    settings,
    async query(sql, database) {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async setArchiving(on) {
      if (on) await unlink(paused).catch(() => undefined);
      else await writeFile(paused, '');
    },
    stop,
  };
}
