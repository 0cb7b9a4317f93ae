import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/config.js';
import { DEFAULT_CONFIG } from '../../src/api/config-defaults.js';
import { CONFIG_DEFAULTS_FILE, renderConfigDefaults } from '../../tools/config-defaults.js';

describe("dbmigrate.json's defaults without the schema", () => {
  it('are what the schema fills in for an empty file (else: npm run gen:config-defaults)', async () => {
    expect(DEFAULT_CONFIG).toEqual(parseConfig({}, 'dbmigrate.json'));
    expect(readFileSync(CONFIG_DEFAULTS_FILE, 'utf8')).toBe(await renderConfigDefaults());
  });
});
