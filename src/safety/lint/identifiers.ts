// identifier-too-long: PostgreSQL keeps at most NAMEDATALEN - 1 = 63 bytes of an identifier and
// drops the rest with only a NOTICE (42622), so the object gets a name other than the one
// written, and two names that agree in their first 63 bytes are one name. The parse tree holds
// the truncated names, so this reads the lexer's tokens.
import type { ScanToken } from 'libpg-query';

/** NAMEDATALEN - 1 (PostgreSQL's default build). */
export const MAX_IDENTIFIER_BYTES = 63;

export interface LongIdentifier {
  /** The identifier as PostgreSQL reads it: unquoted ones folded to lower case. */
  readonly name: string;
  readonly bytes: number;
  /** What PostgreSQL keeps: the first 63 bytes, cut at a character boundary. */
  readonly truncated: string;
  /** Byte offset of the token in the scanned text. */
  readonly offset: number;
}

/** A run of characters an unquoted identifier may hold (letters of any script, digits, _ and $). */
const UNQUOTED_RUN = /[\p{L}\p{M}\p{N}_$]{2,}/gu;

/**
 * Whether `sql` can hold an identifier over 63 bytes, so the lexer (a call into the parser's
 * WebAssembly per statement) runs only for statements that may: a quoted identifier may be
 * anything, so any double quote counts; an unquoted one is a run of identifier characters.
 */
export function mayHoldLongIdentifier(sql: string): boolean {
  if (Buffer.byteLength(sql, 'utf8') <= MAX_IDENTIFIER_BYTES) return false;
  if (sql.includes('"')) return true;
  for (const run of sql.matchAll(UNQUOTED_RUN))
    if (Buffer.byteLength(run[0], 'utf8') > MAX_IDENTIFIER_BYTES) return true;
  return false;
}

/** Identifiers longer than 63 bytes among `tokens`, each name once. */
export function longIdentifiers(tokens: readonly ScanToken[]): LongIdentifier[] {
  const seen = new Set<string>();
  const out: LongIdentifier[] = [];
  for (const t of tokens) {
    if (t.tokenName !== 'IDENT') continue;
    const name = identifierOf(t.text);
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes <= MAX_IDENTIFIER_BYTES || seen.has(name)) continue;
    seen.add(name);
    out.push({ name, bytes, truncated: truncate(name), offset: t.start });
  }
  return out;
}

/** `"Quoted ""name"""` as written → its name; unquoted names fold ASCII letters only (UTF-8). */
function identifierOf(text: string): string {
  if (text.startsWith('"')) return text.slice(1, -1).replace(/""/g, '"');
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function truncate(name: string): string {
  let kept = '';
  let bytes = 0;
  for (const ch of name) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > MAX_IDENTIFIER_BYTES) break;
    kept += ch;
  }
  return kept;
}
