import {
  loadSqlParser,
  ParserNotLoadedError,
  rethrowIfParserNotLoaded,
  withSqlParser,
  type SqlParser,
} from './sql-parser.js';
import {
  hasCode,
  leadingTriviaLength,
  splitSqlStatements,
  type SqlStatement,
} from './sql-splitter.js';

/** Cuts a section of a migration into the statements the executor runs one at a time. */
export interface StatementSplitter {
  /** `firstLine` is the file line `sql` starts on; each statement keeps its own. */
  split(sql: string, firstLine: number): SqlStatement[];
}

/**
 * PostgreSQL's grammar decides where statements end, so a `;` inside `BEGIN ATOMIC … END` or
 * a rule's `DO (…; …)` action list stays inside its statement. Text the parser refuses (a
 * syntax error the server will report with its line, or syntax newer than the parser) falls
 * back to the scanning splitter, and so does a section that cannot hold two statements: there
 * both agree, and the parser is not asked.
 */
export function parserSplitter(parser: SqlParser): StatementSplitter {
  return {
    split(sql, firstLine) {
      if (!mayHoldSeveralStatements(sql)) return splitSqlStatements(sql, firstLine);
      let stmts;
      try {
        stmts = parser.parse(sql).stmts ?? [];
      } catch (err) {
        rethrowIfParserNotLoaded(err);
        return splitSqlStatements(sql, firstLine);
      }
      // The parser reports byte offsets; lines are counted on the same bytes.
      const bytes = Buffer.from(sql, 'utf8');
      const statements: SqlStatement[] = [];
      let line = firstLine;
      let counted = 0;
      for (const raw of stmts) {
        const from = raw.stmt_location ?? 0;
        const len = raw.stmt_len ?? 0;
        // stmt_len 0 means "to the end of the text".
        const source = bytes.subarray(from, len > 0 ? from + len : bytes.length).toString('utf8');
        const trivia = leadingTriviaLength(source);
        const text = source.slice(trivia).trim();
        if (text === '') continue;
        const start = from + Buffer.byteLength(source.slice(0, trivia), 'utf8');
        for (; counted < start; counted++) if (bytes[counted] === 0x0a) line++;
        statements.push({ sql: text, line });
      }
      return statements;
    },
  };
}

/** The scanning splitter alone: exact for text that holds at most one statement. */
export const scanningSplitter: StatementSplitter = { split: splitSqlStatements };

/**
 * Whether `text` can hold more than one statement: some code follows its first `;`. When no
 * text can, every splitter agrees and the WASM parser is not loaded at all, which keeps
 * `status` over a thousand one-statement migrations from paying for it.
 */
export function mayHoldSeveralStatements(text: string): boolean {
  const semicolon = text.indexOf(';');
  return semicolon >= 0 && hasCode(text.slice(semicolon + 1));
}

/** The splitter for a set of migration texts: the parser's whenever a split is to be made. */
export async function statementSplitterFor(texts: readonly string[]): Promise<StatementSplitter> {
  return texts.some(mayHoldSeveralStatements)
    ? parserSplitter(await loadSqlParser())
    : scanningSplitter;
}

/** A parser that has nothing: asked for anything, it says the real one is needed. */
const NO_PARSER: SqlParser = {
  parse() {
    throw new ParserNotLoadedError();
  },
  scan() {
    throw new ParserNotLoadedError();
  },
};

/**
 * Runs `split` with the splitter a set of texts needs. Sections are split one at a time, and
 * most hold one statement each (an up and a down section make a file of two, which is why the
 * whole file's text cannot decide): `split` first runs without a parser, and only when a
 * section can hold several statements does it run again through withSqlParser, where the CLI's
 * stored parse results answer before the WASM parser is loaded. `split` may run three times.
 */
export async function withStatementSplitter<T>(
  texts: readonly string[],
  split: (splitter: StatementSplitter) => T,
): Promise<T> {
  if (!texts.some(mayHoldSeveralStatements)) return split(scanningSplitter);
  try {
    return split(parserSplitter(NO_PARSER));
  } catch (err) {
    if (!(err instanceof ParserNotLoadedError)) throw err;
  }
  return withSqlParser((parser) => split(parserSplitter(parser)));
}
