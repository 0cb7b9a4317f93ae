import type { Node, ParseResult } from 'libpg-query';
import {
  rethrowIfParserNotLoaded,
  SqlSyntaxError,
  type SqlParser,
} from '../../engine/sql-parser.js';
import { leadingTriviaLength, splitSqlStatements } from '../../engine/sql-splitter.js';

export { loadSqlParser, type SqlParser } from '../../engine/sql-parser.js';

/**
 * The up section of a migration as UTF-8 bytes: the parser reports statement and node
 * positions as byte offsets, and a line or column must count characters.
 */
export class SectionText {
  readonly bytes: Buffer;
  /** Byte offset at which each line of the section starts. */
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly text: string,
    /** File line of the section's first line. */
    readonly startLine: number,
  ) {
    this.bytes = Buffer.from(text, 'utf8');
    // 0x0A never occurs inside a multi-byte UTF-8 sequence, so counting bytes is exact.
    for (let i = 0; i < this.bytes.length; i++)
      if (this.bytes[i] === 0x0a) this.lineStarts.push(i + 1);
  }

  /** File line and 1-based character column of a byte offset into the section. */
  position(byteOffset: number): { line: number; column: number } {
    const offset = Math.max(0, Math.min(byteOffset, this.bytes.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = this.lineStarts[lo] ?? 0;
    const before = this.bytes.subarray(lineStart, offset).toString('utf8');
    return { line: this.startLine + lo, column: codePointLength(before) + 1 };
  }

  slice(start: number, end: number): string {
    return this.bytes.subarray(start, end).toString('utf8');
  }

  /** Byte offset of a UTF-16 index into `text`. */
  byteOffsetOfIndex(index: number): number {
    return Buffer.byteLength(this.text.slice(0, index), 'utf8');
  }
}

/** One statement with where it stands in the section. */
export interface ParsedStatement {
  readonly node: Node;
  /** Byte offset (in the section) of the statement's first token, after comments. */
  readonly start: number;
  /** Byte offset (in the section) of the string the parser saw: node locations are relative to it. */
  readonly base: number;
  /** The statement's text without leading comments or the closing semicolon. */
  readonly text: string;
}

export interface SyntaxProblem {
  /** Byte offset (in the section) of the error. */
  readonly at: number;
  readonly message: string;
  /** The statement that failed, when it could be isolated. */
  readonly text: string;
  /** Byte offset of that statement's first token, for ignore-comment bookkeeping. */
  readonly statementStart: number;
}

export interface ParsedSection {
  readonly statements: ParsedStatement[];
  readonly syntaxErrors: SyntaxProblem[];
}

/**
 * Parses a whole section. When it does not parse, the section is split the way the engine
 * splits it and each statement is parsed alone, so one bad statement still lets the others be
 * linted and every syntax error is reported where it is.
 */
export function parseSection(parser: SqlParser, section: SectionText): ParsedSection {
  try {
    return {
      statements: statementsOf(parser.parse(section.text), section, 0, section.bytes.length),
      syntaxErrors: [],
    };
  } catch (err) {
    rethrowIfParserNotLoaded(err);
    const whole = syntaxDetails(err);
    const statements: ParsedStatement[] = [];
    const syntaxErrors: SyntaxProblem[] = [];
    let cursor = 0;
    for (const piece of splitSqlStatements(section.text)) {
      const index = section.text.indexOf(piece.sql, cursor);
      if (index < 0) continue;
      cursor = index + piece.sql.length;
      const base = section.byteOffsetOfIndex(index);
      try {
        statements.push(
          ...statementsOf(parser.parse(piece.sql), section, base, Buffer.byteLength(piece.sql)),
        );
      } catch (pieceErr) {
        rethrowIfParserNotLoaded(pieceErr);
        const detail = syntaxDetails(pieceErr);
        const trivia = leadingTriviaLength(piece.sql);
        syntaxErrors.push({
          at: base + byteOffsetOfCodePoint(piece.sql, detail.cursor),
          message: detail.message,
          text: piece.sql.slice(trivia),
          statementStart: base + Buffer.byteLength(piece.sql.slice(0, trivia), 'utf8'),
        });
      }
    }
    if (syntaxErrors.length === 0) {
      const at = byteOffsetOfCodePoint(section.text, whole.cursor);
      syntaxErrors.push({ at, message: whole.message, text: '', statementStart: at });
    }
    return { statements, syntaxErrors };
  }
}

function statementsOf(
  result: ParseResult,
  section: SectionText,
  base: number,
  parsedBytes: number,
): ParsedStatement[] {
  const out: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    if (raw.stmt === undefined) continue;
    const from = base + (raw.stmt_location ?? 0);
    const len = raw.stmt_len ?? 0;
    // stmt_len 0 means "to the end of the string that was parsed".
    const to = len > 0 ? from + len : base + parsedBytes;
    const source = section.slice(from, to);
    const trivia = leadingTriviaLength(source);
    out.push({
      node: raw.stmt,
      start: from + Buffer.byteLength(source.slice(0, trivia), 'utf8'),
      base,
      text: source.slice(trivia).trim(),
    });
  }
  return out;
}

interface SyntaxDetails {
  readonly message: string;
  /** 0-based character (code point) index of the error, as PostgreSQL counts it. */
  readonly cursor: number;
}

function syntaxDetails(err: unknown): SyntaxDetails {
  if (err instanceof SqlSyntaxError) return { message: err.message, cursor: err.cursorPosition };
  return { message: err instanceof Error ? err.message : String(err), cursor: 0 };
}

/** Characters as PostgreSQL counts them (code points, not UTF-16 units). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A high surrogate and the low one after it are one character.
    if (code < 0xd800 || code > 0xdbff) n++;
  }
  return n;
}

function byteOffsetOfCodePoint(text: string, codePoint: number): number {
  let bytes = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePoint) break;
    bytes += Buffer.byteLength(ch, 'utf8');
    seen++;
  }
  return bytes;
}
