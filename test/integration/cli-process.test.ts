import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';

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

  it('names a kubeconfig the operator cannot use, in one line without a stack trace (exit 2)', () => {
    const res = run(['operator', '--kubeconfig', '/nonexistent/kubeconfig', '--http-addr', 'off']);
    expect(res.err.trim().split('\n')).toEqual([
      'dbmigrate operator: error [USAGE]: kubeconfig /nonexistent/kubeconfig does not exist',
    ]);
    expect(res.code).toBe(2);
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

  it('on Ctrl-C cancels the statement in progress, releases its lock and exits 4 with one line', async () => {
    const db = await createTestDatabase('sigint');
    try {
      const dir = await mkdtemp(join(tmpdir(), 'dbm-sigint-'));
      await writeFile(
        join(dir, '0001_slow.sql'),
        '-- migrate:up\ncreate table slow (id int);\nselect pg_sleep(60);\n',
      );
      const child = spawn(process.execPath, ['dist/cli/dbmigrate.js', 'apply'], {
        env: { ...process.env, DATABASE_URL: db.url, DBMIGRATE_MIGRATIONS: dir },
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      for (let i = 0; i < 200; i++) {
        const res = await db.query(
          "select 1 from pg_stat_activity where datname = current_database() and query like '%pg_sleep(60)%' and pid <> pg_backend_pid()",
        );
        if ((res.rowCount ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const sent = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      expect(code).toBe(4);
      expect(Date.now() - sent).toBeLessThan(10_000);
      expect(err).toMatch(
        /dbmigrate apply: error \[RUN_STOPPED\]: run stopped in migration 0001: interrupted \(SIGINT\); the statement in progress was cancelled/,
      );
      expect(err).not.toMatch(/\n\s+at /);
      // Nothing of it stays: the statement is gone from the server, its lock released, its table rolled back.
      const busy = await db.query(
        "select 1 from pg_stat_activity where datname = current_database() and query like '%pg_sleep(60)%' and pid <> pg_backend_pid()",
      );
      expect(busy.rowCount).toBe(0);
      expect(
        (
          await db.query(
            "select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
          )
        ).rowCount,
      ).toBe(0);
      expect((await db.query("select to_regclass('slow') is null as gone")).rows).toEqual([
        { gone: true },
      ]);
    } finally {
      await db.drop();
    }
  });

  it('lints unchanged files a second time from its parse cache, without loading the parser', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'dbm-lint-cache-'));
    // Records, at exit, whether libpg-query (the WASM parser) was loaded in this process.
    const probe = join(cache, 'probe.cjs');
    await writeFile(
      probe,
      `process.on('exit', () => process.stderr.write('parser loaded: ' + Object.keys(require.cache).some((k) => k.includes('libpg-query')) + '\\n'));`,
    );
    const lint = (env: Record<string, string>) =>
      run(['lint', '--migrations', 'migrations'], {
        env,
        nodeArgs: ['--require', probe],
      });
    const dir = join(cache, 'store');
    const cold = lint({ DBMIGRATE_CACHE_DIR: dir });
    expect(cold.err).toContain('parser loaded: true');
    const warm = lint({ DBMIGRATE_CACHE_DIR: dir });
    expect(warm.err).toContain('parser loaded: false');
    expect(warm.code).toBe(cold.code);
    expect(warm.out).toBe(cold.out);
    expect(warm.out).toMatch(/10 migrations/);
    // Turned off, it neither reads nor writes the store.
    const off = lint({ DBMIGRATE_CACHE_DIR: join(cache, 'unused'), DBMIGRATE_NO_CACHE: '1' });
    expect(off.err).toContain('parser loaded: true');
    expect(off.out).toBe(cold.out);
    await expect(readdir(join(cache, 'unused'))).rejects.toThrow(/ENOENT/);
  });

  it('loads only what status needs: no pino while nothing is logged, no fs/promises or worker_threads', async () => {
    const db = await createTestDatabase('cli_modules');
    try {
      const dir = await mkdtemp(join(tmpdir(), 'dbm-modules-'));
      const probe = join(dir, 'probe.cjs');
      // At exit: whether pino was required, and which of Node's own modules were loaded.
      await writeFile(
        probe,
        `process.on('exit', () => process.stderr.write('loaded: ' + JSON.stringify({
           pino: Object.keys(require.cache).some((k) => /node_modules[\\/]pino[\\/]/.test(k)),
           builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)),
         }) + '\\n'));`,
      );
      const loaded = (args: readonly string[]) => {
        const res = run(args, { env: { DATABASE_URL: db.url }, nodeArgs: ['--require', probe] });
        const line = res.err.split('\n').find((l) => l.startsWith('loaded: ')) ?? 'loaded: {}';
        return {
          ...res,
          modules: JSON.parse(line.slice(8)) as { pino?: boolean; builtins?: string[] },
        };
      };
      const status = loaded(['status', '--migrations', 'migrations']);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/0 applied, 10 pending/);
      expect(status.modules.pino).toBe(false);
      expect(status.modules.builtins).toEqual(expect.arrayContaining(['net', 'crypto']));
      for (const unneeded of ['worker_threads', 'internal/fs/promises', 'assert', 'readline'])
        expect(status.modules.builtins).not.toContain(unneeded);
      // A command that logs loads it then, and writes its line.
      const apply = loaded(['apply', '--migrations', 'migrations', '--target', '0001']);
      expect(apply.code).toBe(0);
      expect(apply.modules.pino).toBe(true);
      expect(apply.err).toMatch(/"msg":"apply finished"/);
    } finally {
      await db.drop();
    }
  });
});
