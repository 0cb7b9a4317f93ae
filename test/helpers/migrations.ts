import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator, type MigratorOptions } from '../../src/engine/migrator.js';
import {
  DirectoryMigrationSource,
  InlineMigrationSource,
  type MigrationText,
} from '../../src/engine/source.js';
import { runDryRun, type DryRunReport } from '../../src/safety/dryrun/dry-run.js';
import { createTestDatabase, type TestDatabase } from './database.js';

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

/** The engine over the project's own migrations/ (the doc-server's schema). */
export function projectMigrator(url: string): Migrator {
  return new Migrator({
    database: connectorFromUrl(url),
    source: new DirectoryMigrationSource('migrations'),
    lockWaitMs: 5000,
  });
}

/**
 * The staging dry-run of the project's migrations above `target`: production (`db`) and a fresh
 * staging database are both migrated to `target` and populated the same way first.
 */
export async function dryRunAbove(
  db: TestDatabase,
  target: string,
  populate: (d: TestDatabase) => Promise<void>,
): Promise<DryRunReport> {
  const staging = await createTestDatabase(`${db.name.slice(4, 20)}_staging`);
  try {
    for (const d of [db, staging]) {
      const run = await projectMigrator(d.url).apply({ target });
      if (run.error) throw run.error;
      await populate(d);
    }
    return await runDryRun({
      source: new DirectoryMigrationSource('migrations'),
      staging: { kind: 'url', url: staging.url },
      productionUrl: db.url,
    });
  } finally {
    await staging.drop();
  }
}
