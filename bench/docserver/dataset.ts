// A loaded synthetic doc-server database, reused across benchmark runs: loading 100k documents
// takes a couple of minutes and 1M about 20 (binary COPY from a generating worker thread,
// copy-load.ts), while cloning a finished template takes seconds. The template is keyed by
// row count and generator version and marked complete only after its load and VACUUM ANALYZE
// finished, so an interrupted load is never reused.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { connectorFromUrl } from '../../src/db/connection.js';
import { Migrator } from '../../src/engine/migrator.js';
import { DirectoryMigrationSource } from '../../src/engine/source.js';
import { copyDocuments } from './copy-load.js';
import { MANIFOLD, type CorpusShape } from './shapes.js';

/** Bump when documents.ts, embeddings.ts or a shape in shapes.ts change what they generate. */
export const GENERATOR_VERSION = 2;
/** The schema the data is loaded into: the baseline and the source foreign key. */
export const DATASET_MIGRATIONS_UP_TO = '0004';
const COMPLETE = 'dbm-bench dataset complete';

export interface Dataset {
  readonly name: string;
  readonly url: string;
  /** Load time of the template, when this run loaded it (null: cloned an existing one). */
  readonly loadMs: number | null;
  readonly template: string;
}

function urlFor(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function loadTemplate(
  admin: pg.Client,
  adminUrl: string,
  template: string,
  rows: number,
  root: string,
  progress: (m: string) => void,
  shape: CorpusShape,
): Promise<number> {
  await admin.query(`drop database if exists ${template} with (force)`);
  await admin.query(`create database ${template}`);
  const url = urlFor(adminUrl, template);
  const run = await new Migrator({
    database: connectorFromUrl(url),
    source: new DirectoryMigrationSource(join(root, 'migrations')),
  }).apply({ target: DATASET_MIGRATIONS_UP_TO });
  if (run.error) throw new Error(`migrations failed: ${run.error.message}`);
  const t0 = performance.now();
  let last = 0;
  await copyDocuments(url, rows, shape, (n) => {
    if (n - last >= Math.max(10_000, rows / 20) || n === rows) {
      last = n;
      progress(`loaded ${String(n)}`);
    }
  });
  const ms = performance.now() - t0;
  const client = new pg.Client({ connectionString: url, application_name: 'bench-load' });
  await client.connect();
  try {
    await client.query('vacuum analyze documents');
    await client.query('vacuum analyze document_sources');
  } finally {
    await client.end();
  }
  return ms;
}

/**
 * A fresh database `name` holding `rows` synthetic documents of `shape` in the dataset schema, cloned from
 * the cached template (loaded first when missing or incomplete).
 */
export async function datasetDatabase(
  admin: pg.Client,
  adminUrl: string,
  name: string,
  rows: number,
  root: string,
  progress: (m: string) => void,
  shape: CorpusShape = MANIFOLD,
): Promise<Dataset> {
  const template = `dbm_bench_tpl_docs_${shape.name}_${String(rows)}_g${String(GENERATOR_VERSION)}`;
  const found = await admin.query<{ c: string | null }>(
    'select shobj_description(oid, $2) c from pg_database where datname = $1',
    [template, 'pg_database'],
  );
  let loadMs: number | null = null;
  if (found.rows[0]?.c !== COMPLETE) {
    progress(`loading template ${template} (${String(rows)} rows; reused by later runs)`);
    loadMs = await loadTemplate(admin, adminUrl, template, rows, root, progress, shape);
    await admin.query(`comment on database ${template} is '${COMPLETE}'`);
  } else {
    progress(`cloning cached template ${template}`);
  }
  await admin.query(`drop database if exists ${name} with (force)`);
  // FILE_COPY: the default WAL_LOG strategy would write the whole template (13 GB at 1M rows)
  // through the WAL.
  await admin.query(`create database ${name} template ${template} strategy file_copy`);
  return { name, url: urlFor(adminUrl, name), loadMs, template };
}
