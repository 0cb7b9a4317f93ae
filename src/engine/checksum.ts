/**
 * Line endings and trailing whitespace are editor noise, not schema changes: a file checked
 * out with CRLF on Windows must not look drifted, so they are normalised before hashing.
 */
export function normaliseSql(sql: string): string {
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
