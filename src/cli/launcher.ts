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
// V8's code cache from here on, so the CLI's own chunk and its commands' specs compile from it
// too (main.js enables it again for an unbundled start; the second call is a no-op).
process.getBuiltinModule('node:module').enableCompileCache();
const { runCli } = await import('./main.js');
await runCli();
