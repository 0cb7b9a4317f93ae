import type pg from 'pg';
import {
  generateDocuments,
  type DocumentGeneratorOptions,
  type SyntheticDocument,
} from './documents.js';
import { vectorLiteral } from './embeddings.js';

export interface LoadedDocument extends SyntheticDocument {
  readonly id: string;
}

export interface LoadOptions extends DocumentGeneratorOptions {
  readonly batchSize?: number;
  /** Keep the generated documents (with their IDs) in memory, for exact-search comparisons. */
  readonly keep?: boolean;
  readonly onProgress?: (loaded: number) => void;
}

/**
 * Returns a function that registers sources seen for the first time, before the documents that
 * use them. Like the doc-server before migration 0002, a few sources (names ending in 49) stay
 * unregistered, so their documents are orphans — unless the foreign key already forbids that.
 */
export async function sourceRegistrar(
  client: pg.ClientBase | pg.Pool,
): Promise<(fresh: readonly string[]) => Promise<void>> {
  const fk = await client.query<{ ok: boolean }>(
    "select exists (select 1 from pg_constraint where conname = 'documents_source_name_fkey') as ok",
  );
  const allowOrphans = fk.rows[0]?.ok !== true;
  return async (fresh) => {
    const toRegister = allowOrphans ? fresh.filter((n) => !n.endsWith('49')) : fresh;
    if (toRegister.length === 0) return;
    await client.query(
      'insert into document_sources (source_name) select unnest($1::text[]) on conflict (source_name) do nothing',
      [toRegister],
    );
  };
}

/**
 * Inserts `count` synthetic documents (and their sources, registered before the documents that
 * use them) into a database with the doc-server schema, in multi-row batches through unnest
 * (one round trip per batch).
 */
export async function loadDocuments(
  client: pg.ClientBase | pg.Pool,
  count: number,
  options: LoadOptions = {},
): Promise<LoadedDocument[]> {
  const batchSize = options.batchSize ?? 250;
  const kept: LoadedDocument[] = [];
  let batch: SyntheticDocument[] = [];
  let loaded = 0;
  const registered = new Set<string>();
  const register = await sourceRegistrar(client);
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const fresh = [...new Set(batch.map((d) => d.sourceName))].filter((n) => !registered.has(n));
    for (const n of fresh) registered.add(n);
    await register(fresh);
    const res = await client.query<{ id: string }>(
      `insert into documents (doc_type, source_name, title, content, metadata, embedding, created_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[]::vector[], $7::timestamptz[])
       returning id::text`,
      [
        batch.map((d) => d.docType),
        batch.map((d) => d.sourceName),
        batch.map((d) => d.title),
        batch.map((d) => d.content),
        batch.map((d) => JSON.stringify(d.metadata)),
        batch.map((d) => vectorLiteral(d.embedding)),
        batch.map((d) => d.createdAt),
      ],
    );
    if (options.keep) batch.forEach((d, j) => kept.push({ ...d, id: res.rows[j]?.id ?? '' }));
    loaded += batch.length;
    options.onProgress?.(loaded);
    batch = [];
  };
  for (const doc of generateDocuments(count, options)) {
    batch.push(doc);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return kept;
}
