import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationSourceError } from './errors.js';
import type { Migration } from './migration.js';
import { isMigrationFileName, parseMigrationFile } from './migration-file.js';

/** Where migration SQL comes from; the engine never knows whether it was a directory or a ConfigMap. */
export interface MigrationSource {
  /** For messages: `directory migrations/`, `ConfigMap ns/name`. */
  readonly description: string;
  load(): Promise<Migration[]>;
}

export interface MigrationText {
  /** A file name `NNNN_name.sql`, shown in errors (optionally with a prefix such as a path). */
  readonly file: string;
  readonly content: string;
}

/** Migrations from in-memory texts (a ConfigMap's data, inline SQL in a custom resource, tests). */
export class InlineMigrationSource implements MigrationSource {
  constructor(
    private readonly texts: readonly MigrationText[],
    readonly description = 'inline migrations',
  ) {}

  load(): Promise<Migration[]> {
    return Promise.resolve(
      this.texts
        .filter((t) => t.file.endsWith('.sql'))
        .map((t) => parseMigrationFile(t.file, t.content)),
    );
  }
}

/**
 * `NNNN_name.sql` files of one directory. Other `.sql` files are an error rather than silently
 * ignored: a typo in a file name must not drop a migration from the plan.
 */
export class DirectoryMigrationSource implements MigrationSource {
  readonly description: string;

  constructor(private readonly directory: string) {
    this.description = `directory ${directory}`;
  }

  /**
   * Synchronous reads on purpose: a thousand small files read one promise at a time spend
   * most of `dbmigrate status` waiting on the thread pool; sync reads take a few ms in all.
   */
  load(): Promise<Migration[]> {
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (err) {
      return Promise.reject(
        new MigrationSourceError(
          `cannot read migrations directory ${this.directory}: ${(err as Error).message}`,
          { cause: err },
        ),
      );
    }
    try {
      return Promise.resolve(
        names
          .filter((n) => n.endsWith('.sql'))
          .sort()
          .map((name) => {
            const path = join(this.directory, name);
            // A .sql file with a wrong name is an error, not silently skipped.
            return parseMigrationFile(
              path,
              isMigrationFileName(name) ? readFileSync(path, 'utf8') : '',
            );
          }),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/**
 * Migrations loaded once and pinned: every step of a run (dry-run, apply) sees the same IDs
 * and checksums even if the files change underneath it.
 */
export class PinnedMigrationSource implements MigrationSource {
  constructor(
    private readonly migrations: readonly Migration[],
    readonly description: string,
  ) {}

  static async pin(source: MigrationSource): Promise<PinnedMigrationSource> {
    return new PinnedMigrationSource(await source.load(), `${source.description} (pinned)`);
  }

  load(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations]);
  }
}
