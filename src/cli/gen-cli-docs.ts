// `npm run gen:cli-docs`: writes docs/cli.md from the command specs. test/unit/cli-help.test.ts
// fails when it is stale.
import { writeFileSync } from 'node:fs';
import { cliMarkdown } from './cli-docs.js';

const file = process.argv[2] ?? 'docs/cli.md';
writeFileSync(file, cliMarkdown());
process.stdout.write(`wrote ${file}\n`);
