import { describe, expect, it } from 'vitest';
import { restoreDirectory } from '../../src/operator/pgbackrest-target.js';

const spec = { stanza: 'main', backupType: 'incr' as const, restorePath: '/restores' };

describe('restore folders of the operator', () => {
  it('gives each namespace and stanza one verification folder', () => {
    const a = restoreDirectory(spec, 'team-a', { verify: true });
    expect(a).toMatch(/^\/restores\/main-verify-[0-9a-f]{10}$/);
    expect(restoreDirectory(spec, 'team-a', { verify: true })).toBe(a);
    expect(restoreDirectory(spec, 'team-b', { verify: true })).not.toBe(a);
  });

  it('keeps two databases apart whatever their names, and names the database for people', () => {
    const staging = (ns: string, url: string) => restoreDirectory(spec, ns, { stagingFor: url });
    const app = staging('team-a', 'postgres://u:pw@db-1:5432/app');
    expect(app).toMatch(/^\/restores\/main-app-staging-[0-9a-f]{10}$/);
    // The same database through another user or password is the same copy.
    expect(staging('team-a', 'postgres://other@db-1/app')).toBe(app);
    // Another cluster's database of the same name, or another namespace, is not.
    expect(staging('team-a', 'postgres://u@db-2:5432/app')).not.toBe(app);
    expect(staging('team-b', 'postgres://u@db-1:5432/app')).not.toBe(app);
    // Names that read alike once made safe for a path stay apart.
    expect(staging('team-a', 'postgres://u@db-1/my%20db')).not.toBe(
      staging('team-a', 'postgres://u@db-1/my_db'),
    );
    expect(app).not.toContain('pw');
  });
});
