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

/** The ignore comments that apply to one statement: the file's and the ones directly above it. */
export interface StatementIgnores {
  /** Line of the statement's first token. */
  readonly line: number;
  readonly above: readonly IgnoreComment[];
}

export class IgnoreIndex {
  readonly problems: IgnoreProblem[] = [];
  private readonly fileComments: IgnoreComment[] = [];
  private readonly byLine = new Map<number, IgnoreComment>();
  private readonly textByLine = new Map<number, string>();
  /** Statement-level comment line → line of the statement it stands above. */
  private readonly above = new Map<number, number>();
  /** Comment lines above a statement that did not parse: nothing was checked to ignore. */
  private readonly aboveUnchecked = new Set<number>();
  /** `line\0rule` of each comment rule that suppressed at least one finding. */
  private readonly suppressed = new Set<string>();

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
      if (comment.scope === 'file') this.fileComments.push(comment);
      else this.byLine.set(line, comment);
    }
  }

  /** Whether an ignore-file comment names the rule. */
  ignoresFileWide(ruleId: string): boolean {
    return this.fileComments.some((c) => c.ruleIds.includes(ruleId));
  }

  /**
   * The ignore comments for the statement whose first token is on `line`: the ones on the
   * unbroken run of comment lines directly above it. `checked` is false for a statement that
   * did not parse, whose ignores can then not be judged unused.
   */
  forStatementAt(line: number, checked = true): StatementIgnores {
    const above: IgnoreComment[] = [];
    for (let l = line - 1; l >= this.firstSectionLine; l--) {
      const text = this.textByLine.get(l)?.trim();
      if (text?.startsWith('--') !== true) break;
      const comment = this.byLine.get(l);
      if (comment === undefined) continue;
      this.above.set(l, line);
      if (!checked) this.aboveUnchecked.add(l);
      above.push(comment);
    }
    return { line, above };
  }

  /** True when a comment ignores `ruleId` for this statement; records which comments did. */
  suppresses(ruleId: string, statement: StatementIgnores): boolean {
    const comments = [
      ...statement.above.filter((c) => c.ruleIds.includes(ruleId)),
      ...this.fileComments.filter((c) => c.ruleIds.includes(ruleId)),
    ];
    for (const c of comments) this.suppressed.add(`${c.line}\u0000${ruleId}`);
    return comments.length > 0;
  }

  /** Statement-level ignore comments that stood above no statement. */
  misplaced(): IgnoreProblem[] {
    return [...this.byLine.values()]
      .filter((c) => !this.above.has(c.line))
      .map((c) => ({
        line: c.line,
        message: `ignore comment for ${c.written.join(', ')} is not directly above a statement (a blank line or SQL stands between), so it ignores nothing`,
      }));
  }

  /**
   * Rules of well-placed ignore comments that suppressed no finding. `judged` says which rules
   * ran (an opt-in rule that did not run proves nothing); an ignore of unused-ignore itself is
   * never unused.
   */
  unused(judged: (ruleId: string) => boolean): IgnoreProblem[] {
    const out: IgnoreProblem[] = [];
    const comments = [
      ...this.fileComments,
      ...[...this.byLine.values()].filter(
        (c) => this.above.has(c.line) && !this.aboveUnchecked.has(c.line),
      ),
    ];
    for (const c of comments) {
      c.ruleIds.forEach((id, i) => {
        if (id === 'unused-ignore' || !judged(id) || this.suppressed.has(`${c.line}\u0000${id}`))
          return;
        const written = c.written[i] ?? id;
        const name = written === id ? id : `${written} (now ${id})`;
        out.push({
          line: c.line,
          message:
            c.scope === 'file'
              ? `ignore-file for ${name} suppresses nothing: no statement of this file has a ${id} finding`
              : `ignore for ${name} suppresses nothing: the statement at line ${this.above.get(c.line) ?? '?'} has no ${id} finding`,
        });
      });
    }
    return out;
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
