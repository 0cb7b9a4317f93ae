import { describe, expect, it } from 'vitest';
import { caseLabel, lintCase, LINT_CASES } from './lint-cases.js';
import { lintOne, ruleIds } from './lint-helpers.js';
import { LINT_RULES, type LintRuleId } from '../../src/safety/lint/rules.js';
describe('every lint rule has flagged and safe cases', () => {
  it('covers the whole catalogue', () => {
    expect(Object.keys(LINT_CASES).sort()).toEqual(LINT_RULES.map((r) => r.id).sort());
    for (const [id, cases] of Object.entries(LINT_CASES)) {
      expect(cases.flagged.length, id).toBeGreaterThan(0);
      expect(cases.safe.length, id).toBeGreaterThan(0);
    }
  });
});

for (const [id, cases] of Object.entries(LINT_CASES)) {
  describe(id, () => {
    for (const c of cases.flagged) {
      it(`flags: ${caseLabel(c)}`, async () => {
        const findings = await lintCase(c, id as LintRuleId);
        expect(ruleIds(findings)).toContain(id);
        const f = findings.find((x) => x.ruleId === id);
        expect(f?.message).toBeTruthy();
        expect(f?.help).toBeTruthy();
        expect(f?.line).toBeGreaterThan(0);
      });
    }
    for (const c of cases.safe) {
      it(`passes: ${caseLabel(c)}`, async () => {
        const findings = await lintCase(c, id as LintRuleId);
        expect(ruleIds(findings)).not.toContain(id);
        expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
      });
    }
  });
}

describe('opt-in rules', () => {
  it('run only when included, and an ignore comment may name them either way', async () => {
    const optIn = LINT_RULES.filter((r) => 'optIn' in r && r.optIn).map((r) => r.id);
    expect(optIn).toEqual(['require-table-schema']);
    const sql = 'alter table t add column c text;';
    expect(ruleIds(await lintOne(sql))).toEqual([]);
    expect(ruleIds(await lintOne(sql, { include: ['require-table-schema'] }))).toEqual([
      'require-table-schema',
    ]);
    const ignored = `-- dbmigrate-lint: ignore require-table-schema search_path is fixed by the role\n${sql}`;
    expect(ruleIds(await lintOne(ignored, { include: ['require-table-schema'] }))).toEqual([]);
  });
});

describe('REINDEX SYSTEM', () => {
  it('is its own finding, and never advised to run CONCURRENTLY, which PostgreSQL has not for it', async () => {
    const findings = await lintCase('reindex system app;');
    expect(ruleIds(findings)).toEqual(['ban-reindex-system']);
    for (const f of findings)
      expect(`${f.message} ${f.help}`).not.toMatch(/use reindex … concurrently/i);
  });
});
