import { commandMarkdown } from './command-spec.js';
import { EXIT_CODE_LINES } from './exit-codes.js';
import { COMMAND_SPECS } from './specs/index.js';

/** docs/cli.md: every command with its flags, environment variables and defaults. */
export function cliMarkdown(): string {
  return [
    '# dbmigrate command line',
    '',
    '<!-- Generated from src/cli/specs by `npm run gen:cli-docs`; edit the specs, not this file. -->',
    '',
    '`dbmigrate <command> --help` prints the same for one command. A flag beats its environment',
    'variable, which beats dbmigrate.json, which beats the default. Durations are written `500ms`,',
    '`5s`, `5m` or `1h30m`. With `--json`, errors are JSON on stdout too',
    '(`{"error":{"code","exitCode","message"}}`). Passwords never appear in output or logs.',
    '',
    '| command | what it does |',
    '| ------- | ------------ |',
    ...COMMAND_SPECS.map(
      (s) => `| [\`${s.name}\`](#${s.name}) | ${s.summary.replaceAll('|', '\\|')} |`,
    ),
    '',
    '## Exit codes',
    '',
    '| code | meaning |',
    '| ---- | ------- |',
    ...EXIT_CODE_LINES.map(([code, meaning]) => `| ${String(code)} | ${meaning} |`),
    '',
    ...COMMAND_SPECS.flatMap((s) => [commandMarkdown(s), '']),
  ].join('\n');
}
