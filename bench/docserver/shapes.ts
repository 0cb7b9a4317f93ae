// Corpus shapes for the doc-server benchmarks. A read path tuned on one generator can pass on
// it alone (issue 15: 14 of 14 classes on ours, 5 of 8 missed on an independent corpus), so the
// generator takes its shape as parameters and the benchmark reports the worst of several.

/** A document type and its share of the corpus. */
export interface DocTypeWeight {
  readonly name: string;
  readonly weight: number;
}

/**
 * How created_at spreads over `days`:
 * - `growing`: density rising towards now (the corpus grows: age = days·(1 − √u));
 * - `uniform`: flat;
 * - `bursty`: `burstShare` of the documents in the last `burstDays`, the rest flat before.
 */
export type TimeDistribution =
  | { readonly kind: 'growing' }
  | { readonly kind: 'uniform' }
  | { readonly kind: 'bursty'; readonly burstDays: number; readonly burstShare: number };

export interface CorpusShape {
  readonly name: string;
  /** One line for the report. */
  readonly summary: string;
  /** Intrinsic dimension of the embedding manifold. */
  readonly latentDimensions: number;
  /** Topic clusters in latent space. */
  readonly topics: number;
  /** Spread of a document around its topic, relative to topic spacing. */
  readonly topicSpread: number;
  /** Isotropic noise in the full 3072-d space, relative to the signal. */
  readonly noise: number;
  /** Seed of the embedding model (projection and topic centres). */
  readonly modelSeed: number;
  /** Seed of the documents. */
  readonly seed: number;
  readonly docTypes: readonly DocTypeWeight[];
  readonly sources: number;
  /** Zipf exponent of source popularity. */
  readonly zipf: number;
  /** Topics a source writes about. */
  readonly topicsPerSource: number;
  readonly days: number;
  readonly time: TimeDistribution;
}

/** The generator the project started with (docs/benchmarks.md before issue 15). */
export const MANIFOLD: CorpusShape = {
  name: 'manifold',
  summary:
    'latent 16-d, 64 topics, spread 0.6, noise 0.05; doc_type 50/20/15/10/4/1 %; 500 sources, Zipf 1.1; 2 years, growing',
  latentDimensions: 16,
  topics: 64,
  topicSpread: 0.6,
  noise: 0.05,
  modelSeed: 42,
  seed: 7,
  docTypes: [
    { name: 'article', weight: 0.5 },
    { name: 'note', weight: 0.2 },
    { name: 'email', weight: 0.15 },
    { name: 'ticket', weight: 0.1 },
    { name: 'spec', weight: 0.04 },
    { name: 'contract', weight: 0.01 },
  ],
  sources: 500,
  zipf: 1.1,
  topicsPerSource: 3,
  days: 730,
  time: { kind: 'growing' },
};

/**
 * Harder for ANN: a higher intrinsic dimension, many small overlapping clusters and more noise
 * (Hamming distances discriminate less, graphs are wider), few sources with one holding about a
 * sixth of the corpus, flatter types, three flat years.
 */
export const DIFFUSE: CorpusShape = {
  name: 'diffuse',
  summary:
    'latent 48-d, 400 topics, spread 1.0, noise 0.15; doc_type 30/25/18/12/10/5 %; 60 sources, Zipf 0.9 (top ≈18 %); 3 years, uniform',
  latentDimensions: 48,
  topics: 400,
  topicSpread: 1.0,
  noise: 0.15,
  modelSeed: 1_009,
  seed: 2_027,
  docTypes: [
    { name: 'page', weight: 0.3 },
    { name: 'message', weight: 0.25 },
    { name: 'ticket', weight: 0.18 },
    { name: 'report', weight: 0.12 },
    { name: 'faq', weight: 0.1 },
    { name: 'policy', weight: 0.05 },
  ],
  sources: 60,
  zipf: 0.9,
  topicsPerSource: 12,
  days: 1_095,
  time: { kind: 'uniform' },
};

/**
 * Few tight clusters (many near-ties inside one), a dominant type, thousands of sources with a
 * long tail, and a burst: half the corpus written in the last 90 days of five years.
 */
export const BURSTY: CorpusShape = {
  name: 'bursty',
  summary:
    'latent 24-d, 24 topics, spread 0.35, noise 0.08; doc_type 70/14/8/5/2.5/0.5 %; 2,000 sources, Zipf 1.3; 5 years, half in the last 90 days',
  latentDimensions: 24,
  topics: 24,
  topicSpread: 0.35,
  noise: 0.08,
  modelSeed: 77,
  seed: 31_337,
  docTypes: [
    { name: 'chunk', weight: 0.7 },
    { name: 'email', weight: 0.14 },
    { name: 'ticket', weight: 0.08 },
    { name: 'minutes', weight: 0.05 },
    { name: 'design', weight: 0.025 },
    { name: 'legal', weight: 0.005 },
  ],
  sources: 2_000,
  zipf: 1.3,
  topicsPerSource: 2,
  days: 1_826,
  time: { kind: 'bursty', burstDays: 90, burstShare: 0.5 },
};

export const SHAPES: readonly CorpusShape[] = [MANIFOLD, DIFFUSE, BURSTY];

export class UnknownShapeError extends Error {
  readonly code = 'UNKNOWN_SHAPE';
}

/** Shapes by comma-separated names (`all` = every shape). */
export function shapesNamed(list: string): CorpusShape[] {
  if (list.trim() === 'all') return [...SHAPES];
  return list.split(',').map((raw) => {
    const name = raw.trim();
    const shape = SHAPES.find((s) => s.name === name);
    if (!shape)
      throw new UnknownShapeError(
        `unknown corpus shape "${name}" (known: ${SHAPES.map((s) => s.name).join(', ')}, all)`,
      );
    return shape;
  });
}

/** Age in days of a document, from a uniform variate `u` in [0, 1) and `v` in [0, 1). */
export function ageDays(shape: Pick<CorpusShape, 'days' | 'time'>, u: number, v: number): number {
  const t = shape.time;
  switch (t.kind) {
    case 'growing':
      return shape.days * (1 - Math.sqrt(u));
    case 'uniform':
      return shape.days * u;
    case 'bursty':
      return v < t.burstShare ? t.burstDays * u : t.burstDays + (shape.days - t.burstDays) * u;
  }
}
