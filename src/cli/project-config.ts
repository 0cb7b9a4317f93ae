import { loadConfig, type DbmigrateConfig } from '../api/config.js';
import type { CommandIo } from './context.js';

/** `--config FILE`, else `$DBMIGRATE_CONFIG`, else `./dbmigrate.json` when it exists. */
export function projectConfig(
  values: { config?: string | undefined },
  io: CommandIo,
): Promise<DbmigrateConfig> {
  const explicit = values.config ?? io.env['DBMIGRATE_CONFIG'];
  return loadConfig(explicit ?? 'dbmigrate.json', explicit === undefined);
}
