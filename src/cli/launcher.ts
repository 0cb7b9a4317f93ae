#!/usr/bin/env node
// The `dbmigrate` executable: a version check that any Node can run, before the CLI (which
// needs Node 24's APIs and syntax) is even linked, so an old Node gets one clear line instead
// of a SyntaxError stack trace.
const REQUIRED_MAJOR = 24;
const running = process.versions.node;
if (Number(running.split('.')[0]) < REQUIRED_MAJOR) {
  process.stderr.write(
    `dbmigrate needs Node.js ${String(REQUIRED_MAJOR)} or newer; this is Node.js ${running}. Install Node.js ${String(REQUIRED_MAJOR)} (https://nodejs.org), or run \`make build\`, which installs it under ~/.cache/db-migration-operator.\n`,
  );
  process.exit(1);
}
// Liftoff only, set in-process so it holds however the CLI is started (the bin link, `node
// dist/cli/dbmigrate.js`, a container's entrypoint): V8 otherwise re-compiles libpg-query's
// WASM parser with TurboFan on every `lint` (about 1 s and 600 MB); the baseline compiler
// parses migrations just as well. It must be set before the parser's module is compiled.
// At run time --liftoff-only alone no longer stops the tier-up (its implications were resolved
// at start-up), so the two tiering flags are turned off by name.
const { setFlagsFromString } = await import('node:v8');
for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering'])
  setFlagsFromString(flag);
const { runCli } = await import('./main.js');
await runCli();
