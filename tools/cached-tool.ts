import { execFileSync } from 'node:child_process';

/**
 * What a hack/ script prints for a tool it builds or fetches into the cache (a bin directory or
 * an executable), or `env` when the Makefile already resolved it. A clear error otherwise.
 */
export function cachedTool(env: string, script: string, what: string): string {
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('bash', [script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    throw new Error(`${what} is not available and ${script} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
