import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandIo } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

let dir: string;
let out: string[];
/** No DATABASE_URL: lint must not need a database. */
const io = (): CommandIo => ({ stdout: (t) => out.push(t), env: {} });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbmigrate-lint-'));
  out = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const BASELINE = [
  '-- migrate:up',
  'create table docs (id bigint generated always as identity primary key, body text);',
  'create index docs_body_idx on docs (body);',
  '',
].join('\n');

describe('dbmigrate lint', () => {
  it('exits 0 when nothing is wrong, without a database', async () => {
    await writeFile(join(dir, '0001_baseline.sql'), BASELINE);
    expect(await main(['lint', '--migrations', dir], io())).toBe(0);
    expect(out.join('\n')).toContain('ok: 1 migration linted, no findings');
  });

  it('exits 3 with file:line findings and help when a migration is unsafe', async () => {
    await writeFile(join(dir, '0001_baseline.sql'), BASELINE);
    await writeFile(
      join(dir, '0002_index.sql'),
      ['-- migrate:up', '', 'create index docs_id_idx', '  on docs (id);', ''].join('\n'),
    );
    expect(await main(['lint', '--migrations', dir], io())).toBe(3);
    const text = out.join('\n');
    expect(text).toContain(
      `${join(dir, '0002_index.sql')}:3:1: error require-concurrent-index-creation: CREATE INDEX docs_id_idx on existing table docs`,
    );
    expect(text).toContain(
      '\n  3 | create index docs_id_idx\n    | ^\n  help: Use CREATE INDEX CONCURRENTLY',
    );
    expect(text).toContain('failed: 2 migrations linted, 1 error, 1 warning');
  });

  it('warns when a write-blocking statement runs without statement_timeout, unless --statement-timeout gives the runner one', async () => {
    await writeFile(
      join(dir, '0001_x.sql'),
      '-- migrate:up\nalter table docs add column note text;\n',
    );
    expect(await main(['lint', '--migrations', dir], io())).toBe(0);
    expect(out.join('\n')).toContain(
      `${join(dir, '0001_x.sql')}:2:1: warning require-statement-timeout: takes ACCESS EXCLUSIVE on docs with statement_timeout 0`,
    );
    out = [];
    expect(await main(['lint', '--migrations', dir, '--statement-timeout', '5min'], io())).toBe(0);
    expect(out.join('\n')).toContain('ok: 1 migration linted, no findings');
  });

  it('prints JSON with --json', async () => {
    await writeFile(join(dir, '0001_x.sql'), '-- migrate:up\ndrop table docs;\n');
    expect(
      await main(['lint', '--migrations', dir, '--json', '--statement-timeout', '1min'], io()),
    ).toBe(3);
    const report = JSON.parse(out.join('\n')) as {
      ok: boolean;
      errors: number;
      findings: { ruleId: string; line: number }[];
    };
    expect(report.ok).toBe(false);
    expect(report.errors).toBe(1);
    expect(report.findings.map((f) => [f.ruleId, f.line])).toEqual([['ban-drop-table', 2]]);
  });

  it('warnings pass unless --warnings-as-errors', async () => {
    await writeFile(
      join(dir, '0001_x.sql'),
      '-- migrate:up\ncreate table t (id serial8 primary key);\n',
    );
    expect(await main(['lint', '--migrations', dir], io())).toBe(0);
    expect(out.join('\n')).toContain('warning prefer-identity');
    expect(await main(['lint', '--migrations', dir, '--warnings-as-errors'], io())).toBe(3);
  });

  it('runs an opt-in rule with --include', async () => {
    await writeFile(join(dir, '0001_x.sql'), '-- migrate:up\ncreate table docs (id bigint);\n');
    expect(await main(['lint', '--migrations', dir], io())).toBe(0);
    expect(out.join('\n')).toContain('no findings');
    out = [];
    expect(
      await main(['lint', '--migrations', dir, '--include', 'require-table-schema'], io()),
    ).toBe(0);
    expect(out.join('\n')).toContain(
      'warning require-table-schema: CREATE TABLE docs names no schema',
    );
  });

  it('honours a header ignore-file comment', async () => {
    await writeFile(
      join(dir, '0001_x.sql'),
      '-- dbmigrate-lint: ignore-file ban-drop-table retired in v9\n-- migrate:up\ndrop table docs;\n',
    );
    expect(await main(['lint', '--migrations', dir], io())).toBe(0);
  });

  it('exits 2 on a usage error and 3 on a file that is not a migration', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['lint', '--migrations', dir, '--no-such-flag'], io())).toBe(2);
    expect(await main(['lint', '--migrations', dir, '--lock-timeout', 'soon'], io())).toBe(2);
    expect(await main(['lint', '--migrations', dir, '--statement-timeout', 'later'], io())).toBe(2);
    expect(
      await main(['lint', '--migrations', dir, '--include', 'require-tabel-schema'], io()),
    ).toBe(2);
    await writeFile(join(dir, '0001_x.sql'), 'create table t (id bigint);\n');
    expect(await main(['lint', '--migrations', dir], io())).toBe(3);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('migrate:up');
  });

  it('--format json prints what --json prints', async () => {
    await writeFile(join(dir, '0001_x.sql'), '-- migrate:up\ndrop table docs;\n');
    expect(await main(['lint', '--migrations', dir, '--json'], io())).toBe(3);
    const json = out.join('\n');
    out = [];
    expect(await main(['lint', '--migrations', dir, '--format', 'json'], io())).toBe(3);
    expect(out.join('\n')).toBe(json);
  });

  it('prints SARIF 2.1.0 with --format sarif', async () => {
    await writeFile(join(dir, '0001_x.sql'), '-- migrate:up\ndrop table docs;\n');
    const args = ['lint', '--migrations', dir, '--format', 'sarif', '--statement-timeout', '1min'];
    expect(await main(args, io())).toBe(3);
    const log = JSON.parse(out.join('\n')) as {
      $schema: string;
      version: string;
      runs: {
        tool: {
          driver: {
            name: string;
            version: string;
            informationUri: string;
            rules: { id: string; defaultConfiguration: { level: string } }[];
          };
        };
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: {
            physicalLocation: {
              artifactLocation: { uri: string };
              region: { startLine: number; startColumn: number };
            };
          }[];
        }[];
      }[];
    };
    expect(log.$schema).toMatch(/sarif-schema-2\.1\.0\.json$/);
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const [run] = log.runs;
    expect(run?.tool.driver).toMatchObject({ name: 'dbmigrate', version: '0.1.0' });
    expect(run?.tool.driver.informationUri).toMatch(/^https:\/\/.*docs\/lint\.md$/);
    expect(run?.tool.driver.rules.find((r) => r.id === 'ban-drop-table')).toMatchObject({
      defaultConfiguration: { level: 'error' },
    });
    expect(run?.results).toEqual([
      {
        ruleId: 'ban-drop-table',
        ruleIndex: run?.tool.driver.rules.findIndex((r) => r.id === 'ban-drop-table'),
        level: 'error',
        message: { text: expect.stringContaining('DROP TABLE docs') as string },
        locations: [
          {
            physicalLocation: {
              // Outside the working directory (the checkout): an absolute file: URI.
              artifactLocation: { uri: pathToFileURL(join(dir, '0001_x.sql')).href },
              region: { startLine: 2, startColumn: 1 },
            },
          },
        ],
      },
    ]);
  });

  it('refuses an unknown --format with a usage error naming the formats', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await writeFile(join(dir, '0001_baseline.sql'), BASELINE);
    expect(await main(['lint', '--migrations', dir, '--format', 'xml'], io())).toBe(2);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
      '--format: "xml" is not an output format; use human, json, sarif, github, gcc',
    );
    expect(await main(['lint', '--migrations', dir, '--json', '--format', 'gcc'], io())).toBe(2);
  });

  describe('--pg-version', () => {
    const json = (): { pgVersion?: unknown; runs?: { properties?: unknown }[] } =>
      JSON.parse(out.join('')) as { pgVersion?: unknown; runs?: { properties?: unknown }[] };
    const CONSTANT_DEFAULT = "-- migrate:up\nalter table docs add column lang text default 'en';\n";

    it('judges for the version given, and says which and from where', async () => {
      await writeFile(join(dir, '0001_lang.sql'), CONSTANT_DEFAULT);
      expect(await main(['lint', '--migrations', dir, '--statement-timeout', '1min'], io())).toBe(
        0,
      );
      expect(out.join('\n')).toContain(
        'judged for PostgreSQL 18 (the newest the parser knows; --pg-version or --database-url sets it)',
      );
      out = [];
      const args = ['lint', '--migrations', dir, '--statement-timeout', '1min'];
      expect(await main([...args, '--pg-version', '10.23'], io())).toBe(3);
      const text = out.join('\n');
      expect(text).toContain(
        'error adding-field-with-volatile-default: ADD COLUMN lang on existing table docs: before PostgreSQL 11 a DEFAULT, even a constant one, is written into every existing row (linted for PostgreSQL 10)',
      );
      expect(text).toContain('judged for PostgreSQL 10 (--pg-version)');
      out = [];
      expect(await main([...args, '--pg-version', '11', '--json'], io())).toBe(0);
      expect(json().pgVersion).toEqual({ major: 11, source: 'flag' });
      out = [];
      expect(await main([...args, '--pg-version', '10', '--format', 'sarif'], io())).toBe(3);
      expect(json().runs?.[0]?.properties).toEqual({
        pgVersion: 10,
        pgVersionSource: 'flag',
      });
    });

    it('beats lint.pgVersion in dbmigrate.json, which applies without it', async () => {
      await writeFile(join(dir, '0001_lang.sql'), CONSTANT_DEFAULT);
      const file = join(dir, 'dbmigrate.json');
      await writeFile(file, JSON.stringify({ lint: { pgVersion: 10 } }));
      const args = ['lint', '--migrations', dir, '--config', file, '--statement-timeout', '1m'];
      expect(await main([...args, '--json'], io())).toBe(3);
      expect(json().pgVersion).toEqual({ major: 10, source: 'config' });
      out = [];
      expect(await main([...args, '--json', '--pg-version', '15'], io())).toBe(0);
      expect(json().pgVersion).toEqual({ major: 15, source: 'flag' });
    });

    it('refuses a version outside 10 to 18 with a usage error naming the flag and the range', async () => {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      await writeFile(join(dir, '0001_baseline.sql'), BASELINE);
      for (const bad of ['9.6', '19', 'latest'])
        expect(await main(['lint', '--migrations', dir, '--pg-version', bad], io()), bad).toBe(2);
      const err = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(err).toContain(
        '--pg-version: "9.6" is older than the versions the lint rules know; give a major version from 10 to 18 (e.g. 15 or 15.4)',
      );
      expect(err).toContain('--pg-version: "latest" is not a PostgreSQL version');
    });
  });

  describe('with lint.rules in dbmigrate.json', () => {
    const config = async (lint: unknown): Promise<string> => {
      const file = join(dir, 'dbmigrate.json');
      await writeFile(file, JSON.stringify({ lint }));
      return file;
    };

    it('switches rules off, lowers and raises severities, and turns an opt-in rule on', async () => {
      await writeFile(
        join(dir, '0001_x.sql'),
        '-- migrate:up\ncreate table docs (id serial primary key, n integer);\n',
      );
      await writeFile(join(dir, '0002_y.sql'), '-- migrate:up\nalter table docs drop column n;\n');
      const lint = ['lint', '--migrations', dir, '--statement-timeout', '1min'];
      expect(await main(lint, io())).toBe(3);
      expect(out.join('\n')).toContain('error ban-drop-column');
      expect(out.join('\n')).toContain('warning prefer-bigint');

      out = [];
      const file = await config({
        rules: {
          'prefer-bigint': 'off',
          'ban-drop-column': 'warning',
          'prefer-identity': 'error',
          'require-table-schema': 'warning',
        },
      });
      expect(await main([...lint, '--config', file], io())).toBe(3);
      const text = out.join('\n');
      expect(text).not.toContain('prefer-bigint');
      expect(text).toContain('warning ban-drop-column');
      expect(text).toContain('error prefer-identity');
      expect(text).toContain('warning require-table-schema: CREATE TABLE docs names no schema');
      expect(text).toContain('failed: 2 migrations linted, 1 error, 3 warnings');
    });

    it('accepts the former ID prefer-bigint-primary-key and the plain policy string', async () => {
      await writeFile(join(dir, '0001_x.sql'), '-- migrate:up\ncreate table t (id int);\n');
      const lint = ['lint', '--migrations', dir, '--warnings-as-errors'];
      expect(await main([...lint, '--config', await config('warn')], io())).toBe(3);
      const file = await config({ policy: 'warn', rules: { 'prefer-bigint-primary-key': 'off' } });
      expect(await main([...lint, '--config', file], io())).toBe(0);
    });

    it('refuses an unknown rule, naming the file, the field and the rule meant', async () => {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      await writeFile(join(dir, '0001_baseline.sql'), BASELINE);
      const file = await config({ rules: { 'prefer-bigin': 'off' } });
      expect(await main(['lint', '--migrations', dir, '--config', file], io())).toBe(3);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
        `${file}: lint.rules.prefer-bigin: unknown lint rule "prefer-bigin"; did you mean "prefer-bigint"?`,
      );
    });
  });
});
