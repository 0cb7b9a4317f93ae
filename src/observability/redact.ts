/**
 * Credentials must never reach logs, status, Events or error messages. Everything that may
 * carry a connection string passes through here.
 */
// The password runs to the LAST '@' of the token: an unencoded '@' or '/' may be part of it
// (over-masking a query that holds '@' is fine). Broken schemes (`postgres//`, `postgres:/`)
// are caught too.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*(?::\/+|\/\/+)[^:/?#@\s]*):(\S*)@/gi;
// No \b before the keyword, so PGPASSWORD=... is caught too.
const KEYWORD_PASSWORD = /(password|passwd|pwd)(\s*=\s*|\s*:\s*)('[^']*'|"[^"]*"|[^\s&;,"]+)/gi;
const JSON_SECRET = /("(?:[a-z_]*password|passwd|pwd|secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

export const REDACTED = '***';

export function redactSecrets(text: string): string {
  return text
    .replace(JSON_SECRET, `$1"${REDACTED}"`)
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(KEYWORD_PASSWORD, `$1$2${REDACTED}`);
}

/** `user@host:port/db` for messages: enough to know which database, nothing secret. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return redactSecrets(url);
  }
}
