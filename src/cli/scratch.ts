import { CLI_VOCABULARY, scratchChoice } from '../safety/pipeline/choices.js';
import { withDatabase } from '../safety/snapshot/pg-tools.js';
import type { CommandIo } from './context.js';
import { databaseUrl, type CommonValues } from './migrator-factory.js';
import { UsageError } from './usage-error.js';

/** The flags that say where temporary full copies (verify, staging restore) may be created. */
export const SCRATCH_OPTIONS = {
  'scratch-url': { type: 'string' },
  'scratch-on-production': { type: 'boolean' },
} as const;

export interface ScratchValues extends CommonValues {
  readonly 'scratch-url'?: string | undefined;
  readonly 'scratch-on-production'?: boolean | undefined;
}

/**
 * The server URL for a temporary copy: `--scratch-url` (or DBMIGRATE_SCRATCH_URL), or the
 * production server only with `--scratch-on-production`; otherwise a usage error naming both.
 */
export function scratchServerUrl(values: ScratchValues, io: CommandIo, purpose: string): string {
  const given = values['scratch-url'] ?? io.env['DBMIGRATE_SCRATCH_URL'];
  const choice = scratchChoice(
    {
      scratchServer: given !== undefined,
      allowProductionServer: values['scratch-on-production'] === true,
    },
    CLI_VOCABULARY,
    purpose,
  );
  if (choice.kind === 'refuse') throw new UsageError(choice.message);
  return choice.kind === 'scratch-server'
    ? (given as string)
    : withDatabase(databaseUrl(values, io), 'postgres');
}
