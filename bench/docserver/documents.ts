import { EmbeddingModel, seededRandom } from './embeddings.js';
import { ageDays, MANIFOLD, type CorpusShape, type DocTypeWeight } from './shapes.js';

/** doc_type of the default shape is skewed, as in the doc-server: most documents are of a few types. */
export const DOC_TYPES: readonly DocTypeWeight[] = MANIFOLD.docTypes;

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
  /** Distributions of the corpus (default MANIFOLD); the options below override its fields. */
  readonly shape?: CorpusShape;
  readonly seed?: number;
  readonly sources?: number;
  /** Zipf exponent of source popularity. */
  readonly zipf?: number;
  /** created_at spans this many days back from `end`. */
  readonly days?: number;
  readonly end?: Date;
  readonly model?: EmbeddingModel;
}

/** The embedding model of a shape. */
export function modelOf(shape: CorpusShape): EmbeddingModel {
  return new EmbeddingModel({
    latentDimensions: shape.latentDimensions,
    topics: shape.topics,
    topicSpread: shape.topicSpread,
    noise: shape.noise,
    seed: shape.modelSeed,
  });
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
 * Documents with skewed doc_type, Zipf source_name and created_at spread over the shape's time
 * distribution. A source writes about a few topics, so filters and vectors are correlated the
 * way real corpora are.
 */
export function* generateDocuments(
  count: number,
  options: DocumentGeneratorOptions = {},
): Generator<SyntheticDocument> {
  const shape = options.shape ?? MANIFOLD;
  const random = seededRandom(options.seed ?? shape.seed);
  const model = options.model ?? modelOf(shape);
  const sources = options.sources ?? shape.sources;
  const pickSource = zipfSampler(sources, options.zipf ?? shape.zipf, random);
  const time = { days: options.days ?? shape.days, time: shape.time };
  const end = (options.end ?? new Date('2026-11-01T00:00:00Z')).getTime();
  const perSource = shape.topicsPerSource;
  const types = shape.docTypes;
  const typeCdf: number[] = [];
  let acc = 0;
  for (const t of types) typeCdf.push((acc += t.weight));
  for (let i = 0; i < count; i++) {
    const source = pickSource();
    const u = random() * acc;
    const typeIndex = typeCdf.findIndex((c) => u <= c);
    const docType = types[typeIndex === -1 ? 0 : typeIndex]?.name ?? 'doc';
    // Each source has a few favourite topics; each type nudges the topic too.
    const topic = source * perSource + Math.floor(random() * perSource) + typeIndex * 7;
    const embedding = model.embed(model.latent(topic, random), random);
    // A second variate only where the distribution needs one: the default shape's documents
    // stay what they were.
    const when = random();
    const age = ageDays(time, when, time.time.kind === 'bursty' ? random() : 0);
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
      createdAt: new Date(end - age * 86_400_000),
      embedding,
    };
  }
}
