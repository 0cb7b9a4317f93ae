// What a person at a terminal sees, under a real pseudo-terminal (util-linux `script`): human
// log lines instead of JSON, a progress line for long work that ends before the result, colour
// unless NO_COLOR; and none of it for scripts (no TTY, --json, DBMIGRATE_LOG_FORMAT=json).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { projectMigrator } from '../helpers/migrations.js';

// A foreground colour escape, as a terminal receives it.
// eslint-disable-next-line no-control-regex
const COLOUR = /\x1b\[3\dm/;
// eslint-disable-next-line no-control-regex
const COLOUR_ANY = /\x1b\[\d+m/g;

describe('output on a terminal', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('tty');
    await db.query(`create table notes (id bigint primary key, body text);
      insert into notes select g, repeat('x', 300) from generate_series(1, 100000) g`);
  });
  afterAll(async () => {
    await db.drop();
  });

  /**
   * `dbmigrate ARGS` on a 100×30 pseudo-terminal; what the terminal received (output capped).
   * A person's terminal: CI (set wherever these tests run in CI) only where a test sets it.
   */
  function onTerminal(
    args: string,
    env: Record<string, string> = {},
  ): { out: string; code: number | null } {
    const node = process.execPath;
    const personal = { ...process.env };
    delete personal['CI'];
    const res = spawnSync(
      'script',
      ['-qec', `stty cols 100 rows 30; '${node}' dist/cli/dbmigrate.js ${args}`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 4 * 1024 * 1024,
        env: { ...personal, DATABASE_URL: db.url, ...env },
      },
    );
    return { out: res.stdout, code: res.status };
  }

  const storage = () => mkdtempSync(join(tmpdir(), 'dbm-tty-'));

  it('shows human log lines and a progress line for a snapshot, finished before the result line', () => {
    const { out, code } = onTerminal(`snapshot create --storage ${storage()}`);
    expect(code).toBe(0);
    expect(out).toMatch(/\[\d\d:\d\d:\d\d\] .*INFO.*: .*snapshot start/);
    expect(out).not.toContain('{"level"');
    expect(out).toMatch(/snapshot: dumping \d+(\.\d)? [KM]iB \(\d/);
    expect(out).toMatch(COLOUR);
    const done = out.lastIndexOf('✔');
    const result = out.lastIndexOf('snapshot dbm_tty_');
    expect(done).toBeGreaterThan(-1);
    expect(done).toBeLessThan(result);
    // Bounded: redrawing never floods the terminal.
    expect(out.length).toBeLessThan(200_000);
  });

  it('shows rows, rate and the end of a backfill', () => {
    const { out, code } = onTerminal(
      `backfill --name tty --table notes --set "body = 'y'" --batch-size 10000 --throttle 0ms`,
    );
    expect(code).toBe(0);
    expect(out).toMatch(/backfill tty: \d+(\.\d)?k rows/);
    expect(out.replace(COLOUR_ANY, '')).toMatch(/✔ backfill tty: 100000 rows/);
  });

  it('shows which migration and statement apply runs, and the phase of an index build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-tty-migrations-'));
    await writeFile(
      join(dir, '0001_slow.sql'),
      `-- migrate:up
create table slow (id int);
insert into slow select g from generate_series(1, 2500) g;
-- A millisecond per row: the index build below lasts long enough to be seen.
create function slow_key(i int) returns int language sql immutable
  as $$ select i from (select pg_sleep(0.001)) s $$;
`,
    );
    await writeFile(
      join(dir, '0002_slow_idx.sql'),
      `-- dbmigrate:transaction=false
-- migrate:up
create index concurrently slow_key_idx on slow (slow_key(id));
`,
    );
    // A database of its own: apply refuses the shared one, which has tables but no history.
    const empty = await createTestDatabase('tty_apply');
    const { out, code } = onTerminal(`apply --migrations ${dir}`, { DATABASE_URL: empty.url });
    await empty.drop();
    expect(code).toBe(0);
    const plain = out.replace(COLOUR_ANY, '');
    expect(plain).toContain('apply 0001 slow: statement 3 of 3');
    expect(plain).toMatch(
      /apply 0002 slow_idx: statement 1 of 1 · CREATE INDEX CONCURRENTLY: building index/,
    );
    expect(plain).toMatch(/✔ apply: 2 applied/);
    expect(plain.lastIndexOf('✔ apply')).toBeLessThan(plain.lastIndexOf('applied 2, failed 0'));
  });

  it('shows apply --safe step by step, each line ending done with what the step found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-tty-safe-'));
    await writeFile(
      join(dir, '0001_items.sql'),
      '-- migrate:up\ncreate table items (id bigint primary key, name text);\n',
    );
    await writeFile(
      join(dir, '0002_note.sql'),
      '-- migrate:up\nalter table items add column note text;\n',
    );
    // The window verdict is not what this test is about: on a loaded machine the ALTER of
    // 0002 can hold its lock past the default 20 ms, and the run would stop for a window.
    const config = join(dir, 'dbmigrate.json');
    await writeFile(config, JSON.stringify({ windowThresholdMs: 5000 }));
    const empty = await createTestDatabase('tty_safe');
    const { out, code } = onTerminal(
      `apply --safe --migrations ${dir} --storage ${storage()} --scratch-on-production`,
      { DATABASE_URL: empty.url, DBMIGRATE_CONFIG: config },
    );
    await empty.drop();
    const plain = out.replace(COLOUR_ANY, '');
    expect(code, plain.slice(-2000)).toBe(0);
    const done = [...plain.matchAll(/✔ ([a-z-]+):/g)].map((m) => m[1]);
    expect(done).toEqual([
      'plan',
      'lint',
      'snapshot',
      'verify-snapshot',
      'dry-run',
      'apply',
      'post-verify',
    ]);
    expect(plain).toMatch(/✔ apply: applied 2/);
  });

  it('shows the dry-run on staging statement by statement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-tty-dry-'));
    await writeFile(
      join(dir, '0001_items.sql'),
      '-- migrate:up\ncreate table items (id int);\nselect pg_sleep(1.5);\n',
    );
    const staging = await createTestDatabase('tty_staging');
    const { out, code } = onTerminal(`dry-run --migrations ${dir} --staging-url '${staging.url}'`);
    await staging.drop();
    const plain = out.replace(COLOUR_ANY, '');
    expect(code, plain.slice(-2000)).toBe(0);
    expect(plain).toContain('dry-run: 0001 items, statement 2 of 2');
    expect(plain).toMatch(/✔ dry-run: 1 migration\(s\) on staging/);
  });

  it('shows rows of the plan, rate and time left while archiving', async () => {
    const docs = await createTestDatabase('tty_archive');
    try {
      expect((await projectMigrator(docs.url).apply()).error).toBeNull();
      await docs.query("insert into document_sources (source_name) values ('wiki')");
      await docs.query(`insert into documents (doc_type, source_name, content, created_at)
        select 'article', 'wiki', 'doc ' || g, now() - g * interval '6 hours'
          from generate_series(1, 3000) g`);
      const { out, code } = onTerminal(
        `archive --older-than '1 year' --batch-size 100 --throttle 150ms`,
        { DATABASE_URL: docs.url },
      );
      const plain = out.replace(COLOUR_ANY, '');
      expect(code, plain.slice(-2000)).toBe(0);
      expect(plain).toMatch(
        /archive: \d+(\.\d)?k? of 1\.5k rows, [\d.]+k? rows\/s, about \d+ s left/,
      );
      expect(plain).toMatch(/✔ archive: \d+ rows moved/);
    } finally {
      await docs.drop();
    }
  });

  it('respects NO_COLOR', () => {
    const { out, code } = onTerminal(`snapshot create --storage ${storage()}`, { NO_COLOR: '1' });
    expect(code).toBe(0);
    expect(out).toMatch(/INFO: snapshot start/);
    expect(out).not.toMatch(COLOUR);
  });

  it('under CI on a pseudo-terminal: human log lines and the result, no redrawn progress line', () => {
    const { out, code } = onTerminal(`snapshot create --storage ${storage()}`, { CI: 'true' });
    expect(code).toBe(0);
    expect(out).toMatch(/INFO.*: .*snapshot start/);
    expect(out).toContain('snapshot dbm_tty_');
    expect(out).not.toContain('snapshot: dumping');
  });

  it('draws nothing and logs JSON for --json and DBMIGRATE_LOG_FORMAT=json', () => {
    const asJson = onTerminal(`snapshot create --json --storage ${storage()}`);
    expect(asJson.code).toBe(0);
    expect(asJson.out).not.toContain('snapshot: dumping');
    const logs = onTerminal(`snapshot create --storage ${storage()}`, {
      DBMIGRATE_LOG_FORMAT: 'json',
    });
    expect(logs.out).toContain('{"level":"info"');
    expect(logs.out).toContain('snapshot: dumping');
    expect(onTerminal('status', { DBMIGRATE_LOG_FORMAT: 'yaml' }).out).toContain(
      'DBMIGRATE_LOG_FORMAT must be json or pretty, not "yaml"',
    );
  });

  it('keeps JSON log lines and no progress when stderr is not a terminal', () => {
    const res = spawnSync(
      process.execPath,
      ['dist/cli/dbmigrate.js', 'snapshot', 'create', '--storage', storage()],
      { encoding: 'utf8', env: { ...process.env, DATABASE_URL: db.url } },
    );
    expect(res.status).toBe(0);
    expect(
      res.stderr
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('{"level"')),
    ).toBe(true);
    expect(res.stderr + res.stdout).not.toContain('snapshot: dumping');
  });
});
