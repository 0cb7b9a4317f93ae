// Ignore comments:
//   -- dbmigrate-lint: ignore <rule-id>[,<rule-id>] [reason]   on the line(s) directly above a statement
//   -- dbmigrate-lint: ignore-file <rule-id>[,<rule-id>] [reason]   anywhere, conventionally in the header
import { resolveLintRuleId, UNIGNORABLE_RULES } from './rules.js';

const MARKER = /^--\s*dbmigrate-lint\s*:\s*(.*)$/i;
const DIRECTIVE = /^(ignore-file|ignore)(?:\s+(.*))?$/i;
const RULE_LIST = /^([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)(?:\s+(.*))?$/;

export interface IgnoreComment {
  readonly line: number;
  readonly scope: 'statement' | 'file';
  /** The rules ignored, former IDs resolved to current ones. */
  readonly ruleIds: readonly string[];
  /** The IDs as written, same order as ruleIds. */
  readonly written: readonly string[];
  readonly reason: string | undefined;
}

export interface IgnoreProblem {
  readonly line: number;
  readonly message: string;
}

export interface FileLine {
  /** 1-based file line. */
  readonly line: number;
  readonly text: string;
}

export class IgnoreIndex {
  /** Rules switched off for the whole file. */
  readonly fileRules = new Set<string>();
  readonly problems: IgnoreProblem[] = [];
  private readonly byLine = new Map<number, IgnoreComment>();
  private readonly textByLine = new Map<number, string>();
  private readonly used = new Set<number>();

  constructor(
    lines: readonly FileLine[],
    /** First line a statement-level ignore may stand on (the first line of the up section). */
    private readonly firstSectionLine: number,
  ) {
    for (const { line, text } of lines) {
      this.textByLine.set(line, text);
      const comment = parseIgnoreComment(line, text);
      if (comment === null) continue;
      if ('message' in comment) {
        this.problems.push(comment);
        continue;
      }
      if (comment.scope === 'file') for (const id of comment.ruleIds) this.fileRules.add(id);
      else this.byLine.set(line, comment);
    }
  }

  /**
   * Rules ignored for the statement whose first token is on `line`: the ignore comments on the
   * unbroken run of comment lines directly above it.
   */
  forStatementAt(line: number): Set<string> {
    const rules = new Set<string>();
    for (let l = line - 1; l >= this.firstSectionLine; l--) {
      const text = this.textByLine.get(l)?.trim();
      if (text?.startsWith('--') !== true) break;
      const comment = this.byLine.get(l);
      if (comment === undefined) continue;
      this.used.add(l);
      for (const id of comment.ruleIds) rules.add(id);
    }
    return rules;
  }

  /** Statement-level ignore comments that stood above no statement. */
  unused(): IgnoreProblem[] {
    return [...this.byLine.values()]
      .filter((c) => !this.used.has(c.line))
      .map((c) => ({
        line: c.line,
        message: `ignore comment for ${c.written.join(', ')} is not directly above a statement (a blank line or SQL stands between), so it ignores nothing`,
      }));
  }
}

/** null for a line that is not a dbmigrate-lint comment. */
export function parseIgnoreComment(
  line: number,
  text: string,
): IgnoreComment | IgnoreProblem | null {
  const marker = MARKER.exec(text.trim());
  if (!marker) return null;
  const body = (marker[1] ?? '').trim();
  const directive = DIRECTIVE.exec(body);
  if (!directive) {
    return {
      line,
      message: `unknown dbmigrate-lint comment "${body}"; expected "ignore <rule-id>[,<rule-id>] [reason]" or "ignore-file <rule-id>[,<rule-id>] [reason]"`,
    };
  }
  const scope = (directive[1] ?? '').toLowerCase() === 'ignore-file' ? 'file' : 'statement';
  const list = RULE_LIST.exec((directive[2] ?? '').trim());
  if (!list) {
    return { line, message: `dbmigrate-lint ${directive[1] ?? ''} needs the rule IDs to ignore` };
  }
  const written = (list[1] ?? '').split(',').map((id) => id.trim().toLowerCase());
  const unknown = written.filter((id) => resolveLintRuleId(id) === undefined);
  if (unknown.length > 0) {
    return {
      line,
      message: `unknown lint rule${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} in ignore comment; see docs/lint.md for the rule IDs`,
    };
  }
  const ruleIds = written.map((id) => resolveLintRuleId(id) ?? id);
  const fixed = ruleIds.filter((id) => UNIGNORABLE_RULES.has(id));
  if (fixed.length > 0) {
    return { line, message: `${fixed.join(', ')} cannot be ignored; fix the file instead` };
  }
  const reason = list[2]?.trim();
  return { line, scope, ruleIds, written, reason: reason === '' ? undefined : reason };
}
