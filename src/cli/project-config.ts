import type { DbmigrateConfig } from '../api/config.js';
import { ConfigError, loadConfig } from '../api/config-file.js';
import type { CommandIo } from './context.js';
import { suggestName } from '../api/nearest.js';

/**
 * `--config FILE`, else `$DBMIGRATE_CONFIG`, else `./dbmigrate.json` when it exists. Lint rule
 * IDs in `lint.rules` are checked here, against the linter's catalogue (src/api, which parses
 * the file, sits below the linter), so every command refuses a typo the same way. The catalogue
 * loads only when the file names a rule: with none there is nothing to check.
 */
export async function projectConfig(
  values: { config?: string | undefined },
  io: CommandIo,
): Promise<DbmigrateConfig> {
  const explicit = values.config ?? io.env['DBMIGRATE_CONFIG'];
  const file = explicit ?? 'dbmigrate.json';
  const config = await loadConfig(file, explicit === undefined);
  if (Object.keys(config.lint.rules).length === 0) return config;
  const { lintRuleSettingProblems } = await import('../safety/lint/rules.js');
  const problems = lintRuleSettingProblems(config.lint.rules, suggestName);
  if (problems.length > 0) {
    throw new ConfigError(
      `${file}: ${problems.map((p) => `lint.rules.${p.key}: ${p.message}`).join('; ')}`,
    );
  }
  return config;
}
