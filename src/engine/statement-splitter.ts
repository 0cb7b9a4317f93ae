import {
  loadSqlParser,
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
 * back to the scanning splitter.
 */
export function parserSplitter(parser: SqlParser): StatementSplitter {
  return {
    split(sql, firstLine) {
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

/**
 * Runs `split` with the splitter a set of texts needs, through withSqlParser: the CLI's stored
 * parse results answer before the WASM parser is loaded. `split` may run twice.
 */
export async function withStatementSplitter<T>(
  texts: readonly string[],
  split: (splitter: StatementSplitter) => T,
): Promise<T> {
  if (!texts.some(mayHoldSeveralStatements)) return split(scanningSplitter);
  return withSqlParser((parser) => split(parserSplitter(parser)));
}
