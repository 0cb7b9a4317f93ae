// What a command accepts, declared once: the parser is built from it, `dbmigrate <cmd> --help`
// prints it and docs/cli.md is generated from it, so no flag can exist undocumented.
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../api/settings.js';
import { nearest } from '../api/nearest.js';
import { UsageError } from './usage-error.js';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** How the value is shown in help: `URL`, `DIR`, `DURATION`, `N`. */
  readonly value?: string;
  readonly description: string;
  /** What applies when the flag is absent, as a user would write it. */
  readonly defaultText?: string;
  /** Environment variable read when the flag is absent (before the default). */
  readonly env?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Flags several commands share; a command lists the ones it reads in `globals`. */
export const GLOBAL_FLAGS = {
  'database-url': {
    type: 'string',
    value: 'URL',
    description: 'the database to work on (postgres://user:password@host:5432/db)',
    env: 'DATABASE_URL',
  },
  migrations: {
    type: 'string',
    value: 'DIR',
    description: 'directory of NNNN_name.sql files',
    env: 'DBMIGRATE_MIGRATIONS',
    defaultText: '"migrations" in dbmigrate.json, else ./migrations',
  },
  config: {
    type: 'string',
    value: 'FILE',
    description: 'project settings (migrations, snapshots, post-verify, timeouts)',
    env: 'DBMIGRATE_CONFIG',
    defaultText: './dbmigrate.json when it exists',
  },
  schema: {
    type: 'string',
    value: 'NAME',
    description: 'schema of the history tables',
    env: 'DBMIGRATE_SCHEMA',
    defaultText: DEFAULTS.historySchema,
  },
  'lock-wait': {
    type: 'string',
    value: 'DURATION',
    description: "how long to wait for another runner's lock (0 fails at once)",
    defaultText: formatDuration(DEFAULTS.lockWaitMs),
  },
  'lock-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'lock_timeout of each migration (its lock_timeout header directive wins)',
    defaultText: formatDuration(DEFAULTS.lockTimeoutMs),
  },
  'statement-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'statement_timeout of each migration, 0 for none (its header directive wins)',
    defaultText: 'none',
  },
  json: { type: 'boolean', description: 'machine-readable output (errors too) on stdout' },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    description: 'trace, debug, info, warn, error or silent (logs go to stderr)',
    env: 'DBMIGRATE_LOG_LEVEL',
    defaultText: 'info',
  },
} as const satisfies FlagSpecs;

export type GlobalFlag = keyof typeof GLOBAL_FLAGS;

/** The globals of every command that runs the engine against a database. */
export const ENGINE_GLOBALS = [
  'database-url',
  'migrations',
  'config',
  'schema',
  'lock-wait',
  'lock-timeout',
  'statement-timeout',
  'json',
  'log-level',
] as const satisfies readonly GlobalFlag[];

export interface CommandSpec<F extends FlagSpecs = FlagSpecs, G extends GlobalFlag = GlobalFlag> {
  readonly name: string;
  /** One line, shown in `dbmigrate --help`. */
  readonly summary: string;
  /** Synopsis lines after `dbmigrate `, e.g. `snapshot create [--verify]`. */
  readonly usage: readonly string[];
  /** Paragraphs shown under the synopsis. */
  readonly details?: readonly string[];
  /** How many positional arguments it takes at most. */
  readonly positionals?: number;
  readonly flags: F;
  readonly globals: readonly G[];
  readonly examples?: readonly string[];
}

/** Declares a command spec while keeping its flag names and types for the parser. */
export function defineCommand<const F extends FlagSpecs, const G extends GlobalFlag>(
  spec: CommandSpec<F, G>,
): CommandSpec<F, G> {
  return spec;
}

type ValueOf<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean : string;
export type FlagValues<F extends FlagSpecs, G extends GlobalFlag> = {
  readonly [K in keyof F]?: ValueOf<F[K]>;
} & { readonly [K in G]?: ValueOf<(typeof GLOBAL_FLAGS)[K]> } & { readonly help?: boolean };

/** Every flag a command accepts: its own, the globals it reads, and --help. */
export function acceptedFlags(spec: CommandSpec): [string, FlagSpec][] {
  return [
    ...Object.entries(spec.flags),
    ...spec.globals.map((g): [string, FlagSpec] => [g, GLOBAL_FLAGS[g]]),
    ['help', { type: 'boolean', short: 'h', description: 'show this help' }],
  ];
}

