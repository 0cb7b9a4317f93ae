// The floor of a first lint: Node loading libpg-query (V8's baseline compiler only, as the CLI
// sets it) and parsing the ten migration files, with nothing of dbmigrate around it.
//
//   node dist/bench/lint/parser-floor.js
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering'])
  setFlagsFromString(flag);
const pg = await import('libpg-query');
await pg.loadModule();
for (const file of readdirSync('migrations').filter((f) => f.endsWith('.sql')))
  pg.parseSync(readFileSync(join('migrations', file), 'utf8'));
