import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { redactSecrets } from '../../observability/redact.js';

const run = promisify(execFile);

export class PgToolError extends Error {
  readonly code = 'SNAPSHOT_TOOL_ERROR';

  constructor(message: string, options?: ErrorOptions) {
    super(redactSecrets(message), options);
    this.name = 'PgToolError';
  }
}

/**
 * libpq environment for a URL: the password travels in PGPASSWORD, never on the command line
 * where `ps` would show it.
 */
export function libpqEnvironment(url: string): { env: NodeJS.ProcessEnv; dbname: string } {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (u.password) env['PGPASSWORD'] = decodeURIComponent(u.password);
  u.password = '';
  return { env, dbname: u.toString() };
}

/** With the database part of a URL replaced, e.g. to reach a scratch database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

export interface ToolVersion {
  readonly text: string;
  readonly major: number;
}

export async function toolVersion(tool: string): Promise<ToolVersion> {
  try {
    const { stdout } = await run(tool, ['--version']);
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.\d+)?/.exec(stdout);
    if (!m?.[1]) throw new PgToolError(`cannot read the version of ${tool}: "${stdout.trim()}"`);
    return { text: stdout.trim(), major: Number(m[1]) };
  } catch (err) {
    if (err instanceof PgToolError) throw err;
    throw new PgToolError(
      `${tool} is not installed or not on PATH (${(err as Error).message}); install the PostgreSQL client matching the server's major version`,
      { cause: err },
    );
  }
}

/** pg_dump can read older servers but not newer ones, and its output must restore on the server's major. */
export function checkClientMatchesServer(tool: ToolVersion, serverVersionNum: number): void {
  const serverMajor = Math.floor(serverVersionNum / 10000);
  if (tool.major < serverMajor) {
    throw new PgToolError(
      `${tool.text} is older than the server (PostgreSQL ${serverMajor}); install postgresql-client-${serverMajor} or newer`,
    );
  }
}

/** A child process whose stderr is kept (bounded) for the error message. */
export function spawnTool(
  tool: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): { child: ChildProcessWithoutNullStreams; done: Promise<void> } {
  // With a signal, an abort kills the tool (SIGTERM) and `done` rejects.
  const child = spawn(tool, args, {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(signal !== undefined && { signal }),
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      reject(new PgToolError(`${tool} could not start: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new PgToolError(
            `${tool} failed (${signal ? `signal ${signal}` : `exit ${String(code)}`}): ${stderr.trim() || 'no message'}`,
          ),
        );
    });
  });
  return { child, done };
}
