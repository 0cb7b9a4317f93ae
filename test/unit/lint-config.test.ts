import { describe, expect, it } from 'vitest';
import { configSettings, parseConfig } from '../../src/api/config.js';
import { resolveSettings } from '../../src/api/settings.js';
import { settingsFrom } from '../../src/cli/migrator-factory.js';
import { suggestName } from '../../src/api/nearest.js';
import { lintMigrations } from '../../src/safety/lint/linter.js';
import {
  KNOWN_LINT_RULE_IDS,
  lintRuleSettingProblems,
  LintRuleSelection,
} from '../../src/safety/lint/rules.js';
import { lintPending } from '../../src/safety/pipeline/steps.js';
import { migration } from './fixtures.js';

describe('lint in dbmigrate.json', () => {
  it('keeps the policy string as it was, and takes { policy, rules }', () => {
    expect(parseConfig({}, 'dbmigrate.json').lint).toEqual({ policy: 'enforce', rules: {} });
    expect(parseConfig({ lint: 'warn' }, 'dbmigrate.json').lint).toEqual({
      policy: 'warn',
      rules: {},
    });
    const config = parseConfig(
      { lint: { rules: { 'prefer-bigint': 'off', 'ban-drop-column': 'warning' } } },
      'dbmigrate.json',
    );
    expect(config.lint).toEqual({
      policy: 'enforce',
      rules: { 'prefer-bigint': 'off', 'ban-drop-column': 'warning' },
    });
    expect(configSettings(config)).toMatchObject({
      lint: 'enforce',
      lintRules: { 'prefer-bigint': 'off', 'ban-drop-column': 'warning' },
    });
  });

  it('names the file and the field of a bad value', () => {
    expect(() => parseConfig({ lint: 'enforced' }, 'conf/dbmigrate.json')).toThrow(
      'conf/dbmigrate.json: lint: must be "enforce", "warn" or "off"',
    );
    expect(() =>
      parseConfig({ lint: { rules: { 'prefer-bigint': 'warn' } } }, 'dbmigrate.json'),
    ).toThrow('dbmigrate.json: lint.rules.prefer-bigint: must be "off", "warning" or "error"');
    expect(() => parseConfig({ lint: { polcy: 'warn' } }, 'dbmigrate.json')).toThrow(
      /dbmigrate\.json: lint: Unrecognized key: "polcy"/,
    );
    expect(() => parseConfig({ lint: 5 }, 'dbmigrate.json')).toThrow(
      /dbmigrate\.json: lint: must be "enforce", "warn" or "off", or an object/,
    );
  });

  it('reaches the run settings through settingsFrom', () => {
    const config = parseConfig({ lint: { rules: { 'ban-drop-table': 'off' } } }, 'x.json');
    expect(settingsFrom({}, { stdout: () => undefined, env: {} }, config).lintRules).toEqual({
      'ban-drop-table': 'off',
    });
    expect(resolveSettings().lintRules).toEqual({});
  });
});

