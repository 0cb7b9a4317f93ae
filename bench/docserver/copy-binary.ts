// PostgreSQL's binary COPY format for the documents a template is loaded with: a 1M-document
// load spent most of its time printing and parsing 3072 floats a row as text.
import type { SyntheticDocument } from './documents.js';

/** The columns, in the order each row's fields are written. */
export const COPY_COLUMNS =
  'doc_type, source_name, title, content, metadata, embedding, created_at';

/** Signature, flags and header extension length (PostgreSQL docs, COPY, "Binary Format"). */
export const COPY_HEADER = Buffer.concat([
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
  Buffer.alloc(8),
]);
/** A field count of -1 ends the data. */
export const COPY_TRAILER = Buffer.from([0xff, 0xff]);

const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * The float4 PostgreSQL stores for `x` when it is sent as text with 7 significant digits, as
 * the row-by-row loader does (vectorLiteral): templates loaded either way hold the same values.
 */
export function float4OfText(x: number): number {
  return Math.fround(Number(x.toPrecision(7)));
}

/** One row: field count, then each field's length and bytes. */
export function encodeDocumentRow(d: SyntheticDocument): Buffer {
  const texts = [d.docType, d.sourceName, d.title, d.content].map((t) => Buffer.from(t, 'utf8'));
  const json = Buffer.from(JSON.stringify(d.metadata), 'utf8');
  const dims = d.embedding.length;
  const vectorBytes = 4 + 4 * dims;
  const size =
    2 +
    texts.reduce((n, t) => n + 4 + t.length, 0) +
    (4 + 1 + json.length) +
    (4 + vectorBytes) +
    (4 + 8);
  const out = Buffer.allocUnsafe(size);
  let at = out.writeInt16BE(7, 0);
  for (const t of texts) {
    at = out.writeInt32BE(t.length, at);
    at += t.copy(out, at);
  }
  // jsonb's binary form: a version byte, then the text.
  at = out.writeInt32BE(1 + json.length, at);
  at = out.writeUInt8(1, at);
  at += json.copy(out, at);
  // pgvector's binary form: dimensions, an unused int16, then the float4s.
  at = out.writeInt32BE(vectorBytes, at);
  at = out.writeInt16BE(dims, at);
  at = out.writeInt16BE(0, at);
  for (let i = 0; i < dims; i++) at = out.writeFloatBE(float4OfText(d.embedding[i] ?? 0), at);
  // timestamptz: microseconds since 2000-01-01 UTC.
  at = out.writeInt32BE(8, at);
  out.writeBigInt64BE(BigInt(d.createdAt.getTime() - POSTGRES_EPOCH_MS) * 1000n, at);
  return out;
}
