import { describe, expect, it } from 'vitest';
import {
  artifactUri,
  caretPad,
  escapeWorkflowData,
  escapeWorkflowProperty,
  formatLintRun,
  type LintRun,
} from '../../src/cli/lint-output.js';
import { summariseFindings, type LintFinding } from '../../src/safety/lint/finding.js';
import { lintMigrations } from '../../src/safety/lint/linter.js';
import { LINT_RULES } from '../../src/safety/lint/rules.js';
import { migration } from './fixtures.js';

/** `create` stands at column 11: ten characters before it, one accented and one two cells wide. */
const INDEX_FILE = '-- migrate:up\n/* é 表 */ create index i on docs (body);\n';

const indexFinding: LintFinding = {
  ruleId: 'require-concurrent-index-creation',
  severity: 'error',
  file: 'migrations/0002_idx.sql',
  line: 2,
  column: 11,
  statement: 'create index i on docs (body);',
  message: 'CREATE INDEX i on existing table docs, 100% of its rows: blocks writes',
  help: 'Use CREATE INDEX CONCURRENTLY.',
};

/** No column (a comment finding), a file name and message that need escaping. */
const commentFinding: LintFinding = {
  ruleId: 'unused-ignore',
  severity: 'warning',
  file: 'migrations/0003_a,b:c.sql',
  line: 4,
  statement: '-- dbmigrate-lint: ignore ban-drop-table',
  message: 'first line\r\nsecond line, 50%',
  help: 'Remove it.',
};

function run(findings: readonly LintFinding[], overrides: Partial<LintRun> = {}): LintRun {
  return {
    findings,
    migrations: 3,
    summary: summariseFindings(findings),
    warningsAsErrors: false,
    fileTexts: new Map([
      ['migrations/0002_idx.sql', INDEX_FILE],
      [
        'migrations/0003_a,b:c.sql',
        '-- migrate:up\n\n\n  -- dbmigrate-lint: ignore ban-drop-table\n',
      ],
    ]),
    baseDir: '/repo',
    version: '1.2.3',
    ...overrides,
  };
}

