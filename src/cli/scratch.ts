import type { Logger } from 'pino';
import { openClient } from '../db/connection.js';
import { checkDatabaseUrl } from '../db/database-url.js';
import { CLI_VOCABULARY, scratchChoice } from '../safety/pipeline/choices.js';
import { startLocalServer } from '../safety/scratch/local-server.js';
import { withDatabase } from '../safety/snapshot/pg-tools.js';
import type { CommandIo } from './context.js';
import { databaseUrl, type CommonValues } from './migrator-factory.js';
import { UsageError } from './usage-error.js';

export interface ScratchValues extends CommonValues {
  readonly 'scratch-url'?: string | undefined;
  readonly 'scratch-local'?: boolean | undefined;
  readonly 'scratch-on-production'?: boolean | undefined;
}

/** A server for temporary copies, and how to give it back when the command ends. */
export interface ScratchServer {
  readonly url: string;
  release(): Promise<void>;
}

/** Whether the flags name a scratch server at all (checked before anything is changed). */
export function checkScratchChoice(values: ScratchValues, io: CommandIo, purpose: string): void {
  const given = values['scratch-url'] ?? io.env['DBMIGRATE_SCRATCH_URL'];
  const choice = scratchChoice(
    {
      scratchServer: given !== undefined || values['scratch-local'] === true,
      allowProductionServer: values['scratch-on-production'] === true,
    },
    CLI_VOCABULARY,
    purpose,
  );
  if (choice.kind === 'refuse') throw new UsageError(choice.message);
}

/**
 * The server for a temporary copy: `--scratch-url` (or DBMIGRATE_SCRATCH_URL), a throwaway
 * local server of the production server's major with `--scratch-local`, or the production
 * server only with `--scratch-on-production`; otherwise a usage error naming all three.
 */
export async function scratchServer(
  values: ScratchValues,
  io: CommandIo,
  purpose: string,
  logger?: Logger,
  /** The major the copy needs (a snapshot's); production's when unknown. */
  knownMajor?: number,
): Promise<ScratchServer> {
  checkScratchChoice(values, io, purpose);
  const given = values['scratch-url'] ?? io.env['DBMIGRATE_SCRATCH_URL'];
  const none = (): Promise<void> => Promise.resolve();
  if (given !== undefined) {
    const source = values['scratch-url'] !== undefined ? '--scratch-url' : 'DBMIGRATE_SCRATCH_URL';
    return { url: checkDatabaseUrl(given, source), release: none };
  }
  if (values['scratch-local'] === true) {
    const major = knownMajor ?? (await productionMajor(databaseUrl(values, io)));
    const server = await startLocalServer({ major, ...(logger !== undefined && { logger }) });
    return { url: server.url, release: () => server.stop() };
  }
  return { url: withDatabase(databaseUrl(values, io), 'postgres'), release: none };
}

async function productionMajor(url: string): Promise<number> {
  const client = await openClient(url, 'dbmigrate:server-version');
  try {
    const res = await client.query<{ n: string }>(
      "select current_setting('server_version_num') as n",
    );
    return Math.floor(Number(res.rows[0]?.n ?? 0) / 10_000);
  } finally {
    await client.end().catch(() => undefined);
  }
}
