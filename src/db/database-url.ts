import { existsSync } from 'node:fs';
/**
 * Database URLs as people type them, checked before anything connects: every problem is a
 * usage error that says what is wrong, and shows the URL with its password masked, however
 * broken the URL is (a missing ':' after the scheme, an unencoded '@' or '/' in the password).
 */

export class DatabaseUrlError extends Error {
  readonly code = 'BAD_DATABASE_URL';

  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

const MASK = '***';

/**
 * The URL with everything that could be a password replaced (with `keepUser` false, the
 * whole user-info): the user-info runs from after
 * the scheme to the LAST '@' (an unencoded '@' may belong to the password), and everything
 * after the user name's ':' in it is masked. Over-masking is fine; under-masking never is.
 */
export function maskDatabaseUrl(raw: string, keepUser = true): string {
  const at = raw.lastIndexOf('@');
  const masked =
    at === -1
      ? raw
      : (() => {
          // A scheme only when slashes follow it: in `app:pw@host` "app:" is the user name.
          const prefix = /^[a-z][a-z0-9+.-]*(:\/+|\/\/+)/i.exec(raw)?.[0] ?? '';
          const userinfo = raw.slice(prefix.length, at);
          const colon = userinfo.indexOf(':');
          const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
          // A user name with '/' or spaces is no user name: hide it all.
          if (!keepUser) return `${prefix}${MASK}${raw.slice(at)}`;
          const shown = /^[\w.%-]*$/.test(user) ? user : MASK;
          return `${prefix}${shown}${colon === -1 ? '' : `:${MASK}`}${raw.slice(at)}`;
        })();
  // Keyword forms (password=…) too.
  return masked.replace(/(password|passwd|pwd)(\s*=\s*)([^\s&;]+)/gi, `$1$2${MASK}`);
}

/** What is wrong with a database URL, or null when it is usable. Never quotes the password. */
export function databaseUrlProblem(raw: string): string | null {
  const url = raw.trim();
  if (url === '') return 'it is empty';
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    return /^postgres(ql)?:?\/*/i.test(url)
      ? 'it must start with postgres:// (the scheme, a colon and two slashes)'
      : 'it must be a postgres:// URL, e.g. postgres://user:password@host:5432/db';
  }
  const authorityEnd = url.slice(url.indexOf('//') + 2).search(/[/?#]/);
  const afterScheme = url.slice(url.indexOf('//') + 2);
  const at = afterScheme.lastIndexOf('@');
  const userinfo = at === -1 ? '' : afterScheme.slice(0, at);
  if (
    at !== -1 &&
    (userinfo.includes('@') ||
      userinfo.includes('/') ||
      userinfo.includes('?') ||
      userinfo.includes('#'))
  ) {
    return "its user name or password holds '@', '/', '?' or '#' unencoded; percent-encode them (e.g. '@' as %40, '/' as %2F)";
  }
  if (at !== -1 && /^([/?#]|$)/.test(afterScheme.slice(at + 1)))
    return "it names no host after the '@'";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    const hostPort = (authorityEnd === -1 ? afterScheme : afterScheme.slice(0, authorityEnd))
      .split('@')
      .pop();
    const port = /:([^:\]]*)$/.exec(hostPort ?? '')?.[1];
    if (port !== undefined && port !== '' && !/^\d+$/.test(port)) return 'its port is not a number';
    if (port !== undefined && /^\d+$/.test(port) && Number(port) > 65535)
      return 'its port is out of range (1-65535)';
    return 'it does not parse as a URL; percent-encode special characters in the user name and password';
  }
  if (u.port !== '' && (Number(u.port) < 1 || Number(u.port) > 65535))
    return 'its port is out of range (1-65535)';
  try {
    decodeURIComponent(u.password);
    decodeURIComponent(u.username);
  } catch {
    return "its user name or password has a '%' that does not start a percent-encoded byte; write '%' as %25";
  }
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    return `its sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`;
  }
  // The driver reads these files when it connects; a missing one would end in a stack trace.
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = u.searchParams.get(param);
    if (file !== null && file !== 'system' && !existsSync(file))
      return `its ${param} file ${file} does not exist`;
  }
  return null;
}

/** The sslmode values the driver understands. */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * The URL, trimmed, or a DatabaseUrlError naming `source` (the flag, variable or Secret it came
 * from), what is wrong, and the URL with its password masked.
 */
export function checkDatabaseUrl(raw: string, source: string): string {
  const problem = databaseUrlProblem(raw);
  if (problem !== null) {
    // A broken URL may hold its password where the user name should be: mask all user-info.
    throw new DatabaseUrlError(
      `${source} is not a usable database URL: ${problem} (${maskDatabaseUrl(raw.trim(), false)})`,
    );
  }
  return raw.trim();
}

/**
 * Pure: which database a URL reaches, as `host:port/name` without user or password, so two
 * URLs for one database (another user, a local alias) compare equal. Loopback names are one
 * host. Throws on a URL that does not parse.
 */
export function databaseIdentity(url: string): string {
  const u = new URL(url);
  const host = ['localhost', '127.0.0.1', '::1', '[::1]', ''].includes(u.hostname)
    ? 'local'
    : u.hostname;
  return `${host}:${u.port || '5432'}${u.pathname}`;
}
