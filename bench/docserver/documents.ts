import { EmbeddingModel, seededRandom } from './embeddings.js';

/** doc_type is skewed, as in the doc-server: most documents are of a few types. */
export const DOC_TYPES: readonly { readonly name: string; readonly weight: number }[] = [
  { name: 'article', weight: 0.5 },
  { name: 'note', weight: 0.2 },
  { name: 'email', weight: 0.15 },
  { name: 'ticket', weight: 0.1 },
  { name: 'spec', weight: 0.04 },
  { name: 'contract', weight: 0.01 },
];

export interface SyntheticDocument {
  readonly docType: string;
  readonly sourceName: string;
  readonly title: string;
  readonly content: string;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: Date;
  readonly embedding: Float32Array;
}

export interface DocumentGeneratorOptions {
  readonly seed?: number;
  readonly sources?: number;
  /** Zipf exponent of source popularity. */
  readonly zipf?: number;
  /** created_at spans this many days back from `end`. */
  readonly days?: number;
  readonly end?: Date;
  readonly model?: EmbeddingModel;
}

/** Zipf-distributed index in [0, n): index 0 is the most popular. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let i = 1; i <= n; i++) {
    total += 1 / i ** s;
    cdf.push(total);
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? total) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function sourceName(index: number): string {
  return `source-${String(index).padStart(4, '0')}`;
}

/**
 * Documents with skewed doc_type, Zipf source_name and two years of created_at (more recent
 * documents more frequent). A source writes about a few topics, so filters and vectors are
 * correlated the way real corpora are.
 */
export function* generateDocuments(
  count: number,
  options: DocumentGeneratorOptions = {},
): Generator<SyntheticDocument> {
  const random = seededRandom(options.seed ?? 7);
  const model = options.model ?? new EmbeddingModel();
  const sources = options.sources ?? 500;
  const pickSource = zipfSampler(sources, options.zipf ?? 1.1, random);
  const days = options.days ?? 730;
  const end = (options.end ?? new Date('2026-11-01T00:00:00Z')).getTime();
  const typeCdf: number[] = [];
  let acc = 0;
  for (const t of DOC_TYPES) typeCdf.push((acc += t.weight));
  for (let i = 0; i < count; i++) {
    const source = pickSource();
    const u = random() * acc;
    const typeIndex = typeCdf.findIndex((c) => u <= c);
    const docType = DOC_TYPES[typeIndex === -1 ? 0 : typeIndex]?.name ?? 'article';
    // Each source has three favourite topics; each type nudges the topic too.
    const topic = source * 3 + Math.floor(random() * 3) + typeIndex * 7;
    const embedding = model.embed(model.latent(topic, random), random);
    // sqrt skews towards recent dates: the corpus grows over time.
    const ageDays = days * (1 - Math.sqrt(random()));
    yield {
      docType,
      sourceName: sourceName(source),
      title: `${docType} ${String(i)} about topic ${String(topic % model.topics)}`,
      content: `Synthetic ${docType} number ${String(i)} from ${sourceName(source)}.`,
      metadata: {
        lang: random() < 0.8 ? 'en' : 'de',
        topic: topic % model.topics,
        priority: Math.floor(random() * 5),
      },
      createdAt: new Date(end - ageDays * 86_400_000),
      embedding,
    };
  }
}
