/**
 * Partial bit(3072) HNSW indexes for one large filter value (pgvector's advice for a filter
 * column with few distinct values): `... using hnsw (embedding_bq bit_hamming_ops) where
 * source_name = 'x'`. Walking one holds no row outside the filter, so a value covering a
 * large share of the table is searched like an unfiltered query over its own rows, instead of
 * a filtered walk of the whole graph that loses recall when those rows lie far from the query.
 *
 * Pure: which filter values every partition's indexes cover, from the catalog's text.
 */

/** The filter columns a partial ANN index may be keyed on. */
export type PartialIndexColumn = 'doc_type' | 'source_name';

/** One valid partial HNSW index on embedding_bq, as the catalog gives it. */
export interface PartialIndexFact {
  /** The table (partition) it indexes, as regclass text. */
  readonly relation: string;
  /** Its predicate, as `pg_get_expr(indpred, indrelid)` prints it. */
  readonly predicate: string;
}

export interface PartialIndexKey {
  readonly column: PartialIndexColumn;
  readonly value: string;
}

const COLUMN = '(doc_type|source_name)';
// A single-quoted literal with '' for a quote, cast to text as pg_get_expr prints it. An E''
// literal (backslashes with standard_conforming_strings off) is not recognised: no index, no harm.
const LITERAL = "'((?:[^']|'')*)'::text";
const COLUMN_FIRST = new RegExp(`^${COLUMN} = ${LITERAL}$`);
const LITERAL_FIRST = new RegExp(`^${LITERAL} = ${COLUMN}$`);

/** Strips one pair of enclosing parentheses, when they enclose the whole text. */
function unwrap(text: string): string {
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth === 0 && i < text.length - 1) return text;
  }
  return text.slice(1, -1);
}

/**
 * The `column = 'value'` of a predicate over one filter column, or null for any other
 * predicate (several conditions, other columns or operators): those indexes are not used.
 */
export function parsePartialPredicate(predicate: string): PartialIndexKey | null {
  const text = unwrap(predicate.trim());
  const columnFirst = COLUMN_FIRST.exec(text);
  if (columnFirst) return key(columnFirst[1], columnFirst[2]);
  const literalFirst = LITERAL_FIRST.exec(text);
  if (literalFirst) return key(literalFirst[2], literalFirst[1]);
  return null;
}

function key(column: string | undefined, literal: string | undefined): PartialIndexKey | null {
  if ((column !== 'doc_type' && column !== 'source_name') || literal === undefined) return null;
  return { column, value: literal.replaceAll("''", "'") };
}

/** A key's form in the covered set. */
export function partialIndexId(k: PartialIndexKey): string {
  return `${k.column}\u0000${k.value}`;
}

/**
 * The values that a partial index covers on every one of `leaves` (the table, or each of its
 * partitions). A value indexed on some partitions only is not covered: the walk of the others
 * would be the filtered walk this avoids, so that value keeps the ordinary plans.
 */
export function coveredPartialIndexes(
  leaves: readonly string[],
  indexes: readonly PartialIndexFact[],
): ReadonlySet<string> {
  if (leaves.length === 0) return new Set();
  const perLeaf = new Map<string, Set<string>>(leaves.map((l) => [l, new Set<string>()]));
  for (const index of indexes) {
    const parsed = parsePartialPredicate(index.predicate);
    if (parsed) perLeaf.get(index.relation)?.add(partialIndexId(parsed));
  }
  const [first, ...rest] = [...perLeaf.values()];
  return new Set([...(first ?? [])].filter((id) => rest.every((s) => s.has(id))));
}

/**
 * The filter's equality a covering partial index serves, if any: the source first (a source
 * is usually the narrower of the two), then the type.
 */
export function coveringPartialIndex(
  covered: ReadonlySet<string>,
  filter: { readonly docType?: string; readonly sourceName?: string },
): PartialIndexKey | null {
  if (
    filter.sourceName !== undefined &&
    covered.has(partialIndexId({ column: 'source_name', value: filter.sourceName }))
  )
    return { column: 'source_name', value: filter.sourceName };
  if (
    filter.docType !== undefined &&
    covered.has(partialIndexId({ column: 'doc_type', value: filter.docType }))
  )
    return { column: 'doc_type', value: filter.docType };
  return null;
}
