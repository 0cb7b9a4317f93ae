// Synthetic migration sets: the same N small `create table` migrations in dbmigrate's format
// (`NNNN_name.sql`, `-- migrate:up`) and in node-pg-migrate's SQL format (`-- Up Migration`),
// plus a psql driver that runs every dbmigrate file in its own transaction (the raw-psql floor).
// Up sections only: psql would run a down section too, since the markers are plain comments.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MigrationSet {
  readonly count: number;
  /** dbmigrate files; psql runs these same files (`-- migrate:up` is a plain comment to it). */
  readonly dbmigrateDir: string;
  /** node-pg-migrate `.sql` files with the same SQL under `-- Up Migration`. */
  readonly nodePgMigrateDir: string;
  /** Absolute paths of the dbmigrate files, in apply order. */
  readonly files: readonly string[];
  /** One psql script: `BEGIN; \i file; COMMIT;` per migration. */
  readonly psqlDriver: string;
}

function id(n: number): string {
  return String(n).padStart(4, '0');
}

/** Writes `count` migrations under `root/<label>/…` and returns where they are. */
export function writeMigrationSet(root: string, label: string, count: number): MigrationSet {
  const base = join(root, label);
  const dbmigrateDir = join(base, 'dbmigrate');
  const nodePgMigrateDir = join(base, 'node-pg-migrate');
  mkdirSync(dbmigrateDir, { recursive: true });
  mkdirSync(nodePgMigrateDir, { recursive: true });
  const files: string[] = [];
  const driver: string[] = ['\\set ON_ERROR_STOP on'];
  for (let n = 1; n <= count; n++) {
    const table = `t_${id(n)}`;
    const up = `create table ${table} (id bigint primary key, v text);`;
    const file = join(dbmigrateDir, `${id(n)}_create_${table}.sql`);
    writeFileSync(file, `-- migrate:up\n${up}\n`);
    writeFileSync(
      join(nodePgMigrateDir, `${id(n)}_create_${table}.sql`),
      `-- Up Migration\n${up}\n`,
    );
    files.push(file);
    driver.push('begin;', `\\i '${file}'`, 'commit;');
  }
  const psqlDriver = join(base, 'psql-driver.sql');
  writeFileSync(psqlDriver, `${driver.join('\n')}\n`);
  return { count, dbmigrateDir, nodePgMigrateDir, files, psqlDriver };
}
