/** One SQL statement of a migration section, with the 1-based line it starts on in the file. */
export interface SqlStatement {
  readonly sql: string;
  readonly line: number;
}

/**
 * Splits SQL text into statements at top-level semicolons. Quotes, quoted identifiers,
 * dollar-quoted bodies and comments are skipped so a `;` inside a function body or a string
 * does not split. Needed for non-transactional migrations, which run (and resume) one
 * statement at a time. `firstLine` is the file line the text starts on.
 */
export function splitSqlStatements(text: string, firstLine = 1): SqlStatement[] {
  const statements: SqlStatement[] = [];
  // Where the current statement's first code character is: comments above it are not part of it.
  let start = 0;
  let line = firstLine;
  let statementLine: number | null = null;
  let i = 0;
  const n = text.length;

  const flush = (end: number): void => {
    if (statementLine !== null) {
      statements.push({ sql: text.slice(start, end).trim(), line: statementLine });
    }
    statementLine = null;
  };

  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '\n') line++;
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === ';') {
      flush(i);
      i++;
      continue;
    }
    if (statementLine === null && c !== undefined && !/\s/.test(c)) {
      statementLine = line;
      start = i;
    }
    if (c === "'" || c === '"') {
      // E'...' only when the E is a token of its own, not the end of a word such as LIKE.
      const backslashEscapes =
        c === "'" && /[Ee]/.test(text[i - 1] ?? '') && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? '');
      i++;
      while (i < n) {
        const ch = text[i];
        if (ch === '\n') line++;
        if (backslashEscapes && ch === '\\') {
          if (text[i + 1] === '\n') line++;
          i += 2;
          continue;
        }
        if (ch === c) {
          if (text[i + 1] === c) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      const prev = text[i - 1];
      if (tag && (prev === undefined || !/[A-Za-z0-9_]/.test(prev))) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        const end = close === -1 ? n : close + tag[0].length;
        for (let k = i; k < end; k++) if (text[k] === '\n') line++;
        i = end;
        continue;
      }
    }
    if (statementLine === null) {
      i++;
      continue;
    }
    // Inside a statement only the characters handled above matter: go to the next one.
    SPECIAL.lastIndex = i + 1;
    i = SPECIAL.exec(text)?.index ?? n;
  }
  flush(n);
  return statements;
}

/** What starts a line, a comment, a quote or a dollar quote, or ends a statement. */
const SPECIAL = /[\n;'"$/-]/g;

/** False for text that holds only comments (nested ones too) and whitespace. */
export function hasCode(sql: string): boolean {
  return splitSqlStatements(sql).length > 0;
}

/** Length of the whitespace and comments (nested block comments included) that open `text`. */
export function leadingTriviaLength(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
    if (text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (text.startsWith('/*', i)) {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    return i;
  }
}
