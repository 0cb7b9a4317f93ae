// `dbmigrate lint --format …`: the findings as a person, a script, GitHub or an editor reads
// them. Pure: the command passes in everything (findings, file texts, paths, version).
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describePgVersion, type PgVersion } from '../api/pg-version.js';
import type { LintFinding, LintSummary } from '../safety/lint/finding.js';
import { LINT_RULES } from '../safety/lint/rules.js';

export const LINT_FORMATS = ['human', 'json', 'sarif', 'github', 'gcc'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];

export function isLintFormat(value: string): value is LintFormat {
  return (LINT_FORMATS as readonly string[]).includes(value);
}

/** Where the rules are documented: SARIF's informationUri and each rule's helpUri. */
export const LINT_DOCS_URL =
  'https://github.com/docserver/db-migration-operator/blob/main/docs/lint.md';

const SARIF_SCHEMA =
  'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json';

/** One `dbmigrate lint` run, as the formats need it. */
export interface LintRun {
  readonly findings: readonly LintFinding[];
  /** How many migration files were linted. */
  readonly migrations: number;
  readonly summary: LintSummary;
  readonly warningsAsErrors: boolean;
  /** The text of each file by `finding.file`, for the source line the human format shows. */
  readonly fileTexts: ReadonlyMap<string, string>;
  /** Paths in SARIF and GitHub annotations are relative to this (the checkout: the cwd). */
  readonly baseDir: string;
  /** dbmigrate's version, for SARIF's tool.driver. */
  readonly version: string;
  /** The PostgreSQL version the rules were judged for, and where it came from. */
  readonly pgVersion?: PgVersion | undefined;
}

/** The whole output of a run in `format`; empty when a format has nothing to say. */
export function formatLintRun(format: LintFormat, run: LintRun): string {
  switch (format) {
    case 'human':
      return humanReport(run);
    case 'json':
      return JSON.stringify(
        {
          ok: run.summary.ok,
          migrations: run.migrations,
          errors: run.summary.errors,
          warnings: run.summary.warnings,
          // Only when live facts cleared something: the document is otherwise as before.
          ...(run.summary.cleared > 0 && { cleared: run.summary.cleared }),
          ...(run.pgVersion !== undefined && { pgVersion: run.pgVersion }),
          findings: run.findings,
        },
        null,
        2,
      );
    case 'sarif':
      return JSON.stringify(sarifLog(run), null, 2);
    case 'github':
      return run.findings.map((f) => githubAnnotation(f, run.baseDir)).join('\n');
    case 'gcc':
      return run.findings.map(gccLine).join('\n');
  }
}

// ---- human ----

function location(f: LintFinding): string {
  return `${f.file}:${String(f.line)}${f.column === undefined ? '' : `:${String(f.column)}`}`;
}

/**
 * `file:line:col: severity rule-id: message`, the source line with a caret under the column
 * (under the first non-blank character when the finding has no column), then the safe
 * alternative; a blank line between findings and the summary at the end.
 */
export function humanFinding(f: LintFinding, fileText: string | undefined): string {
  const lines = [`${location(f)}: ${level(f)} ${f.ruleId}: ${f.message}`];
  const source = fileText === undefined ? undefined : lineOf(fileText, f.line);
  if (source !== undefined) {
    const gutter = String(f.line);
    const blank = ' '.repeat(gutter.length);
    const column = f.column ?? Array.from(source).findIndex((c) => !/\s/.test(c)) + 1;
    lines.push(`  ${gutter} | ${source}`.trimEnd(), `  ${blank} | ${caretPad(source, column)}^`);
  }
  if (f.cleared !== undefined) lines.push(`  ${CLEARED}: ${f.cleared}`);
  lines.push(`  help: ${f.help}`);
  return lines.join('\n');
}

const CLEARED = 'cleared by live facts';

/**
 * What a finding counts as: its severity, or `note` when the live database's facts cleared it
 * (it stays visible with its reason and fails nothing; SARIF, GitHub and compilers all have a
 * note level for that).
 */
