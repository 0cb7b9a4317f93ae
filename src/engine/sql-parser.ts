import type { ParseResult, ScanToken } from 'libpg-query';

/** PostgreSQL's own parser (libpg-query, compiled to WASM). `parse` throws on a syntax error. */
export interface SqlParser {
  parse(sql: string): ParseResult;
  /**
   * PostgreSQL's lexer: the tokens of `sql` as written (byte offsets, raw text), where the parse
   * tree has identifiers already folded and truncated.
   */
  scan(sql: string): readonly ScanToken[];
}

/** Parse trees kept for a repeated parse of the same text; bounded, since the operator lives long. */
const RECENT_PARSES = 64;

let loading: Promise<SqlParser> | undefined;

/**
 * Loads the WASM parser once per process. Imported dynamically so that commands which neither
 * lint nor split multi-statement migrations never pay for compiling it.
 */
export function loadSqlParser(): Promise<SqlParser> {
  loading ??= (async () => {
    // Kept external by rolldown.config.js: libpg-query finds its .wasm next to its own file.
    const pg = await import('libpg-query');
    await pg.loadModule();
    // The splitter and the linter parse the same section text one after the other: the second
    // parse is answered from here. Every consumer reads parse trees and never changes them.
    const recent = new Map<string, ParseResult>();
    return {
      parse: (sql: string) => {
        const known = recent.get(sql);
        if (known) return known;
        const tree = pg.parseSync(sql);
        if (recent.size >= RECENT_PARSES) recent.delete(recent.keys().next().value ?? '');
        recent.set(sql, tree);
        return tree;
      },
      scan: (sql: string) => pg.scanSync(sql).tokens,
    };
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
