// The run settings of dbmigrate.json come from config-file.ts's configSettings (no zod on the
// path of every engine command); the schema module keeps its own for library callers. Both
// must give the same for every field they map.
import { describe, expect, it } from 'vitest';
import { configSettings as schemaSettings, parseConfig } from '../../src/api/config.js';
import { configSettings, loadConfig } from '../../src/api/config-file.js';
import { resolveSettings } from '../../src/api/settings.js';

const CONFIGS: readonly unknown[] = [
  {},
  { historySchema: 'ops_history', windowThresholdMs: 50 },
  { lint: 'warn' },
  {
    lint: {
      policy: 'off',
      rules: { 'ban-drop-table': 'off', 'prefer-bigint': 'warning' },
      pgVersion: 15,
      smallTable: { maxRows: 5, maxBytes: 4096 },
    },
  },
  { lint: { smallTable: {} } },
];

describe('configSettings', () => {
  it('gives what the schema module gives, for every field it maps', () => {
    for (const json of CONFIGS) {
      const config = parseConfig(json, 'dbmigrate.json');
      expect(configSettings(config)).toEqual(schemaSettings(config));
    }
  });

  it('gives the defaults for a project without dbmigrate.json', async () => {
    const config = await loadConfig('/nonexistent/dbmigrate.json', true);
    expect(resolveSettings(configSettings(config))).toEqual(resolveSettings());
    expect(configSettings(config)).toEqual(schemaSettings(parseConfig({}, 'dbmigrate.json')));
  });
});