describe('lint rule settings', () => {
  it('names an unknown rule with the one meant, a rule named twice, and an unconfigurable rule', () => {
    expect(
      lintRuleSettingProblems(
        {
          'prefer-bigin': 'off',
          'require-concurrent-index': 'warning',
          nonsense: 'off',
          'prefer-bigint': 'warning',
          'prefer-bigint-primary-key': 'off',
          'syntax-error': 'warning',
          'invalid-ignore-comment': 'error',
        },
        suggestName,
      ),
    ).toEqual([
      {
        key: 'prefer-bigin',
        message:
          'unknown lint rule "prefer-bigin"; did you mean "prefer-bigint"? (the rule IDs are listed in docs/lint.md)',
      },
      {
        key: 'require-concurrent-index',
        message:
          'unknown lint rule "require-concurrent-index"; did you mean "require-concurrent-index-creation"? (the rule IDs are listed in docs/lint.md)',
      },
      {
        key: 'nonsense',
        message: 'unknown lint rule "nonsense" (the rule IDs are listed in docs/lint.md)',
      },
      {
        key: 'prefer-bigint-primary-key',
        message:
          '"prefer-bigint" and "prefer-bigint-primary-key" both name prefer-bigint (one is its former ID): set it once',
      },
      {
        key: 'syntax-error',
        message:
          'syntax-error reports a migration file the linter cannot check as written and is always an error',
      },
    ]);
    // A typo of the former ID suggests the current one.
    expect(
      lintRuleSettingProblems({ 'prefer-bigint-primary-keys': 'off' }, suggestName)[0]?.message,
    ).toContain('did you mean "prefer-bigint"?');
    expect(KNOWN_LINT_RULE_IDS).toContain('prefer-bigint-primary-key');
  });

  it('runs a rule at its setting; off unless --include names it; opt-in rules on when set', () => {
    const selection = new LintRuleSelection(['ban-drop-table'], {
      'ban-drop-table': 'off',
      'ban-drop-column': 'off',
      'prefer-bigint-primary-key': 'error',
      'require-table-schema': 'warning',
      'ban-truncate': 'warning',
    });
    expect(selection.enabled('ban-drop-table')).toBe(true);
    expect(selection.severity('ban-drop-table')).toBe('error');
    expect(selection.enabled('ban-drop-column')).toBe(false);
    expect(selection.severity('prefer-bigint')).toBe('error');
    expect(selection.enabled('require-table-schema')).toBe(true);
    expect(selection.severity('require-table-schema')).toBe('warning');
    expect(selection.severity('ban-truncate')).toBe('warning');
    expect(new LintRuleSelection().enabled('require-table-schema')).toBe(false);
    expect(() => new LintRuleSelection([], { 'prefer-bigin': 'off' })).toThrow(
      'lint rule settings: prefer-bigin: unknown lint rule "prefer-bigin"',
    );
  });

  it('lintMigrations applies them, to unused-ignore too', async () => {
    const m = migration('0002', 'x', {
      up: [
        'alter table docs add column n integer;',
        '-- dbmigrate-lint: ignore ban-truncate nothing to see',
        'select 1;',
      ].join('\n'),
    });
    const lint = (rules: Record<string, 'off' | 'warning' | 'error'>) =>
      lintMigrations([m], { defaultStatementTimeoutMs: 60_000, rules }).then((fs) =>
        fs.map((f) => `${f.ruleId}:${f.severity}`),
      );
    expect(await lint({})).toEqual(['prefer-bigint:warning', 'unused-ignore:warning']);
    expect(await lint({ 'prefer-bigint': 'error', 'unused-ignore': 'off' })).toEqual([
      'prefer-bigint:error',
    ]);
    // An ignore of a rule that is off is not judged (as for an opt-in rule left out).
    expect(await lint({ 'prefer-bigint': 'off', 'ban-truncate': 'off' })).toEqual([]);
  });

  it('apply --safe: a rule set to error blocks the lint step, one set to off or warning does not', async () => {
    const migrations = [
      migration('0001', 'a', { up: 'create table docs (id bigint primary key);' }),
      migration('0002', 'b', { up: 'alter table docs add column n integer;' }),
    ];
    expect(await lintPending(migrations, ['0002'], 'enforce')).toMatchObject({ ok: true });
    const blocked = await lintPending(migrations, ['0002'], 'enforce', {
      rules: { 'prefer-bigint': 'error' },
    });
    expect(blocked.ok).toBe(false);
    expect(blocked.detail).toContain('1 lint error(s) (policy enforce)');
    expect(blocked.detail).toContain('prefer-bigint');

    const dropping = [
      migrations[0] ?? migration('0001', 'a'),
      migration('0002', 'b', { up: 'alter table docs drop column n;' }),
    ];
    expect(await lintPending(dropping, ['0002'], 'enforce')).toMatchObject({ ok: false });
    expect(
      await lintPending(dropping, ['0002'], 'enforce', { rules: { 'ban-drop-column': 'warning' } }),
    ).toMatchObject({ ok: true });
    expect(
      await lintPending(dropping, ['0002'], 'enforce', { rules: { 'ban-drop-column': 'off' } }),
    ).toMatchObject({ ok: true });
  });
});
