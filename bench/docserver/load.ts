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
 * Inserts `count` synthetic documents (and their sources) into a database that has the
 * doc-server baseline schema, in multi-row batches through unnest (one round trip per batch).
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
  const sources = new Set<string>();
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
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
    sources.add(doc.sourceName);
    batch.push(doc);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  // Like the doc-server today: most sources are registered, a few documents are orphans.
  const registered = [...sources].sort().filter((_, i) => i % 50 !== 49);
  await client.query(
    'insert into document_sources (source_name) select unnest($1::text[]) on conflict (source_name) do nothing',
    [registered],
  );
  return kept;
}
