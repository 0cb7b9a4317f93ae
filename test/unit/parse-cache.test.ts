import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskParseCache, libpgQueryVersion } from '../../src/engine/parse-cache.js';
import type { Migration } from '../../src/engine/migration.js';

const freshDir = (): string => mkdtempSync(join(tmpdir(), 'dbm-parse-cache-'));

const LONG_NAME = `t_${'x'.repeat(70)}`;

/** Migration texts that exercise every kind of stored result: trees, a syntax error, a scan. */
const TEXTS = [
  {
    file: '0001_base.sql',
    content: '-- migrate:up\ncreate table docs (id bigint primary key, title text);\n',
  },
  {
    file: '0002_index.sql',
    content:
      '-- migrate:up\ncreate index docs_title_idx on docs (title);\nalter table docs add column n int default random();\n',
  },
  {
    file: '0003_typo.sql',
    content: '-- migrate:up\nselect 1;\nalter tabel docs add column x text;\nselect 2;\n',
  },
  {
    file: '0004_long.sql',
    content: `-- migrate:up\ncreate table ${LONG_NAME} (id bigint);\nselect 1;\n`,
  },
];

/**
 * A fresh copy of the parser, loader and linter modules: the parser is loaded once per process
 * (per module instance), and these tests are about whether it gets loaded at all.
 */
async function freshLint(cache: DiskParseCache | undefined) {
  vi.resetModules();
  const parser = await import('../../src/engine/sql-parser.js');
  const { InlineMigrationSource } = await import('../../src/engine/source.js');
  const { lintMigrations } = await import('../../src/safety/lint/linter.js');
  let loads = 0;
  parser.configureSqlParser({ cache, beforeLoad: () => loads++ });
  const migrations: Migration[] = await new InlineMigrationSource(TEXTS).load();
  const findings = await lintMigrations(migrations, { defaultStatementTimeoutMs: 60_000 });
  return { findings, migrations, loads };
}

afterEach(() => {
  vi.resetModules();
});

describe('stored parse results (the CLI parse cache)', () => {
  it('lets a second lint of unchanged files run without loading the parser, with the same findings', async () => {
    const cache = new DiskParseCache(freshDir());
    const cold = await freshLint(cache);
    expect(cold.loads).toBe(1);
    // The syntax error, the volatile default and the long identifier all make findings.
    const ids = cold.findings.map((f) => f.ruleId);
    expect(ids).toContain('syntax-error');
    expect(ids).toContain('identifier-too-long');
    expect(ids).toContain('require-concurrent-index-creation');
    expect(readdirSync(cache.directory).some((n) => n.startsWith('scan-'))).toBe(true);

    const warm = await freshLint(cache);
    expect(warm.loads).toBe(0);
    expect(warm.findings).toEqual(cold.findings);
    expect(warm.migrations.map((m) => m.up.statements)).toEqual(
      cold.migrations.map((m) => m.up.statements),
    );
  });

  it('loads the parser and still finds everything when one stored result is missing', async () => {
    const cache = new DiskParseCache(freshDir());
    const cold = await freshLint(cache);
    // Only the scan of the long CREATE TABLE is gone: the rest would be answered from disk.
    for (const name of readdirSync(cache.directory))
      if (name.startsWith('scan-')) writeFileSync(join(cache.directory, name), '');
    const warm = await freshLint(cache);
    expect(warm.loads).toBe(1);
    expect(warm.findings).toEqual(cold.findings);
  });

  it('treats a damaged or foreign entry as a miss, never as a result', async () => {
    const cache = new DiskParseCache(freshDir());
    const cold = await freshLint(cache);
    const names = readdirSync(cache.directory);
    const [first, second, third] = names;
    if (first === undefined || second === undefined || third === undefined)
      throw new Error('expected stored entries');
    writeFileSync(join(cache.directory, first), '{"kind":"parse","text":'); // cut short
    const other = JSON.parse(readFileSync(join(cache.directory, second), 'utf8')) as {
      text: string;
    };
    // Another text's entry under this name (a hash collision) must not answer for it.
    writeFileSync(
      join(cache.directory, second),
      JSON.stringify({ ...other, text: `${other.text} ` }),
    );
    writeFileSync(
      join(cache.directory, third),
      JSON.stringify({ kind: 'parse', text: 'x', value: { tree: 'not a tree' } }),
    );
    const warm = await freshLint(cache);
    expect(warm.loads).toBe(1);
    expect(warm.findings).toEqual(cold.findings);
  });

  it('stores a syntax error with its position, and gives it back the same way', () => {
    const cache = new DiskParseCache(freshDir());
    cache.write('parse', 'alter tabel t', { error: 'syntax error at or near "tabel"', cursor: 6 });
    expect(cache.read('parse', 'alter tabel t')).toEqual({
      error: 'syntax error at or near "tabel"',
      cursor: 6,
    });
    expect(cache.read('scan', 'alter tabel t')).toBeUndefined();
    expect(cache.read('parse', 'alter tabel t;')).toBeUndefined();
  });

  it('costs speed, not a failure, when its directory cannot be written', () => {
    const dir = freshDir();
    // A file where the directory should be fails for anyone, root included.
    writeFileSync(join(dir, 'file'), '');
    const blocked = new DiskParseCache(join(dir, 'file', 'sub'));
    expect(() => {
      blocked.write('parse', 'select 1', { tree: { version: 1, stmts: [] } });
    }).not.toThrow();
    expect(blocked.read('parse', 'select 1')).toBeUndefined();
  });

  it('is kept per parser version, where the environment says, and can be turned off', () => {
    const home = { HOME: '/home/u' };
    expect(DiskParseCache.fromEnv({ ...home, XDG_CACHE_HOME: '/xdg' }, '18.1.5')?.directory).toBe(
      '/xdg/dbmigrate/parse-libpg-query-18.1.5',
    );
    expect(
      DiskParseCache.fromEnv({ ...home, DBMIGRATE_CACHE_DIR: '/c', XDG_CACHE_HOME: '/xdg' }, '1')
        ?.directory,
    ).toBe('/c/parse-libpg-query-1');
    expect(DiskParseCache.fromEnv({ DBMIGRATE_NO_CACHE: '1' }, '18.1.5')).toBeUndefined();
    expect(DiskParseCache.fromEnv({ DBMIGRATE_NO_CACHE: '0', XDG_CACHE_HOME: '/x' }, '1')).toEqual(
      expect.objectContaining({ directory: '/x/dbmigrate/parse-libpg-query-1' }),
    );
    expect(DiskParseCache.fromEnv({}, undefined)).toBeUndefined();
    expect(libpgQueryVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
