import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator, type MigratorOptions } from '../../src/engine/migrator.js';
import { InlineMigrationSource, type MigrationText } from '../../src/engine/source.js';

/** A migration file text from an up section, an optional down section and header directives. */
export function migrationText(up: string, down?: string, header = ''): string {
  return `${header ? `${header}\n` : ''}-- migrate:up\n${up}\n${down === undefined ? '' : `-- migrate:down\n${down}\n`}`;
}

export function migratorFor(
  url: string,
  files: readonly MigrationText[],
  options: Partial<MigratorOptions> = {},
): Migrator {
  return new Migrator({
    database: connectorFromUrl(url),
    source: new InlineMigrationSource(files),
    lockWaitMs: 5_000,
    backoff: { baseMs: 20, capMs: 100 },
    ...options,
  });
}

export async function writeMigrationDir(files: readonly MigrationText[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbm-migrations-'));
  for (const f of files) await writeFile(join(dir, f.file), f.content);
  return dir;
}
