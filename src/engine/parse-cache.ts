import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseResult, ScanToken } from 'libpg-query';

/** What a parse of one text gave: its tree, or PostgreSQL's syntax error and where. */
export type StoredParse =
  { readonly tree: ParseResult } | { readonly error: string; readonly cursor: number };

export interface StoredScan {
  readonly tokens: readonly ScanToken[];
}

interface Stored {
  parse: StoredParse;
  scan: StoredScan;
}

/** Parse and scan results by exact text, for a parser version. */
export interface ParseCache {
  read<K extends keyof Stored>(kind: K, text: string): Stored[K] | undefined;
  write<K extends keyof Stored>(kind: K, text: string, value: Stored[K]): void;
}

/** Entries kept before the oldest are removed; a project's migrations need a few per file. */
const MAX_ENTRIES = 20_000;

/**
 * Results on disk, one file per text, named by the kind and a hash of the exact text, in a
 * directory per parser version: a text parses the same way for as long as the parser does not
 * change, so an entry never goes stale. The text itself is stored too and compared on reading.
 * A missing, unreadable or malformed entry is a miss, never an error: the parser answers then.
 * Writes go to a temporary file renamed into place, so a reader never sees half an entry.
 */
export class DiskParseCache implements ParseCache {
  private pruned = false;

  constructor(readonly directory: string) {}

  /**
   * Where the CLI keeps it: DBMIGRATE_CACHE_DIR, else $XDG_CACHE_HOME/dbmigrate, else
   * ~/.cache/dbmigrate; none when DBMIGRATE_NO_CACHE is set (to anything but "" or "0").
   */
  static fromEnv(
    env: Readonly<Record<string, string | undefined>>,
    parserVersion: string | undefined,
  ): DiskParseCache | undefined {
    if (parserVersion === undefined) return undefined;
    const off = env['DBMIGRATE_NO_CACHE'];
    if (off !== undefined && off !== '' && off !== '0') return undefined;
    const base =
      nonEmpty(env['DBMIGRATE_CACHE_DIR']) ??
      join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(homedir(), '.cache'), 'dbmigrate');
    return new DiskParseCache(join(base, `parse-libpg-query-${parserVersion}`));
  }

  read<K extends keyof Stored>(kind: K, text: string): Stored[K] | undefined {
    let raw: string;
    try {
      raw = readFileSync(this.pathOf(kind, text), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry: unknown = JSON.parse(raw);
      if (typeof entry !== 'object' || entry === null) return undefined;
      if (!('kind' in entry) || entry.kind !== kind) return undefined;
      if (!('text' in entry) || entry.text !== text) return undefined;
      if (!('value' in entry) || !isStored(kind, entry.value)) return undefined;
      return entry.value as Stored[K];
    } catch {
      return undefined;
    }
  }

  write<K extends keyof Stored>(kind: K, text: string, value: Stored[K]): void {
    const path = this.pathOf(kind, text);
    const temporary = `${path}.${String(process.pid)}.tmp`;
    try {
      mkdirSync(this.directory, { recursive: true });
      writeFileSync(temporary, JSON.stringify({ kind, text, value }));
      renameSync(temporary, path);
      this.pruneOnce();
    } catch {
      // A cache that cannot be written (read-only home, full disk) costs speed, not results.
      try {
        rmSync(temporary, { force: true });
      } catch {
        // Nothing was written where nothing can be.
      }
    }
  }

  private pathOf(kind: string, text: string): string {
    return join(this.directory, `${kind}-${fnv1a64(text)}.json`);
  }

  /** Once per process that writes: the oldest entries go when there are too many. */
  private pruneOnce(): void {
    if (this.pruned) return;
    this.pruned = true;
    const names = readdirSync(this.directory).filter((n) => n.endsWith('.json'));
    if (names.length <= MAX_ENTRIES) return;
    const aged = names
      .map((n) => ({
        path: join(this.directory, n),
        mtime: statSync(join(this.directory, n)).mtimeMs,
      }))
      .sort((a, b) => a.mtime - b.mtime);
    for (const { path } of aged.slice(0, names.length - MAX_ENTRIES / 2))
      rmSync(path, { force: true });
  }
}

/**
 * The installed libpg-query's version, which names the cache directory: a different parser may
 * parse a text differently. Undefined (no cache) when it cannot be read.
 */
export function libpgQueryVersion(): string | undefined {
  try {
    // libpg-query has no exports map: its main is wasm/index.cjs, beside its package.json's folder.
    const main = fileURLToPath(import.meta.resolve('libpg-query'));
    const manifest: unknown = JSON.parse(
      readFileSync(join(dirname(dirname(main)), 'package.json'), 'utf8'),
    );
    if (typeof manifest !== 'object' || manifest === null) return undefined;
    if (!('name' in manifest) || manifest.name !== 'libpg-query') return undefined;
    return 'version' in manifest && typeof manifest.version === 'string'
      ? manifest.version
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * FNV-1a over the UTF-16 code units, 64 bits as two 32-bit halves with different offsets. Not
 * SHA-256: loading node:crypto costs a CLI start about 20 ms, and a collision here costs only a
 * miss (the entry holds its text, compared on reading).
 */
function fnv1a64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 15);
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The shape written, checked before trusting an entry another process may have left. */
function isStored(kind: keyof Stored, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (kind === 'scan') return 'tokens' in value && Array.isArray(value.tokens);
  if ('tree' in value) return typeof value.tree === 'object' && value.tree !== null;
  return (
    'error' in value &&
    typeof value.error === 'string' &&
    'cursor' in value &&
    typeof value.cursor === 'number'
  );
}
