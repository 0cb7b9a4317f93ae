// The private servers dbmigrate starts for restored copies, from the machine's PostgreSQL 15
// binaries: a copy that cannot start says why, from its server's own log.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUser, startRestoredServer } from '../../src/safety/scratch/local-server.js';

const MAJOR = 15;
const BIN = process.env['DBMIGRATE_PG_BINDIR'] ?? `/usr/lib/postgresql/${String(MAJOR)}/bin`;

describe('a restored copy’s private server', () => {
  let parent: string;

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'dbm-local-server-'));
    await chmod(parent, 0o755);
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('that cannot start reports its server log’s reason, not pg_ctl’s "Examine the log output"', async () => {
    const user = await serverUser();
    const directory = join(parent, 'copy');
    await mkdir(directory);
    if (user !== null) await chown(directory, user.uid, user.gid);
    const data = join(directory, 'data');
    execFileSync(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync'], {
      stdio: 'ignore',
      ...(user !== null && { uid: user.uid, gid: user.gid }),
    });
    // A kept copy's log holds an earlier run's lines: not this failure's reason.
    await writeFile(
      join(directory, 'server.log'),
      'LOG:  an earlier run of this copy, with password=hunter2 in a line\n',
    );
    if (user !== null) await chown(join(directory, 'server.log'), user.uid, user.gid);
    // A data directory others may write: the server refuses it in its log, after pg_ctl forked it.
    await chmod(data, 0o777);
    const started = startRestoredServer({ major: MAJOR, directory, keep: true, timeoutMs: 30_000 });
    await expect(started).rejects.toThrow(
      /server log: .*data directory .* has invalid permissions/,
    );
    const message = await started.catch((err: unknown) => (err as Error).message);
    expect(message).not.toContain('earlier run');
    expect(message).not.toContain('hunter2');
  });
});
