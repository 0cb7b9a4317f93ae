import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { access, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { silentLogger } from '../../observability/logger.js';
import { redactSecrets } from '../../observability/redact.js';

const run = promisify(execFile);
/** For short synchronous waits on exit, when no timer can run. */
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

export class LocalServerError extends Error {
  readonly code = 'SCRATCH_UNAVAILABLE';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalServerError';
  }
}

/** A throwaway PostgreSQL server on loopback for temporary copies; `stop()` removes it all. */
export interface LocalServer {
  /** A URL on it; its database part is the maintenance database. */
  readonly url: string;
  readonly major: number;
  stop(): Promise<void>;
}

export interface SystemUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * initdb refuses to run as root: as root, the server (and pgBackRest, which reads and writes
 * its files) runs as the `postgres` system user.
 */
export function serverUser(): Promise<SystemUser | null> {
  // Asked once per process: pgBackRest's commands each need it.
  serverUserOnce ??= lookUpServerUser();
  return serverUserOnce;
}
let serverUserOnce: Promise<SystemUser | null> | undefined;

async function lookUpServerUser(): Promise<SystemUser | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid };
  } catch (err) {
    throw new LocalServerError(
      'cannot start a local scratch server as root without a `postgres` system user; run as an unprivileged user or pass --scratch-url',
      { cause: err },
    );
  }
}

function tool(
  bin: string,
  args: readonly string[],
  user: SystemUser | null,
  track?: (child: ChildProcess | null) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(user !== null && { uid: user.uid, gid: user.gid }),
    });
    track?.(child);
    child.once('close', () => track?.(null));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 16_384) stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new LocalServerError(`${bin} failed (exit ${String(code)}): ${stderr.trim()}`));
    });
  });
}

/** A server's log from where this start's lines begin (pg_ctl -l appends to a kept copy's). */
interface ServerLog {
  readonly file: string;
  readonly from: number;
}

function serverLogFromNow(file: string): ServerLog {
  try {
    return { file, from: statSync(file).size };
  } catch {
    return { file, from: 0 };
  }
}

/**
 * `message`, with the last lines the server wrote to its log in this start (not an earlier
 * run's) as one line, any credential masked; `message` alone when it wrote none.
 */
function withServerLog(message: string, log: ServerLog): string {
  let tail = '';
  try {
    const size = statSync(log.file).size;
    const start = Math.max(log.from, size - 16_384);
    if (size > start) {
      const text = Buffer.alloc(size - start);
      const fd = openSync(log.file, 'r');
      try {
        readSync(fd, text, 0, text.length, start);
      } finally {
        closeSync(fd);
      }
      tail = redactSecrets(text.toString('utf8').trim().split('\n').slice(-5).join(' | '));
    }
  } catch {
    // No log yet.
  }
  return tail === '' ? message : `${message} (server log: ${tail})`;
}

/**
 * `pg_ctl start`: a server that fails to start is reported with its log's last lines, since
 * pg_ctl itself says only "Examine the log output" (and the log goes with the failed copy).
 */
async function startServer(
  bin: string,
  args: readonly string[],
  log: ServerLog,
  user: SystemUser | null,
  track: (child: ChildProcess | null) => void,
): Promise<void> {
  try {
    await tool(join(bin, 'pg_ctl'), ['-l', log.file, ...args, 'start'], user, track);
  } catch (err) {
    const message = withServerLog((err as Error).message, log);
    if (message === (err as Error).message) throw err;
    throw new LocalServerError(message, { cause: err });
  }
}

/** The server binaries of `major`: Debian's layout, or `$DBMIGRATE_PG_BINDIR`. */
async function serverBinaries(major: number): Promise<string> {
  const bin = process.env['DBMIGRATE_PG_BINDIR'] ?? `/usr/lib/postgresql/${String(major)}/bin`;
  try {
    await access(join(bin, 'initdb'));
    await access(join(bin, 'pg_ctl'));
  } catch {
    throw new LocalServerError(
      `no PostgreSQL ${String(major)} server binaries in ${bin} for a local scratch server (the copy must run on the production server's major); install postgresql-${String(major)}, set DBMIGRATE_PG_BINDIR, or pass --scratch-url`,
    );
  }
  return bin;
}