describe('lint output formats', () => {
  it('human: location, source line with a caret under the column, help, then the summary', () => {
    expect(formatLintRun('human', run([indexFinding, commentFinding]))).toBe(
      [
        'migrations/0002_idx.sql:2:11: error require-concurrent-index-creation: CREATE INDEX i on existing table docs, 100% of its rows: blocks writes',
        '  2 | /* é 表 */ create index i on docs (body);',
        // é is one cell, 表 two: the caret stands under the c of create in a terminal.
        '    |            ^',
        '  help: Use CREATE INDEX CONCURRENTLY.',
        '',
        'migrations/0003_a,b:c.sql:4: warning unused-ignore: first line\r\nsecond line, 50%',
        '  4 |   -- dbmigrate-lint: ignore ban-drop-table',
        '    |   ^',
        '  help: Remove it.',
        '',
        'failed: 3 migrations linted, 1 error, 1 warning',
        'silence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md)',
      ].join('\n'),
    );
  });

  it('human: without findings, the summary alone; without the file text, no source line', () => {
    expect(formatLintRun('human', run([]))).toBe('ok: 3 migrations linted, no findings');
    expect(formatLintRun('human', run([indexFinding], { fileTexts: new Map() }))).toBe(
      [
        'migrations/0002_idx.sql:2:11: error require-concurrent-index-creation: CREATE INDEX i on existing table docs, 100% of its rows: blocks writes',
        '  help: Use CREATE INDEX CONCURRENTLY.',
        '',
        'failed: 3 migrations linted, 1 error, 0 warnings',
        'silence a reviewed finding with "-- dbmigrate-lint: ignore <rule-id> <reason>" above the statement (docs/lint.md)',
      ].join('\n'),
    );
  });

  it('human: the caret keeps tabs and counts wide characters twice, combining marks not at all', () => {
    expect(caretPad('\tab', 3)).toBe('\t ');
    expect(caretPad('表☕x', 3)).toBe('    ');
    expect(caretPad('e\u0301x', 3)).toBe(' ');
  });

  it('human: the caret stands under the column the linter reports after non-ASCII text', async () => {
    const m = migration('0002', 'idx', { up: '/* é 表 */ create index i on docs (body);' });
    const findings = (
      await lintMigrations([m], {
        fileTexts: new Map([[m.file, INDEX_FILE]]),
        defaultStatementTimeoutMs: 60_000,
      })
    ).filter((f) => f.ruleId === 'require-concurrent-index-creation');
    expect(findings.map((f) => [f.line, f.column])).toEqual([[2, 11]]);
    const text = formatLintRun(
      'human',
      run(findings, { fileTexts: new Map([[m.file, INDEX_FILE]]) }),
    );
    expect(text).toContain('  2 | /* é 表 */ create index i on docs (body);\n    |            ^\n');
  });

  it('json: the --json document, unchanged', () => {
    expect(JSON.parse(formatLintRun('json', run([indexFinding, commentFinding])))).toEqual({
      ok: false,
      migrations: 3,
      errors: 1,
      warnings: 1,
      findings: [indexFinding, commentFinding],
    });
    expect(formatLintRun('json', run([]))).toBe(
      '{\n  "ok": true,\n  "migrations": 3,\n  "errors": 0,\n  "warnings": 0,\n  "findings": []\n}',
    );
  });

  it('a finding the live facts cleared is a note with its reason in every format, and fails nothing', () => {
    const cleared: LintFinding = {
      ...indexFinding,
      message: 'CREATE INDEX i on existing table docs without CONCURRENTLY blocks writes',
      cleared: 'table docs has ~100 rows (16 kB): the build holds SHARE for milliseconds',
    };
    const r = run([cleared], { pgVersion: { major: 15, source: 'server' } });
    expect(r.summary).toEqual({ errors: 0, warnings: 0, cleared: 1, ok: true });
    const human = formatLintRun('human', r);
    expect(human).toContain(
      'migrations/0002_idx.sql:2:11: note require-concurrent-index-creation: CREATE INDEX i',
    );
    expect(human).toContain(
      '  cleared by live facts: table docs has ~100 rows (16 kB): the build holds SHARE for milliseconds\n  help:',
    );
    expect(human).toContain(
      "ok: 3 migrations linted, 0 errors, 0 warnings, 1 cleared by live facts\njudged for PostgreSQL 15 (the server's version)",
    );
    const json = JSON.parse(formatLintRun('json', r)) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: true, errors: 0, cleared: 1, findings: [cleared] });
    expect(formatLintRun('gcc', r)).toBe(
      'migrations/0002_idx.sql:2:11: note: CREATE INDEX i on existing table docs without CONCURRENTLY blocks writes (cleared by live facts: table docs has ~100 rows (16 kB): the build holds SHARE for milliseconds) [require-concurrent-index-creation]',
    );
    expect(formatLintRun('github', r)).toMatch(
      /^::notice file=migrations\/0002_idx\.sql,line=2,col=11,title=require-concurrent-index-creation::CREATE INDEX i .*%0Acleared by live facts: table docs has ~100 rows \(16 kB\)/,
    );
    const sarif = JSON.parse(formatLintRun('sarif', r)) as {
      runs: { results: { level: string; message: { text: string } }[] }[];
    };
    expect(sarif.runs[0]?.results[0]?.level).toBe('note');
    expect(sarif.runs[0]?.results[0]?.message.text).toContain('(cleared by live facts: table docs');
  });

  it('gcc: file:line:col: severity: message [rule-id], one line per finding', () => {
    expect(formatLintRun('gcc', run([indexFinding, commentFinding]))).toBe(
      [
        'migrations/0002_idx.sql:2:11: error: CREATE INDEX i on existing table docs, 100% of its rows: blocks writes [require-concurrent-index-creation]',
        // No column: file:line, which errorformat reads too; a line break would split the entry.
        'migrations/0003_a,b:c.sql:4: warning: first line second line, 50% [unused-ignore]',
      ].join('\n'),
    );
    expect(formatLintRun('gcc', run([]))).toBe('');
  });

  it('github: one workflow command per finding, data and properties escaped', () => {
    expect(formatLintRun('github', run([indexFinding, commentFinding]))).toBe(
      [
        '::error file=migrations/0002_idx.sql,line=2,col=11,title=require-concurrent-index-creation::CREATE INDEX i on existing table docs, 100%25 of its rows: blocks writes%0Ahelp: Use CREATE INDEX CONCURRENTLY.',
        '::warning file=migrations/0003_a%2Cb%3Ac.sql,line=4,title=unused-ignore::first line%0D%0Asecond line, 50%25%0Ahelp: Remove it.',
      ].join('\n'),
    );
    expect(escapeWorkflowData('100% a:b,c\r\n')).toBe('100%25 a:b,c%0D%0A');
    expect(escapeWorkflowProperty('100% a:b,c\r\n')).toBe('100%25 a%3Ab%2Cc%0D%0A');
  });

  it('github: an absolute path is made relative to the checkout', () => {
    const f = { ...indexFinding, file: '/repo/migrations/0002_idx.sql' };
    expect(formatLintRun('github', run([f]))).toMatch(
      /^::error file=migrations\/0002_idx\.sql,line=2,col=11,/,
    );
  });

  it('sarif: a SARIF 2.1.0 log with the rule catalogue and one result per finding', () => {
    const log = JSON.parse(formatLintRun('sarif', run([indexFinding, commentFinding]))) as {
      runs: { tool: { driver: { rules: unknown[] } } }[];
    };
    const rules = log.runs[0]?.tool.driver.rules ?? [];
    expect(rules).toHaveLength(LINT_RULES.length);
    const index = (id: string): number => LINT_RULES.findIndex((r) => r.id === id);
    expect(log).toEqual({
      $schema:
        'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'dbmigrate',
              version: '1.2.3',
              informationUri:
                'https://github.com/docserver/db-migration-operator/blob/main/docs/lint.md',
              rules,
            },
          },
          columnKind: 'unicodeCodePoints',
          results: [
            {
              ruleId: 'require-concurrent-index-creation',
              ruleIndex: index('require-concurrent-index-creation'),
              level: 'error',
              message: {
                text: 'CREATE INDEX i on existing table docs, 100% of its rows: blocks writes',
              },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: 'migrations/0002_idx.sql' },
                    region: { startLine: 2, startColumn: 11 },
                  },
                },
              ],
            },
            {
              ruleId: 'unused-ignore',
              ruleIndex: index('unused-ignore'),
              level: 'warning',
              message: { text: 'first line\r\nsecond line, 50%' },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: 'migrations/0003_a%2Cb%3Ac.sql' },
                    region: { startLine: 4 },
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    expect(rules[index('require-concurrent-index-creation')]).toEqual({
      id: 'require-concurrent-index-creation',
      shortDescription: { text: 'CREATE INDEX without CONCURRENTLY on an existing table' },
      help: { text: expect.stringMatching(/^Use CREATE INDEX CONCURRENTLY/) as string },
      helpUri: 'https://github.com/docserver/db-migration-operator/blob/main/docs/lint.md#rules',
      defaultConfiguration: { level: 'error' },
    });
    // Opt-in: off unless asked for.
    expect(rules[index('require-table-schema')]).toMatchObject({
      defaultConfiguration: { level: 'warning', enabled: false },
    });
  });

  it('sarif: artifact URIs are relative and percent-encoded, file: URIs outside the checkout', () => {
    expect(artifactUri('/repo/db/0001 ünï.sql', '/repo')).toBe('db/0001%20%C3%BCn%C3%AF.sql');
    expect(artifactUri('db/0001_x.sql', '/repo')).toBe('db/0001_x.sql');
    expect(artifactUri('/elsewhere/0001_x.sql', '/repo')).toBe('file:///elsewhere/0001_x.sql');
    expect(artifactUri('../up/0001_x.sql', '/repo/sub')).toBe('file:///repo/up/0001_x.sql');
  });
});
