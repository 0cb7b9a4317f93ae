import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/** Flags every command that talks to a database understands. */
export const COMMON_OPTIONS = {
  'database-url': { type: 'string' },
  migrations: { type: 'string' },
  schema: { type: 'string' },
  json: { type: 'boolean' },
  'lock-wait': { type: 'string' },
  'lock-timeout': { type: 'string' },
  'statement-timeout': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  command: string,
  args: readonly string[],
  extra: T,
  positionals = 0,
) {
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { ...COMMON_OPTIONS, ...extra },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(
        `dbmigrate ${command}: unexpected argument ${parsed.positionals[positionals] ?? ''}`,
      );
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`dbmigrate ${command}: ${(err as Error).message}`);
  }
}