/** Only names the socket file: the server listens on no TCP port. */
const SOCKET_PORT = 5432;

/**
 * The life of a server on `data`: stopped by `stop()`, on exit and on SIGINT/SIGTERM when
 * nothing else handles them; then `remove` (the server's files) is deleted, never while a
 * process still runs on them.
 */
function supervise(options: {
  readonly bin: string;
  readonly data: string;
  readonly remove: string;
  readonly user: SystemUser | null;
  readonly log: Logger;
}): {
  track: (child: ChildProcess | null) => void;
  stop: () => Promise<void>;
} {
  const { data, user, log } = options;
  const pgCtl = join(options.bin, 'pg_ctl');
  const running = (): boolean => existsSync(join(data, 'postmaster.pid'));
  /** Whether the process the lock file names (a postmaster, or initdb's bootstrap backend) lives. */
  const alive = (): boolean => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const stopArgs = ['-D', data, '-m', 'immediate', '-w', 'stop'];
  let busy: ChildProcess | null = null;
  const track = (child: ChildProcess | null): void => {
    busy = child;
  };
  /** Last resort on exit or a signal: synchronous, since nothing asynchronous runs then. */
  const stopNow = (): void => {
    // initdb or pg_ctl start may be half-way: they go first.
    busy?.kill('SIGKILL');
    try {
      if (running() && alive())
        execFileSync(pgCtl, stopArgs, {
          stdio: 'ignore',
          ...(user !== null && { uid: user.uid, gid: user.gid }),
        });
    } catch {
      // Not a server pg_ctl knows (initdb's bootstrap backend): it exits once initdb is gone.
    }
    for (let i = 0; i < 100 && running() && alive(); i++) Atomics.wait(SLEEP, 0, 0, 20);
    // Files are never removed under a process that still runs; the directory then says what
    // is left to clean.
    if (!(running() && alive())) rmSync(options.remove, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    // Only when nobody else handles it: a command with its own handler stops gracefully and
    // releases the server in its own time.
    if (process.listenerCount(signal) > 1) return;
    stopNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const detach = (): void => {
    process.off('exit', stopNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('exit', stopNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stop = async (): Promise<void> => {
    detach();
    if (running()) {
      try {
        await tool(pgCtl, stopArgs, user);
      } catch (err) {
        // Never remove files under a server that is still running.
        log.warn(
          { err, dir: options.remove },
          'could not stop the local scratch server; its directory is kept',
        );
        return;
      }
    }
    await rm(options.remove, { recursive: true, force: true });
  };
  return { track, stop };
}

/** `-o` of pg_ctl start: a socket in `dir` only, no TCP, and the settings of a throwaway copy. */
function serverOptions(dir: string, extra: readonly string[] = []): string {
  return [
    `-p ${String(SOCKET_PORT)} -k ${dir} -c listen_addresses= -c fsync=off -c full_page_writes=off`,
    ...extra,
  ].join(' ');
}

function socketUrl(dir: string, database = 'postgres'): string {
  // The `host` parameter (a socket directory) overrides the authority's host in libpq and pg.
  return `postgres://postgres@localhost/${encodeURIComponent(database)}?host=${encodeURIComponent(dir)}&port=${String(SOCKET_PORT)}`;
}

/**
 * Starts a private PostgreSQL server of `major` from the binaries installed on this machine
 * (Debian's layout, or `$DBMIGRATE_PG_BINDIR`) in a temporary directory. It listens on no TCP
 * port at all, only on a Unix socket inside that 0700 directory, so no other local user can
 * reach the copy of production it will hold. It is stopped and removed by `stop()`, on exit,
 * and on SIGINT/SIGTERM when nothing else handles them.
 */
export async function startLocalServer(options: {
  readonly major: number;
  readonly logger?: Logger;
}): Promise<LocalServer> {
  const log = options.logger ?? silentLogger();
  const bin = await serverBinaries(options.major);
  const user = await serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'dbm-scratch-'));
  const data = join(dir, 'data');
  if (user !== null) await chown(dir, user.uid, user.gid);
  const { track, stop } = supervise({ bin, data, remove: dir, user, log });
  try {
    await tool(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
      user,
      track,
    );
    await startServer(
      bin,
      ['-D', data, '-w', '-o', serverOptions(dir)],
      serverLogFromNow(join(dir, 'server.log')),
      user,
      track,
    );
  } catch (err) {
    await stop();
    throw err instanceof LocalServerError
      ? err
      : new LocalServerError(`could not start a local scratch server: ${(err as Error).message}`, {
          cause: err,
        });
  }
  log.info({ socket_dir: dir, major: options.major }, 'local scratch server started');
  return { url: socketUrl(dir), major: options.major, stop };
}

/**
 * Starts a private server on a data directory a physical restore left in `directory/data`
 * (pgBackRest's recovery settings in it): it recovers to the end of the backup, promotes, and
 * is ready when this returns. Like a scratch server it listens only on a socket in
 * `directory`, with its own configuration and authentication: production's postgresql.conf
 * and pg_hba.conf, copied by the restore, are not read, and it archives nothing. `stop()`
 * removes the data directory unless `keep` (a later restore then copies only what differs).
 */
export async function startRestoredServer(options: {
  readonly major: number;
  readonly directory: string;
  readonly keep: boolean;
  readonly logger?: Logger;
  /** How long recovery may take (replaying the WAL written during the backup). */
  readonly timeoutMs?: number;
}): Promise<LocalServer> {
  const log = options.logger ?? silentLogger();
  const bin = await serverBinaries(options.major);
  const user = await serverUser();
  const dir = options.directory;
  const data = join(dir, 'data');
  const files = {
    conf: join(dir, 'server.conf'),
    hba: join(dir, 'hba.conf'),
    ident: join(dir, 'ident.conf'),
  };
  await writeFile(
    files.conf,
    '# dbmigrate: the settings of a restored copy are its command line\n',
  );
  await writeFile(files.hba, 'local all all trust\n');
  await writeFile(files.ident, '');
  if (user !== null) for (const f of Object.values(files)) await chown(f, user.uid, user.gid);
  const { track, stop } = supervise({
    bin,
    data,
    remove: options.keep ? join(dir, 'server.log') : data,
    user,
    log,
  });
  const timeoutS = Math.ceil((options.timeoutMs ?? 3_600_000) / 1000);
  const serverLog = serverLogFromNow(join(dir, 'server.log'));
  try {
    await startServer(
      bin,
      [
        '-D',
        data,
        '-w',
        '-t',
        String(timeoutS),
        '-o',
        serverOptions(dir, [
          `-c config_file=${files.conf} -c hba_file=${files.hba} -c ident_file=${files.ident}`,
          // Production's values (its postgresql.auto.conf is in the copy) must not apply here:
          // no archiving into production's repository, no preloaded memory it sized for itself.
          '-c archive_mode=off -c shared_buffers=128MB',
          // Not readable before it is promoted: nothing sees a half-recovered copy.
          '-c hot_standby=off',
        ]),
      ],
      serverLog,
      user,
      track,
    );
    await untilPromoted(socketUrl(dir), serverLog, options.timeoutMs ?? 3_600_000);
  } catch (err) {
    await stop();
    throw err instanceof LocalServerError
      ? err
      : new LocalServerError(`could not start the restored copy: ${(err as Error).message}`, {
          cause: err,
        });
  }
  log.info({ socket_dir: dir, major: options.major }, 'restored copy started');
  return { url: socketUrl(dir), major: options.major, stop };
}

/** Waits until the restored server accepts connections out of recovery. */
async function untilPromoted(url: string, log: ServerLog, timeoutMs: number): Promise<void> {
  const { openClient } = await import('../../db/connection.js');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = await openClient(url, 'dbmigrate:restored-copy', { connectTimeoutMs: 5000 });
      try {
        const res = await client.query<{ r: boolean }>('select pg_is_in_recovery() as r');
        if (res.rows[0]?.r === false) return;
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (err) {
      // 57P03: starting up, in recovery, or not yet accepting connections.
      // openClient wraps the server's error: its SQLSTATE is on the cause.
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code !== '57P03' || Date.now() > deadline) {
        throw new LocalServerError(
          withServerLog(
            `the restored copy did not come out of recovery: ${(err as Error).message}`,
            log,
          ),
          { cause: err },
        );
      }
    }
    if (Date.now() > deadline)
      throw new LocalServerError('the restored copy is still in recovery after the timeout');
    await new Promise((r) => setTimeout(r, 200));
  }
}