/** Parses a command's arguments strictly against its spec; bad input is a UsageError. */
export function parseCommandArgs<F extends FlagSpecs, G extends GlobalFlag>(
  spec: CommandSpec<F, G>,
  args: readonly string[],
): { values: FlagValues<F, G>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, flag] of acceptedFlags(spec)) {
    options[name] = { type: flag.type, ...(flag.short !== undefined && { short: flag.short }) };
  }
  const max = spec.positionals ?? 0;
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: max > 0, strict: true });
  } catch (err) {
    throw new UsageError(
      `dbmigrate ${spec.name}: ${unknownFlagHint(spec, (err as Error).message)} (see dbmigrate ${spec.name} --help)`,
    );
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(
      `dbmigrate ${spec.name}: unexpected argument ${parsed.positionals[max] ?? ''} (see dbmigrate ${spec.name} --help)`,
    );
  }
  return { values: parsed.values as FlagValues<F, G>, positionals: parsed.positionals };
}

/** Names the global flag a command does not read, instead of Node's bare "Unknown option". */
function unknownFlagHint(spec: CommandSpec, message: string): string {
  const m = /^Unknown option '--([^']+)'/.exec(message);
  const flag = m?.[1];
  if (flag !== undefined && flag in GLOBAL_FLAGS) return `--${flag} does not apply to ${spec.name}`;
  const near =
    flag === undefined
      ? null
      : nearest(
          flag,
          acceptedFlags(spec).map(([name]) => name),
        );
  const base = message.replace(/\. To specify a positional argument.*$/s, '');
  return near === null ? base : `${base}; did you mean --${near}?`;
}

function flagLabel(name: string, flag: FlagSpec): string {
  const short = flag.short !== undefined ? `-${flag.short}, ` : '';
  return `${short}--${name}${flag.value !== undefined ? ` ${flag.value}` : ''}`;
}

function flagNotes(flag: FlagSpec): string {
  const notes = [
    ...(flag.env !== undefined ? [`env ${flag.env}`] : []),
    ...(flag.defaultText !== undefined ? [`default: ${flag.defaultText}`] : []),
  ];
  return notes.length ? ` (${notes.join('; ')})` : '';
}

/** `dbmigrate <cmd> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const labels = acceptedFlags(spec).map(([n, f]) => flagLabel(n, f).length);
  const width = Math.min(Math.max(...labels), 34);
  const rows = (entries: readonly [string, FlagSpec][]): string[] =>
    entries.flatMap(([n, f]) => {
      const label = flagLabel(n, f);
      const text = wrap(`${f.description}${flagNotes(f)}`, HELP_WIDTH - width - 4);
      // A label longer than the column gets its text on the lines below.
      if (label.length > width)
        return [`  ${label}`, ...text.map((t) => ' '.repeat(width + 4) + t)];
      return text.map((t, i) =>
        i === 0 ? `  ${label.padEnd(width)}  ${t}` : ' '.repeat(width + 4) + t,
      );
    });
  const own = Object.entries(spec.flags);
  const globals = acceptedFlags(spec).slice(own.length);
  return [
    `dbmigrate ${spec.name}: ${spec.summary}`,
    '',
    'usage:',
    ...spec.usage.map((u) => `  dbmigrate ${u}`),
    ...(spec.details ?? []).flatMap((d) => ['', ...wrap(d, HELP_WIDTH)]),
    ...(own.length ? ['', 'flags:', ...rows(own)] : []),
    '',
    'common flags:',
    ...rows(globals),
    ...(spec.examples?.length ? ['', 'examples:', ...spec.examples.map((e) => `  ${e}`)] : []),
  ].join('\n');
}

const HELP_WIDTH = 100;

/** Greedy word wrap; a word longer than the width stays whole on its own line. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.length ? lines : [''];
}

/** docs/cli.md section of one command. */
export function commandMarkdown(spec: CommandSpec): string {
  const table = (entries: readonly [string, FlagSpec][]): string[] => [
    '| flag | what it does | environment | default |',
    '| ---- | ------------ | ----------- | ------- |',
    ...entries.map(
      ([n, f]) =>
        `| \`${flagLabel(n, f)}\` | ${escapeCell(f.description)} | ${f.env !== undefined ? `\`${f.env}\`` : ''} | ${f.defaultText !== undefined ? escapeCell(f.defaultText) : ''} |`,
    ),
  ];
  return [
    `## ${spec.name}`,
    '',
    spec.summary.charAt(0).toUpperCase() + spec.summary.slice(1) + '.',
    '',
    '```',
    ...spec.usage.map((u) => `dbmigrate ${u}`),
    '```',
    ...(spec.details?.length ? ['', ...spec.details.flatMap((d, i) => (i ? ['', d] : [d]))] : []),
    '',
    ...table(acceptedFlags(spec)),
    ...(spec.examples?.length ? ['', '```sh', ...spec.examples, '```'] : []),
  ].join('\n');
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** `60000` → `60s`, `5000` → `5s`, `1500` → `1500ms`: as a user would type it. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${String(ms / 3_600_000)}h`;
  if (ms % 60_000 === 0 && ms >= 600_000) return `${String(ms / 60_000)}m`;
  if (ms % 1000 === 0) return `${String(ms / 1000)}s`;
  return `${String(ms)}ms`;
}