function level(f: LintFinding): 'error' | 'warning' | 'note' {
  return f.cleared === undefined ? f.severity : 'note';
}

function humanReport(run: LintRun): string {
  const findings = run.findings.map((f) => humanFinding(f, run.fileTexts.get(f.file)));
  return [
    ...findings.flatMap((f, i) => (i === 0 ? [f] : ['', f])),
    summaryLine(run),
    ...(run.pgVersion === undefined ? [] : [`judged for ${describePgVersion(run.pgVersion)}`]),
  ].join('\n');
}

/** 1-based line of a file, without its line ending; undefined past the end. */
function lineOf(text: string, line: number): string | undefined {
  return text.split(/\r\n|\r|\n/)[line - 1];
}

/**
 * What goes before the caret so it stands under `column` (1-based, in characters) in a
 * terminal: a tab stays a tab, an East Asian wide character takes two cells, a combining mark
 * none, anything else one.
 */
export function caretPad(source: string, column: number): string {
  let pad = '';
  for (const ch of Array.from(source).slice(0, Math.max(0, column - 1))) {
    if (ch === '\t') pad += '\t';
    else if (/\p{M}/u.test(ch)) continue;
    else pad += isWide(ch) ? '  ' : ' ';
  }
  return pad;
}

/**
 * East Asian Wide and Fullwidth characters (UAX #11, the ranges in use): CJK, kana, Hangul,
 * fullwidth forms and emoji, which a terminal draws two cells wide.
 */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f2ff],
  [0x1f300, 0x1f320],
  [0x1f32d, 0x1f335],
  [0x1f337, 0x1f37c],
  [0x1f37e, 0x1f393],
  [0x1f3a0, 0x1f3ca],
  [0x1f3cf, 0x1f3d3],
  [0x1f3e0, 0x1f3f0],
  [0x1f3f4, 0x1f3f4],
  [0x1f3f8, 0x1f43e],
  [0x1f440, 0x1f440],
  [0x1f442, 0x1f4fc],
  [0x1f4ff, 0x1f53d],
  [0x1f54b, 0x1f54e],
  [0x1f550, 0x1f567],
  [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596],
  [0x1f5a4, 0x1f5a4],
  [0x1f5fb, 0x1f64f],
  [0x1f680, 0x1f6c5],
  [0x1f6cc, 0x1f6cc],
  [0x1f6d0, 0x1f6d2],
  [0x1f6d5, 0x1f6d7],
  [0x1f6dc, 0x1f6df],
  [0x1f6eb, 0x1f6ec],
  [0x1f6f4, 0x1f6fc],
  [0x1f7e0, 0x1f7eb],
  [0x1f7f0, 0x1f7f0],
  [0x1f90c, 0x1f93a],
  [0x1f93c, 0x1f945],
  [0x1f947, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x3fffd],
];

function isWide(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return WIDE.some(([lo, hi]) => cp >= lo && cp <= hi);
}

function summaryLine(run: LintRun): string {
  const { errors, warnings, cleared } = run.summary;
  const files = `${String(run.migrations)} migration${run.migrations === 1 ? '' : 's'}`;
  const clearedText = cleared > 0 ? `, ${String(cleared)} ${CLEARED}` : '';
  if (errors === 0 && warnings === 0)
    return cleared > 0
      ? `\nok: ${files} linted, 0 errors, 0 warnings${clearedText}`
      : `ok: ${files} linted, no findings`;
  const counts = `${String(errors)} error${errors === 1 ? '' : 's'}, ${String(warnings)} warning${warnings === 1 ? '' : 's'}${clearedText}`;
  return `\n${run.summary.ok ? 'ok' : 'failed'}: ${files} linted, ${counts}${
    warnings > 0 && !run.warningsAsErrors && errors === 0
      ? ' (warnings do not fail; --warnings-as-errors makes them)'
      : ''
  }\nsilence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md)`;
}

// ---- gcc ----

/**
 * `file:line:col: severity: message [rule-id]` (`file:line:` without a column): what editors
 * and Vim's errorformat read, one line each, so a line break in the message becomes a space.
 */
