import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Broken database URLs through the real CLI, as a user would type them: every one is a usage
 * error (exit 2) naming what is wrong, and no part of the password reaches stdout, stderr or
 * the logs, whatever the breakage. A well-formed URL to a closed port is "unreachable" (6).
 */
const PASSWORDS = ['Zq9xW7vK', 'Kp@7/Qzt', 'Jr:8@Yw/Xu#', 'Vm%zzT4b', 'Hn 5 Lq9r', 'Gd?3Tk!w'];

const BROKEN: ((p: string) => string)[] = [
  (p) => `postgres//app:${p}@db.example:5432/app`,
  (p) => `postgres:/app:${p}@db.example/app`,
  (p) => `postgres://app:${p}@db.example:notaport/app`,
  (p) => `postgres://app:${p}@db.example:99999/app`,
  (p) => `postgres://app:${p}@/app`,
  (p) => `postgresql:app:${p}@db.example/app`,
  (p) => `mysql://app:${p}@db.example/app`,
  (p) => `app:${p}@db.example/app`,
  (p) => ` postgres//${p}@db.example/app `,
  // TLS settings the driver would only trip over when connecting (a stack trace before).
  (p) =>
    `postgres://app:${p}@127.0.0.1:5432/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`,
  (p) => `postgres://app:${p}@127.0.0.1:5432/app?sslmode=bogus`,
];

function dbmigrate(url: string): { code: number | null; out: string } {
  const res = spawnSync(
    process.execPath,
    ['dist/cli/dbmigrate.js', 'status', '--log-level', 'debug'],
    { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8', timeout: 30_000 },
  );
  return { code: res.status, out: `${res.stdout}\n${res.stderr}` };
}

/** Every 4-character piece of the password: none may appear. */
function pieces(password: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 4 <= password.length; i++) out.push(password.slice(i, i + 4));
  return out;
}

describe('a broken DATABASE_URL', () => {
  for (const password of PASSWORDS) {
    it(`is a usage error that never shows the password ${JSON.stringify(password.slice(0, 2))}…`, () => {
      const urls = [
        ...BROKEN.map((f) => f(password)),
        // Unencoded special characters in an otherwise well-formed URL.
        `postgres://app:${password}@127.0.0.1:1/app`,
      ];
      for (const url of urls) {
        const { code, out } = dbmigrate(url);
        // Only '@', '/', '?', '#' and a bare '%' need encoding; such a URL reaches the server.
        const wellFormed = /^[^@/?#%]+$/.test(password) && url.includes('@127.0.0.1:1/');
        expect(code, `${url} → ${out}`).toBe(wellFormed ? 6 : 2);
        if (!wellFormed) expect(out).toMatch(/DATABASE_URL is not a usable database URL: /);
        for (const piece of pieces(password))
          expect(out, `${url} leaked "${piece}"`).not.toContain(piece);
        expect(out).not.toMatch(/internal error|\n\s+at /);
      }
    });
  }
});
