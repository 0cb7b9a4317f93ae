import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DirectoryMigrationSource,
  firstInvalidUtf8,
  InlineMigrationSource,
} from '../../src/engine/source.js';

async function dir(files: Record<string, string | Buffer>): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dbm-source-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(d, name), content);
  return d;
}

describe('reading migration files', () => {
  it('refuses bytes that are not UTF-8, naming the file and the line', async () => {
    const d = await dir({
      '0001_a.sql': Buffer.concat([
        Buffer.from("-- migrate:up\ninsert into t values ('caf"),
        Buffer.from([0xe9]), // latin-1 é
        Buffer.from("');\n"),
      ]),
    });
    await expect(new DirectoryMigrationSource(d).load()).rejects.toThrow(
      /0001_a\.sql:2: byte 0xe9 at offset \d+ is not valid UTF-8; save the file as UTF-8$/,
    );
  });

  it('reads UTF-8 text as it is', async () => {
    const d = await dir({ '0001_a.sql': "-- migrate:up\ninsert into t values ('café ✓ 😀');\n" });
    const [m] = await new DirectoryMigrationSource(d).load();
    expect(m?.up.sql).toContain('café ✓ 😀');
  });

  it('reads a genuine U+FFFD as text, and still refuses an invalid byte after one', async () => {
    const good = await dir({ '0001_a.sql': "-- migrate:up\ninsert into t values ('\uFFFD');\n" });
    const [m] = await new DirectoryMigrationSource(good).load();
    expect(m?.up.sql).toContain("'\uFFFD'");
    const bad = await dir({
      '0001_a.sql': Buffer.concat([
        Buffer.from("-- migrate:up\n-- \uFFFD\n\ninsert into t values ('"),
        Buffer.from([0xff]),
        Buffer.from("');\n"),
      ]),
    });
    await expect(new DirectoryMigrationSource(bad).load()).rejects.toThrow(
      /0001_a\.sql:4: byte 0xff at offset \d+ is not valid UTF-8/,
    );
  });

  it.each(['0002_b.SQL', '0003-c.sql', '0004_d.sql.txt', '5_e.Sql'])(
    'refuses %s, which looks like a migration but misses the pattern',
    async (name) => {
      const d = await dir({
        '0001_a.sql': '-- migrate:up\nselect 1;\n',
        [name]: '-- migrate:up\nselect 2;\n',
      });
      await expect(new DirectoryMigrationSource(d).load()).rejects.toThrow(
        `${join(d, name)}:1: file name must look like NNNN_name.sql`,
      );
    },
  );

  it('leaves files that are not migrations alone', async () => {
    const d = await dir({
      '0001_a.sql': '-- migrate:up\nselect 1;\n',
      'README.md': '# notes',
      '.gitkeep': '',
      // An editor's swap and backup files, while 0001_a.sql is being edited.
      '.0001_a.sql.swp': 'binary',
      '0001_a.sql~': '-- migrate:up\nselect 0;\n',
      '0001_a.sql.bak': '-- migrate:up\nselect 0;\n',
      '.0002_hidden.sql': '-- migrate:up\nselect 0;\n',
    });
    expect((await new DirectoryMigrationSource(d).load()).map((m) => m.id)).toEqual(['0001']);
  });

  it('applies the same rule to ConfigMap keys', async () => {
    await expect(
      new InlineMigrationSource([
        { file: '0002_b.SQL', content: '-- migrate:up\nselect 1;' },
      ]).load(),
    ).rejects.toThrow('0002_b.SQL:1: file name must look like NNNN_name.sql');
  });

  it('finds the first invalid UTF-8 sequence: stray continuation, overlong, surrogate, truncated', () => {
    const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
    expect(at(0x61, 0xc3, 0xa9, 0x62)).toBe(-1);
    expect(at(0x61, 0x80)).toBe(1);
    expect(at(0xc0, 0xaf)).toBe(0);
    expect(at(0xe0, 0x80, 0xaf)).toBe(0);
    expect(at(0xed, 0xa0, 0x80)).toBe(0);
    expect(at(0x61, 0xe2, 0x82)).toBe(1);
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(0);
    expect(at(0xf0, 0x9f, 0x98, 0x80)).toBe(-1);
  });
});