export function gccLine(f: LintFinding): string {
  const text = f.cleared === undefined ? f.message : `${f.message} (${CLEARED}: ${f.cleared})`;
  return `${location(f)}: ${level(f)}: ${text.replace(/\s*[\r\n]+\s*/g, ' ')} [${f.ruleId}]`;
}

// ---- GitHub Actions ----

/** Workflow-command data: `%`, CR and LF would end or corrupt the command. */
export function escapeWorkflowData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** A workflow-command property value: also `:` and `,`, which separate properties. */
export function escapeWorkflowProperty(text: string): string {
  return escapeWorkflowData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

/**
 * `::error file=…,line=…,col=…,title=rule-id::message` (`::warning` for a warning): GitHub
 * shows it on the line of the pull request's diff. The message carries the safe alternative
 * on a second line.
 */
export function githubAnnotation(f: LintFinding, baseDir: string): string {
  const properties = [
    `file=${escapeWorkflowProperty(repoPath(f.file, baseDir))}`,
    `line=${String(f.line)}`,
    ...(f.column === undefined ? [] : [`col=${String(f.column)}`]),
    `title=${escapeWorkflowProperty(f.ruleId)}`,
  ];
  const command = f.cleared === undefined ? f.severity : 'notice';
  const cleared = f.cleared === undefined ? '' : `\n${CLEARED}: ${f.cleared}`;
  return `::${command} ${properties.join(',')}::${escapeWorkflowData(`${f.message}${cleared}\nhelp: ${f.help}`)}`;
}

/** The path relative to the checkout, with `/` separators. */
function repoPath(file: string, baseDir: string): string {
  const path = isAbsolute(file) ? relative(baseDir, file) : file;
  return path.split(sep).join('/');
}

// ---- SARIF ----

interface SarifRegion {
  readonly startLine: number;
  readonly startColumn?: number;
}

/** A SARIF 2.1.0 log (the OASIS schema; the subset GitHub code scanning reads): one run. */
export function sarifLog(run: LintRun): object {
  const ruleIndex = new Map<string, number>(LINT_RULES.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dbmigrate',
            version: run.version,
            informationUri: LINT_DOCS_URL,
            rules: LINT_RULES.map((r) => ({
              id: r.id,
              shortDescription: { text: r.title },
              help: { text: r.help },
              helpUri: `${LINT_DOCS_URL}#rules`,
              defaultConfiguration: {
                level: r.severity,
                // Opt-in rules run only when asked for (--include, lint.rules).
                ...('optIn' in r && { enabled: false }),
              },
            })),
          },
        },
        // Columns count characters (code points), not UTF-16 units or bytes.
        columnKind: 'unicodeCodePoints',
        ...(run.pgVersion !== undefined && {
          properties: {
            pgVersion: run.pgVersion.major,
            pgVersionSource: run.pgVersion.source,
          },
        }),
        results: run.findings.map((f) => {
          const region: SarifRegion = {
            startLine: f.line,
            ...(f.column !== undefined && { startColumn: f.column }),
          };
          return {
            ruleId: f.ruleId,
            ...(ruleIndex.has(f.ruleId) && { ruleIndex: ruleIndex.get(f.ruleId) }),
            level: level(f),
            message: {
              text: f.cleared === undefined ? f.message : `${f.message} (${CLEARED}: ${f.cleared})`,
            },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: artifactUri(f.file, run.baseDir) },
                  region,
                },
              },
            ],
          };
        }),
      },
    ],
  };
}

/**
 * A relative URI reference (percent-encoded segments, `/` separators) for a file under
 * `baseDir`, which code scanning resolves against the repository root; a `file:` URI for one
 * outside it.
 */
export function artifactUri(file: string, baseDir: string): string {
  const path = repoPath(file, baseDir);
  if (path === '..' || path.startsWith('../') || isAbsolute(path)) {
    return pathToFileURL(resolve(baseDir, file)).href;
  }
  return path.split('/').map(encodeURIComponent).join('/');
}
