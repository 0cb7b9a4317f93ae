// The dbmigrate CLI as a few bundled files: resolving and compiling hundreds of small modules
// (pg, pino, zod) costs more start-up time than the work `dbmigrate status` does.
import { defineConfig } from 'rolldown';

const BUILTIN_IMPORT =
  /^import\s+(?:\*\s+as\s+([\w$]+)|([\w$]+)|\{([^}]*)\})\s+from\s+"(node:[\w/]+)";$/gm;

/**
 * `import { readFileSync } from "node:fs"` makes Node build the module's ESM facade, which reads
 * every export: for node:fs that loads fs/promises, streams and readline, about 4 ms and 3 MB
 * a command. `process.getBuiltinModule()` hands over the same object without it. One line for
 * one line, so the source maps stay true.
 */
function builtinsWithoutEsmFacade() {
  return {
    name: 'builtins-without-esm-facade',
    renderChunk(code) {
      const out = code.replace(BUILTIN_IMPORT, (_line, namespace, name, names, module) => {
        const value = `process.getBuiltinModule(${JSON.stringify(module)})`;
        if (namespace ?? name) return `const ${namespace ?? name} = ${value};`;
        return `const {${names.replace(/([\w$]+)\s+as\s+([\w$]+)/g, '$1: $2')}} = ${value};`;
      });
      return out === code ? null : { code: out, map: null };
    },
  };
}

export default defineConfig({
  // The launcher checks the Node version before the CLI chunk it imports is linked.
  input: { dbmigrate: 'src/cli/launcher.ts' },
  platform: 'node',
  // libpg-query loads its .wasm from next to its own file: it must stay in node_modules. pino
  // is required on first use by src/observability/logger.ts, from node_modules too. The AWS SDK
  // (hundreds of modules) loads from node_modules only when a storage location is s3://.
  external: ['libpg-query', 'pino', /^@aws-sdk\//],
  output: {
    dir: 'dist/cli',
    format: 'esm',
    sourcemap: true,
    // main.js's own modules and every command's flags (plain data, for --help and parsing) in one chunk,
    // not one per command: each ESM chunk costs its own resolve, read and link at start-up.
    codeSplitting: {
      groups: [
        {
          name: 'specs',
          test: /[\\/]src[\\/](cli[\\/](specs|command-spec|exit-codes|package-version|usage-error)|engine[\\/](sql-parser|parse-cache)|api[\\/](settings|pg-version|nearest))/,
        },
      ],
    },
  },
  plugins: [builtinsWithoutEsmFacade()],
});
