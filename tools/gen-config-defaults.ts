// `npm run gen:config-defaults`: writes src/api/config-defaults.ts from the config schema.
import { writeFileSync } from 'node:fs';
import { CONFIG_DEFAULTS_FILE, renderConfigDefaults } from './config-defaults.js';

writeFileSync(CONFIG_DEFAULTS_FILE, await renderConfigDefaults());
process.stdout.write(`wrote ${CONFIG_DEFAULTS_FILE}\n`);
