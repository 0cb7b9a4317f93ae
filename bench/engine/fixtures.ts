// Synthetic migration sets: the same N small `create table` migrations in dbmigrate's format
// (`NNNN_name.sql`, `-- migrate:up` / `-- migrate:down`, which dbmate reads as they are) and in
// node-pg-migrate's SQL format (`-- Up Migration`), plus up-only copies and a psql driver that
// runs each in its own transaction (the raw-psql floor): psql would run a down section too,
// since the markers are plain comments to it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MigrationSet {
  readonly count: number;
  /** dbmigrate files, with a down section each; dbmate runs these same files. */
  readonly dbmigrateDir: string;
  /** node-pg-migrate `.sql` files with the same SQL under `-- Up Migration`. */
  readonly nodePgMigrateDir: string;
  /** Absolute paths of the up-only copies psql runs, in apply order. */
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
  const psqlDir = join(base, 'psql');
  for (const dir of [dbmigrateDir, nodePgMigrateDir, psqlDir]) mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const driver: string[] = ['\\set ON_ERROR_STOP on'];
  for (let n = 1; n <= count; n++) {
    const table = `t_${id(n)}`;
    const name = `${id(n)}_create_${table}.sql`;
    const up = `create table ${table} (id bigint primary key, v text);`;
    // dbmate refuses a file without a down section.
    writeFileSync(
      join(dbmigrateDir, name),
      `-- migrate:up\n${up}\n\n-- migrate:down\ndrop table ${table};\n`,
    );
    writeFileSync(join(nodePgMigrateDir, name), `-- Up Migration\n${up}\n`);
    const file = join(psqlDir, name);
    writeFileSync(file, `${up}\n`);
    files.push(file);
    driver.push('begin;', `\\i '${file}'`, 'commit;');
  }
  const psqlDriver = join(base, 'psql-driver.sql');
  writeFileSync(psqlDriver, `${driver.join('\n')}\n`);
  return { count, dbmigrateDir, nodePgMigrateDir, files, psqlDriver };
}
