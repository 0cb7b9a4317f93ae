/**
 * Synthetic documents that behave like real ones for ANN work: 3072-d unit vectors that live
 * near a low-dimensional manifold (a mixture of topics in a small latent space, mapped up by a
 * fixed random linear map and a smooth nonlinearity), not isotropic noise around centres,
 * where every distance ties and recall means nothing. Deterministic from a seed.
 */

/** mulberry32: small, fast, seedable; quality is ample for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  // Box–Muller; 1 - u keeps log away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface EmbeddingModelOptions {
  readonly dimensions?: number;
  readonly latentDimensions?: number;
  readonly topics?: number;
  readonly seed?: number;
  /** Spread of documents around their topic in latent space (relative to topic spacing). */
  readonly topicSpread?: number;
  /** Isotropic noise added in the full space, relative to the signal. */
  readonly noise?: number;
}

export class EmbeddingModel {
  readonly dimensions: number;
  readonly latentDimensions: number;
  readonly topics: number;
  private readonly projection: Float32Array;
  private readonly centres: Float64Array[];
  private readonly spread: number;
  private readonly noise: number;

  constructor(options: EmbeddingModelOptions = {}) {
    this.dimensions = options.dimensions ?? 3072;
    this.latentDimensions = options.latentDimensions ?? 16;
    this.topics = options.topics ?? 64;
    this.spread = options.topicSpread ?? 0.6;
    this.noise = options.noise ?? 0.05;
    const random = seededRandom(options.seed ?? 42);
    this.projection = new Float32Array(this.dimensions * this.latentDimensions);
    const scale = 1 / Math.sqrt(this.latentDimensions);
    for (let i = 0; i < this.projection.length; i++) this.projection[i] = gaussian(random) * scale;
    this.centres = Array.from({ length: this.topics }, () =>
      Float64Array.from({ length: this.latentDimensions }, () => gaussian(random)),
    );
  }

  /** A latent point near `topic`. */
  latent(topic: number, random: () => number): Float64Array {
    const centre =
      this.centres[((topic % this.topics) + this.topics) % this.topics] ??
      new Float64Array(this.latentDimensions);
    return Float64Array.from(centre, (c) => c + gaussian(random) * this.spread);
  }

  /** The unit-length full-dimensional embedding of a latent point (plus a little noise). */
  embed(latent: Float64Array, random: () => number): Float32Array {
    const out = new Float32Array(this.dimensions);
    const k = this.latentDimensions;
    let norm = 0;
    for (let d = 0; d < this.dimensions; d++) {
      let s = 0;
      const row = d * k;
      for (let j = 0; j < k; j++) s += (this.projection[row + j] ?? 0) * (latent[j] ?? 0);
      // tanh bends the linear map into a curved manifold, as real encoders do.
      const v = Math.tanh(s) + gaussian(random) * this.noise;
      out[d] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < this.dimensions; d++) out[d] = (out[d] ?? 0) * inv;
    return out;
  }
}

/** pgvector's text form, with enough digits to round-trip a float4. */
export function vectorLiteral(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ',';
    s += (v[i] ?? 0).toPrecision(7);
  }
  return `${s}]`;
}
