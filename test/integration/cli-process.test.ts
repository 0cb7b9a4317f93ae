import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** The real `dbmigrate` executable, as a shell runs it. */
function run(
  args: readonly string[],
  options: { env?: Record<string, string>; nodeArgs?: readonly string[]; shell?: string } = {},
) {
  const res =
    options.shell !== undefined
      ? spawnSync('bash', ['-c', options.shell], {
          encoding: 'utf8',
          env: {
            ...process.env,
            PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env['PATH'] ?? ''}`,
          },
        })
      : spawnSync(
          process.execPath,
          [...(options.nodeArgs ?? []), 'dist/cli/dbmigrate.js', ...args],
          {
            encoding: 'utf8',
            env: { ...process.env, ...options.env },
          },
        );
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('the dbmigrate executable', () => {
  it('says in one line which Node it needs when started on an older one', () => {
    const older = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.11.1'})`;
    const res = run(['status'], { nodeArgs: ['--import', older] });
    expect(res.code).toBe(1);
    expect(res.err.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^dbmigrate needs Node\.js 24 or newer; this is Node\.js 20\.11\.1\./,
      ) as string,
    ]);
  });

  it('prints its version, and is executable as built', () => {
    const res = run(['--version']);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^dbmigrate \d+\.\d+\.\d+ \(Node\.js 24\./);
    expect(run(['-V']).out).toBe(res.out);
    const direct = run([], { shell: './dist/cli/dbmigrate.js --version' });
    expect(direct.code).toBe(0);
    expect(direct.out).toBe(res.out);
  });

  it('ends quietly when its reader goes away (| head -1)', async () => {
    // Far more output than a pipe holds, so writes continue after head has exited.
    const dir = await mkdtemp(join(tmpdir(), 'dbm-epipe-'));
    for (let i = 1; i <= 600; i++) {
      const id = String(i).padStart(4, '0');
      await writeFile(join(dir, `${id}_drop.sql`), `-- migrate:up\ndrop table t${id};\n`);
    }
    const res = run([], {
      shell: `./dist/cli/dbmigrate.js lint --migrations ${dir} | head -1; echo "rc=\${PIPESTATUS[0]}"`,
    });
    expect(res.err).toBe('');
    expect(res.out.trim().split('\n')).toHaveLength(2);
    expect(res.out).toMatch(/rc=[03]\n$/);
  });

  it('suggests the command a typo meant', () => {
    const res = run(['stauts']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('unknown command "stauts"; did you mean "status"?');
  });

  it('puts errors on stdout as JSON under --json', () => {
    const res = run(['status', '--json'], { env: { DATABASE_URL: 'postgres//app:pw@h/db' } });
    expect(res.code).toBe(2);
    const body = JSON.parse(res.out) as {
      error: { code: string; exitCode: number; message: string };
    };
    expect(body.error).toMatchObject({ code: 'BAD_DATABASE_URL', exitCode: 2 });
    expect(res.out).not.toContain(':pw@');
  });
});
