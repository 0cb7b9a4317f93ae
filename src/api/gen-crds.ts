// `npm run gen:crds`: writes crds/*.yaml and the Helm chart's copy from the zod schemas.
// test/unit/crds.test.ts fails when either is stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdYaml } from './crd-yaml.js';
import { CRD_DIRS, customResourceDefinitions } from './crd.js';

const dirs = process.argv.length > 2 ? process.argv.slice(2) : CRD_DIRS;
for (const dir of dirs) {
  mkdirSync(dir, { recursive: true });
  for (const [file, crd] of Object.entries(customResourceDefinitions())) {
    writeFileSync(join(dir, file), renderCrdYaml(crd));
    process.stdout.write(`wrote ${join(dir, file)}\n`);
  }
}
