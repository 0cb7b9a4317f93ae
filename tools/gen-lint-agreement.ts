// npm run gen:lint-agreement: runs our linter and Squawk over the corpus and migrations/, and
// writes the comparison into docs/lint.md.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  agreementByRule,
  compareCorpus,
  compareProjectMigrations,
  formatted,
  renderAgreement,
  withAgreement,
} from './squawk-agreement.js';

const file = process.argv[2] ?? 'docs/lint.md';
const section = await formatted(
  renderAgreement(
    agreementByRule((await compareCorpus()).results),
    await compareProjectMigrations('migrations'),
  ),
  file,
);
writeFileSync(file, withAgreement(readFileSync(file, 'utf8'), section));
process.stdout.write(`wrote ${file}\n`);
