// `npm run gen:crds`: writes crds/*.yaml from the zod schemas. test/unit/crds.test.ts fails when they are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdYaml } from './crd-yaml.js';
import { customResourceDefinitions } from './crd.js';

const dir = process.argv[2] ?? 'crds';
mkdirSync(dir, { recursive: true });
for (const [file, crd] of Object.entries(customResourceDefinitions())) {
  writeFileSync(join(dir, file), renderCrdYaml(crd));
  process.stdout.write(`wrote ${join(dir, file)}\n`);
}
