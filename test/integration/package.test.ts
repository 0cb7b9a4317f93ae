// The npm package as a user gets it: `npm pack` (its prepack builds the library entries), then
// installed into an empty project without dev dependencies, imported by its public entries and
// run as `dbmigrate`, against the real PostgreSQL.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
};
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' };

describe('the npm package', () => {
  let work: string;
  let files: string[];
  let tarball: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'dbm-pack-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      encoding: 'utf8',
      env: npmEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [result] = JSON.parse(out.slice(out.indexOf('['))) as PackResult[];
    if (!result) throw new Error(`npm pack printed no result: ${out}`);
    files = result.files.map((f) => f.path);
    tarball = join(work, result.filename);
  }, 120_000);
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the CLI, the library entries with their types, the CRDs, the migrations and the legal files', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/cli/dbmigrate.js',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/docserver.js',
      'dist/lib/docserver.d.ts',
      'crds/dbops.docserver.io_databasemigrations.yaml',
      'crds/dbops.docserver.io_backupsnapshots.yaml',
      'migrations/0001_docserver_baseline.sql',
    ]) {
      expect(files, needed).toContain(needed);
    }
  });

  it('ships nothing a user does not run: no source maps, benchmarks, tests, TypeScript sources, CLI or operator modules outside the bundle', () => {
    const unwanted = files.filter(
      (f) =>
        f.endsWith('.map') ||
        /^(dist\/)?(bench|test|src)\//.test(f) ||
        /^dist\/lib\/(cli|operator|safety)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        /^(charts|hack|docs|k8s|argocd)\//.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it('says it is Apache-2.0 and carries that licence', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync('LICENSE', 'utf8');
    expect(text).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
  });

  describe('installed into an empty project without dev dependencies', () => {
    let project: string;
    let db: TestDatabase;

    beforeAll(async () => {
      project = join(work, 'app');
      execFileSync('mkdir', ['-p', project]);
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'app', private: true, type: 'module' }),
      );
      execFileSync(
        'npm',
        ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--loglevel=error', tarball],
        { cwd: project, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      db = await createTestDatabase('pkg');
    }, 180_000);
    afterAll(async () => {
      await db.drop();
    });

    it('does not pull in the Kubernetes client (the CLI bundles what the operator needs)', () => {
      expect(Object.keys(pkg.dependencies)).not.toContain('@kubernetes/client-node');
      expect(existsSync(join(project, 'node_modules/@kubernetes/client-node'))).toBe(false);
    });

    it('runs as dbmigrate from node_modules/.bin', () => {
      const res = spawnSync(join(project, 'node_modules/.bin/dbmigrate'), ['--version'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${process.execPath.replace(/\/node$/, '')}:/usr/bin:/bin` },
      });
      expect(res.stderr).toBe('');
      expect(res.stdout.trim()).toMatch(
        new RegExp(`^dbmigrate ${pkg.version.replaceAll('.', '\\.')} \\(Node\\.js 24\\.`),
      );
      expect(res.status).toBe(0);
    });

    it('migrates at start-up from the shipped migrations and serves the doc-server read paths through its own entry', () => {
      const script = `
        import { migrateOnStartup } from 'db-migration-operator';
        import { createPool, listDocuments, listPartitions, countDocuments } from 'db-migration-operator/docserver';
        import { fileURLToPath } from 'node:url';
        import { dirname, join } from 'node:path';
        const root = dirname(fileURLToPath(import.meta.resolve('db-migration-operator/package.json')));
        const { pool, end } = createPool({ connectionString: process.env.DB_URL, max: 2 });
        const summary = await migrateOnStartup(pool, { migrations: join(root, 'migrations') });
        const page = await listDocuments(pool, { docType: 'report' }, 10);
        const partitions = await listPartitions(pool);
        const count = await countDocuments(pool, {});
        await end();
        console.log(JSON.stringify({
          ok: summary.ok, error: summary.error, applied: summary.applied.length,
          rows: page.rows.length, partitions: partitions.length > 0, count,
        }));
      `;
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, DB_URL: db.url, DBMIGRATE_LOG_LEVEL: 'error' },
      });
      expect(res.stderr).toBe('');
      expect(JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
        ok: true,
        error: null,
        applied: 10,
        rows: 0,
        partitions: true,
        count: 0,
      });
    }, 120_000);
  });
});
