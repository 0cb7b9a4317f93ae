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
    return {
      parse: (sql: string) => pg.parseSync(sql),
      scan: (sql: string) => pg.scanSync(sql).tokens,
    };
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
