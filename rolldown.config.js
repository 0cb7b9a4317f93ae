// The dbmigrate CLI as a few bundled files: resolving and compiling hundreds of small modules
// (pg, pino, zod) costs more start-up time than the work `dbmigrate status` does.
import { defineConfig } from 'rolldown';

export default defineConfig({
  // The launcher checks the Node version before the CLI chunk it imports is linked.
  input: { dbmigrate: 'src/cli/launcher.ts' },
  platform: 'node',
  // libpg-query loads its .wasm from next to its own file: it must stay in node_modules.
  external: ['libpg-query'],
  output: { dir: 'dist/cli', format: 'esm', sourcemap: true },
});
