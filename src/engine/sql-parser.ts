import type { ParseResult, ScanToken } from 'libpg-query';
import type { ParseCache } from './parse-cache.js';

/** PostgreSQL's own parser (libpg-query, compiled to WASM). `parse` throws on a syntax error. */
export interface SqlParser {
  /** Throws SqlSyntaxError where PostgreSQL would report a syntax error. */
  parse(sql: string): ParseResult;
  /**
   * PostgreSQL's lexer: the tokens of `sql` as written (byte offsets, raw text), where the parse
   * tree has identifiers already folded and truncated.
   */
  scan(sql: string): readonly ScanToken[];
}

/** Text PostgreSQL's grammar refuses, with where (as the parser reports it). */
export class SqlSyntaxError extends Error {
  readonly code = 'SQL_SYNTAX';
  override readonly name = 'SqlSyntaxError';
  constructor(
    message: string,
    /** 0-based character offset of the error in the text parsed. */
    readonly cursorPosition: number,
  ) {
    super(message);
  }
}

/**
 * Thrown by the stored-results parser for text it holds nothing for. withSqlParser then loads
 * the WASM parser and runs the work again, so code that catches parse errors (to fall back or
 * to report a syntax error) must let this one through: swallowing it would silently skip work.
 */
export class ParserNotLoadedError extends Error {
  readonly code = 'PARSER_NOT_LOADED';
  override readonly name = 'ParserNotLoadedError';
  constructor() {
    super('the SQL parser is not loaded and no stored result answers this text');
  }
}

/** Rethrows what must never be taken for a syntax error. */
export function rethrowIfParserNotLoaded(err: unknown): void {
  if (err instanceof ParserNotLoadedError) throw err;
}

/** Parse trees kept for a repeated parse of the same text; bounded, since the operator lives long. */
const RECENT_PARSES = 64;

let loading: Promise<SqlParser> | undefined;

/**
 * The splitter and the linter parse the same section text one after the other: the second
 * parse is answered from here. Every consumer reads parse trees and never changes them.
 */
const recent = new Map<string, ParseResult>();

function remember(sql: string, tree: ParseResult): ParseResult {
  if (recent.size >= RECENT_PARSES) recent.delete(recent.keys().next().value ?? '');
  recent.set(sql, tree);
  return tree;
}

/** How this process's parser is set up; the CLI sets both, the library and tests neither. */
export interface SqlParserSettings {
  /**
   * Stored parse results, answered before the WASM parser is loaded: compiling and warming the
   * parser costs more than a lint of ten migrations. The operator parses once in a long life.
   */
  readonly cache?: ParseCache | undefined;
  /** Runs once, just before the parser's WASM module is compiled (V8 flags for it). */
  readonly beforeLoad?: (() => void) | undefined;
}

let settings: SqlParserSettings = {};

export function configureSqlParser(next: SqlParserSettings): void {
  settings = next;
}

/**
 * Loads the WASM parser once per process. Imported dynamically so that commands which neither
 * lint nor split multi-statement migrations never pay for compiling it.
 */
export function loadSqlParser(): Promise<SqlParser> {
  loading ??= (async () => {
    settings.beforeLoad?.();
    // Kept external by rolldown.config.js: libpg-query finds its .wasm next to its own file.
    const pg = await import('libpg-query');
    await pg.loadModule();
    return {
      parse: (sql: string) => {
        const known = recent.get(sql);
        if (known) return known;
        let tree: ParseResult;
        try {
          tree = pg.parseSync(sql);
        } catch (err) {
          const syntax = asSyntaxError(err);
          if (syntax === undefined) throw err;
          settings.cache?.write('parse', sql, {
            error: syntax.message,
            cursor: syntax.cursorPosition,
          });
          throw syntax;
        }
        settings.cache?.write('parse', sql, { tree });
        return remember(sql, tree);
      },
      scan: (sql: string) => {
        const tokens = pg.scanSync(sql).tokens;
        settings.cache?.write('scan', sql, { tokens });
        return tokens;
      },
    };
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/**
 * Runs `work` with a parser. With a disk cache, it first runs on stored results alone, without
 * loading the WASM parser; if any text is missing it loads the parser and runs `work` again,
 * which therefore must have no effects besides its result.
 */
export async function withSqlParser<T>(work: (parser: SqlParser) => T): Promise<T> {
  const cache = settings.cache;
  if (cache !== undefined && loading === undefined) {
    try {
      return work(storedResultsParser(cache));
    } catch (err) {
      if (!(err instanceof ParserNotLoadedError)) throw err;
    }
  }
  return work(await loadSqlParser());
}

function storedResultsParser(cache: ParseCache): SqlParser {
  return {
    parse(sql) {
      const known = recent.get(sql);
      if (known) return known;
      const stored = cache.read('parse', sql);
      if (stored === undefined) throw new ParserNotLoadedError();
      if ('tree' in stored) return remember(sql, stored.tree);
      throw new SqlSyntaxError(stored.error, stored.cursor);
    },
    scan(sql) {
      const stored = cache.read('scan', sql);
      if (stored === undefined) throw new ParserNotLoadedError();
      return stored.tokens;
    },
  };
}

/**
 * libpg-query's SqlError, which carries the cursor as `sqlDetails.cursorPosition` (0-based); its
 * refusal of an empty text is one too. Anything else (the WASM module failing) is not a syntax
 * error, and is neither stored nor reported as one.
 */
function asSyntaxError(err: unknown): SqlSyntaxError | undefined {
  if (!(err instanceof Error)) return undefined;
  if (!('sqlDetails' in err))
    return /cannot be empty/.test(err.message) ? new SqlSyntaxError(err.message, 0) : undefined;
  const details: unknown = err.sqlDetails;
  let cursor = 0;
  if (typeof details === 'object' && details !== null && 'cursorPosition' in details) {
    const pos: unknown = details.cursorPosition;
    if (typeof pos === 'number' && pos >= 0) cursor = pos;
  }
  return new SqlSyntaxError(err.message, cursor);
}
