import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { access, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { silentLogger } from '../../observability/logger.js';

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

/** initdb refuses to run as root: as root, the server runs as the `postgres` system user. */
async function serverUser(): Promise<{ uid: number; gid: number } | null> {
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
  user: { uid: number; gid: number } | null,
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
  const bin =
    process.env['DBMIGRATE_PG_BINDIR'] ?? `/usr/lib/postgresql/${String(options.major)}/bin`;
  try {
    await access(join(bin, 'initdb'));
    await access(join(bin, 'pg_ctl'));
  } catch {
    throw new LocalServerError(
      `no PostgreSQL ${String(options.major)} server binaries in ${bin} for a local scratch server (the copy must run on the production server's major); install postgresql-${String(options.major)}, set DBMIGRATE_PG_BINDIR, or pass --scratch-url`,
    );
  }
  const user = await serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'dbm-scratch-'));
  const data = join(dir, 'data');
  if (user !== null) await chown(dir, user.uid, user.gid);
  // Only names the socket file: the server listens on no TCP port.
  const port = 5432;
  const pgCtl = join(bin, 'pg_ctl');
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
    if (!(running() && alive())) rmSync(dir, { recursive: true, force: true });
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
        log.warn({ err, dir }, 'could not stop the local scratch server; its directory is kept');
        return;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await tool(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
      user,
      track,
    );
    await tool(
      pgCtl,
      [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-o',
        `-p ${String(port)} -k ${dir} -c listen_addresses= -c fsync=off -c full_page_writes=off`,
        'start',
      ],
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
  // The `host` parameter (a socket directory) overrides the authority's host in libpq and pg.
  const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${String(port)}`;
  return { url, major: options.major, stop };
}
