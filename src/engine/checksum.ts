/** Whitespace (as trimEnd sees it) right before a line end. */
const TRAILING_SPACE = /[^\S\n]\n/;

/**
 * Line endings and trailing whitespace are editor noise, not schema changes: a file checked
 * out with CRLF on Windows must not look drifted, so they are normalised before hashing.
 */
export function normaliseSql(sql: string): string {
  // Most files are already normal: no CR, no whitespace before a line end or at either end.
  // Then the text is its own normal form, without splitting it into lines (status hashes every file).
  if (!sql.includes('\r') && !TRAILING_SPACE.test(sql) && sql.trim() === sql) return sql;
  return sql
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/**
 * node:crypto costs milliseconds to load; commands that hash nothing never load it. The one-shot
 * hash, not a Hash object per text: `status` hashes every file.
 */
export function sha256Hex(text: string): string {
  return process.getBuiltinModule('node:crypto').hash('sha256', text, 'hex');
}

/** The checksum recorded in history: sha256 of the normalised up section. */
export function migrationChecksum(upSql: string): string {
  return sha256Hex(normaliseSql(upSql));
}

/** Fingerprint of the first `count` statements, so a resumed migration can prove its done part is unchanged. */
export function statementsChecksum(statements: readonly string[], count: number): string {
  return sha256Hex(
    statements
      .slice(0, count)
      .map((s) => normaliseSql(s))
      .join('\n;\n'),
  );
}
