import { readFileSync } from 'node:fs';
import type { DbmigrateConfig } from './config.js';
import { DEFAULT_CONFIG } from './config-defaults.js';
import type { SettingsInput } from './settings.js';

export class ConfigError extends Error {
  readonly code = 'CONFIG_ERROR';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * Reads `file`; a missing file gives the defaults only when `optional`. The schema (config.ts,
 * zod) is loaded only to check a file that exists: building it costs a CLI start more than a
 * lint of ten migrations, and without a file the defaults are known (config-defaults.ts).
 */
export async function loadConfig(file: string, optional: boolean): Promise<DbmigrateConfig> {
  let text: string;
  try {
    // Sync on purpose: node:fs/promises pulls in streams and readline, which every command
    // would load at start-up for one small file.
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT')
      return structuredClone(DEFAULT_CONFIG);
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const { parseConfig } = await import('./config.js');
  return parseConfig(json, file);
}

/**
 * The run settings dbmigrate.json decides (flags may override them). Beside loadConfig rather
 * than the schema: every command that runs the engine builds its settings from the config, and
 * would otherwise load zod for it. config.ts's configSettings must give the same
 * (test/unit/config-settings.test.ts).
 */
export function configSettings(config: DbmigrateConfig): SettingsInput {
  return {
    historySchema: config.historySchema,
    lint: config.lint.policy,
    lintRules: config.lint.rules,
    lintPgVersion: config.lint.pgVersion,
    lintSmallTable: config.lint.smallTable,
    windowThresholdMs: config.windowThresholdMs,
  };
}
