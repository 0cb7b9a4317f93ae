// Our linter beside Squawk 2.66, run for real (hack/squawk.sh): every Squawk rule has an
// equivalent of ours, every difference on the corpus is explained, and docs/lint.md says so.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AGREEMENT_END,
  AGREEMENT_START,
  agreementByRule,
  compareCorpus,
  compareProjectMigrations,
  formatted,
  renderAgreement,
  SQUAWK_NOTES,
  SQUAWK_RULES,
  squawkBinary,
  type CaseResult,
} from '../../tools/squawk-agreement.js';

describe('our linter beside Squawk 2.66', () => {
  let results: CaseResult[];
  let reported: Set<string>;
  beforeAll(async () => {
    ({ results, reported } = await compareCorpus());
  }, 120_000);

  it('maps every rule name to one Squawk itself accepts', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dbm-squawk-')), 'one.sql');
    writeFileSync(file, 'select 1;\n');
    for (const name of Object.keys(SQUAWK_RULES).filter((n) => n !== 'syntax-error')) {
      // A name Squawk does not know is a usage error (exit 2).
      expect(() => execFileSync(squawkBinary(), [`--exclude=${name}`, file]), name).not.toThrow();
    }
    expect(() => execFileSync(squawkBinary(), ['--exclude=no-such-rule', file])).toThrow();
  });

  it('has an equivalent of every rule Squawk reported on the corpus', () => {
    expect(reported.size).toBeGreaterThan(20);
    for (const name of reported) expect(Object.keys(SQUAWK_RULES), name).toContain(name);
  });

  it('runs our rules as the rule tests expect on every case', () => {
    for (const r of results)
      expect(r.ours, `${r.rule} ${r.expected}: ${r.label}`).toBe(r.expected === 'flag');
  });

  it('explains every rule where the two differ or that is ours alone, and no rule where they agree', () => {
    for (const rule of agreementByRule(results)) {
      if (rule.differing.length > 0 || rule.agree === null)
        expect(
          SQUAWK_NOTES[rule.rule],
          `${rule.rule}: ${rule.differing.map((d) => d.label).join(' / ')}`,
        ).toBeTruthy();
      else
        expect(SQUAWK_NOTES[rule.rule], `${rule.rule} agrees fully: drop its note`).toBeUndefined();
    }
  });

  it('is reported in docs/lint.md as it is (npm run gen:lint-agreement)', async () => {
    const section = await formatted(
      renderAgreement(agreementByRule(results), await compareProjectMigrations('migrations')),
      'docs/lint.md',
    );
    const doc = readFileSync('docs/lint.md', 'utf8');
    const start = doc.indexOf(AGREEMENT_START);
    const end = doc.indexOf(AGREEMENT_END);
    expect(
      start,
      'docs/lint.md has no "Beside Squawk" section: npm run gen:lint-agreement',
    ).toBeGreaterThan(-1);
    expect(doc.slice(start, end + AGREEMENT_END.length)).toBe(section);
  });
});
