import { isUtf8 } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationParseError, MigrationSourceError } from './errors.js';
import type { Migration } from './migration.js';
import { isMigrationFileName, parseMigrationFile } from './migration-file.js';
import { withStatementSplitter } from './statement-splitter.js';

/** Where migration SQL comes from; the engine never knows whether it was a directory or a ConfigMap. */
export interface MigrationSource {
  /** For messages: `directory migrations/`, `ConfigMap ns/name`. */
  readonly description: string;
  load(): Promise<Migration[]>;
}

export interface MigrationText {
  /** A file name `NNNN_name.sql`, shown in errors (optionally with a prefix such as a path). */
  readonly file: string;
  readonly content: string;
}

/** Migrations from in-memory texts (a ConfigMap's data, inline SQL in a custom resource, tests). */
export class InlineMigrationSource implements MigrationSource {
  constructor(
    private readonly texts: readonly MigrationText[],
    readonly description = 'inline migrations',
  ) {}

  load(): Promise<Migration[]> {
    return parseMigrationTexts(
      this.texts.filter((t) => looksLikeMigration(t.file.split('/').pop() ?? t.file)),
    );
  }
}

/** Parses texts in the order given, with one splitter for all of them. */
export async function parseMigrationTexts(texts: readonly MigrationText[]): Promise<Migration[]> {
  return withStatementSplitter(
    texts.map((t) => t.content),
    (splitter) => texts.map((t) => parseMigrationFile(t.file, t.content, splitter)),
  );
}

/**
 * Whether a file is meant as a migration: any `.sql` in any case (`0002_b.SQL`), or a name
 * that starts like one (`0003_c.sql.txt`, `0004-d.sql`). Those that miss the exact
 * `NNNN_name.sql` pattern are refused by name; other files (README.md, .gitkeep) are not ours,
 * and neither are an editor's hidden, swap and backup files (`.0003_c.sql.swp`, `0003_c.sql~`,
 * `0003_c.sql.bak`), which would otherwise block every command while the file is open.
 */
export function looksLikeMigration(baseName: string): boolean {
  if (baseName.startsWith('.') || /(~|\.(swp|swo|swx|bak|orig|rej|tmp))$/i.test(baseName))
    return false;
  return /\.sql$/i.test(baseName) || /^\d+[_-]/.test(baseName);
}

/** Byte offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const n =
      b < 0x80
        ? 0
        : b >= 0xc2 && b <= 0xdf
          ? 1
          : b >= 0xe0 && b <= 0xef
            ? 2
            : b >= 0xf0 && b <= 0xf4
              ? 3
              : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    // Overlong 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF.
    const c1 = bytes[i + 1] ?? 0;
    if (
      (b === 0xe0 && c1 < 0xa0) ||
      (b === 0xed && c1 >= 0xa0) ||
      (b === 0xf0 && c1 < 0x90) ||
      (b === 0xf4 && c1 >= 0x90)
    )
      return i;
    i += n + 1;
  }
  return -1;
}

/**
 * The file's text; bytes that are not UTF-8 are refused with the file and line, never turned
 * into U+FFFD and applied.
 */
export function decodeUtf8(file: string, bytes: Buffer): string {
  // Node's native check first: the byte-by-byte scan below only has to find where.
  const bad = isUtf8(bytes) ? -1 : firstInvalidUtf8(bytes);
  if (bad !== -1) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a) line++;
    throw new MigrationParseError(
      file,
      line,
      `byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at offset ${String(bad)} is not valid UTF-8; save the file as UTF-8`,
    );
  }
  return bytes.toString('utf8');
}

/**
 * A file's text through Node's native UTF-8 read, which is twice as fast as reading bytes and
 * decoding them. That read turns invalid bytes into U+FFFD, so a text holding one is read
 * again as bytes: decodeUtf8 refuses it with its line, or lets a genuine U+FFFD through.
 */
export function readUtf8File(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.includes('\uFFFD') ? decodeUtf8(path, readFileSync(path)) : text;
}

/**
 * `NNNN_name.sql` files of one directory. Other `.sql` files are an error rather than silently
 * ignored: a typo in a file name must not drop a migration from the plan.
 */
export class DirectoryMigrationSource implements MigrationSource {
  readonly description: string;

  constructor(private readonly directory: string) {
    this.description = `directory ${directory}`;
  }

  load(): Promise<Migration[]> {
    let texts: MigrationText[];
    try {
      texts = this.readTexts();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return parseMigrationTexts(texts);
  }

  /**
   * The files' texts, in name order, for a caller that needs them beside the migrations (lint
   * quotes lines). Synchronous reads on purpose: a thousand small files read one promise at a
   * time spend most of `dbmigrate status` waiting on the thread pool; sync reads take a few ms.
   */
  readTexts(): MigrationText[] {
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (err) {
      throw new MigrationSourceError(
        `cannot read migrations directory ${this.directory}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return names
      .filter(looksLikeMigration)
      .sort()
      .map((name) => {
        const path = join(this.directory, name);
        // A file that looks like a migration but misses the pattern is an error (the parser
        // names it), never silently skipped.
        return { file: path, content: isMigrationFileName(name) ? readUtf8File(path) : '' };
      });
  }
}

/**
 * Migrations loaded once and pinned: every step of a run (dry-run, apply) sees the same IDs
 * and checksums even if the files change underneath it.
 */
export class PinnedMigrationSource implements MigrationSource {
  constructor(
    private readonly migrations: readonly Migration[],
    readonly description: string,
  ) {}

  static async pin(source: MigrationSource): Promise<PinnedMigrationSource> {
    return new PinnedMigrationSource(await source.load(), `${source.description} (pinned)`);
  }

  load(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations]);
  }
}
